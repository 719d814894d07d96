package weighted

import (
	"testing"

	"github.com/miekg/dns"
)

func BenchmarkZZOrder(b *testing.B) {
	n, rrs := nameWith(3, 1, 2, 1)
	out := make([]dns.RR, len(rrs))
	b.ReportAllocs()
	for b.Loop() {
		n.states[0].order(n, rrs, out)
	}
}

func BenchmarkZZArrange(b *testing.B) {
	m := answer("dogs.example.test.", dns.TypeA, append(dogs, "dogs.example.test. 300 IN A 127.0.0.5")...)
	wt, _ := parse(caddyController("weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1 127.0.0.4 2\n}"))
	wt.loadWeights()
	nw := wt.weights.Load().lookup("dogs.example.test.")
	rep := new(reply)
	b.ReportAllocs()
	for b.Loop() {
		wt.arrange(m, nw, dns.TypeA, 0, rep)
	}
}

func BenchmarkZZAllocRW(b *testing.B) {
	b.ReportAllocs()
	var sink *responseWriter
	for b.Loop() {
		sink = &responseWriter{}
	}
	_ = sink
}
