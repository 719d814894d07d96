package answer

import (
	"context"
	"errors"

	"github.com/miekg/dns"
)

// A Stage is one plugin's change to the responses of a query. Stages run when the response
// is written, in the order responses flow up the chain: the stage of the plugin nearest the
// backend first.
type Stage interface {
	Rewrite(r *Response)
}

// maxStages is one per steerdns plugin: each joins a query at most once.
const maxStages = 4

// Writer is the dns.ResponseWriter that the steerdns plugins of one query share. The first of
// them that wants to see the response creates it; the plugins below find it in ServeDNS and
// add their stage, without allocating. So a query costs one allocation however many of the
// plugins act on it, and the response is copied at most once between them.
//
// It is never recycled: a plugin below may keep it after ServeDNS returns (cache's stale
// refresh writes to it later).
type Writer struct {
	dns.ResponseWriter
	ctx    context.Context
	stages [maxStages]Stage
	n      int
	used   bool // a second WriteMsg (unusual) gets a Response of its own
	resp   Response
}

// Join adds stage to the query's shared writer and returns the writer to hand to the next
// plugin: w itself when a steerdns plugin above created it, else a new Writer around w.
func Join(ctx context.Context, w dns.ResponseWriter, stage Stage) dns.ResponseWriter {
	sw, ok := w.(*Writer)
	if !ok || sw.n == maxStages || sw.used {
		sw = &Writer{ResponseWriter: w, ctx: ctx}
	}
	sw.stages[sw.n] = stage
	sw.n++
	return sw
}

// errNilMsg answers a plugin below that writes no message: the writer beneath would panic
// packing it (loadbalance does the same).
var errNilMsg = errors.New("answer: response message is nil")

// WriteMsg implements dns.ResponseWriter. Only a plain answer to a query reaches the stages:
// errors, truncated responses and transfers pass as they are; a nil message is an error.
func (w *Writer) WriteMsg(m *dns.Msg) error {
	if m == nil {
		return errNilMsg
	}
	if !rewritable(m) {
		return w.ResponseWriter.WriteMsg(m)
	}
	r := &w.resp
	if w.used {
		r = new(Response)
	}
	w.used = true
	r.reset(w.ctx, w.ResponseWriter, m)
	for i := w.n - 1; i >= 0; i-- {
		w.stages[i].Rewrite(r)
	}
	return w.ResponseWriter.WriteMsg(r.msg)
}

func rewritable(m *dns.Msg) bool {
	if m.Rcode != dns.RcodeSuccess || m.Truncated || m.Opcode != dns.OpcodeQuery || len(m.Question) != 1 {
		return false
	}
	switch m.Question[0].Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		return false
	}
	return true
}

// inlineRecords covers the usual answer size: a CNAME or two and a handful of addresses.
const inlineRecords = 8

// Response is a response on its way up, as the stages see it. Until a stage asks to edit it,
// it is the message the backend wrote, which must not change (cache keeps it): Edit makes the
// one copy that every stage above then edits in place. The records themselves are never
// changed, in the copy either: a record whose TTL changes is replaced by a copy (WithTTL).
type Response struct {
	ctx   context.Context
	w     dns.ResponseWriter
	msg   *dns.Msg
	owned bool // msg is copy, which the stages may edit

	set      RRset
	setOK    bool
	setValid bool // set and setOK describe msg's answer as it stands

	copy  dns.Msg
	slots [inlineRecords]dns.RR
	as    [4]dns.A
	aaaas [2]dns.AAAA
	cname [2]dns.CNAME
	nA    uint8
	nAAAA uint8
	nCN   uint8
}

func (r *Response) reset(ctx context.Context, w dns.ResponseWriter, m *dns.Msg) {
	r.ctx, r.w, r.msg, r.owned, r.setValid = ctx, w, m, false, false
	r.nA, r.nAAAA, r.nCN = 0, 0, 0
}

// Context is the query's context.
func (r *Response) Context() context.Context { return r.ctx }

// Writer is the writer the shared one wraps: the client's address is its RemoteAddr, and a
// stage that asks the chain for more (a CNAME target) builds its sub-query's writer from it.
// Never write the response to it: WriteMsg does, after the last stage.
func (r *Response) Writer() dns.ResponseWriter { return r.w }

// Msg is the response as it stands. Read it; change its answer section only through Edit,
// and never its other sections: they stay shared with the backend's message.
func (r *Response) Msg() *dns.Msg { return r.msg }

// Question is the response's question (WriteMsg lets only responses with one through).
func (r *Response) Question() dns.Question { return r.msg.Question[0] }

// RRset is the set that the response answers with, by the rule of Find.
func (r *Response) RRset() (RRset, bool) {
	if !r.setValid {
		q := r.msg.Question[0]
		r.set, r.setOK = Find(r.msg.Answer, q.Name, q.Qtype)
		r.setValid = true
	}
	return r.set, r.setOK
}

// Edit returns the answer section for the stage to change in place: reorder it, replace
// records (with copies: see WithTTL) or shorten it with SetAnswer. The first call copies the
// message; the later ones, by any stage, return the same copy.
func (r *Response) Edit() []dns.RR {
	r.setValid = false
	if r.owned {
		return r.msg.Answer
	}
	r.copy = *r.msg
	answer := r.slots[:0]
	if len(r.msg.Answer) > len(r.slots) {
		answer = make([]dns.RR, 0, len(r.msg.Answer))
	}
	r.copy.Answer = append(answer, r.msg.Answer...)
	r.msg, r.owned = &r.copy, true
	return r.msg.Answer
}

// SetAnswer sets the answer section of the edited message, typically a prefix of what Edit
// returned after the stage compacted it.
func (r *Response) SetAnswer(answer []dns.RR) {
	r.Edit()
	r.msg.Answer = answer
}

// Replace puts m in place of the response, for a stage that answers something else entirely
// (an error, a static answer). The stages above see m; m becomes theirs to edit.
func (r *Response) Replace(m *dns.Msg) {
	r.msg, r.owned, r.setValid = m, true, false
}

// CapTTL gives every record of a, an answer section from Edit, a TTL of at most ttl (0: no
// cap), replacing the records it lowers with copies.
func (r *Response) CapTTL(a []dns.RR, ttl uint32) {
	if ttl == 0 {
		return
	}
	for i, rr := range a {
		// equivalent mutant: >= for > changes nothing: WithTTL returns a record already at ttl as it is.
		if rr.Header().Ttl > ttl {
			a[i] = r.WithTTL(rr, ttl)
		}
	}
}

// WithTTL returns rr with its TTL set to ttl: rr itself when it has that TTL already, else a
// copy (rr may be cache's). Copies of the common record types come from room in the Response.
func (r *Response) WithTTL(rr dns.RR, ttl uint32) dns.RR {
	if rr.Header().Ttl == ttl {
		return rr
	}
	var c dns.RR
	switch rr := rr.(type) {
	case *dns.A:
		if int(r.nA) < len(r.as) {
			r.as[r.nA] = *rr
			c = &r.as[r.nA]
			r.nA++
		}
	case *dns.AAAA:
		if int(r.nAAAA) < len(r.aaaas) {
			r.aaaas[r.nAAAA] = *rr
			c = &r.aaaas[r.nAAAA]
			r.nAAAA++
		}
	case *dns.CNAME:
		if int(r.nCN) < len(r.cname) {
			r.cname[r.nCN] = *rr
			c = &r.cname[r.nCN]
			r.nCN++
		}
	}
	if c == nil {
		c = dns.Copy(rr)
	}
	c.Header().Ttl = ttl
	return c
}
