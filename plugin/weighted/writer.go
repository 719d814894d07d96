package weighted

import (
	"errors"
	"strings"

	"github.com/miekg/dns"
)

// responseWriter orders the answer for one query whose name has weights. It carries the
// space for the reply it writes, so that a weighted query costs one allocation in all.
type responseWriter struct {
	dns.ResponseWriter
	wt    *Weighted
	name  *nameWeights
	qtype uint16
	slot  int

	rep     reply
	repUsed bool // a second WriteMsg (unusual) gets a reply of its own
}

var errNilMsg = errors.New("weighted: response message is nil")

// WriteMsg implements the dns.ResponseWriter interface. Whatever it does not understand
// (errors, NODATA, answers of another type or of mixed owners) it passes on untouched.
func (w *responseWriter) WriteMsg(res *dns.Msg) error {
	if res == nil {
		return errNilMsg
	}
	rep := &w.rep
	if w.repUsed {
		rep = new(reply)
	}
	w.repUsed = true
	return w.ResponseWriter.WriteMsg(w.wt.arrange(res, w.name, w.qtype, w.slot, rep))
}

// reply holds the shallow copy of a response and, for answers of common size, its new answer
// section, so that ordering an answer costs a single allocation.
type reply struct {
	msg dns.Msg
	rrs [8]dns.RR
}

// arrange returns res with the RRset of qtype in weighted order, as a new message built in
// rep: res and its slices stay as they were, because cache may hold them.
func (wt *Weighted) arrange(res *dns.Msg, nw *nameWeights, qtype uint16, slot int, rep *reply) *dns.Msg {
	if res.Rcode != dns.RcodeSuccess || len(res.Question) == 0 || res.Question[0].Qtype != qtype {
		return res
	}
	set, ok := findRRset(res.Answer, qtype)
	if !ok {
		return res
	}
	first, count := set.first, set.count

	rep.msg = *res
	ans := rep.rrs[:0]
	if len(res.Answer) > len(rep.rrs) {
		ans = make([]dns.RR, 0, len(res.Answer))
	}
	ans = append(ans, res.Answer[:first]...) // CNAMEs and the like stay in front, in order
	block := ans[first : first+count]
	rrs := res.Answer[first : first+count]
	contiguous := set.last-first+1 == count
	if !contiguous {
		rrs = gather(res.Answer[first:], qtype, count)
	}

	live := nw.states[slot].order(nw, rrs, block)
	if live == 0 {
		drained.WithLabelValues(nw.name).Inc()
		return res
	}
	keep := count
	if wt.only > 0 {
		keep = min(wt.only, live)
		if set.signed && keep < count {
			// Cutting a signed RRset would make it bogus: reorder only.
			signedUncut.WithLabelValues(nw.name).Inc()
			keep = count
		}
	}
	ans = ans[:first+keep]
	if contiguous {
		ans = append(ans, res.Answer[first+count:]...)
	} else {
		for _, rr := range res.Answer[first:] {
			if rr.Header().Rrtype != qtype {
				ans = append(ans, rr) // the RRSIGs, after the records they sign
			}
		}
	}
	rep.msg.Answer = ans
	return &rep.msg
}

// rrset is where the records of the query type sit in an answer.
type rrset struct {
	first, last int  // indexes of the first and the last record
	count       int  // how many records there are
	signed      bool // an RRSIG in the answer covers them
}

// findRRset locates the records of qtype in an answer, in one pass. ok is false when there
// are none, or when they have different owners, which weighted leaves alone.
func findRRset(answer []dns.RR, qtype uint16) (set rrset, ok bool) {
	set.first = -1
	owner, signer := "", ""
	for i, rr := range answer {
		h := rr.Header()
		if h.Rrtype == dns.TypeRRSIG {
			if sig, isSig := rr.(*dns.RRSIG); isSig && sig.TypeCovered == qtype && signer == "" {
				signer = h.Name
			}
			continue
		}
		if h.Rrtype != qtype {
			continue
		}
		if set.first < 0 {
			set.first, owner = i, h.Name
		} else if h.Name != owner && !strings.EqualFold(h.Name, owner) {
			return rrset{}, false
		}
		set.last = i
		set.count++
	}
	if set.first < 0 {
		return rrset{}, false
	}
	set.signed = signer != "" && strings.EqualFold(signer, owner)
	return set, true
}

// gather collects the count records of qtype from answer, for answers that interleave them
// with other records.
func gather(answer []dns.RR, qtype uint16, count int) []dns.RR {
	out := make([]dns.RR, 0, count)
	for _, rr := range answer {
		if rr.Header().Rrtype == qtype {
			out = append(out, rr)
		}
	}
	return out
}
