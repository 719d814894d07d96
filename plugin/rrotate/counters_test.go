package rrotate

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

func TestCountersStayBounded(t *testing.T) {
	c := newCounters(shardCount * 4)
	for i := range 10000 {
		c.next(fmt.Sprintf("name%d.test.", i), dns.TypeA)
	}
	if n := c.len(); n > shardCount*4 {
		t.Errorf("tracking %d names, want at most %d", n, shardCount*4)
	}
}

func TestCountersCount(t *testing.T) {
	c := newCounters(100)
	for want := range uint64(5) {
		if got := c.next("a.test.", dns.TypeA); got != want {
			t.Fatalf("next = %d, want %d", got, want)
		}
	}
	if got := c.next("A.Test.", dns.TypeA); got != 5 {
		t.Errorf("names must be case-insensitive: next = %d, want 5", got)
	}
}
