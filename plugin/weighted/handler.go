// Package weighted implements a plugin that hands out addresses in exact proportion to their
// weights, with deterministic smooth weighted round robin per name.
package weighted

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/handoff"
)

// Weighted is the plugin handler. Its weights are read through an atomic pointer, so the
// query path takes no lock but the one of the name and type it answers.
type Weighted struct {
	Next plugin.Handler

	// types says which record types are weighted, indexed by typeSlot.
	types [3]bool
	// only is the number of records an answer keeps; 0 keeps them all (leads mode).
	only int

	weights atomic.Pointer[table]

	// The weight file, when there is one, is re-read every reload (0: never).
	file   string
	reload time.Duration
	inline weightSpec
	// fileData is the content behind the current table, to skip reloads that change nothing.
	fileData []byte
	// badData is the broken content last reported, so that it is logged once, not per tick.
	badData []byte

	stop chan struct{}
	done sync.WaitGroup

	lead handoff.Lead // whether this plugin grows the query's stack (see handoff.Lead)
}

// ServeDNS implements the plugin.Handler interface. A query for a name without weights goes
// straight on, without allocating; others get a ResponseWriter that orders the answer.
func (wt *Weighted) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	wt.lead.Pregrow()
	if len(r.Question) != 1 {
		return wt.next(ctx, w, r)
	}
	q := r.Question[0]
	slot := typeSlot(q.Qtype)
	if slot < 0 || !wt.types[slot] || q.Qclass != dns.ClassINET {
		return wt.next(ctx, w, r)
	}
	nw := wt.weights.Load().lookup(q.Name)
	if nw == nil {
		return wt.next(ctx, w, r)
	}
	rw := &responseWriter{ResponseWriter: w, wt: wt, name: nw, qtype: q.Qtype, slot: slot}
	return wt.next(ctx, rw, r)
}

// next calls the next plugin with w.
func (wt *Weighted) next(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return handoff.Next(wt.Name(), wt.Next, ctx, w, r)
}

// Name implements the plugin.Handler interface.
func (wt *Weighted) Name() string { return "weighted" }
