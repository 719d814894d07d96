package console

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/steerdns/steerdns/test/freeport"
)

// dialFrom opens a connection to addr from the loopback address from.
func dialFrom(t *testing.T, from, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedByServer reports whether the server closed c (reading gives EOF or a reset) within
// the deadline, rather than keeping it open.
func closedByServer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return err != nil
}

// TestLimitListener: at most max connections in all and perClient from one address; one
// beyond is closed at once; a slot comes back when its connection closes.
func TestLimitListener(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newLimitListener(raw, 3, 2)
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	addr := raw.Addr().String()
	next := func() net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(5 * time.Second):
			t.Fatal("no connection accepted")
			return nil
		}
	}
	a1 := dialFrom(t, "127.0.0.11", addr)
	dialFrom(t, "127.0.0.11", addr)
	s1 := next()
	next()
	if extra := dialFrom(t, "127.0.0.11", addr); !closedByServer(extra, 5*time.Second) {
		t.Error("a third connection from one client was kept; the bound per client is 2")
	}
	dialFrom(t, "127.0.0.12", addr)
	next()
	if extra := dialFrom(t, "127.0.0.13", addr); !closedByServer(extra, 5*time.Second) {
		t.Error("a fourth connection in all was kept; the bound is 3")
	}
	// Closing a connection (twice: the slot comes back once) frees its slot for anyone.
	s1.Close()
	s1.Close()
	a1.Close()
	c := dialFrom(t, "127.0.0.11", addr)
	next()
	if closedByServer(c, 200*time.Millisecond) {
		t.Error("a connection within the bounds was closed")
	}
	if extra := dialFrom(t, "127.0.0.14", addr); !closedByServer(extra, 5*time.Second) {
		t.Error("the freed slot was given twice")
	}
	ln.mu.Lock()
	defer ln.mu.Unlock()
	if ln.total != 3 || len(ln.byAddr) != 2 || ln.byAddr[mustAddr("127.0.0.11")] != 2 || ln.byAddr[mustAddr("127.0.0.12")] != 1 {
		t.Errorf("counts: total %d, by address %v", ln.total, ln.byAddr)
	}
}

// TestConsoleHeaderLimit: a request with headers over 16 KiB is refused with 431 before the
// token is checked, and the console keeps answering.
func TestConsoleHeaderLimit(t *testing.T) {
	addr := freeport.Addr(t)
	if err := consoles.start(Config{Addr: addr}, newTestTable(t), Block{}); err != nil {
		t.Fatal(err)
	}
	defer consoles.stop(addr)
	for _, size := range []int{maxHeaderBytes + 8<<10, 1 << 20} {
		c := dialFrom(t, "127.0.0.1", addr)
		go fmt.Fprintf(c, "GET /api/overrides HTTP/1.1\r\nHost: %s\r\nX-Big: %s\r\n\r\n", addr, strings.Repeat("a", size))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("header of %d bytes: %v", size, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("header of %d bytes: status %d, want 431", size, resp.StatusCode)
		}
	}
	resp, err := http.Get("http://" + addr + "/api/overrides")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after large headers: status %d", resp.StatusCode)
	}
}

// TestConsoleServerBounds pins the settings a flood depends on.
func TestConsoleServerBounds(t *testing.T) {
	srv := (&server{tab: newTestTable(t)}).httpServer()
	if srv.MaxHeaderBytes != 16<<10 || srv.ReadHeaderTimeout != 5*time.Second || srv.IdleTimeout != 15*time.Second || srv.ReadTimeout != 10*time.Second {
		t.Errorf("MaxHeaderBytes %d, ReadHeaderTimeout %s, IdleTimeout %s, ReadTimeout %s",
			srv.MaxHeaderBytes, srv.ReadHeaderTimeout, srv.IdleTimeout, srv.ReadTimeout)
	}
	if maxConns != 256 || maxConnsPerClient != 32 || maxStreams != 64 {
		t.Errorf("bounds %d %d %d differ from the README's", maxConns, maxConnsPerClient, maxStreams)
	}
}

// TestStreamLimit: beyond max open event streams a new one is 503 with Retry-After; closing
// one lets the next in; other requests are never limited.
func TestStreamLimit(t *testing.T) {
	tab := newTestTable(t)
	c := &server{tab: tab, done: make(chan struct{})}
	defer close(c.done)
	h := limitStreams(2, newMux(c))
	srv := newLoopbackServer(t, h)
	open := func(path string) *http.Response {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	first := open("/api/events")
	if first.StatusCode != 200 || open("/api/health/events").StatusCode != 200 {
		t.Fatal("streams within the bound refused")
	}
	over := open("/api/events")
	if over.StatusCode != http.StatusServiceUnavailable || over.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: status %d Retry-After %q, want 503 with Retry-After", over.StatusCode, over.Header.Get("Retry-After"))
	}
	if open("/api/overrides").StatusCode != 200 {
		t.Error("a plain request was limited")
	}
	first.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for open("/api/health/events").StatusCode != 200 {
		if time.Now().After(deadline) {
			t.Fatal("a closed stream never gave its slot back")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// newLoopbackServer serves h on a loopback port until the test ends.
func newLoopbackServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestLimitListenerForgetsIdleClients: the per-client map holds only the clients connected
// now, so that it does not grow with every address that ever connected.
func TestLimitListenerForgetsIdleClients(t *testing.T) {
	ln := newLimitListener(nil, 3, 2)
	a := mustAddr("127.0.0.21")
	if !ln.take(a) || !ln.take(a) {
		t.Fatal("two connections from one client refused")
	}
	ln.give(a)
	if ln.byAddr[a] != 1 {
		t.Errorf("one connection left, counted %d", ln.byAddr[a])
	}
	ln.give(a)
	if _, ok := ln.byAddr[a]; ok || ln.total != 0 {
		t.Errorf("after its last connection closed: by address %v, total %d", ln.byAddr, ln.total)
	}
}
