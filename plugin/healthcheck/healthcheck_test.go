package healthcheck

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// backend answers res, as cache would: the same message every time.
func backend(res *dns.Msg) plugin.Handler {
	return test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, w.WriteMsg(res)
	})
}

// benchServe runs ServeDNS for q over a backend that answers res. What a benchmark costs
// over BenchmarkBackendAlone is what the plugin adds to the handler it wraps.
func benchServe(b *testing.B, hc *HealthCheck, q, res *dns.Msg) {
	h := &Handler{HealthCheck: hc, Next: backend(res)}
	w := &test.ResponseWriter{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, q)
	}
}

// BenchmarkBackendAlone is the handler the plugin wraps, without the plugin: the base the
// other benchmarks are measured against.
func BenchmarkBackendAlone(b *testing.B) {
	res := catsAnswer(dns.TypeA)
	h, w, q, ctx := backend(res), &test.ResponseWriter{}, res.Copy(), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, q)
	}
}

// noStage is a steerdns stage that changes nothing.
type noStage struct{}

func (*noStage) Rewrite(*answer.Response) {}

// BenchmarkSharedWriterAlone is the backend under a plugin that joins the query's shared
// writer and changes nothing: the part of the figures below that the shared query path
// costs, whichever steerdns plugin joins first. The rest is healthcheck's own.
func BenchmarkSharedWriterAlone(b *testing.B) {
	res := catsAnswer(dns.TypeA)
	next, w, q, ctx := backend(res), &test.ResponseWriter{}, res.Copy(), context.Background()
	stage := &noStage{}
	b.ReportAllocs()
	for b.Loop() {
		next.ServeDNS(ctx, answer.Join(ctx, w, stage), q)
	}
}

// BenchmarkServeDNSFiltered: a primary is down, so the answer loses it (and the backups held
// back) and carries the capped TTL: one allocation, the query's shared writer.
func BenchmarkServeDNSFiltered(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateUp, "127.0.0.5": stateUp})
	res := catsAnswer(dns.TypeA)
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSFilteredAlias: the same through a CNAME (www -> cats): the rule is found
// by the final owner, and the CNAME's TTL is capped too.
func BenchmarkServeDNSFilteredAlias(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateUp, "127.0.0.5": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Question[0].Name = "www.example.test."
	res.Answer = append([]dns.RR{test.CNAME("www.example.test. 300 IN CNAME cats.example.test.")}, res.Answer...)
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSHealthy: every address is up, the answer holds no backup and the TTLs are
// within the cap, so the answer passes as it is (the shared writer is still made: whether
// the answer needs a change is known only when it comes up).
func BenchmarkServeDNSHealthy(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = res.Answer[:2]
	for _, rr := range res.Answer {
		rr.Header().Ttl = 10
	}
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSNotConcerned: a question outside the zones goes straight on: nothing
// allocated.
func BenchmarkServeDNSNotConcerned(b *testing.B) {
	hc := newTestHC(b, "", nil)
	res := catsAnswer(dns.TypeA)
	res.Question[0].Name = "cats.example.org."
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSOtherType: an MX question in the zone goes straight on: nothing
// allocated.
func BenchmarkServeDNSOtherType(b *testing.B) {
	hc := newTestHC(b, "", nil)
	res := catsAnswer(dns.TypeMX)
	res.Answer = []dns.RR{test.MX("cats.example.test. 300 IN MX 10 mail.example.test.")}
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSHealthyCapped: every address is up, the zone's TTL is above the cap, so
// the answer is copied once with capped TTLs (the default "ttl 10 all"), in the shared
// writer's room: one allocation.
func BenchmarkServeDNSHealthyCapped(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = res.Answer[:2]
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSDrained: a primary is drained (or down by the replicas' quorum: the
// snapshot holds the effective state either way), so the answer loses it exactly as it
// loses a down one: the same cost as BenchmarkServeDNSFiltered.
func BenchmarkServeDNSDrained(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDrained, "127.0.0.4": stateUp, "127.0.0.5": stateUp})
	res := catsAnswer(dns.TypeA)
	benchServe(b, hc, res.Copy(), res)
}
