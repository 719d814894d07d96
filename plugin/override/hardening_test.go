package override

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// counterValue reads one series of a counter vector, so that a test sees its own delta.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// Client-scoped pins are tried before a global one for the same name, whatever their order.
func TestClientScopedPinsFirst(t *testing.T) {
	st := store.State{Overrides: []store.Override{
		{ID: "global", Name: "a.test.", Group: "g1", Addresses: []string{"10.0.0.1"}, Enabled: true},
		{ID: "mine", Name: "a.test.", Group: "g2", Addresses: []string{"10.0.0.2"}, Clients: []string{"192.0.2.0/24"}, Enabled: true},
	}}
	pins := newSnapshot(st).lookup("a.test.")
	mine := func() netip.Addr { return netip.MustParseAddr("192.0.2.7") }
	other := func() netip.Addr { return netip.MustParseAddr("198.51.100.1") }
	if p := choose(pins, mine); p == nil || p.id != "mine" {
		t.Fatalf("client in the scope got %+v, want mine", p)
	}
	if p := choose(pins, other); p == nil || p.id != "global" {
		t.Fatalf("client outside the scope got %+v, want global", p)
	}
}

// Among the enabled overrides of one name that apply to a client (in different groups), the
// scoped ones come first, then the lowest id, whatever the table's order: every replica and
// store picks the same one.
func TestPinOrderByScopeThenID(t *testing.T) {
	st := store.State{Overrides: []store.Override{
		{ID: "zeta", Name: "a.test.", Group: "g1", Addresses: []string{"10.0.0.1"}, Enabled: true},
		{ID: "beta", Name: "a.test.", Group: "g2", Addresses: []string{"10.0.0.2"}, Enabled: true},
		{ID: "mine-2", Name: "a.test.", Group: "g3", Addresses: []string{"10.0.0.3"}, Clients: []string{"192.0.2.0/24"}, Enabled: true},
		{ID: "mine-1", Name: "a.test.", Group: "g4", Addresses: []string{"10.0.0.4"}, Clients: []string{"192.0.2.0/24"}, Enabled: true},
	}}
	var got []string
	for _, p := range newSnapshot(st).lookup("a.test.") {
		got = append(got, p.id)
	}
	if want := []string{"mine-1", "mine-2", "beta", "zeta"}; !slices.Equal(got, want) {
		t.Errorf("pins in order %v, want %v", got, want)
	}
	// Scope decides before the id does.
	st = store.State{Overrides: []store.Override{
		{ID: "z-mine", Name: "a.test.", Group: "g1", Addresses: []string{"10.0.0.1"}, Clients: []string{"192.0.2.0/24"}, Enabled: true},
		{ID: "a-all", Name: "a.test.", Group: "g2", Addresses: []string{"10.0.0.2"}, Enabled: true},
	}}
	if pins := newSnapshot(st).lookup("a.test."); len(pins) != 2 || pins[0].id != "z-mine" {
		t.Errorf("pins %v, want the scoped z-mine before a-all", pins)
	}
}

// The closest enclosing wildcard answers, at every depth, however the wildcards were listed.
func TestNestedWildcardsClosestWins(t *testing.T) {
	domains := []string{"t.", "a.t.", "b.a.t.", "c.b.a.t.", "d.c.b.a.t."}
	var st store.State
	for i, d := range domains {
		st.Overrides = append(st.Overrides, store.Override{ID: "w" + d, Name: "*." + d, Group: fmt.Sprint("g", i), Addresses: []string{fmt.Sprintf("10.0.0.%d", i+1)}, Enabled: true})
	}
	s := newSnapshot(st)
	for _, d := range domains {
		if pins := s.lookupAnyCase("X." + strings.ToUpper(d)); len(pins) != 1 || pins[0].id != "w"+d {
			t.Errorf("x.%s got %v, want the wildcard *.%s", d, pins, d)
		}
	}
}

// A mixed-case miss allocates nothing with up to maxSuffixScan wildcards (clients that
// randomise case, 0x20, are common); more wildcards walk the labels of a folded copy.
func TestMixedCaseMissAllocations(t *testing.T) {
	var st store.State
	for i := range maxSuffixScan {
		st.Overrides = append(st.Overrides, store.Override{ID: fmt.Sprint("w", i), Name: fmt.Sprintf("*.z%d.test.", i), Group: fmt.Sprint("g", i), Addresses: []string{"10.0.0.1"}, Enabled: true})
	}
	s := newSnapshot(st)
	if n := testing.AllocsPerRun(100, func() { s.lookupAnyCase("A.Name.Longer.Than.Thirty.Two.Bytes.Example.Test.") }); n != 0 {
		t.Errorf("a mixed-case miss with %d wildcards: %v allocations, want 0", maxSuffixScan, n)
	}
}
