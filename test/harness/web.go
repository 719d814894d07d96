package harness

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// webHeaderTimeout bounds how long a web server waits for a request's headers. A probe sends
// them at once, so this only limits idle connections; a short value would make a probe whose
// goroutines a loaded machine schedules late fail, and a health check mark a live target down.
const webHeaderTimeout = 30 * time.Second

// webRestartWait bounds how long Start retries listening on the port again.
const webRestartWait = 10 * time.Second

// Web is a set of real HTTP servers, one per loopback address and all on one port (a health
// check probes one port), like the demo's web servers. Each answers "server IP" and can be
// stopped, so that its port refuses connections, and started again on the same port.
type Web struct {
	Port int

	t    testing.TB
	mu   sync.Mutex
	srvs map[string]*http.Server
}

// StartWeb starts a web server on each of ips, on a port free on all of them, and stops
// them when the test ends.
func StartWeb(t testing.TB, ips ...string) *Web {
	t.Helper()
	for range 20 {
		w := &Web{Port: FreePort(t), t: t, srvs: map[string]*http.Server{}}
		var err error
		for _, ip := range ips {
			if err = w.listen(ip); err != nil {
				break
			}
		}
		if err == nil {
			t.Cleanup(w.StopAll)
			return w
		}
		w.StopAll()
	}
	t.Fatalf("no port free on all of %v", ips)
	return nil
}

func (w *Web) listen(ip string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(w.Port)))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "server %s (Host: %s)\n", ip, r.Host)
	}), ReadHeaderTimeout: webHeaderTimeout}
	w.mu.Lock()
	w.srvs[ip] = srv
	w.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.t.Errorf("web server %s: %v", ip, err)
		}
	}()
	return nil
}

// Stop closes the server on ip: its port refuses connections from now on.
func (w *Web) Stop(ip string) {
	w.mu.Lock()
	srv := w.srvs[ip]
	delete(w.srvs, ip)
	w.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// Start brings the server on ip back, on the same port.
func (w *Web) Start(ip string) {
	w.t.Helper()
	var err error
	// The old socket may linger for a moment after Stop.
	for deadline := time.Now().Add(webRestartWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = w.listen(ip); err == nil {
			return
		}
	}
	w.t.Fatalf("restarting web server %s on port %d: %v", ip, w.Port, err)
}

// StopAll closes every server.
func (w *Web) StopAll() {
	w.mu.Lock()
	srvs := w.srvs
	w.srvs = map[string]*http.Server{}
	w.mu.Unlock()
	for _, srv := range srvs {
		srv.Close()
	}
}
