package test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// healthcheckWeb is a set of real HTTP servers, one per loopback address, all on one port
// (as the plugin probes one port per check). Each can be stopped and started again.
type healthcheckWeb struct {
	t    *testing.T
	port int
	mu   sync.Mutex
	srvs map[string]*http.Server
}

// healthcheckStartWeb starts an HTTP server answering "server N" on each of ips, on a port
// that is free on all of them.
func healthcheckStartWeb(t *testing.T, ips ...string) *healthcheckWeb {
	t.Helper()
	for range 20 {
		w := &healthcheckWeb{t: t, srvs: map[string]*http.Server{}}
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		w.port = l.Addr().(*net.TCPAddr).Port
		w.serve(ips[0], l)
		ok := true
		for _, ip := range ips[1:] {
			if err := w.tryStart(ip); err != nil {
				ok = false
				break
			}
		}
		if ok {
			t.Cleanup(w.stopAll)
			return w
		}
		w.stopAll()
	}
	t.Fatalf("no port free on all of %v", ips)
	return nil
}

func (w *healthcheckWeb) tryStart(ip string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, fmt.Sprint(w.port)))
	if err != nil {
		return err
	}
	w.serve(ip, l)
	return nil
}

func (w *healthcheckWeb) serve(ip string, l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(rw, "server %s host %s\n", ip, r.Host)
	}), ReadHeaderTimeout: time.Second}
	w.mu.Lock()
	w.srvs[ip] = srv
	w.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.t.Errorf("web server %s: %v", ip, err)
		}
	}()
}

// stop kills the server on ip: its port refuses connections from now on.
func (w *healthcheckWeb) stop(ip string) {
	w.mu.Lock()
	srv := w.srvs[ip]
	delete(w.srvs, ip)
	w.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// start brings the server on ip back on the same port.
func (w *healthcheckWeb) start(ip string) {
	w.t.Helper()
	var err error
	for range 50 { // the old socket may linger for a moment
		if err = w.tryStart(ip); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.t.Fatalf("restarting web server %s: %v", ip, err)
}

func (w *healthcheckWeb) stopAll() {
	w.mu.Lock()
	ips := make([]string, 0, len(w.srvs))
	for ip := range w.srvs {
		ips = append(ips, ip)
	}
	w.mu.Unlock()
	for _, ip := range ips {
		w.stop(ip)
	}
}

// healthcheckZone writes a zone with cats on 127.0.0.2-5 (TTL 300) and www as a CNAME to cats.
func healthcheckZone(t *testing.T) string {
	t.Helper()
	zone := `$ORIGIN example.test.
@     3600 IN SOA ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 3600
@     3600 IN NS  ns.example.test.
ns    3600 IN A   127.0.0.1
cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
www   300 IN CNAME cats
dogs  300 IN A    127.0.0.6
dogs  300 IN A    127.0.0.7
`
	path := filepath.Join(t.TempDir(), "example.test.zone")
	if err := os.WriteFile(path, []byte(zone), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// healthcheckCorefile is a server with healthcheck, cache and file, probing web's port fast.
func healthcheckCorefile(zone string, port int, extra string) string {
	return fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check web http port %d interval 100ms timeout 500ms rise 2 fall 2 jitter 0%%
        %s
    }
    cache 300
    file %s
}`, port, extra, zone)
}

// healthcheckSorted returns r's addresses, sorted.
func healthcheckSorted(r *dns.Msg) []string {
	addrs := harness.Addresses(r)
	slices.Sort(addrs)
	return addrs
}

// healthcheckMinTTL returns the lowest TTL of r's A and AAAA records.
func healthcheckMinTTL(r *dns.Msg) uint32 {
	ttl := uint32(1 << 31)
	for _, rr := range r.Answer {
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			ttl = min(ttl, rr.Header().Ttl)
		}
	}
	return ttl
}

// healthcheckWaitFor queries name until it answers NOERROR with exactly the addresses want, for at most 10 s,
// and returns the TTL of that answer and how long it took.
func healthcheckWaitFor(t *testing.T, srv *harness.Server, name string, want ...string) (uint32, time.Duration) {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	var got []string
	var ttl uint32
	for time.Since(start) < 10*time.Second {
		r := srv.Query(t, name, dns.TypeA)
		got, ttl = healthcheckSorted(r), healthcheckMinTTL(r)
		if r.Rcode == dns.RcodeSuccess && slices.Equal(got, want) {
			return ttl, time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s answered %v for 10s, want %v", name, got, want)
	return 0, 0
}
