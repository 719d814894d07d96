package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// localHC is a running instance without etcd, so with the process's local drains, whose
// listed targets have probers (that probe nothing) with the verdicts given.
func localHC(t *testing.T, extra string, states map[string]state) *HealthCheck {
	t.Helper()
	return idleHC(t, fmt.Sprintf(filterCorefile, extra), func(p *prober) []string {
		p.st.state = states[p.addr.String()]
		return nil
	})
}

// catsNow is what the instance answers for cats.example.test now.
func catsNow(t *testing.T, hc *HealthCheck) []string {
	t.Helper()
	out, _ := serve(t, hc, catsAnswer(dns.TypeA))
	got, _ := addrsTTL(out)
	return got
}

func mustDrain(t *testing.T, d healthview.Drain) healthview.Drain {
	t.Helper()
	got, err := healthview.DrainAddress(context.Background(), d, "alice")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestLocalDrain: without etcd, a drain through the health view's entry point takes the
// address out of this replica's answers at once, like a down target (backups and the
// all-down policy apply), and an undrain brings it back at once.
func TestLocalDrain(t *testing.T) {
	all := map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp, "127.0.0.4": stateUp, "127.0.0.5": stateUp}
	hc := localHC(t, "", all)
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.2", "127.0.0.3"}) {
		t.Fatalf("before any drain: %v", got)
	}
	d := mustDrain(t, healthview.Drain{Address: "127.0.0.2", Note: "kernel update"})
	if d.By != "alice" || d.At.IsZero() || !d.Until.IsZero() {
		t.Errorf("recorded drain %+v", d)
	}
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Errorf("127.0.0.2 drained: %v, want 127.0.0.3 only", got)
	}
	mustDrain(t, healthview.Drain{Address: "127.0.0.3"})
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.4", "127.0.0.5"}) {
		t.Errorf("both primaries drained: %v, want the backups", got)
	}
	v := viewOf(hc, "127.0.0.2")
	if v.State != healthview.Up || v.Effective != healthview.Drained || len(v.Drains) != 1 || v.Drains[0].Note != "kernel update" {
		t.Errorf("view of the drained target: own %s effective %s drains %+v", v.State, v.Effective, v.Drains)
	}
	if got := metricValue(drainsActive.WithLabelValues("local")); got != 2 {
		t.Errorf("drains_active{store=local} = %v, want 2", got)
	}
	for _, a := range []string{"127.0.0.2", "127.0.0.3"} {
		if err := healthview.UndrainAddress(context.Background(), a, "", "bob"); err != nil {
			t.Fatal(err)
		}
	}
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.2", "127.0.0.3"}) {
		t.Errorf("after the undrains: %v", got)
	}
	if err := healthview.UndrainAddress(context.Background(), "127.0.0.2", "", "bob"); !errors.Is(err, healthview.ErrNotDrained) {
		t.Errorf("undrain of an address not drained: %v, want ErrNotDrained", err)
	}
	var log []string
	for _, e := range healthview.DrainAudit(4) {
		log = append(log, e.Action+" "+e.Address+" "+e.By)
	}
	want := "drain 127.0.0.2 alice, drain 127.0.0.3 alice, undrain 127.0.0.2 bob, undrain 127.0.0.3 bob"
	if got := strings.Join(log, ", "); got != want {
		t.Errorf("audit %s, want %s", got, want)
	}
}

// TestLocalDrainAllDown: drained addresses count as down for the all-down policy.
func TestLocalDrainAllDown(t *testing.T) {
	hc := localHC(t, "all_down servfail", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateDown, "127.0.0.5": stateDown})
	mustDrain(t, healthview.Drain{Address: "127.0.0.2"})
	defer healthview.UndrainAddress(context.Background(), "127.0.0.2", "", "test")
	out, o := serve(t, hc, catsAnswer(dns.TypeA))
	if out.Rcode != dns.RcodeServerFailure || o != outcomeAllDownServfail {
		t.Errorf("the last healthy address drained: rcode %s outcome %s, want SERVFAIL by all_down", dns.RcodeToString[out.Rcode], o)
	}
}

// TestLocalDrainForOneName: a drain for one name leaves the address in the answers for the
// others.
func TestLocalDrainForOneName(t *testing.T) {
	hc := localHC(t, "name dogs.example.test 127.0.0.2 127.0.0.9", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp, "127.0.0.9": stateUp})
	mustDrain(t, healthview.Drain{Address: "127.0.0.2", Name: "Cats.Example.Test"})
	defer healthview.UndrainAddress(context.Background(), "127.0.0.2", "cats.example.test.", "test")
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Errorf("cats with 127.0.0.2 drained for cats: %v, want 127.0.0.3", got)
	}
	dogs := new(dns.Msg)
	dogs.SetQuestion("dogs.example.test.", dns.TypeA)
	dogs.Answer = []dns.RR{aRecord("dogs.example.test.", "127.0.0.2"), aRecord("dogs.example.test.", "127.0.0.9")}
	out, _ := serve(t, hc, dogs)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"127.0.0.2", "127.0.0.9"}) {
		t.Errorf("dogs: %v, want 127.0.0.2 kept (drained for cats only)", got)
	}
	if err := healthview.UndrainAddress(context.Background(), "127.0.0.2", "", "bob"); !errors.Is(err, healthview.ErrNotDrained) {
		t.Errorf("undrain for every name of a drain for one: %v, want ErrNotDrained", err)
	}
}

