package healthcheck

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// benchServe runs ServeDNS for q with a backend that answers res, as cache would: the same
// message every time.
func benchServe(b *testing.B, hc *HealthCheck, q, res *dns.Msg) {
	h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, w.WriteMsg(res)
	})}
	w := &test.ResponseWriter{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, q)
	}
}

// BenchmarkServeDNSFiltered: a primary is down, so the answer is rebuilt with a capped TTL.
func BenchmarkServeDNSFiltered(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateUp, "127.0.0.5": stateUp})
	res := catsAnswer(dns.TypeA)
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSHealthy: every address is up, none is a backup and the TTLs are within
// the cap, so the answer passes as it is.
func BenchmarkServeDNSHealthy(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = res.Answer[:2]
	for _, rr := range res.Answer {
		rr.Header().Ttl = 10
	}
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSNotConcerned: a question outside the zones goes straight on.
func BenchmarkServeDNSNotConcerned(b *testing.B) {
	hc := newTestHC(b, "", nil)
	res := catsAnswer(dns.TypeA)
	res.Question[0].Name = "cats.example.org."
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSOtherType: an MX question in the zone goes straight on.
func BenchmarkServeDNSOtherType(b *testing.B) {
	hc := newTestHC(b, "", nil)
	res := catsAnswer(dns.TypeMX)
	res.Answer = []dns.RR{test.MX("cats.example.test. 300 IN MX 10 mail.example.test.")}
	benchServe(b, hc, res.Copy(), res)
}

// BenchmarkServeDNSHealthyCapped: every address is up, the zone's TTL is above the cap, so
// the answer is copied once with capped TTLs (the default "ttl 10 all").
func BenchmarkServeDNSHealthyCapped(b *testing.B) {
	hc := newTestHC(b, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = res.Answer[:2]
	benchServe(b, hc, res.Copy(), res)
}
