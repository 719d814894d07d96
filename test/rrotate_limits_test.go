package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/test/harness"
)

// rotateWeightCounter reads the counter family name, series labels (all given labels must
// match), from this process's registry, where the servers the tests start register; 0 when
// the series does not exist yet. Tests compare it before and after, as a delta.
func rotateWeightCounter(t *testing.T, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue series
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestRRotateHundredRecordsOverTCP serves a name with 100 addresses from a zone file. Over
// TCP the whole answer arrives, and it rotates like any other: the n-th answer leads with
// the n-th record and the rest follow in circular order.
func TestRRotateHundredRecordsOverTCP(t *testing.T) {
	const n = 100
	var zone strings.Builder
	for i := range n {
		fmt.Fprintf(&zone, "many 300 IN A 127.1.%d.%d\n", i/256, i%256)
	}
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    rrotate
    cache
    file %s
}`, harness.ZoneFile(t, t.TempDir(), zone.String())))

	for i := range n + 3 {
		m := harness.Exchange(t, "tcp", srv.TCP, "many.example.test.", dns.TypeA)
		got := harness.Addresses(m)
		if len(got) != n {
			t.Fatalf("answer %d has %d addresses, want %d", i+1, len(got), n)
		}
		for j, ip := range got {
			k := (i + j) % n
			if want := fmt.Sprintf("127.1.%d.%d", k/256, k%256); ip != want {
				t.Fatalf("answer %d: address %d is %s, want %s (the answer leads with record %d)", i+1, j, ip, want, i%n)
			}
		}
	}
}

// TestRRotateMaxNamesEviction keeps a single counter (max_names 1): asking for another
// (name, type) forgets the first, whose rotation then restarts at its first record, and
// evictions_total counts each one.
func TestRRotateMaxNamesEviction(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    rrotate {
        max_names 1
    }
    cache
    file %s
}`, rrotateZone(t)))
	const evictions = "coredns_rrotate_evictions_total"
	before := rotateWeightCounter(t, evictions, nil)
	lead := func(qtype uint16) string { return harness.Addresses(srv.Query(t, "cats.example.test.", qtype))[0] }

	if got := []string{lead(dns.TypeA), lead(dns.TypeA)}; got[0] != "127.0.0.2" || got[1] != "127.0.0.3" {
		t.Fatalf("first two answers lead with %v, want 127.0.0.2 then 127.0.0.3", got)
	}
	if d := rotateWeightCounter(t, evictions, nil) - before; d != 0 {
		t.Fatalf("evictions_total rose by %v with one name asked for", d)
	}
	if got := lead(dns.TypeAAAA); got != "::2" { // takes the only counter
		t.Fatalf("AAAA leads with %s, want ::2", got)
	}
	if got := lead(dns.TypeA); got != "127.0.0.2" {
		t.Errorf("after eviction the A answer leads with %s, want 127.0.0.2 (a restarted rotation)", got)
	}
	if d := rotateWeightCounter(t, evictions, nil) - before; d != 2 {
		t.Errorf("evictions_total rose by %v, want 2", d)
	}
}
