package rrotate

import (
	"context"
	"fmt"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// discard is a ResponseWriter that drops what it is given, so the benchmarks measure the
// plugin and not a recorder.
type discard struct{ test.ResponseWriter }

func (discard) WriteMsg(*dns.Msg) error { return nil }

func benchServe(b *testing.B, r *RRotate, qname string, qtype uint16) {
	req := new(dns.Msg)
	req.SetQuestion(qname, qtype)
	w := &discard{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		r.ServeDNS(ctx, w, req)
	}
}

// BenchmarkRotate is the query path when rrotate acts: a four-address answer from the
// handler below is rotated.
func BenchmarkRotate(b *testing.B) {
	backend := response("cats.example.test.", dns.TypeA,
		"cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3",
		"cats.example.test. 300 IN A 127.0.0.4", "cats.example.test. 300 IN A 127.0.0.5")
	benchServe(b, newRRotate(fixedPtr{backend}), "cats.example.test.", dns.TypeA)
}

// BenchmarkNotConcerned is the query path for a type rrotate does not rotate.
func BenchmarkNotConcerned(b *testing.B) {
	backend := response("cats.example.test.", dns.TypeMX, "cats.example.test. 300 IN MX 10 mx.example.test.")
	benchServe(b, newRRotate(fixedPtr{backend}), "cats.example.test.", dns.TypeMX)
}

// BenchmarkBaseline is the handler below alone, for comparison.
func BenchmarkBaseline(b *testing.B) {
	backend := response("cats.example.test.", dns.TypeA,
		"cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3")
	req := new(dns.Msg)
	req.SetQuestion("cats.example.test.", dns.TypeA)
	h := fixedPtr{backend}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(context.Background(), &discard{}, req)
	}
}

// fixedPtr hands up the very same message every time, as a backend that owns it would, and
// allocates nothing itself.
type fixedPtr struct{ msg *dns.Msg }

func (f fixedPtr) ServeDNS(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
	return 0, w.WriteMsg(f.msg)
}

func (fixedPtr) Name() string { return "fixed" }

// BenchmarkOutsideZones is the query path for an A query outside rrotate's zones: it must
// not allocate (plugin.Zones.Matches made two allocations per query).
func BenchmarkOutsideZones(b *testing.B) {
	backend := response("www.other.test.", dns.TypeA,
		"www.other.test. 300 IN A 127.0.0.2", "www.other.test. 300 IN A 127.0.0.3")
	r := newRRotate(fixedPtr{backend})
	r.zones = answer.NewZones([]string{"example.test.", "example.org."})
	benchServe(b, r, "www.Other.test.", dns.TypeA)
}

// BenchmarkRotateLarge rotates an answer of 100 addresses, as a TCP answer can carry.
func BenchmarkRotateLarge(b *testing.B) {
	var rrs []string
	for i := range 100 {
		rrs = append(rrs, fmt.Sprintf("big.example.test. 300 IN A 10.0.0.%d", i))
	}
	benchServe(b, newRRotate(fixedPtr{response("big.example.test.", dns.TypeA, rrs...)}), "big.example.test.", dns.TypeA)
}
