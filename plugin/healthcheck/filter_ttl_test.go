package healthcheck

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// packed returns m in wire form, to compare a message before and after the filter.
func packed(t testing.TB, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ttls(m *dns.Msg) []uint32 {
	var out []uint32
	for _, rr := range m.Answer {
		out = append(out, rr.Header().Ttl)
	}
	return out
}

func sixAnswer(ttl string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("six.example.test.", dns.TypeAAAA)
	m.Answer = []dns.RR{test.AAAA("six.example.test. " + ttl + " IN AAAA ::2"), test.AAAA("six.example.test. " + ttl + " IN AAAA ::3")}
	return m
}

// TestTTLCapEveryAnswer: by default a checked name's answer carries at most ttl seconds even
// when health changes nothing, on the addresses and on the CNAMEs in front of them, so that
// a resolver's cache cannot hold a dead address for the zone's TTL. The records the backend
// handed up (cache's) are not touched.
func TestTTLCapEveryAnswer(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Question[0].Name = "www.example.test."
	res.Answer = append([]dns.RR{test.CNAME("www.example.test. 3600 IN CNAME cats.example.test.")}, res.Answer[:2]...)
	before := packed(t, res)
	out, outcome := serve(t, hc, res)
	if got := ttls(out); !slices.Equal(got, []uint32{10, 10, 10}) {
		t.Errorf("TTLs %v, want every record capped at 10", got)
	}
	if outcome != unchanged {
		t.Errorf("outcome %s for a healthy answer, want none counted", outcome)
	}
	if out == res || out.Answer[0] == res.Answer[0] {
		t.Error("the backend's message or CNAME record was reused for a capped answer")
	}
	if !bytes.Equal(packed(t, res), before) {
		t.Error("the backend's message changed")
	}

	short := catsAnswer(dns.TypeA)
	short.Answer = short.Answer[:2]
	for _, rr := range short.Answer {
		rr.Header().Ttl = 10
	}
	if out, _ := serve(t, hc, short); out != short {
		t.Error("an answer already within the cap was copied")
	}

	hc = newTestHC(t, "ttl 10 changed", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	if out, _ := serve(t, hc, res); out != res {
		t.Errorf("with 'ttl 10 changed' a healthy answer was changed: TTLs %v", ttls(out))
	}
}

// TestTTLCapCNAMEOnly: an answer whose addresses are within the cap but whose CNAME is not
// gets the CNAME capped (a resolver would otherwise keep the alias for the zone's TTL), and
// only with "ttl ... all".
func TestTTLCapCNAMEOnly(t *testing.T) {
	res := catsAnswer(dns.TypeA)
	res.Question[0].Name = "www.example.test."
	res.Answer = []dns.RR{test.CNAME("www.example.test. 3600 IN CNAME cats.example.test."),
		test.A("cats.example.test. 5 IN A 127.0.0.2"), test.A("cats.example.test. 5 IN A 127.0.0.3")}
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	if out, _ := serve(t, hc, res); !slices.Equal(ttls(out), []uint32{10, 5, 5}) {
		t.Errorf("TTLs %v, want the CNAME capped at 10 and the addresses at their 5", ttls(out))
	}
	hc = newTestHC(t, "ttl 10 changed", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	if out, _ := serve(t, hc, res); out != res {
		t.Errorf("with 'ttl 10 changed' a healthy answer was changed: TTLs %v", ttls(out))
	}
}

// TestTTLCapAAAA: the cap applies to AAAA answers the same way, healthy and filtered.
func TestTTLCapAAAA(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"::2": stateUp, "::3": stateUp})
	res := sixAnswer("300")
	before := packed(t, res)
	out, _ := serve(t, hc, res)
	if got, ttl := addrsTTL(out); !slices.Equal(got, []string{"::2", "::3"}) || !slices.Equal(ttl, []uint32{10, 10}) {
		t.Errorf("healthy AAAA answer %v TTLs %v, want both addresses at TTL 10", got, ttl)
	}

	hc = newTestHC(t, "ttl 7 changed", map[string]state{"::2": stateUp, "::3": stateDown})
	out, outcome := serve(t, hc, res)
	if got, ttl := addrsTTL(out); !slices.Equal(got, []string{"::2"}) || !slices.Equal(ttl, []uint32{7}) || outcome != outcomeFiltered {
		t.Errorf("filtered AAAA answer %v TTLs %v outcome %s, want [::2] at TTL 7, filtered", got, ttl, outcome)
	}
	if !bytes.Equal(packed(t, res), before) {
		t.Error("the backend's AAAA message changed")
	}
}

// TestFilterRRSIGMustCoverTheRRset: only an RRSIG over the address RRset (its type at its
// owner) passes the answer unfiltered; one over the CNAME in front, or over another name,
// does not let a dead address through.
func TestFilterRRSIGMustCoverTheRRset(t *testing.T) {
	rrsig := func(owner, covered string) dns.RR {
		return test.RRSIG(fmt.Sprintf("%s 300 IN RRSIG %s 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl", owner, covered))
	}
	tests := []struct {
		name    string
		sig     dns.RR
		want    []string
		outcome outcome
	}{
		{"covers the A RRset", rrsig("cats.example.test.", "A"), []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}, outcomeSigned},
		{"covers the A RRset, other case", rrsig("CATS.example.TEST.", "A"), []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}, outcomeSigned},
		{"covers the CNAME", rrsig("www.example.test.", "CNAME"), []string{"127.0.0.3"}, outcomeFiltered},
		{"covers A of another name", rrsig("www.example.test.", "A"), []string{"127.0.0.3"}, outcomeFiltered},
		{"covers AAAA", rrsig("cats.example.test.", "AAAA"), []string{"127.0.0.3"}, outcomeFiltered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
			res := catsAnswer(dns.TypeA)
			res.Question[0].Name = "www.example.test."
			res.Answer = append([]dns.RR{test.CNAME("www.example.test. 300 IN CNAME cats.example.test."), tc.sig}, res.Answer...)
			before := packed(t, res)
			out, outcome := serve(t, hc, res)
			if got, _ := addrsTTL(out); !slices.Equal(got, tc.want) || outcome != tc.outcome {
				t.Errorf("answer %v outcome %s, want %v %s", got, outcome, tc.want, tc.outcome)
			}
			for _, ttl := range ttls(out) {
				if ttl > 10 {
					t.Errorf("TTLs %v, want every record at most 10", ttls(out))
					break
				}
			}
			if !bytes.Equal(packed(t, res), before) {
				t.Error("the backend's message changed")
			}
		})
	}
}

