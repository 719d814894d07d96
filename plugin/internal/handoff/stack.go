package handoff

import (
	"sync/atomic"

	"github.com/coredns/coredns/core/dnsserver"
)

// CoreDNS serves each UDP query in a new goroutine, whose stack starts small and is copied
// to a larger one when a call needs more room. That happens deep in the chain (packing the
// reply), where copying means adjusting every frame on the stack: with cache + file alone it
// is about 6% of the server's CPU time, and any plugin in front (upstream loadbalance as
// much as ours) adds enough depth to need one more copy, at about 20%. Growing the stack
// once, while it is still shallow, costs a fraction of that; the later copies go away.

// pregrowBytes is the frame that makes the stack grow: with what a query has used by then,
// the stack grows to 8 KiB, which the full chain in front of cache and file fits in (a CPU
// profile of it under load shows no later growth).
const pregrowBytes = 4 << 10

// Lead is whether a plugin leads the steerdns plugins of its chain: the first of them, in
// chain order, grows the stack for the query; the others find it grown.
type Lead struct{ on atomic.Bool }

// order is the steerdns plugins in chain order (plugin.cfg).
var order = []string{"override", "rrotate", "weighted", "healthcheck"}

// Decide records whether name leads the chain of cfg. Call it from OnStartup: the chain and
// its handler registry exist by then, not during setup.
func (l *Lead) Decide(cfg *dnsserver.Config, name string) {
	l.on.Store(leads(cfg, name))
}

func leads(cfg *dnsserver.Config, name string) bool {
	for _, n := range order {
		if n == name {
			return true
		}
		if cfg.Handler(n) != nil {
			return false
		}
	}
	return true
}

// Pregrow grows the goroutine's stack when l leads. A plugin calls it first thing in ServeDNS.
func (l *Lead) Pregrow() {
	if l.on.Load() {
		pregrow(0)
	}
}

// pregrow has a frame large enough to make the runtime grow the stack. It reads and writes
// its array so that the frame cannot be optimised away.
//
//go:noinline
func pregrow(i int) byte {
	var buf [pregrowBytes]byte
	buf[i] = 1
	return buf[pregrowBytes-1-i]
}
