package test

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// joinedChain builds, in process, the handlers that the Corefile lines (one directive each,
// in chain order) set up for a server of zone, in front of next: the plugins' own setup
// functions, as CoreDNS calls them, without a listener in the way of a benchmark.
func joinedChain(t testing.TB, zone string, next plugin.Handler, lines ...string) plugin.Handler {
	t.Helper()
	c := caddy.NewTestController("dns", "")
	c.ServerBlockKeys = []string{zone}
	for _, line := range lines {
		setup, err := caddy.DirectiveAction("dns", strings.Fields(line)[0])
		if err != nil {
			t.Fatal(err)
		}
		c.Dispenser = caddyfile.NewDispenser("Corefile", strings.NewReader(line))
		if err := setup(c); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
	}
	stack := dnsserver.GetConfig(c).Plugin
	h := next
	for i := len(stack) - 1; i >= 0; i-- {
		h = stack[i](h)
	}
	return h
}

// sameAnswer hands up the very same message for every query, as cache does with what it
// keeps, and allocates nothing itself.
type sameAnswer struct{ msg *dns.Msg }

func (s sameAnswer) ServeDNS(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
	return dns.RcodeSuccess, w.WriteMsg(s.msg)
}

func (sameAnswer) Name() string { return "cache" }

// dropWriter discards what it is given: the figures are the plugins', not a recorder's.
type dropWriter struct{ test.ResponseWriter }

func (*dropWriter) WriteMsg(*dns.Msg) error { return nil }

// joinedAnswer is an alias in front of four addresses, the shape both plugins act on.
func joinedAnswer(t testing.TB) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	m.Response, m.Authoritative = true, true
	for _, s := range []string{
		"www.example.test. 300 IN CNAME dogs.example.test.",
		"dogs.example.test. 300 IN A 127.0.0.2", "dogs.example.test. 300 IN A 127.0.0.3",
		"dogs.example.test. 300 IN A 127.0.0.4", "dogs.example.test. 300 IN A 127.0.0.5",
	} {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	return m
}

// rrotate and weighted both acting on one query: weighted orders the alias's final RRset,
// rrotate rotates that order and caps the TTLs.
var joinedLines = []string{
	"rrotate {\n ttl 5\n}",
	"weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1\n}",
}

// TestRRotateWeightedJoinedOneAllocation: the two plugins acting on one query share one
// writer and one copy of the reply, and the cached message is never changed. Their TTL caps
// cost one block for the four addresses' copies and one copy of the CNAME in front: three
// allocations in all, however many of the plugins change the answer.
func TestRRotateWeightedJoinedOneAllocation(t *testing.T) {
	in := joinedAnswer(t)
	before := in.String()
	h := joinedChain(t, "example.test.", sameAnswer{in}, joinedLines...)
	req := new(dns.Msg)
	req.SetQuestion("www.example.test.", dns.TypeA)
	ctx, w := context.Background(), &dropWriter{}
	if got := testing.AllocsPerRun(100, func() { h.ServeDNS(ctx, w, req) }); got != 3 {
		t.Errorf("rrotate and weighted acting on one query: %v allocations, want 3 (the writer, the addresses' TTL copies, the CNAME's)", got)
	}
	rec := &answerRecorder{}
	for i := range 3 {
		h.ServeDNS(ctx, rec, req)
		if len(rec.msg.Answer) != 5 || rec.msg == in {
			t.Fatalf("answer %d: %v", i, rec.msg)
		}
		for _, rr := range rec.msg.Answer {
			if rr.Header().Ttl != 5 {
				t.Errorf("answer %d: %s, want TTL 5", i, rr)
			}
		}
	}
	if in.String() != before {
		t.Errorf("the cached message changed:\n%s\nwas\n%s", in, before)
	}
}

// answerRecorder keeps the last message written.
type answerRecorder struct {
	test.ResponseWriter
	msg *dns.Msg
}

func (r *answerRecorder) WriteMsg(m *dns.Msg) error {
	r.msg = m
	return nil
}

// BenchmarkRRotateWeightedJoined is one query on which rrotate and weighted both act (an
// alias to four addresses, weighted order, rotation, TTL caps): the shared writer, one block
// of address copies and the CNAME's copy.
func BenchmarkRRotateWeightedJoined(b *testing.B) {
	h := joinedChain(b, "example.test.", sameAnswer{joinedAnswer(b)}, joinedLines...)
	benchJoined(b, h)
}

// BenchmarkRRotateWeightedJoinedNoTTL is the same without the TTL cap, as the plugins were
// configured before ttl existed.
func BenchmarkRRotateWeightedJoinedNoTTL(b *testing.B) {
	lines := append([]string{"rrotate"}, joinedLines[1:]...)
	benchJoined(b, joinedChain(b, "example.test.", sameAnswer{joinedAnswer(b)}, lines...))
}

// BenchmarkRRotateWeightedJoinedBackend is the handler below alone, for comparison.
func BenchmarkRRotateWeightedJoinedBackend(b *testing.B) {
	benchJoined(b, sameAnswer{joinedAnswer(b)})
}

func benchJoined(b *testing.B, h plugin.Handler) {
	req := new(dns.Msg)
	req.SetQuestion("www.example.test.", dns.TypeA)
	ctx, w := context.Background(), &dropWriter{}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, req)
	}
}
