package override

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// scaleState returns n enabled overrides, one name each, every hundredth a wildcard (the
// second one first, so that a small table has one too): a large fleet where operators pin
// many names at once.
func scaleState(n int) store.State {
	st := store.State{Overrides: make([]store.Override, 0, n)}
	for i := range n {
		name := fmt.Sprintf("host%d.example.test.", i)
		if i%100 == 1 {
			name = fmt.Sprintf("*.zone%d.example.test.", i)
		}
		st.Overrides = append(st.Overrides, store.Override{
			ID: fmt.Sprintf("o%d", i), Name: name, Group: name,
			Addresses: []string{fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}, Enabled: true,
		})
	}
	return st
}

// scaleTable is a handler serving a snapshot of n overrides, and the heap that snapshot
// takes (the answer counter of each override included): what an operator must budget.
type scaleTable struct {
	h    *Handler
	used float64
}

// scaleTables keeps each size's table for the benchmarks after the first: building it twice
// would find the answer counters already registered and under-report the memory.
var scaleTables = map[int]scaleTable{}

func scaleHandler(b *testing.B, n int) scaleTable {
	if t, ok := scaleTables[n]; ok {
		return t
	}
	h := benchHandler(b)
	st := scaleState(n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	snap := newSnapshot(st)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(st)
	h.snap.Store(snap)
	t := scaleTable{h: h.Handler, used: float64(after.HeapAlloc) - float64(before.HeapAlloc)}
	scaleTables[n] = t
	return t
}

// benchScale measures serve (the whole ServeDNS) or, without serve, the lookup alone.
func benchScale(b *testing.B, n int, name string, serve bool) {
	t := scaleHandler(b, n)
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	w := &discard{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if serve {
			t.h.ServeDNS(ctx, w, m)
		} else {
			t.h.snap.Load().lookup(name)
		}
	}
	// Reported after the loop: b.Loop's first call resets the metrics reported before it.
	b.ReportMetric(t.used/(1<<20), "MiB/table")
	b.ReportMetric(t.used/float64(n), "B/override")
}

// BenchmarkScale compares a handful with 100,000 enabled overrides: the lookup of a hit, a
// hit through a wildcard and a miss cost the same at both sizes (one map probe, plus one per
// label when there are many wildcards), as does the whole ServeDNS of a hit and a miss.
// With 100,000 overrides the heap is larger, so each allocation's share of garbage
// collection grows: that, not the lookup, is what a hit pays more.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{4, 100_000} {
		for _, q := range []struct{ what, name string }{
			{"hit", "host2.example.test."}, {"wildcard", "a.zone1.example.test."}, {"miss", "dogs.example.test."},
		} {
			b.Run(fmt.Sprintf("n=%d/lookup/%s", n, q.what), func(b *testing.B) { benchScale(b, n, q.name, false) })
			b.Run(fmt.Sprintf("n=%d/serve/%s", n, q.what), func(b *testing.B) { benchScale(b, n, q.name, true) })
		}
	}
}

// TestLookupManyWildcards covers the lookup that probes one map entry per label, taken when
// there are more wildcards than a suffix scan handles, with wildcards at several depths.
func TestLookupManyWildcards(t *testing.T) {
	st := scaleState(1000) // ten wildcards, *.zone1.example.test. among them
	st.Overrides = append(st.Overrides, store.Override{ID: "top", Name: "*.example.test.", Addresses: []string{"10.9.9.9"}, Enabled: true})
	s := newSnapshot(st)
	if len(s.wild) <= maxSuffixScan {
		t.Fatalf("%d wildcards: the test needs more than %d", len(s.wild), maxSuffixScan)
	}
	for name, want := range map[string]string{
		"a.zone1.example.test.":     "o1",   // the closest wildcard wins
		"a.b.zone101.example.test.": "o101", // any depth below it
		"zone1.example.test.":       "top",  // not below *.zone1, but below *.example.test
		"dogs.example.test.":        "top",
		"host5.example.test.":       "o5", // an exact name beats a wildcard
		"example.test.":             "",
		"dogs.example.org.":         "",
	} {
		got := ""
		if pins := s.lookup(name); pins != nil {
			got = pins[0].id
		}
		if got != want {
			t.Errorf("lookup(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestLookupAnyCase: a name in any case finds its pins, with and without wildcards.
func TestLookupAnyCase(t *testing.T) {
	for _, n := range []int{1, 500, 1000} { // no wildcard, five (a suffix scan), ten (a walk)
		s := newSnapshot(scaleState(n))
		if pins := s.lookupAnyCase("HOST0.Example.TEST."); pins == nil || pins[0].id != "o0" {
			t.Errorf("%d overrides: mixed-case lookup of host0 found %v", n, pins)
		}
		if pins := s.lookupAnyCase("Dogs.Example.Test."); pins != nil {
			t.Errorf("%d overrides: mixed-case lookup of dogs found %v", n, pins)
		}
	}
	for _, n := range []int{500, 1000} {
		s := newSnapshot(scaleState(n))
		if pins := s.lookupAnyCase("A.Zone1.Example.Test."); pins == nil || pins[0].id != "o1" {
			t.Errorf("%d overrides: mixed-case lookup under a wildcard found %v", n, pins)
		}
	}
}

// BenchmarkMissMixedCase is a miss for a client that randomises the case of names (0x20).
func BenchmarkMissMixedCase(b *testing.B) { benchServe(b, "DoGs.ExAmPlE.tEsT.") }
