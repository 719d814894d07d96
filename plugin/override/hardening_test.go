package override

import (
	"net/netip"
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
