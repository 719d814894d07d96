package override

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/override/store"

	"github.com/steerdns/steerdns/plugin/internal/explain"
)

// TestExplain: the dry run gives the answer the client would get, names the override that
// answered and says why each other one of the name did not, and counts no answer.
func TestExplain(t *testing.T) {
	h := newTestHandler(t,
		store.Override{ID: "x-old", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.8"}},
		store.Override{ID: "x-lab", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.3"}, Clients: []string{"10.1.0.0/16"}, Enabled: true},
		store.Override{ID: "x-wild", Name: "*.example.test", Group: "wild", Addresses: []string{"127.0.0.9"}, Enabled: true},
		store.Override{ID: "x-dogs", Name: "dogs.example.test", Addresses: []string{"127.0.0.7"}, Enabled: true},
	)
	served := func() float64 {
		return counterValue(t, answersServed.WithLabelValues("x-lab")) + counterValue(t, answersServed.WithLabelValues("x-wild"))
	}
	before := served()

	lab := h.Explain(context.Background(), explain.Query{Name: "Cats.Example.Test", Type: dns.TypeA, Client: netip.MustParseAddr("10.1.2.3")}, h.tab.Current())
	if len(lab.Answer) != 1 || !strings.HasSuffix(lab.Answer[0], "127.0.0.3") || lab.Rcode != "NOERROR" {
		t.Errorf("lab client: answer %v %s, want the x-lab pin", lab.Answer, lab.Rcode)
	}
	if len(lab.Steps) == 0 || lab.Steps[0].Did != "pinned by override x-lab" {
		t.Errorf("lab client: steps %+v", lab.Steps)
	}
	want := map[string]string{"x-lab": "answered", "x-old": "disabled", "x-wild": "not chosen"}
	checkVerdicts(t, "lab client", lab.Overrides, want)

	// The exact name's overrides decide, even out of scope: the wildcard does not step in.
	other := h.Explain(context.Background(), explain.Query{Name: "cats.example.test.", Type: dns.TypeA, Client: netip.MustParseAddr("192.0.2.9")}, h.tab.Current())
	if len(other.Answer) != 1 || !strings.HasSuffix(other.Answer[0], "192.0.2.1") {
		t.Errorf("other client: answer %v, want the backend's", other.Answer)
	}
	checkVerdicts(t, "other client", other.Overrides, map[string]string{"x-lab": "out of scope", "x-old": "disabled", "x-wild": "not chosen"})
	if m := serve(t, h, "192.0.2.9", "cats.example.test.", dns.TypeA); len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("real query from the other client: %v", m.Answer)
	}
	wild := h.Explain(context.Background(), explain.Query{Name: "birds.example.test.", Type: dns.TypeA, Client: netip.MustParseAddr("192.0.2.9")}, h.tab.Current())
	checkVerdicts(t, "wildcard", wild.Overrides, map[string]string{"x-wild": "answered"})

	if got := served(); got != before {
		t.Errorf("a dry run counted %v answers", got-before)
	}
	// The real query afterwards gets what the dry run said.
	if m := serve(t, h, "10.1.2.3", "cats.example.test.", dns.TypeA); len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "127.0.0.3" {
		t.Errorf("real query: %v", m.Answer)
	}
}

// TestExplainPassed: with no override for the name, the backend's answer and a "passed" step.
func TestExplainPassed(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "y-dogs", Name: "dogs.example.test", Addresses: []string{"127.0.0.7"}, Enabled: true})
	ex := h.Explain(context.Background(), explain.Query{Name: "cats.example.test", Type: dns.TypeA, Client: netip.MustParseAddr("192.0.2.9")}, h.tab.Current())
	if len(ex.Answer) != 1 || !strings.HasSuffix(ex.Answer[0], "192.0.2.1") {
		t.Errorf("answer %v, want the backend's", ex.Answer)
	}
	if len(ex.Steps) != 1 || ex.Steps[0].Did != "passed" || len(ex.Overrides) != 0 {
		t.Errorf("steps %+v, overrides %+v", ex.Steps, ex.Overrides)
	}
}

func checkVerdicts(t *testing.T, what string, got []explain.OverrideVerdict, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: verdicts %+v, want %v", what, got, want)
	}
	for _, v := range got {
		if want[v.ID] != v.Verdict || v.Why == "" {
			t.Errorf("%s: %s is %q (%s), want %q", what, v.ID, v.Verdict, v.Why, want[v.ID])
		}
	}
}

// TestExplainAliasAndScope: a pin reached through an alias says so (and a direct one does
// not), and an enabled override that applies to the client but lost to a closer one is "not
// chosen", not "out of scope".
func TestExplainAliasAndScope(t *testing.T) {
	h, _ := aliasHandler(t,
		store.Override{ID: "lab", Name: "cats.example.test", Group: "a", Addresses: []string{"127.0.0.3"}, Clients: []string{"10.1.0.0/16"}, Enabled: true},
		store.Override{ID: "wide", Name: "cats.example.test", Group: "b", Addresses: []string{"127.0.0.4"}, Clients: []string{"10.0.0.0/8"}, Enabled: true},
	)
	client := netip.MustParseAddr("10.1.2.3")
	direct := h.Explain(context.Background(), explain.Query{Name: "cats.example.test", Type: dns.TypeA, Client: client}, h.tab.Current())
	if len(direct.Steps) == 0 || strings.Contains(direct.Steps[0].Why, "alias") {
		t.Errorf("direct query: steps %+v, want a pin that mentions no alias", direct.Steps)
	}
	checkVerdicts(t, "direct", direct.Overrides, map[string]string{"lab": "answered", "wide": "not chosen"})

	alias := h.Explain(context.Background(), explain.Query{Name: "www.example.test", Type: dns.TypeA, Client: client}, h.tab.Current())
	var why string
	for _, s := range alias.Steps {
		if s.Did == "pinned by override lab" {
			why = s.Why
		}
	}
	if !strings.HasPrefix(why, "www.example.test. is an alias of cats.example.test., and override lab") {
		t.Errorf("through the alias: steps %+v, want the pin explained through the alias", alias.Steps)
	}
}
