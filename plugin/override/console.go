package override

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coredns/coredns/plugin/pkg/reuseport"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// console is the HTTP listener of the API (and, later, the web console). There is one per
// address for the whole process: every server block that names the address shares it, and a
// reload closes and reopens it the way the ready plugin does.
type console struct {
	addr  string
	token string
	tab   *store.Table

	// Set on the running copy that consoleSet.start makes.
	srv  *http.Server
	done chan struct{} // closed at shutdown so that event streams end and Shutdown can finish
}

const shutdownTimeout = 5 * time.Second

var consoles = &consoleSet{m: map[string]*console{}}

type consoleSet struct {
	mu sync.Mutex
	m  map[string]*console
}

// start opens c's listener unless its address is served already. Two server blocks may share
// a console only if they share the store, otherwise the API would show one and hide the other.
func (cs *consoleSet) start(c *console) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if running, ok := cs.m[c.addr]; ok {
		if running.tab != c.tab {
			return fmt.Errorf("console %s already serves %s, not %s", c.addr, running.tab, c.tab)
		}
		return nil
	}
	ln, err := reuseport.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("console %s: %w", c.addr, err)
	}
	// Each start serves a fresh copy: the configuration stays shared, the server and its
	// shutdown signal belong to this run only.
	run := &console{addr: c.addr, token: c.token, tab: c.tab, done: make(chan struct{})}
	run.srv = run.server()
	run.srv.RegisterOnShutdown(func() { close(run.done) })
	go run.srv.Serve(newLimitListener(ln, maxConns, maxConnsPerClient))
	cs.m[c.addr] = run
	return nil
}

// Timeouts of the console's connections: short, because a connection that sends nothing
// holds a slot and a descriptor that the DNS listeners and the probes may need.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = 15 * time.Second
)

// server is the HTTP server of a running console: bounded headers and timeouts, the guard in
// front of the API, and a bound on the event streams behind the guard (an unauthorised client
// must not be able to take the slots).
func (c *console) server() *http.Server {
	return &http.Server{
		Handler:           c.guard(limitStreams(maxStreams, newMux(c))),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
	}
}

// stop closes the listener at addr, if one runs.
func (cs *consoleSet) stop(addr string) error {
	cs.mu.Lock()
	c, ok := cs.m[addr]
	delete(cs.m, addr)
	cs.mu.Unlock()
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := c.srv.Shutdown(ctx); err != nil {
		log.Infof("Failed to stop console %s: %s", addr, err)
	}
	return nil
}

// guard rejects what must not reach the API. With a token, every API request must carry it as
// a bearer token. Without one (loopback only), the Host must be a loopback name, so that a web
// page cannot reach the API through DNS rebinding, and a browser's cross-origin request is
// refused by its Origin header. No cookies are used, so there is nothing to forge.
func (c *console) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.token != "" {
			if isPage(r) {
				// The page and its assets hold no data, and a browser cannot send a bearer
				// token when it loads a page: the page asks for the token and sends it
				// with every API call.
				next.ServeHTTP(w, r)
				return
			}
			if !validBearer(r.Header.Get("Authorization"), c.token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="override"`)
				writeError(w, http.StatusUnauthorized, "", "missing or wrong bearer token")
				return
			}
		} else if !loopbackHost(r.Host) {
			writeError(w, http.StatusForbidden, "", "Host "+r.Host+" is not a loopback name")
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r.Host) {
			writeError(w, http.StatusForbidden, "", "cross-origin request from "+o)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// isPage reports whether r reads the console's page or one of its assets.
func isPage(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, "/assets/")
}

func validBearer(header, token string) bool {
	const prefix = "Bearer "
	if len(header) <= len(prefix) || header[:len(prefix)] != prefix {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(header[len(prefix):]), []byte(token)) == 1
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == host
}

// loopbackHost reports whether a Host header or listen address names this machine only.
func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
