// Package stackgrow makes each DNS query's goroutine grow its stack once, at the very top,
// instead of several times deep in the chain.
//
// miekg/dns serves each UDP query in a new goroutine whose stack starts small. A query that
// runs the chain and packs its reply needs more, and the runtime grows a stack by copying it,
// adjusting every frame on it: the deeper the stack when that happens, the costlier the copy.
// Deep in a chain (unpacking a name, a plugin's ServeDNS, packing the reply) it costs 2-3 µs a
// time, over 20% of the server's CPU with the full steerdns chain (shared/notes/stack-growth.md).
//
// miekg/dns calls dns.DefaultMsgAcceptFunc first thing for every message, on the goroutine
// that then serves it, with only a few frames below: CoreDNS leaves Server.MsgAcceptFunc nil
// (or calls DefaultMsgAcceptFunc from its own), so the package variable is what runs. Wrapping
// it with one call to a function with a large frame grows the stack there, cheaply, to a size
// the whole chain fits in; no later growth happens. The decision to accept a message is the
// original function's, unchanged.
package stackgrow

import (
	"sync"

	"github.com/miekg/dns"
)

// frameBytes makes the stack grow from its first 2 KiB to 8 KiB, which a query through the
// full steerdns chain, cache and file fits in (a CPU profile under load shows no later
// growth). A larger frame would cost memory for every query in flight and buy nothing.
const frameBytes = 4 << 10

var once sync.Once

// Install wraps dns.DefaultMsgAcceptFunc. Call it before any server starts (main does): a
// miekg/dns server copies the function when it starts.
func Install() {
	once.Do(func() {
		accept := dns.DefaultMsgAcceptFunc
		dns.DefaultMsgAcceptFunc = func(h dns.Header) dns.MsgAcceptAction {
			grow(0)
			return accept(h)
		}
	})
}

// grow has a frame large enough to make the runtime grow the stack. It reads and writes its
// array so that the frame cannot be optimised away.
//
//go:noinline
func grow(i int) byte {
	var buf [frameBytes]byte
	buf[i] = 1
	return buf[frameBytes-1-i]
}
