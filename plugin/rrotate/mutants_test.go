package rrotate

import (
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"
)

// These tests pin contracts that make mutate found unguarded (docs/MUTATION.md).

// TestSetup: a good block puts rrotate into the server's chain, in front of the plugin after
// it, and rotates there; a bad one is an error naming the plugin and adds nothing.
func TestSetup(t *testing.T) {
	c := caddy.NewTestController("dns", "rrotate example.test")
	if err := setup(c); err != nil {
		t.Fatal(err)
	}
	plugins := dnsserver.GetConfig(c).Plugin
	if len(plugins) != 1 {
		t.Fatalf("setup added %d plugins, want 1", len(plugins))
	}
	h := plugins[0](fixed{response("cats.example.test.", dns.TypeA, "cats.example.test. 60 IN A 10.0.0.1", "cats.example.test. 60 IN A 10.0.0.2")})
	if h.Name() != "rrotate" {
		t.Fatalf("the handler is %q, want rrotate", h.Name())
	}
	first := serve(t, h, "cats.example.test.", dns.TypeA)
	second := serve(t, h, "cats.example.test.", dns.TypeA)
	if rdata(first.Answer) == rdata(second.Answer) {
		t.Errorf("two answers in the same order %s: the plugin in the chain does not rotate", rdata(first.Answer))
	}

	c = caddy.NewTestController("dns", "rrotate example.test {\n shuffle\n}")
	err := setup(c)
	if err == nil || !strings.Contains(err.Error(), "plugin/rrotate") || !strings.Contains(err.Error(), "shuffle") {
		t.Errorf("setup error = %v, want one naming the plugin and the bad property", err)
	}
	if n := len(dnsserver.GetConfig(c).Plugin); n != 0 {
		t.Errorf("a failed setup added %d plugins", n)
	}
}
