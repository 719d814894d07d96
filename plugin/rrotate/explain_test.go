package rrotate

import (
	"context"
	"net/netip"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/explain"
)

func explainQuery(t *testing.T, r *RRotate, qname string) (*dns.Msg, []explain.Step) {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(qname, dns.TypeA)
	rec := explain.NewRecorder(netip.MustParseAddr("192.0.2.1"), false)
	if _, err := r.ServeDNS(context.Background(), rec, req); err != nil {
		t.Fatal(err)
	}
	return rec.Msg(), rec.Steps()
}

// TestExplainIsADryRun: explaining shows the rotation the next query gets, says why, and
// leaves the counter where it was.
func TestExplainIsADryRun(t *testing.T) {
	res := response("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 192.0.2.1",
		"cats.example.test. 300 IN A 192.0.2.2", "cats.example.test. 300 IN A 192.0.2.3")
	r := newRRotate(fixed{res})
	serve(t, r, "cats.example.test.", dns.TypeA) // the counter is at 1
	for range 3 {
		m, steps := explainQuery(t, r, "cats.example.test.")
		if got := m.Answer[0].(*dns.A).A.String(); got != "192.0.2.2" {
			t.Errorf("explained answer leads with %s, want 192.0.2.2", got)
		}
		if len(steps) != 1 || steps[0].Did != "rotated by 1" {
			t.Fatalf("steps %+v", steps)
		}
		if f := steps[0].Facts.(rotationFacts); f.Counter != 1 || f.Records != 3 || f.Owner != "cats.example.test." {
			t.Errorf("facts %+v", f)
		}
	}
	if got := serve(t, r, "cats.example.test.", dns.TypeA).Answer[0].(*dns.A).A.String(); got != "192.0.2.2" {
		t.Errorf("the query after the dry runs leads with %s, want 192.0.2.2 (the counter moved)", got)
	}
	single := newRRotate(fixed{response("one.example.test.", dns.TypeA, "one.example.test. 300 IN A 192.0.2.9")})
	if _, steps := explainQuery(t, single, "one.example.test."); len(steps) != 1 || steps[0].Did != "passed" {
		t.Errorf("single record: steps %+v", steps)
	}
}
