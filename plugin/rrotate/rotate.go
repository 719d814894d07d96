package rrotate

import (
	"math/bits"
	"strings"

	"github.com/miekg/dns"
)

// maxChain bounds how many CNAMEs rotated follows to find the final owner; longer chains are
// left alone rather than searched further.
const maxChain = 8

// rotated returns a copy of res, built in buf, whose final RRset is rotated by this name's
// counter, or nil when res must pass untouched: nothing to rotate, or a response that is not
// a plain, complete, positive answer. res and its records are never changed: cache keeps them.
func (r *RRotate) rotated(res *dns.Msg, buf *reply) *dns.Msg {
	if res == nil || res.Rcode != dns.RcodeSuccess || res.Truncated || len(res.Question) != 1 || len(res.Answer) < 2 {
		return nil
	}
	q := res.Question[0]
	if !r.types.has(q.Qtype) {
		return nil
	}
	owner, ok := finalOwner(res.Answer, q.Name)
	if !ok {
		return nil
	}
	if len(res.Answer) > maxAnswer {
		return nil
	}
	var members uint64 // bit i set: Answer[i] belongs to the RRset that rotates
	count := 0
	for i, rr := range res.Answer {
		if isMember(rr, owner, q.Qtype) {
			members |= 1 << i
			count++
		}
	}
	if count < 2 {
		return nil
	}
	shift := int(r.counters.next(q.Name, q.Qtype) % uint64(count))
	return buf.withRotatedAnswer(res, members, shift)
}

// maxAnswer is the largest answer section rotated: members are tracked in a 64-bit mask.
// Larger answers do not fit a UDP response anyway and pass in the backend's order.
const maxAnswer = 64

// rotate appends to out the answer section in which the members' RRset starts with its
// shift-th member, in circular order, at the place of its first member; every other record
// (CNAMEs before it, RRSIGs after it) keeps its place.
func rotate(out, answer []dns.RR, members uint64, shift int) []dns.RR {
	first := bits.TrailingZeros64(members)
	out = append(out, answer[:first]...)
	j := 0
	for i := first; i < len(answer); i++ { // members from the shift-th on
		if members&(1<<i) != 0 {
			if j >= shift {
				out = append(out, answer[i])
			}
			j++
		}
	}
	j = 0
	for i := first; j < shift; i++ { // then the members before it
		if members&(1<<i) != 0 {
			out = append(out, answer[i])
			j++
		}
	}
	for i := first; i < len(answer); i++ {
		if members&(1<<i) == 0 {
			out = append(out, answer[i])
		}
	}
	return out
}

// inlineRecords covers the usual answer size, so that a rotated reply is one allocation.
const inlineRecords = 8

// reply holds a rotated response and, for typical sizes, its answer section.
type reply struct {
	msg     dns.Msg
	records [inlineRecords]dns.RR
}

// withRotatedAnswer returns a shallow copy of res, held in r, whose answer section is rotated.
func (r *reply) withRotatedAnswer(res *dns.Msg, members uint64, shift int) *dns.Msg {
	r.msg = *res
	out := r.records[:0]
	if len(res.Answer) > inlineRecords {
		out = make([]dns.RR, 0, len(res.Answer))
	}
	r.msg.Answer = rotate(out, res.Answer, members, shift)
	return &r.msg
}

func isMember(rr dns.RR, owner string, qtype uint16) bool {
	h := rr.Header()
	// Owners are nearly always the very same string; == settles that without folding case.
	return h.Rrtype == qtype && h.Class == dns.ClassINET && (h.Name == owner || strings.EqualFold(h.Name, owner))
}

// finalOwner follows the CNAME chain that starts at qname through answer and returns the
// name that owns the records the client asked for.
func finalOwner(answer []dns.RR, qname string) (string, bool) {
	owner := qname
	for range maxChain {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && (c.Hdr.Name == owner || strings.EqualFold(c.Hdr.Name, owner)) {
				next = c.Target
				break
			}
		}
		if next == "" {
			return owner, true
		}
		owner = next
	}
	return "", false
}