// TestFilterDiscoveredDown: an address no name line lists but discovery probes is removed
// from the answer once it is down, and the answer marks it as still seen.
func TestFilterDiscoveredDown(t *testing.T) {
	hc := newTestHC(t, "discover web", nil)
	s := newSnapshot()
	check := hc.cfg.discover
	down, up := new(atomic.Int64), new(atomic.Int64)
	s.set(targetKey{mustAddr("127.0.0.8"), check}, verdict{state: stateDown, seen: down})
	s.set(targetKey{mustAddr("127.0.0.9"), check}, verdict{state: stateUp, seen: up})
	hc.snap.Store(hc.withListed(s, drainSet{}))
	hc.now.Store(42)

	res := new(dns.Msg)
	res.SetQuestion("dogs.example.test.", dns.TypeA)
	res.Answer = []dns.RR{test.A("dogs.example.test. 300 IN A 127.0.0.8"), test.A("dogs.example.test. 300 IN A 127.0.0.9")}
	out, outcome := serve(t, hc, res)
	if got, ttl := addrsTTL(out); !slices.Equal(got, []string{"127.0.0.9"}) || outcome != outcomeFiltered || ttl[0] != 10 {
		t.Errorf("answer %v TTL %v outcome %s, want [127.0.0.9] at TTL 10, filtered", got, ttl, outcome)
	}
	if down.Load() != 42 || up.Load() != 42 {
		t.Errorf("last-seen marks %d and %d, want both 42", down.Load(), up.Load())
	}
	if len(hc.found) != 0 {
		t.Error("an address with a prober was reported for discovery again")
	}
}

// TestFilterAllocations: through ServeDNS, a query the plugin filters costs the query's shared
// writer, plus, when the cap lowers TTLs, one block for the copies of the answer's addresses
// (and one per CNAME copied); one it is not concerned with costs none (the benchmarks report
// the same figures). Two small allocations cost what one of their size would: the writer is
// kept at 512 bytes rather than carrying room for copies that most answers never need.
func TestFilterAllocations(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateUp, "127.0.0.5": stateUp})
	filtered := catsAnswer(dns.TypeA)
	healthy := catsAnswer(dns.TypeA)
	healthy.Answer = healthy.Answer[:1]
	short := catsAnswer(dns.TypeA)
	short.Answer = short.Answer[:1]
	short.Answer[0] = test.A("cats.example.test. 5 IN A 127.0.0.2")
	alias := catsAnswer(dns.TypeA)
	alias.Question[0].Name = "www.example.test."
	alias.Answer = append([]dns.RR{test.CNAME("www.example.test. 300 IN CNAME cats.example.test.")}, alias.Answer...)
	outside := catsAnswer(dns.TypeA)
	outside.Question[0].Name = "cats.example.org."
	mx := catsAnswer(dns.TypeMX)
	mx.Answer = []dns.RR{test.MX("cats.example.test. 300 IN MX 10 mail.example.test.")}
	full := catsAnswer(dns.TypeA) // as many records as filter classifies without allocating
	full.Answer = nil
	for i := range maxInline {
		full.Answer = append(full.Answer, test.A(fmt.Sprintf("cats.example.test. 5 IN A 127.0.1.%d", i)))
	}
	for name, tc := range map[string]struct {
		m    *dns.Msg
		want float64
	}{"filtered": {filtered, 2}, "healthy, capped": {healthy, 2}, "healthy, within the cap": {short, 1},
		"filtered through an alias": {alias, 3}, "AAAA, capped": {sixAnswer("300"), 2}, "outside the zones": {outside, 0}, "MX": {mx, 0},
		"healthy, maxInline records": {full, 1}} {
		h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
			return dns.RcodeSuccess, w.WriteMsg(tc.m)
		})}
		w, q, ctx := &test.ResponseWriter{}, tc.m.Copy(), context.Background()
		if n := testing.AllocsPerRun(100, func() { h.ServeDNS(ctx, w, q) }); n != tc.want {
			t.Errorf("%s: %g allocations, want %g", name, n, tc.want)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestServeDNSFiltersAAAA: an AAAA answer handed up through the chain is filtered and capped
// like an A answer.
func TestServeDNSFiltersAAAA(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"::2": stateUp, "::3": stateDown})
	res := sixAnswer("300")
	h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, w.WriteMsg(res)
	})}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(context.Background(), rec, res.Copy()); err != nil {
		t.Fatal(err)
	}
	if got, ttl := addrsTTL(rec.Msg); !slices.Equal(got, []string{"::2"}) || !slices.Equal(ttl, []uint32{10}) {
		t.Errorf("AAAA answer %v TTLs %v, want [::2] at TTL 10", got, ttl)
	}
}
