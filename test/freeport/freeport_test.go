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
