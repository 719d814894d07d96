package override

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/nonwriter"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
	"github.com/steerdns/steerdns/plugin/internal/handoff"
	"github.com/steerdns/steerdns/plugin/internal/sign"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// Handler answers A and AAAA queries for names that an enabled override pins, and passes
// everything else to the next plugin untouched.
type Handler struct {
	Next   plugin.Handler
	ttl    uint32
	snap   atomic.Pointer[snapshot] // what the table last published
	signer *sign.Signer             // signs pinned answers in signed zones; nil: they go unsigned
}

func newHandler(ttl uint32) *Handler {
	h := &Handler{ttl: ttl}
	h.snap.Store(emptySnapshot)
	return h
}

// subscriber is the Handler as its table's subscriber: it builds the snapshot that queries
// read, and forgets the answer counter of a deleted override.
type subscriber Handler

// Publish implements store.Subscriber.
func (s *subscriber) Publish(enabled store.State) { s.snap.Store(newSnapshot(enabled)) }

// Removed implements store.Subscriber.
func (s *subscriber) Removed(id string) { answersServed.DeleteLabelValues(id) }

// Name implements plugin.Handler.
func (h *Handler) Name() string { return pluginName }

// ServeDNS implements plugin.Handler. With no override enabled, every query passes straight
// on, without a wrapper or an allocation. With one enabled, a query for a pinned name gets the
// pinned answer, and any other A or AAAA query goes on with the alias stage joined, so that an
// answer whose CNAME chain ends at a pinned name gets the pin too.
func (h *Handler) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if !addressQuery(r) {
		return handoff.Next(h.Name(), h.Next, ctx, w, r)
	}
	snap := h.snap.Load()
	if !snap.enabled {
		if rec := explain.From(w); rec != nil {
			notePassed(rec, r.Question[0].Name)
		}
		return handoff.Next(h.Name(), h.Next, ctx, w, r)
	}
	if pins := snap.lookupAnyCase(r.Question[0].Name); pins != nil {
		if p := choose(pins, func() netip.Addr { return clientAddr(w) }); p != nil {
			m := h.answer(ctx, w, r, p)
			h.signPinned(ctx, w, r, m)
			if rec := explain.From(w); rec != nil {
				notePinned(rec, p, r.Question[0].Name, "")
			} else {
				p.count()
			}
			w.WriteMsg(m)
			return dns.RcodeSuccess, nil
		}
	}
	if rec := explain.From(w); rec != nil {
		notePassed(rec, r.Question[0].Name)
	}
	return handoff.Next(h.Name(), h.Next, ctx, answer.Join(ctx, w, (*aliasStage)(h)), r)
}

// addressQuery reports whether r is the one kind of query an override answers: one question,
// A or AAAA, class IN.
func addressQuery(r *dns.Msg) bool {
	if len(r.Question) != 1 {
		return false
	}
	q := r.Question[0]
	return (q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA) && q.Qclass == dns.ClassINET
}

// pinnedReply holds a pinned answer of the usual size (one address) in one allocation: the
// message, its question and answer sections and the record itself.
type pinnedReply struct {
	msg      dns.Msg
	question [1]dns.Question
	answer   [1]dns.RR
	a        dns.A
	aaaa     dns.AAAA
}

// answer builds the pinned reply. A query for a family the override lacks gets NOERROR with no
// answer, so that a dual-stack client cannot slip past the pin through the other family.
func (h *Handler) answer(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, p *pin) *dns.Msg {
	q := r.Question[0]
	buf := new(pinnedReply)
	m := &buf.msg
	// What SetReply does, with the question section in buf rather than a new slice.
	m.Id, m.Response, m.Opcode = r.Id, true, r.Opcode
	if m.Opcode == dns.OpcodeQuery {
		m.RecursionDesired, m.CheckingDisabled = r.RecursionDesired, r.CheckingDisabled
	}
	buf.question[0] = q
	m.Question = buf.question[:]
	m.Authoritative = true
	hdr := dns.RR_Header{Name: q.Name, Rrtype: q.Qtype, Class: dns.ClassINET, Ttl: h.ttl}
	switch {
	case p.cname != "":
		hdr.Rrtype = dns.TypeCNAME
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: hdr, Target: p.cname})
		do := wantsSigned(r) && h.signZone(q.Name) != ""
		if res := h.chase(ctx, w, q.Qtype, r.RecursionDesired, do, p.cname); res != nil {
			m.Rcode = res.Rcode
			m.Answer = append(m.Answer, res.Answer...)
			if do {
				m.Ns = res.Ns // the target's denial, when it has no record of the type
			}
		}
	case q.Qtype == dns.TypeA && len(p.a) == 1:
		buf.a = dns.A{Hdr: hdr, A: p.a[0]}
		buf.answer[0] = &buf.a
		m.Answer = buf.answer[:]
	case q.Qtype == dns.TypeAAAA && len(p.aaaa) == 1:
		buf.aaaa = dns.AAAA{Hdr: hdr, AAAA: p.aaaa[0]}
		buf.answer[0] = &buf.aaaa
		m.Answer = buf.answer[:]
	case q.Qtype == dns.TypeA && len(p.a) > 0:
		m.Answer = make([]dns.RR, len(p.a))
		as := make([]dns.A, len(p.a))
		for i, ip := range p.a {
			as[i] = dns.A{Hdr: hdr, A: ip}
			m.Answer[i] = &as[i]
		}
	case q.Qtype == dns.TypeAAAA && len(p.aaaa) > 0:
		m.Answer = make([]dns.RR, len(p.aaaa))
		aaaas := make([]dns.AAAA, len(p.aaaa))
		for i, ip := range p.aaaa {
			aaaas[i] = dns.AAAA{Hdr: hdr, AAAA: ip}
			m.Answer[i] = &aaaas[i]
		}
	}
	return m
}

// chase asks the rest of the chain for the CNAME target, so that a stub resolver gets a
// complete answer. The records it returns are appended, never changed. w is the query's
// writer (the plugins below may ask it for the client); without one there is no chase. With
// do, the target's records come with their signatures, for an answer that is signed.
func (h *Handler) chase(ctx context.Context, w dns.ResponseWriter, qtype uint16, rd, do bool, target string) *dns.Msg {
	if h.Next == nil || w == nil {
		return nil
	}
	sub := new(dns.Msg)
	sub.SetQuestion(target, qtype)
	sub.RecursionDesired = rd
	if do {
		sub.SetEdns0(dns.DefaultMsgSize, true)
	}
	if rec := explain.From(w); rec != nil {
		sw := rec.Sub() // the plugins below explain the target's answer, in a dry run too
		if _, err := h.Next.ServeDNS(ctx, sw, sub); err != nil {
			return nil
		}
		return sw.Msg()
	}
	nw := nonwriter.New(w)
	if _, err := h.Next.ServeDNS(ctx, nw, sub); err != nil || nw.Msg == nil {
		return nil
	}
	return nw.Msg
}

// clientAddr returns the query's source address without allocating for the usual UDP and TCP
// writers.
func clientAddr(w dns.ResponseWriter) netip.Addr {
	switch a := w.RemoteAddr().(type) {
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case nil:
		return netip.Addr{}
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}
		}
		return ap.Addr().Unmap()
	}
}
