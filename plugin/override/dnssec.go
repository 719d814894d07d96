package override

import (
	"context"
	"slices"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/sign"
)

// unsignedPins counts pinned answers that a client asked to have signed (the DO bit) and
// that went out without signatures, for want of a key of the name's zone: in a signed zone,
// a validating resolver rejects them.
var unsignedPins = promauto.NewCounter(prometheus.CounterOpts{
	Namespace: plugin.Namespace,
	Subsystem: pluginName,
	Name:      "unsigned_answers_total",
	Help:      "Counter of pinned answers served without RRSIGs to clients that asked for DNSSEC, for want of the zone's key.",
})

// unsignedWarn warns once per signed zone whose answers get pins without signatures.
var unsignedWarn = sign.NewUnsigned(log, "pinned answers carry no signatures, so validating resolvers reject them")

// wantsSigned reports whether the client asked for DNSSEC records.
func wantsSigned(r *dns.Msg) bool {
	o := r.IsEdns0()
	return o != nil && o.Do()
}

// signZone returns the zone whose key signs answers for name, "" when there is none.
func (h *Handler) signZone(name string) string {
	if h.signer == nil {
		return ""
	}
	return h.signer.Zone(name)
}

// signPinned signs m, the pinned reply to r, for a client that asked for DNSSEC: an RRSIG
// over the pinned RRset (the addresses, or the CNAME), or, when the pin lacks the queried
// family, a denial that the type exists (see denial). Without a key for the name, m stays
// unsigned and the metric counts it.
func (h *Handler) signPinned(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg) {
	if !wantsSigned(r) {
		return
	}
	q := r.Question[0]
	zone := h.signZone(q.Name)
	if zone == "" {
		unsignedPins.Inc()
		return
	}
	set := answer.RRset{Owner: q.Name, Type: q.Qtype}
	if len(m.Answer) > 0 {
		if _, ok := m.Answer[0].(*dns.CNAME); ok {
			set.Type = dns.TypeCNAME
		}
		var pinned []dns.RR
		for _, rr := range m.Answer {
			if set.Member(rr) {
				pinned = append(pinned, rr)
			}
		}
		sigs, err := h.signer.Sign(pinned, h.ttl)
		if err != nil {
			return // Sign counts it; the answer goes out unsigned
		}
		// The RRSIGs follow the pinned records, before whatever a chase appended.
		m.Answer = slices.Insert(slices.Clip(m.Answer), len(pinned), sigs...)
		return
	}
	m.Ns = h.denial(ctx, w, q.Name, q.Qtype, zone)
}

// denial proves, for a pin that lacks the queried family, that name has no record of qtype,
// as the dnssec plugin's black lies do: an NSEC at name whose next name is the very next one
// possible (\000.name), so that it denies no other name, and whose type bitmap lists every
// usual type but qtype, so that a resolver that reuses it (RFC 8198) denies nothing else;
// signed with the zone's key. With it goes the zone's SOA, fetched from the chain below with
// its RRSIG, for the negative TTL, lowered to the override TTL so that the denial ends as
// soon as the pin does.
func (h *Handler) denial(ctx context.Context, w dns.ResponseWriter, name string, qtype uint16, zone string) []dns.RR {
	ttl := h.ttl
	var ns []dns.RR
	if soa := h.lookup(ctx, w, zone, dns.TypeSOA); soa != nil {
		for _, rr := range soa.Answer {
			if rr.Header().Rrtype == dns.TypeSOA || rr.Header().Rrtype == dns.TypeRRSIG {
				ns = append(ns, rr)
			}
		}
	}
	for i, rr := range ns { // (>= would copy a record already at ttl to ttl: an equivalent mutant)
		if rr.Header().Ttl > ttl {
			ns[i] = dns.Copy(rr)
			ns[i].Header().Ttl = ttl
		}
	}
	nsec := &dns.NSEC{
		Hdr:        dns.RR_Header{Name: name, Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: ttl},
		NextDomain: `\000.` + name,
		TypeBitMap: blackLieTypes(qtype, answer.SameName(name, zone)),
	}
	sigs, err := h.signer.Sign([]dns.RR{nsec}, ttl)
	if err != nil {
		return ns
	}
	return append(append(ns, nsec), sigs...)
}

// blackLieTypes is the type bitmap of a black-lie NSEC: the types a name commonly holds
// (at the apex, those of a zone apex too), less the denied one, in ascending order as NSEC
// wants them.
func blackLieTypes(denied uint16, apex bool) []uint16 {
	all := []uint16{dns.TypeA, dns.TypeNS, dns.TypeSOA, dns.TypeMX, dns.TypeTXT, dns.TypeAAAA, dns.TypeSRV,
		dns.TypeRRSIG, dns.TypeNSEC, dns.TypeDNSKEY, dns.TypeSVCB, dns.TypeHTTPS, dns.TypeCAA}
	return slices.DeleteFunc(all, func(t uint16) bool {
		return t == denied || (!apex && (t == dns.TypeNS || t == dns.TypeSOA || t == dns.TypeDNSKEY))
	})
}

// lookup asks the chain below for name and qtype with DNSSEC records, as a part of an answer
// the override builds. w is the query's writer.
func (h *Handler) lookup(ctx context.Context, w dns.ResponseWriter, name string, qtype uint16) *dns.Msg {
	if h.Next == nil || w == nil {
		return nil
	}
	sub := new(dns.Msg)
	sub.SetQuestion(name, qtype)
	sub.SetEdns0(dns.DefaultMsgSize, true)
	nw := nonwriter.New(w)
	if _, err := h.Next.ServeDNS(ctx, nw, sub); err != nil || nw.Msg == nil {
		return nil
	}
	return nw.Msg
}

// signsAlias reports whether the records an alias pin puts in r's answer for owner are to be
// signed: the answer came signed and a key covers owner. Called before the pin edits the
// answer: without a key, the warning names the zone of the signatures the pin drops.
func (h *Handler) signsAlias(r *answer.Response, owner string, qtype uint16) bool {
	if !signed(r.Msg().Answer) {
		return false
	}
	if h.signZone(owner) == "" {
		unsignedPins.Inc()
		unsignedWarn.Note(r.Msg().Answer, answer.RRset{Owner: owner, Type: qtype})
		return false
	}
	return true
}

// signAlias asks for the records an alias pin put in r's answer to be signed: the pinned
// RRset (the addresses or the CNAME), or, when the pin lacks the family, a denial in the
// authority section.
func (h *Handler) signAlias(r *answer.Response, w dns.ResponseWriter, owner string, qtype uint16, p *pin) {
	zone := h.signZone(owner)
	switch {
	case p.cname != "":
		r.Resign(h.signer, owner, dns.TypeCNAME)
	case qtype == dns.TypeA && len(p.a) > 0, qtype == dns.TypeAAAA && len(p.aaaa) > 0:
		r.Resign(h.signer, owner, qtype)
	default:
		// The message is Edit's copy: its sections are the stages' to replace (not to change).
		r.Msg().Ns = h.denial(r.Context(), w, owner, qtype, zone)
	}
}

// signed reports whether an answer came with signatures: the client asked for them and the
// zone has them.
func signed(a []dns.RR) bool {
	for _, rr := range a {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			return true
		}
	}
	return false
}
