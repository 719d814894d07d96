package answer

import "github.com/miekg/dns"

// MaxChain bounds how many CNAMEs Find follows. A longer chain, or a loop, is no answer a
// steerdns plugin acts on: it passes whole.
const MaxChain = 8

// RRset is where the records that a response answers with sit in its answer section.
//
// The rule, the same for every steerdns plugin: the records a plugin acts on are those of the
// query type and class IN owned by the final owner, which is the query name or, when the
// answer starts with a CNAME chain, the name at its end (followed whatever the case, at most
// MaxChain links). A plugin's rule for a name is keyed by that final owner, so an alias
// (www CNAME cats) gets the treatment of the name it points to. Every other record (the
// CNAMEs in front, RRSIGs, records of other owners) keeps its place.
type RRset struct {
	Owner  string // the final owner, as the answer spells it
	Type   uint16
	First  int  // index of the first record of the set
	Count  int  // how many records the set has
	Signed bool // an RRSIG of the final owner covers the set's type
}

// Find returns the RRset of answer for a question (qname, qtype); ok is false when the
// answer has no record of the type at the end of the chain.
func Find(answer []dns.RR, qname string, qtype uint16) (set RRset, ok bool) {
	owner, ok := FinalOwner(answer, qname)
	if !ok {
		return RRset{}, false
	}
	set = RRset{Owner: owner, Type: qtype, First: -1}
	for i, rr := range answer {
		h := rr.Header()
		switch {
		case h.Rrtype == qtype && h.Class == dns.ClassINET && SameName(h.Name, owner):
			if set.First < 0 {
				set.First, set.Owner = i, h.Name
			}
			set.Count++
		case h.Rrtype == dns.TypeRRSIG && !set.Signed:
			if sig, isSig := rr.(*dns.RRSIG); isSig && sig.TypeCovered == qtype && SameName(h.Name, owner) {
				set.Signed = true
			}
		}
	}
	if set.Count == 0 {
		return RRset{}, false
	}
	return set, true
}

// Member reports whether rr is one of the set's records.
func (s RRset) Member(rr dns.RR) bool {
	h := rr.Header()
	return h.Rrtype == s.Type && h.Class == dns.ClassINET && SameName(h.Name, s.Owner)
}

// FinalOwner follows the CNAME chain that starts at qname through answer and returns the name
// at its end (qname when there is no CNAME); ok is false for a loop or a chain longer than
// MaxChain.
func FinalOwner(answer []dns.RR, qname string) (owner string, ok bool) {
	owner = qname
	for range MaxChain + 1 {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && SameName(c.Hdr.Name, owner) {
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
