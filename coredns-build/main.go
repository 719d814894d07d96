// Command coredns is CoreDNS v1.15.0 with the steerdns plugins compiled in, in the order
// plugin.cfg gives.
package main

import (
	"log"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	"github.com/steerdns/steerdns/coredns-build/chain"
	"github.com/steerdns/steerdns/coredns-build/stackgrow"
)

func main() {
	if err := dnsserver.SetDirectives(chain.Directives); err != nil {
		log.Fatalf("plugin.cfg: %v", err)
	}
	stackgrow.Install()
	coremain.Run()
}
