// Package rrotate implements strict round-robin rotation of multi-record answers: the n-th
// answer for a name leads with its n-th record, wrapping around.
package rrotate

import (
	"context"
	"sync"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"
)

// RRotate rotates the final RRset of answers for the names in its zones.
type RRotate struct {
	Next plugin.Handler

	zones    []string
	types    map[uint16]bool
	counters *counters
}

// ServeDNS implements the plugin.Handler interface.
func (r *RRotate) ServeDNS(ctx context.Context, w dns.ResponseWriter, req *dns.Msg) (int, error) {
	if len(req.Question) != 1 || !r.types[req.Question[0].Qtype] || plugin.Zones(r.zones).Matches(req.Question[0].Name) == "" {
		return plugin.NextOrFailure(r.Name(), r.Next, ctx, w, req)
	}
	rw := writerPool.Get().(*rotateWriter)
	rw.ResponseWriter, rw.rotate, rw.server = w, r, metrics.WithServer(ctx)
	defer func() {
		*rw = rotateWriter{}
		writerPool.Put(rw)
	}()
	return plugin.NextOrFailure(r.Name(), r.Next, ctx, rw, req)
}

// Name implements the plugin.Handler interface.
func (r *RRotate) Name() string { return name }

// writerPool recycles response writers: a query that rotates should not pay an allocation
// for the wrapper. Handlers further down finish with the writer before ServeDNS returns.
var writerPool = sync.Pool{New: func() any { return new(rotateWriter) }}

// rotateWriter rotates the response on its way back to the client.
type rotateWriter struct {
	dns.ResponseWriter
	rotate *RRotate
	server string
}

// WriteMsg implements dns.ResponseWriter.
func (w *rotateWriter) WriteMsg(res *dns.Msg) error {
	if out := w.rotate.rotated(res); out != nil {
		rotations.WithLabelValues(w.server).Inc()
		return w.ResponseWriter.WriteMsg(out)
	}
	return w.ResponseWriter.WriteMsg(res)
}

// SetPlugin passes on which plugin wrote the response, so that the prometheus plugin's
// per-plugin response counts stay right with this wrapper in between.
func (w *rotateWriter) SetPlugin(name string) {
	if t, ok := w.ResponseWriter.(plugin.PluginTracker); ok {
		t.SetPlugin(name)
	}
}
