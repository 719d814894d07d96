package weighted

import (
	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
)

// Rewrite implements answer.Stage: the final RRset of the answer (answer.Find's rule) is put
// in weighted order by the weights of its owner, so an alias gets the weights of the name it
// points to. Answers whose final owner has no weights pass as they are.
func (wt *Weighted) Rewrite(res *answer.Response) {
	q := res.Question()
	if !wt.handles(q) {
		return
	}
	set, ok := res.RRset()
	if !ok {
		return
	}
	nw := wt.weights.Load().lookup(set.Owner)
	if nw == nil {
		if rec := res.Explain(); rec != nil {
			rec.Note(explain.Step{Plugin: pluginName, Did: "passed", Why: "no weights for " + set.Owner})
		}
		return
	}
	wt.arrange(res, set, nw, typeSlot(q.Qtype))
}

// arrange runs one step of the owner's rotation over the records of set and writes them
// back in that order: the chosen record in the set's first position, and so on. In `only`
// mode the positions past the kept records are removed. Every other record keeps its place
// (its index, less the records removed before it).
func (wt *Weighted) arrange(res *answer.Response, set answer.RRset, nw *nameWeights, slot int) {
	var inBuf, outBuf [stackTargets]dns.RR
	rrs := members(res.Msg().Answer, set, inBuf[:0])
	out := outBuf[:0]
	if len(rrs) > len(outBuf) {
		out = make([]dns.RR, 0, len(rrs))
	}
	out = out[:len(rrs)]
	rec := res.Explain()
	var live int
	if rec != nil {
		live = nw.states[slot].preview(nw, rrs, out)
	} else {
		live = nw.states[slot].order(nw, rrs, out)
	}
	if live == 0 {
		if rec != nil {
			rec.Note(explain.Step{Plugin: pluginName, Did: "passed", Why: "every address of " + nw.name + " has weight 0 (drained): the answer is left whole"})
			return
		}
		drained.WithLabelValues(nw.name).Inc()
		return
	}
	keep := len(out)
	if wt.only > 0 {
		keep = min(wt.only, live)
		if set.Signed && keep < len(out) {
			if wt.signer != nil && wt.signer.Zone(set.Owner) != "" {
				res.Resign(wt.signer, set.Owner, set.Type) // signed again once the stages are done
			} else {
				// Cutting a signed RRset without the keys would make it bogus: reorder only.
				if rec == nil {
					signedUncut.WithLabelValues(nw.name).Inc()
					wt.unsigned.Note(res.Msg().Answer, set)
				}
				keep = len(out)
			}
		}
	}
	if rec != nil {
		wt.explain(rec, nw, rrs, out[:keep], set.Signed)
	}
	if keep == len(out) && wt.ttl == 0 && sameOrder(rrs, out) {
		return // nothing to change: no copy
	}
	a := res.Edit()
	n, k := 0, 0
	for _, rr := range a {
		if set.Member(rr) {
			if k == keep {
				continue // cut by only
			}
			rr = out[k]
			k++
		}
		// equivalent mutant: >= for the second > changes nothing: WithTTL returns a record already
		// at the cap as it is.
		if wt.ttl > 0 && rr.Header().Ttl > wt.ttl {
			rr = res.WithTTL(rr, wt.ttl) // the RRset, the CNAMEs in front, the RRSIGs
		}
		a[n] = rr
		n++
	}
	res.SetAnswer(a[:n])
}

// members returns the records of set in section, in their order: a slice of section when
// they are next to each other (the usual), else gathered in buf.
func members(section []dns.RR, set answer.RRset, buf []dns.RR) []dns.RR {
	if block := section[set.First : set.First+set.Count]; allMembers(block, set) {
		return block
	}
	for _, rr := range section[set.First:] {
		if set.Member(rr) {
			buf = append(buf, rr)
		}
	}
	return buf
}

func allMembers(rrs []dns.RR, set answer.RRset) bool {
	for _, rr := range rrs {
		if !set.Member(rr) {
			return false
		}
	}
	return true
}

// sameOrder reports whether out holds the records of rrs in the same order.
func sameOrder(rrs, out []dns.RR) bool {
	for i := range rrs {
		if rrs[i] != out[i] {
			return false
		}
	}
	return true
}
