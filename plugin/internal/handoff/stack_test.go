package handoff

import (
	"context"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// named is a handler that only has a name, to fill a chain.
type named struct {
	name string
	next plugin.Handler
}

func (n named) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return plugin.NextOrFailure(n.name, n.next, ctx, w, r)
}

func (n named) Name() string { return n.name }

// chainConfig returns the config of a server whose chain holds the plugins names, in order.
func chainConfig(t *testing.T, names ...string) *dnsserver.Config {
	t.Helper()
	cfg := &dnsserver.Config{Zone: ".", ListenHosts: []string{"127.0.0.1"}, Port: "0"}
	for _, n := range names {
		cfg.AddPlugin(func(next plugin.Handler) plugin.Handler { return named{n, next} })
	}
	if _, err := dnsserver.NewServer("dns://127.0.0.1:0", []*dnsserver.Config{cfg}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestLeads: the first steerdns plugin in chain order leads, whatever else is in the chain.
func TestLeads(t *testing.T) {
	cfg := chainConfig(t, "log", "rrotate", "weighted", "healthcheck", "cache")
	for name, want := range map[string]bool{"rrotate": true, "weighted": false, "healthcheck": false} {
		if got := leads(cfg, name); got != want {
			t.Errorf("leads(%s) = %v, want %v", name, got, want)
		}
	}
	cfg = chainConfig(t, "override", "healthcheck")
	if !leads(cfg, "override") || leads(cfg, "healthcheck") {
		t.Error("override must lead a chain of override and healthcheck, alone")
	}
	var l Lead
	l.Decide(chainConfig(t, "healthcheck"), "healthcheck")
	if !l.on.Load() {
		t.Error("a plugin alone in the chain does not lead")
	}
	l.Pregrow() // grows this goroutine's stack; must simply return
}

// BenchmarkPregrow is what the leading plugin pays per query once the stack is grown: the
// frame it zeroes. (The growth itself replaces one the query would otherwise need later.)
func BenchmarkPregrow(b *testing.B) {
	var l Lead
	l.on.Store(true)
	b.ReportAllocs()
	for b.Loop() {
		l.Pregrow()
	}
}
