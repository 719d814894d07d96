package answer

import (
	"slices"

	"github.com/miekg/dns"
)

// A Signer signs an RRset anew (plugin/internal/sign.Signer is the one the plugins use).
// Sign returns RRSIGs over rrset with origTTL as their original TTL; they may be shared with
// other answers, so they are copied before their TTL is changed.
type Signer interface {
	Sign(rrset []dns.RR, origTTL uint32) ([]dns.RR, error)
}

// resignMark is one RRset a stage changed and asked to have signed again.
type resignMark struct {
	signer Signer
	owner  string
	rrtype uint16
}

// maxResign bounds the RRsets signed again per response: each stage changes at most one.
const maxResign = maxStages

// signing is what a response that is signed again needs: the RRsets to sign, and room for the
// set's records and its new RRSIGs (one per key; two cover a key rollover), so that a
// signature from the cache costs no allocation beyond this one.
type signing struct {
	marks   [maxResign]resignMark
	n       uint8
	members [inlineRecords]dns.RR
	sigs    [2]dns.RRSIG
	nSig    uint8
}

// Resign asks that the RRset of owner and rrtype in the answer be signed again with s when the
// response is written, after the last stage: its old RRSIGs go, and fresh ones over the
// records it has by then take the place of the first of them. A stage calls it when it
// changes an RRset that was signed (RRset.Signed), so that the answer validates; an RRset
// that several stages change is signed once. If signing fails, the backend's response is
// written as it came, whole and valid, in place of the changed one.
func (r *Response) Resign(s Signer, owner string, rrtype uint16) {
	if r.signing == nil {
		r.signing = new(signing)
	}
	g := r.signing
	for i := range g.n {
		if m := g.marks[i]; m.rrtype == rrtype && SameName(m.owner, owner) {
			g.marks[i].signer = s
			return
		}
	}
	if int(g.n) < len(g.marks) {
		g.marks[g.n] = resignMark{s, owner, rrtype}
		g.n++
	}
}

// signAgain does what the stages asked of Resign. It reports false when an RRset could not be
// signed.
func (r *Response) signAgain() bool {
	g := r.signing
	for i := range g.n {
		m := g.marks[i]
		if !r.signSet(m.signer, RRset{Owner: m.owner, Type: m.rrtype}) {
			return false
		}
	}
	return true
}

// signSet replaces the RRSIGs over set in the edited answer with new ones from s.
func (r *Response) signSet(s Signer, set RRset) bool {
	a := r.Edit()
	members := r.signing.members[:0]
	out := a[:0]
	var origTTL, maxTTL uint32
	minTTL := ^uint32(0)
	at := -1   // where the new RRSIGs go in out: the place of the first old one,
	after := 0 // or else after the last record of the set
	for _, rr := range a {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == set.Type && SameName(sig.Hdr.Name, set.Owner) {
			if at < 0 {
				at, origTTL = len(out), sig.OrigTtl
			}
			continue
		}
		out = append(out, rr)
		if set.Member(rr) {
			members = append(members, rr)
			ttl := rr.Header().Ttl
			minTTL, maxTTL = min(minTTL, ttl), max(maxTTL, ttl)
			after = len(out)
		}
	}
	if len(members) == 0 {
		r.msg.Answer = out // nothing left to sign: the old signatures go with the records
		return true
	}
	if origTTL == 0 {
		origTTL = maxTTL // a new RRset (a pin): the TTL it is served with is its own
	}
	sigs, err := s.Sign(members, origTTL)
	if err != nil {
		return false
	}
	if at < 0 {
		at = after
	}
	ttl := min(minTTL, origTTL)
	for i, sig := range sigs {
		out = slices.Insert(out, at+i, r.WithTTL(sig, ttl))
	}
	r.msg.Answer = out
	return true
}
