package rrotate

import (
	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// Rewrite implements answer.Stage: the final RRset of the answer (answer.Find's rule) rotates
// by its owner's counter, so an alias and the name it points to share one rotation.
func (r *RRotate) Rewrite(res *answer.Response) {
	if !r.types.has(res.Question().Qtype) {
		return
	}
	set, ok := res.RRset()
	if !ok || set.Count < 2 {
		if rec := res.Explain(); rec != nil {
			explainUnrotated(rec, set, ok)
		}
		return
	}
	var shift int
	if rec := res.Explain(); rec != nil {
		shift = r.explain(rec, set)
	} else {
		shift = int(r.counters.next(set.Owner, set.Type) % uint64(set.Count))
		r.rotations(metrics.WithServer(res.Context())).Inc()
	}
	if shift == 0 && r.ttl == 0 {
		return // the answer is in its rotated order already: no copy
	}
	a := res.Edit()
	rotate(a, set, shift)
	r.capTTL(res, a)
}

// inlineRecords covers the usual RRset size, so that rotating it needs no scratch space
// from the heap.
const inlineRecords = 8

// rotate moves the members of set (in a, which the caller may change) among their own
// positions, so that the first of them is the shift-th member and the rest follow in
// circular order. Every other record (CNAMEs before them, RRSIGs wherever they are, records
// of other owners) keeps its index: a client or validator sees the same section shape.
func rotate(a []dns.RR, set answer.RRset, shift int) {
	var buf [inlineRecords]dns.RR
	members := buf[:0]
	// equivalent mutant: >= for > gives the same members; at Count 8 the make does not escape and
	// Go 1.26 keeps it on the stack too, so not even the allocations differ (TestRotatedAllocations).
	if set.Count > len(buf) {
		members = make([]dns.RR, 0, set.Count)
	}
	for _, rr := range a[set.First:] {
		if set.Member(rr) {
			members = append(members, rr)
		}
	}
	k := shift
	for i := set.First; i < len(a); i++ {
		if !set.Member(a[i]) {
			continue
		}
		a[i] = members[k]
		if k++; k == len(members) {
			k = 0
		}
	}
}

// capTTL gives every record of the edited answer section a (the rotated RRset, the CNAMEs in
// front of it and the RRSIGs over them) a TTL of at most the configured ttl, so that a client
// behind a caching resolver sees the next rotation within ttl seconds.
func (r *RRotate) capTTL(res *answer.Response, a []dns.RR) { res.CapTTL(a, r.ttl) }
