// Package rrotate implements strict round-robin rotation of multi-record answers: the n-th
// answer for a name leads with its n-th record, wrapping around.
package rrotate

import (
	"context"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/handoff"
)

// RRotate rotates the final RRset of answers for the names in its zones.
type RRotate struct {
	Next plugin.Handler

	zones    answer.Zones
	types    typeSet
	counters *counters
	ttl      uint32 // the TTL cap of the answers it rotates; 0 leaves TTLs alone

	// lastServer holds the rotations counter of the server last seen: resolving a labelled counter
	// hashes its label on every query, and a plugin instance nearly always serves one server.
	lastServer atomic.Pointer[serverCounter]
}

// typeSet is the record types that rotate. A list: there are a few, and scanning two or three
// numbers is cheaper than hashing one on every query.
type typeSet []uint16

func (s typeSet) has(t uint16) bool {
	for _, x := range s {
		if x == t {
			return true
		}
	}
	return false
}

// with returns s with t in it.
func (s typeSet) with(t uint16) typeSet {
	if s.has(t) {
		return s
	}
	return append(s, t)
}

// serverCounter is the rotations counter of one server.
type serverCounter struct {
	server  string
	counter prometheus.Counter
}

// rotations returns the rotations counter of server.
func (r *RRotate) rotations(server string) prometheus.Counter {
	if sc := r.lastServer.Load(); sc != nil && sc.server == server {
		return sc.counter
	}
	sc := &serverCounter{server: server, counter: rotations.WithLabelValues(server)}
	r.lastServer.Store(sc)
	return sc.counter
}

// ServeDNS implements the plugin.Handler interface. A query of a type that rotates, for a
// name in its zones, joins the query's shared writer, whose Rewrite rotates the answer.
func (r *RRotate) ServeDNS(ctx context.Context, w dns.ResponseWriter, req *dns.Msg) (int, error) {
	if len(req.Question) != 1 || !r.types.has(req.Question[0].Qtype) || r.zones.Match(req.Question[0].Name) == "" {
		return handoff.Next(name, r.Next, ctx, w, req)
	}
	return handoff.Next(name, r.Next, ctx, answer.Join(ctx, w, r), req)
}

// Name implements the plugin.Handler interface.
func (r *RRotate) Name() string { return name }
