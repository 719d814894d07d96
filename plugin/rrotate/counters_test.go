package rrotate

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

// max_names is the bound the operator configures, exactly, whatever its size.
func TestCountersBoundIsMaxNames(t *testing.T) {
	for _, n := range []int{1, 2, 10, 63, 64, 65, 100, 1000, defaultMaxNames} {
		c := newCounters(n)
		if got := c.capacity(); got != n {
			t.Errorf("newCounters(%d) keeps %d counters", n, got)
		}
		for i := range 3 * min(n, 1000) { // enough names to fill the small bounds
			c.next(fmt.Sprintf("name%d.test.", i), dns.TypeA)
		}
		if got := c.len(); got > n {
			t.Errorf("max_names %d: tracking %d names", n, got)
		}
		if n <= 100 && c.len() == 0 {
			t.Errorf("max_names %d: tracking nothing", n)
		}
	}
}

// With max_names 1 the single counter is the last name asked for.
func TestCountersEvict(t *testing.T) {
	c := newCounters(1)
	before := counterValue(t, evictions)
	c.next("a.test.", dns.TypeA)
	c.next("a.test.", dns.TypeA)
	if got := c.next("a.test.", dns.TypeA); got != 2 {
		t.Fatalf("third answer for a: next = %d, want 2", got)
	}
	c.next("b.test.", dns.TypeA) // evicts a
	if got := c.next("a.test.", dns.TypeA); got != 0 {
		t.Errorf("a after eviction: next = %d, want 0 (a restarted rotation)", got)
	}
	if got := c.len(); got != 1 {
		t.Errorf("tracking %d names, want 1", got)
	}
	if d := counterValue(t, evictions) - before; d != 2 {
		t.Errorf("evictions_total rose by %v, want 2 (a evicted by b, b by a)", d)
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
	if got := c.next("a.test.", dns.TypeAAAA); got != 0 {
		t.Errorf("types must count apart: next = %d, want 0", got)
	}
}
