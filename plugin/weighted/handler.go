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

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/handoff"
	"github.com/steerdns/steerdns/plugin/internal/sign"
)

// Weighted is the plugin handler. Its weights are read through an atomic pointer, so the
// query path takes no lock but the one of the name and type it answers.
type Weighted struct {
	Next plugin.Handler

	zones answer.Zones
	// types says which record types are weighted, indexed by typeSlot.
	types [3]bool
	// only is the number of records an answer keeps; 0 keeps them all (leads mode).
	only int
	// ttl caps the TTLs of the answers it orders; 0 leaves them alone.
	ttl uint32
	// signer signs again the signed RRsets that `only` cuts; nil: they are reordered, not cut.
	signer   *sign.Signer
	unsigned *sign.Unsigned

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
}

// ServeDNS implements the plugin.Handler interface. A query of a weighted type for a name in
// its zones joins the query's shared writer: whether its answer has weights is known only
// from the answer, at the end of its CNAME chain. Any other query goes on without allocating.
func (wt *Weighted) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if len(r.Question) != 1 || !wt.handles(r.Question[0]) || wt.zones.Match(r.Question[0].Name) == "" || wt.weights.Load().empty() {
		return handoff.Next(wt.Name(), wt.Next, ctx, w, r)
	}
	return handoff.Next(wt.Name(), wt.Next, ctx, answer.Join(ctx, w, wt), r)
}

// handles reports whether answers to q are weighted: a weighted type, class IN.
func (wt *Weighted) handles(q dns.Question) bool {
	slot := typeSlot(q.Qtype)
	return slot >= 0 && wt.types[slot] && q.Qclass == dns.ClassINET
}

// Name implements the plugin.Handler interface.
func (wt *Weighted) Name() string { return pluginName }
