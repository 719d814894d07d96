// Package console serves the override plugin's HTTP API and web console: one listener per
// address, guarded by a bearer token or, without one, by loopback-only Host and Origin checks.
package console

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

	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/reuseport"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// Config is a console as the Corefile gives it: the address it listens on and the bearer
// token it asks for ("" for none, loopback only).
type Config struct {
	Addr  string
	Token string
}

// Table is what the API reads and changes: the override table of one store.
type Table interface {
	Current() *store.State
	Revision() uint64
	Wait() <-chan struct{}
	AuditTail(n int) (store.AuditPage, error)
	Create(ctx context.Context, by store.Actor, o store.Override) (store.Override, error)
	Update(ctx context.Context, by store.Actor, id string, o store.Override) (store.Override, error)
	Remove(ctx context.Context, by store.Actor, id string) error
	Enable(ctx context.Context, by store.Actor, id string, d time.Duration) (store.Override, error)
	Disable(ctx context.Context, by store.Actor, id string) (store.Override, error)
	DisableGroup(ctx context.Context, by store.Actor, group string) ([]string, error)
	String() string // names the store in messages
}

// server is a running console: the HTTP listener of the API and the web console. There is
// one per address for the whole process: every server block that names the address shares
// it, and a reload closes and reopens it the way the ready plugin does.
type server struct {
	Config
	tab Table
	srv *http.Server

	mu     sync.Mutex
	blocks []Block       // the server blocks that named this console
	done   chan struct{} // closed at shutdown so that event streams end and Shutdown can finish
}

// log names the plugin the console belongs to, as its other log lines do.
var log = clog.NewWithPlugin("override")

const shutdownTimeout = 5 * time.Second

var consoles = &consoleSet{m: map[string]*server{}}

type consoleSet struct {
	mu sync.Mutex
	m  map[string]*server
}

// Start opens the console of cfg for tab, unless its address is served already, and adds the
// server block b to it (call it from OnStartup and OnRestartFailed).
func Start(cfg Config, tab Table, b Block) error { return consoles.start(cfg, tab, b) }

// Stop closes the console listening at addr, if one runs (call it from OnRestart and
// OnFinalShutdown).
func Stop(addr string) error { return consoles.stop(addr) }

// start opens cfg's listener unless its address is served already. Two server blocks may
// share a console only if they share the store, otherwise the API would show one and hide the
// other.
func (cs *consoleSet) start(cfg Config, tab Table, b Block) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if running, ok := cs.m[cfg.Addr]; ok {
		if running.tab != tab {
			return fmt.Errorf("console %s already serves %s, not %s", cfg.Addr, running.tab, tab)
		}
		running.mu.Lock()
		running.blocks = append(running.blocks, b)
		running.mu.Unlock()
		return nil
	}
	ln, err := reuseport.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("console %s: %w", cfg.Addr, err)
	}
	// Each start serves a fresh server: the configuration stays shared, the server and its
	// shutdown signal belong to this run only.
	run := &server{Config: cfg, tab: tab, done: make(chan struct{}), blocks: []Block{b}}
	run.srv = run.httpServer()
	run.srv.RegisterOnShutdown(func() { close(run.done) })
	go run.srv.Serve(newLimitListener(ln, maxConns, maxConnsPerClient))
	cs.m[cfg.Addr] = run
	return nil
}

// Timeouts of the console's connections: short, because a connection that sends nothing
// holds a slot and a descriptor that the DNS listeners and the probes may need.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = 15 * time.Second
)

// httpServer is the HTTP server of a running console: bounded headers and timeouts, the guard
// in front of the API, and a bound on the event streams behind the guard (an unauthorised
// client must not be able to take the slots).
func (c *server) httpServer() *http.Server {
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
	if err := c.srv.Shutdown(ctx); err != nil { // (negated, only a log line differs: equivalent)
		log.Infof("Failed to stop console %s: %s", addr, err)
	}
	return nil
}

// guard rejects what must not reach the API. With a token, every API request must carry it as
// a bearer token. Without one (loopback only), the Host must be a loopback name, so that a web
// page cannot reach the API through DNS rebinding, and a browser's cross-origin request is
// refused by its Origin header. No cookies are used, so there is nothing to forge.
func (c *server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.Token != "" {
			if isPage(r) {
				// The page and its assets hold no data, and a browser cannot send a bearer
				// token when it loads a page: the page asks for the token and sends it
				// with every API call.
				next.ServeHTTP(w, r)
				return
			}
			if !validBearer(r.Header.Get("Authorization"), c.Token) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="override"`)
				writeError(w, http.StatusUnauthorized, "", "missing or wrong bearer token")
				return
			}
		} else if !LoopbackHost(r.Host) {
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
	// A token is never empty (parsing refuses it), so "Bearer " alone fails the comparison
	// below too: < would be an equivalent mutant.
	if len(header) <= len(prefix) || header[:len(prefix)] != prefix {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(header[len(prefix):]), []byte(token)) == 1
}

func sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == host
}

// LoopbackHost reports whether a Host header or listen address names this machine only.
func LoopbackHost(hostport string) bool {
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
