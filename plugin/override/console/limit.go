package console

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
)

// Bounds of the console's listener. The console shares the process with the DNS listeners and
// the health probes: every connection it holds is a file descriptor they cannot have, and all
// of it is spent before a token is checked. So the console holds at most maxConns connections,
// at most maxConnsPerClient of them from one address, and at most maxStreams event streams;
// beyond that it closes new connections at once (and answers 503 to a new stream). A browser
// tab needs about six connections and two streams.
const (
	maxConns          = 256
	maxConnsPerClient = 32
	maxStreams        = 64
	maxHeaderBytes    = 16 << 10
)

// limitListener accepts at most max connections at a time, and at most perClient from one
// remote address; a connection beyond either bound is closed as soon as it is accepted, so
// that it holds no descriptor. (Leaving it in the kernel's queue, as netutil.LimitListener
// does, would let one client starve every other.)
type limitListener struct {
	net.Listener
	max, perClient int

	mu     sync.Mutex
	total  int
	byAddr map[netip.Addr]int
}

func newLimitListener(ln net.Listener, max, perClient int) *limitListener {
	return &limitListener{Listener: ln, max: max, perClient: perClient, byAddr: map[netip.Addr]int{}}
}

// Accept returns the next connection within the bounds, closing those beyond them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := remoteAddr(c)
		if l.take(addr) {
			return &limitConn{Conn: c, release: func() { l.give(addr) }}, nil
		}
		c.Close()
	}
}

func (l *limitListener) take(addr netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.max || l.byAddr[addr] >= l.perClient {
		return false
	}
	l.total++
	l.byAddr[addr]++
	return true
}

func (l *limitListener) give(addr netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byAddr[addr]--; l.byAddr[addr] <= 0 {
		delete(l.byAddr, addr) // the map holds only the clients connected now
	}
}

// remoteAddr is the client's address, IPv4-mapped addresses unmapped so that one client is
// counted once whichever way it connects. The zero Addr stands for an address that is not IP.
func remoteAddr(c net.Conn) netip.Addr {
	ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// limitConn gives its slot back once, however often it is closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// limitStreams answers 503 to an event stream beyond max open at once. Streams live as long as
// a console page is open, so without a bound they would hold every connection the listener
// allows.
func limitStreams(max int, next http.Handler) http.Handler {
	slots := make(chan struct{}, max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isStream(r) {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "5")
			writeError(w, http.StatusServiceUnavailable, "", "too many open event streams; try again later")
		}
	})
}

// isStream reports whether r opens one of the console's Server-Sent Events streams.
func isStream(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == "/api/events" || r.URL.Path == "/api/health/events")
}
