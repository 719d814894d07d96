// Package freeport hands out loopback ports for listeners that cannot be given port 0, such
// as an address written into a Corefile or an etcd member that must keep its address across
// a restart.
//
// A port the kernel reports free (by listening on port 0 and closing) comes from the
// ephemeral range, the one the kernel also takes the source ports of outgoing connections
// from: with test packages running in parallel, a client connection can take it before the
// caller listens on it. These ports are chosen at random below that range instead, where
// only another listener can take them.
//
// Test processes run side by side (go test runs packages in parallel, and several checkouts
// may test on one machine): each port handed out is also locked, with flock on a file named
// after it in a directory shared by all of them, until the test ends. Another process then
// does not hand out the same port between this one's check and its listen. The kernel drops
// the lock when a process dies, so a killed test leaves nothing reserved.
package freeport

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// lowest is the bottom of the range the ports are chosen from.
const lowest = 10000

var (
	mu     sync.Mutex
	handed = map[int]bool{} // ports this process has handed out already
)

// Port returns a port on 127.0.0.1 that is free for both TCP and UDP.
func Port(t testing.TB) int {
	t.Helper()
	top := ephemeralStart()
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		p := lowest + rand.IntN(top-lowest)
		if handed[p] {
			continue
		}
		lock, ok := reserve(p)
		if !ok {
			continue
		}
		if !free(p) {
			lock.Close()
			continue
		}
		handed[p] = true
		// Released when the test ends; handed keeps this process from reusing it.
		t.Cleanup(func() { lock.Close() })
		return p
	}
	t.Fatalf("no free port on 127.0.0.1 between %d and %d", lowest, top)
	return 0
}

// Addr returns 127.0.0.1:PORT with a port from Port.
func Addr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", Port(t))
}

// reserve takes the machine-wide lock on port. It returns ok without a lock file when the
// lock directory cannot be used: the port is then only checked, as before locking existed.
func reserve(port int) (io.Closer, bool) {
	dir := filepath.Join(os.TempDir(), "steerdns-freeport")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return io.NopCloser(nil), true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return io.NopCloser(nil), true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

func free(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// ephemeralStart reads where the kernel's ephemeral ports begin (Linux), 32768 when it
// cannot tell.
func ephemeralStart() int {
	start, end := 32768, 0
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &start, &end)
	}
	if start <= lowest+1000 {
		start = 32768
	}
	return start
}