func aRecord(name, addr string) dns.RR {
	rr, err := dns.NewRR(name + " 300 IN A " + addr)
	if err != nil {
		panic(err)
	}
	return rr
}

// TestLocalDrainExpires: a drain for a while ends by itself, audited as an expiry.
func TestLocalDrainExpires(t *testing.T) {
	hc := localHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	d := mustDrain(t, healthview.Drain{Address: "127.0.0.2", Until: time.Now().Add(300 * time.Millisecond)})
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Fatalf("drained: %v", got)
	}
	waitUntil(t, "the drain's expiry", func() bool { return slices.Equal(catsNow(t, hc), []string{"127.0.0.2", "127.0.0.3"}) })
	if time.Now().Before(d.Until) {
		t.Error("the drain ended before its time")
	}
	waitUntil(t, "the expiry in the audit", func() bool {
		ev := healthview.DrainAudit(1)
		return len(ev) == 1 && ev[0].Action == "expire" && ev[0].Address == "127.0.0.2" && ev[0].At.Equal(d.Until)
	})
}

// TestDrainedBeforeDiscovery: an address drained before discovery found it is left out of
// the answers of discovered names too.
func TestDrainedBeforeDiscovery(t *testing.T) {
	hc := localHC(t, "discover web", map[string]state{"127.0.0.2": stateUp})
	mustDrain(t, healthview.Drain{Address: "192.0.2.7"})
	defer healthview.UndrainAddress(context.Background(), "192.0.2.7", "", "test")
	shop := new(dns.Msg)
	shop.SetQuestion("shop.example.test.", dns.TypeA)
	shop.Answer = []dns.RR{aRecord("shop.example.test.", "192.0.2.7"), aRecord("shop.example.test.", "192.0.2.8")}
	out, _ := serve(t, hc, shop)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"192.0.2.8"}) {
		t.Errorf("shop: %v, want the drained 192.0.2.7 left out", got)
	}
}

func TestDrainErrors(t *testing.T) {
	localHC(t, "", nil)
	tests := []struct {
		d     healthview.Drain
		field string
	}{
		{healthview.Drain{Address: "not-an-ip"}, "address"},
		{healthview.Drain{Address: "fe80::1%eth0"}, "address"},
		{healthview.Drain{Address: "127.0.0.2", Name: "bad name/x"}, "name"},
		{healthview.Drain{Address: "127.0.0.2", Note: strings.Repeat("x", healthview.MaxNoteLen+1)}, "note"},
		{healthview.Drain{Address: "127.0.0.2", Note: "bell\a"}, "note"},
		{healthview.Drain{Address: "127.0.0.2", Until: time.Now().Add(-time.Second)}, "for"},
	}
	for _, tc := range tests {
		_, err := healthview.DrainAddress(context.Background(), tc.d, "x")
		var fe *healthview.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("drain %+v: %v, want an error about %s", tc.d, err, tc.field)
		}
	}
	if ds := healthview.Drains(); len(ds) != 0 {
		t.Errorf("bad drains changed something: %+v", ds)
	}
}

// TestLocalDrainsBounded: beyond MaxDrains a new drain is refused (replacing one is not),
// and nothing changes.
func TestLocalDrainsBounded(t *testing.T) {
	localHC(t, "", nil)
	defer func() {
		for _, d := range healthview.Drains() {
			healthview.UndrainAddress(context.Background(), d.Address, d.Name, "test")
		}
	}()
	for i := range healthview.MaxDrains {
		mustDrain(t, healthview.Drain{Address: fmt.Sprintf("10.%d.%d.1", i/256, i%256)})
	}
	if _, err := healthview.DrainAddress(context.Background(), healthview.Drain{Address: "10.200.0.1"}, "x"); !errors.Is(err, healthview.ErrTooMany) {
		t.Errorf("drain %d: %v, want ErrTooMany", healthview.MaxDrains+1, err)
	}
	mustDrain(t, healthview.Drain{Address: "10.0.0.1", Note: "renewed"})
	if n := len(healthview.Drains()); n != healthview.MaxDrains {
		t.Errorf("%d drains, want %d", n, healthview.MaxDrains)
	}
}

// TestDrainExpiresAfterOneInstanceLeaves: a reload stops the old instance while the new one
// runs; a drain's expiry must still come.
func TestDrainExpiresAfterOneInstanceLeaves(t *testing.T) {
	old := localHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	hc := localHC(t, "", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	mustDrain(t, healthview.Drain{Address: "127.0.0.2", Until: time.Now().Add(300 * time.Millisecond)})
	stopShared(old)
	if got := catsNow(t, hc); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Fatalf("drained: %v", got)
	}
	waitUntil(t, "the drain's expiry on the instance that stays", func() bool {
		return slices.Equal(catsNow(t, hc), []string{"127.0.0.2", "127.0.0.3"})
	})
}
