package override

import (
	"math"
	"net/netip"
	"slices"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// aliasStage is the Handler as an answer.Stage: a pointer conversion, so joining the query
// costs the shared writer and nothing more.
type aliasStage Handler

// Rewrite implements answer.Stage.
func (s *aliasStage) Rewrite(r *answer.Response) { (*Handler)(s).followAlias(r, r.Writer()) }

// followAlias gives an answer whose CNAME chain ends at a pinned name what a query for that
// name gets: the pinned records with the override's TTL in place of the name's own RRset
// (none for a family the pin lacks), behind the CNAMEs of the chain, which stay as they are.
// The pin is chosen by the rules of a direct query (client scope, expiry, exact name before
// wildcard). w is the query's writer.
func (h *Handler) followAlias(r *answer.Response, w dns.ResponseWriter) {
	m := r.Msg()
	if m.Rcode != dns.RcodeSuccess || len(m.Question) != 1 {
		return // a stage below put an error in place of the answer
	}
	q := m.Question[0]
	owner, ok := finalOwner(r)
	if !ok || answer.SameName(owner, q.Name) {
		return // no alias: ServeDNS has decided for the query name already
	}
	pins := h.snap.Load().lookupAnyCase(owner)
	if pins == nil {
		return
	}
	p := choose(pins, func() netip.Addr { return clientAddr(w) })
	if p == nil {
		return
	}
	h.pinAlias(r, w, owner, q.Qtype, p)
	if rec := r.Explain(); rec != nil {
		notePinned(rec, p, owner, q.Name)
		return
	}
	p.count()
}

// finalOwner is the name at the end of the answer's CNAME chain: the owner of its RRset, or,
// when that name has no record of the query type (it has only the other family), the end of
// the chain all the same. A loop or a chain longer than answer.MaxChain has none.
func finalOwner(r *answer.Response) (string, bool) {
	if set, ok := r.RRset(); ok {
		return set.Owner, true
	}
	return answer.FinalOwner(r.Msg().Answer, r.Question().Name)
}

// pinAlias puts p's records for owner in place of owner's records of qtype and of the
// signatures over them (which would no longer match), at the place of the first of them.
func (h *Handler) pinAlias(r *answer.Response, w dns.ResponseWriter, owner string, qtype uint16, p *pin) {
	set := answer.RRset{Owner: owner, Type: qtype}
	sign := h.signsAlias(r, owner, qtype)
	a := r.Edit()
	out, at := a[:0], -1
	// The CNAME chain comes first, so the set never starts at 0 here (at <= 0 would only
	// differ if it did: an equivalent mutant).
	for _, rr := range a {
		if set.Member(rr) || covers(rr, set) {
			if at < 0 {
				at = len(out)
			}
			continue
		}
		out = append(out, rr)
	}
	if at < 0 {
		at = len(out)
	}
	// The message is the copy Edit made: its header is the stages' to change. The pinned
	// records are not validated data, whatever the rest of the answer was.
	m := r.Msg()
	m.AuthenticatedData = false
	switch {
	case p.cname != "":
		c := h.record(r, &templateCNAME, owner).(*dns.CNAME)
		c.Target = p.cname
		out = slices.Insert(out, at, dns.RR(c))
		if res := h.chase(r.Context(), w, qtype, m.RecursionDesired, sign, p.cname); res != nil {
			m.Rcode = res.Rcode
			out = slices.Insert(out, at+1, res.Answer...)
		}
	case qtype == dns.TypeA:
		for i, ip := range p.a {
			a := h.record(r, &templateA, owner).(*dns.A)
			a.A = ip
			out = slices.Insert(out, at+i, dns.RR(a))
		}
	case qtype == dns.TypeAAAA:
		for i, ip := range p.aaaa {
			aaaa := h.record(r, &templateAAAA, owner).(*dns.AAAA)
			aaaa.AAAA = ip
			out = slices.Insert(out, at+i, dns.RR(aaaa))
		}
	}
	r.SetAnswer(out)
	if sign {
		h.signAlias(r, w, owner, qtype, p)
	}
}

// The templates of the records a pin puts in an answer. Their TTL is above maxTTL, so that
// answer.Response.WithTTL always copies them; nothing ever changes them.
var (
	templateA     = dns.A{Hdr: templateHeader(dns.TypeA)}
	templateAAAA  = dns.AAAA{Hdr: templateHeader(dns.TypeAAAA)}
	templateCNAME = dns.CNAME{Hdr: templateHeader(dns.TypeCNAME)}
)

func templateHeader(rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Rrtype: rrtype, Class: dns.ClassINET, Ttl: math.MaxUint32}
}

// record returns a new record of this answer made from a template: a copy from the
// response's inline room while it lasts, named owner, with the override's TTL. Every answer
// gets records of its own, so that a plugin above changing one cannot touch another answer.
func (h *Handler) record(r *answer.Response, template dns.RR, owner string) dns.RR {
	rr := r.WithTTL(template, h.ttl)
	rr.Header().Name = owner
	return rr
}

// covers reports whether rr is a signature over set.
func covers(rr dns.RR, set answer.RRset) bool {
	sig, ok := rr.(*dns.RRSIG)
	return ok && sig.TypeCovered == set.Type && answer.SameName(sig.Hdr.Name, set.Owner)
}
