package weighted

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

func benchServe(b *testing.B, qname string) { benchServeType(b, qname, dns.TypeA, ".") }

// benchServeType is one query of qtype for qname to weighted serving zone.
func benchServeType(b *testing.B, qname string, qtype uint16, zone string) {
	m := response("dogs.example.test.", dns.TypeA, append(dogs, "dogs.example.test. 300 IN A 127.0.0.5")...)
	wt, err := parse(caddyController("weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1 127.0.0.4 2\n}"))
	if err != nil {
		b.Fatal(err)
	}
	if err := wt.loadWeights(); err != nil {
		b.Fatal(err)
	}
	wt.zones = answer.NewZones([]string{zone})
	wt.Next = backend(m)
	req := new(dns.Msg)
	req.SetQuestion(qname, qtype)
	w := &test.ResponseWriter{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wt.ServeDNS(ctx, w, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServeWeighted is the query path for a name with weights: 4 addresses ordered.
func BenchmarkServeWeighted(b *testing.B) { benchServe(b, "dogs.example.test.") }

// BenchmarkServeMixedCase is the same with a 0x20-randomised query name.
func BenchmarkServeMixedCase(b *testing.B) { benchServe(b, "DoGs.eXaMpLe.TeSt.") }

// BenchmarkServeUnconfigured is the query path for a name without weights in the zones:
// weighted must see its answer (an alias may lead to a weighted name), so it joins the
// query's writer, whose one allocation the other steerdns plugins share.
func BenchmarkServeUnconfigured(b *testing.B) { benchServe(b, "cats.example.test.") }

// BenchmarkServeOtherType is the query path for a type weighted does not weight: no
// allocation.
func BenchmarkServeOtherType(b *testing.B) {
	benchServeType(b, "dogs.example.test.", dns.TypeMX, ".")
}

// BenchmarkServeOutsideZones is the query path for a name outside the zones: no allocation.
func BenchmarkServeOutsideZones(b *testing.B) {
	benchServeType(b, "dogs.example.test.", dns.TypeA, "example.org.")
}

// BenchmarkServeWeightedParallel shows the cost when all cores answer the same name.
func BenchmarkServeWeightedParallel(b *testing.B) {
	m := response("dogs.example.test.", dns.TypeA, dogs...)
	wt, err := parse(caddyController("weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1\n}"))
	if err != nil {
		b.Fatal(err)
	}
	if err := wt.loadWeights(); err != nil {
		b.Fatal(err)
	}
	wt.Next = backend(m)
	req := new(dns.Msg)
	req.SetQuestion("dogs.example.test.", dns.TypeA)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &test.ResponseWriter{}
		for pb.Next() {
			if _, err := wt.ServeDNS(context.Background(), w, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBackendOnly is the test backend alone: subtract it from the figures above to get
// what weighted itself costs.
func BenchmarkBackendOnly(b *testing.B) {
	next := backend(response("dogs.example.test.", dns.TypeA, dogs...))
	req := new(dns.Msg)
	req.SetQuestion("dogs.example.test.", dns.TypeA)
	w := &test.ResponseWriter{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := next.ServeDNS(ctx, w, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRotationOrder is one step of smooth weighted round robin over 4 addresses, alone.
func BenchmarkRotationOrder(b *testing.B) {
	n, rrs := nameWith(3, 1, 2, 1)
	out := make([]dns.RR, len(rrs))
	b.ReportAllocs()
	for b.Loop() {
		n.states[0].order(n, rrs, out)
	}
}
