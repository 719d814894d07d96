package weighted

import (
	"context"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/explain"
)

func explainQuery(t *testing.T, wt *Weighted, qname string) (*dns.Msg, []explain.Step) {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(qname, dns.TypeA)
	rec := explain.NewRecorder(netip.MustParseAddr("192.0.2.1"), false)
	if _, err := wt.ServeDNS(context.Background(), rec, req); err != nil {
		t.Fatal(err)
	}
	return rec.Msg(), rec.Steps()
}

// TestExplainIsADryRun: explaining shows which target the next answer leads with and the
// weights, and the rotation does not move: the real answers after it follow the same
// sequence as without it.
func TestExplainIsADryRun(t *testing.T) {
	res := response("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 192.0.2.1", "cats.example.test. 300 IN A 192.0.2.2")
	block := "weighted {\n weight cats.example.test 192.0.2.1 3 192.0.2.2 1\n}"
	plain, explained := newWeighted(t, block, res), newWeighted(t, block, res)
	leads := func(m *dns.Msg) string { return m.Answer[0].(*dns.A).A.String() }
	for i := range 8 {
		want := leads(serve(t, plain, "cats.example.test.", dns.TypeA))
		m, steps := explainQuery(t, explained, "cats.example.test.")
		if leads(m) != want {
			t.Fatalf("answer %d: explained %s, the next real answer %s", i, leads(m), want)
		}
		f := steps[0].Facts.(weightFacts)
		if f.Leads != want || len(f.Weights) != 2 || f.Weights[0].Weight != 3 || steps[0].Did != "leads with "+want {
			t.Errorf("answer %d: step %+v", i, steps[0])
		}
		if got := leads(serve(t, explained, "cats.example.test.", dns.TypeA)); got != want {
			t.Fatalf("answer %d: the real answer after a dry run leads with %s, want %s", i, got, want)
		}
	}
	other := newWeighted(t, block, response("dogs.example.test.", dns.TypeA, "dogs.example.test. 300 IN A 192.0.2.7"))
	if _, steps := explainQuery(t, other, "dogs.example.test."); len(steps) != 1 || steps[0].Did != "passed" {
		t.Errorf("no weights: steps %+v", steps)
	}
}
