// Package handoff passes a query to the next plugin without the allocation that
// plugin.NextOrFailure makes on every query, when nothing would see what that allocation buys.
//
// NextOrFailure wraps the writer in a new value so that a trace span can start and so that
// the prometheus plugin learns which plugin wrote the answer. Only a tracing span in the
// context or a PluginTracker writer (prometheus's recorder, right above) can observe that;
// the steerdns plugins sit in front of every query, so without either they hand the query on
// directly and a name that is not their concern costs no allocation.
package handoff

import (
	"context"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
	ot "github.com/opentracing/opentracing-go"
)

// Next calls next with w, the way plugin.NextOrFailure does. in is the writer the calling
// plugin was given (w itself or the writer it wraps).
func Next(name string, next plugin.Handler, ctx context.Context, in, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if _, tracked := in.(plugin.PluginTracker); tracked || next == nil || ot.SpanFromContext(ctx) != nil {
		return plugin.NextOrFailure(name, next, ctx, w, r)
	}
	return next.ServeDNS(ctx, w, r)
}
