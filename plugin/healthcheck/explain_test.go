package healthcheck

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/explain"
)

// TestExplainNamesEveryAddress: the dry run filters as a query would and says, per address,
// its tier, state and whether it was kept, and which policy applied; it counts nothing.
func TestExplainNamesEveryAddress(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateUp})
	h := &Handler{HealthCheck: hc, Next: backend(catsAnswer(dns.TypeA))}
	filtered := answers.WithLabelValues("", outcomeFiltered.String()) // a query without a server in its context counts here
	before := metricValue(filtered)
	req := new(dns.Msg)
	req.SetQuestion("cats.example.test.", dns.TypeA)
	rec := explain.NewRecorder(netip.MustParseAddr("192.0.2.1"), false)
	if _, err := h.ServeDNS(context.Background(), rec, req); err != nil {
		t.Fatal(err)
	}
	addrs, _ := addrsTTL(rec.Msg())
	if len(addrs) != 1 || addrs[0] != "127.0.0.2" {
		t.Errorf("explained answer %v, want only the primary that is up", addrs)
	}
	steps := rec.Steps()
	if len(steps) != 1 || steps[0].Did != "removed addresses that are down" {
		t.Fatalf("steps %+v", steps)
	}
	f := steps[0].Facts.(healthFacts)
	want := map[string]addressFacts{
		"127.0.0.2": {Tier: "primary", State: "up", Kept: true},
		"127.0.0.3": {Tier: "primary", State: "down"},
		"127.0.0.4": {Tier: "backup", State: "up"},
		"127.0.0.5": {Tier: "backup", State: "unknown"},
	}
	if f.Outcome != "filtered" || f.TTLCap != 10 || len(f.Addresses) != 4 {
		t.Errorf("facts %+v", f)
	}
	for _, a := range f.Addresses {
		w := want[a.Address]
		if a.Tier != w.Tier || a.State != w.State || a.Kept != w.Kept {
			t.Errorf("%s: %+v, want %+v", a.Address, a, w)
		}
	}
	if d := metricValue(filtered) - before; d != 0 {
		t.Errorf("a dry run counted %v filtered answers", d)
	}
	// The same query for real counts (so the check above can fail).
	h.ServeDNS(context.Background(), &test.ResponseWriter{}, req)
	if d := metricValue(filtered) - before; d != 1 {
		t.Errorf("a real query counted %v filtered answers, want 1", d)
	}
}

// The explanation says what happens to TTLs: capped on every answer by default; with
// `ttl N changed`, kept on an answer health leaves alone and capped on one it changes.
func TestExplainSaysWhatHappensToTTLs(t *testing.T) {
	f := healthFacts{Name: "cats.example.test."}
	all := newTestHC(t, "ttl 10", nil)
	changed := newTestHC(t, "ttl 10 changed", nil)
	for _, tc := range []struct {
		hc   *HealthCheck
		o    outcome
		want string
	}{
		{all, unchanged, "TTLs capped at 10 s"},
		{all, outcomeFiltered, "TTLs capped at 10 s"},
		{changed, unchanged, "TTLs kept (ttl ... changed)"},
		{changed, outcomeFiltered, "TTLs capped at 10 s"},
		{changed, outcomeBackup, "TTLs capped at 10 s"},
	} {
		if got := tc.hc.outcomeWhy(tc.o, f); !strings.HasSuffix(got, tc.want) {
			t.Errorf("ttlAll %t, %s: %q, want it to end %q", tc.hc.cfg.ttlAll, tc.o, got, tc.want)
		}
	}
}
