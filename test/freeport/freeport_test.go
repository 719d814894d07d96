package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPortIsFreeAndOutsideTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p := Port(t)
		if p < lowest || p >= ephemeralStart() {
			t.Fatalf("port %d outside %d..%d", p, lowest, ephemeralStart()-1)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("listening on the port handed out: %v", err)
		}
		l.Close()
	}
}

// TestPortIsReservedAcrossProcesses checks that a port handed out is locked for other test
// processes (a second open file description conflicts as another process's would) until the
// test that took it ends.
func TestPortIsReservedAcrossProcesses(t *testing.T) {
	var p int
	t.Run("holder", func(t *testing.T) {
		p = Port(t)
		if lock, ok := reserve(p); ok {
			lock.Close()
			t.Fatalf("port %d handed out, yet another process could reserve it too", p)
		}
	})
	lock, ok := reserve(p)
	if !ok {
		t.Fatalf("port %d still reserved after the test that took it ended", p)
	}
	lock.Close()
}
