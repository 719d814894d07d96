package rrotate

import (
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
	// Where the members of the rotating RRset sit in the answer. Answers of common size keep
	// the list on the stack; an answer of any size rotates.
	var posBuf [inlineRecords]int
	pos := posBuf[:0]
	if len(res.Answer) > inlineRecords {
		pos = make([]int, 0, len(res.Answer))
	}
	for i, rr := range res.Answer {
		if isMember(rr, owner, q.Qtype) {
			pos = append(pos, i)
		}
	}
	if len(pos) < 2 {
		return nil
	}
	shift := int(r.counters.next(q.Name, q.Qtype) % uint64(len(pos)))
	return buf.withRotatedAnswer(res, pos, shift)
}

// rotate appends to out the answer section in which the members (at the indexes pos, in
// order) rotate among their own positions, so that the first of them is the shift-th member
// and the rest follow in circular order. Every other record (CNAMEs before them, RRSIGs
// wherever they are) keeps its index: a client or validator sees the same section shape.
func rotate(out, answer []dns.RR, pos []int, shift int) []dns.RR {
	base := len(out)
	out = append(out, answer...)
	src := shift
	for _, p := range pos {
		out[base+p] = answer[pos[src]]
		if src++; src == len(pos) {
			src = 0
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
func (r *reply) withRotatedAnswer(res *dns.Msg, pos []int, shift int) *dns.Msg {
	r.msg = *res
	out := r.records[:0]
	if len(res.Answer) > inlineRecords {
		out = make([]dns.RR, 0, len(res.Answer))
	}
	r.msg.Answer = rotate(out, res.Answer, pos, shift)
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
