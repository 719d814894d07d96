package answer

import (
	"context"
	"errors"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/explain"
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
//
// Its size is the price of every query a steerdns plugin joins, and on these machines an
// allocation costs in proportion to its bytes: it is kept within the 512-byte size class
// (TestWriterSize), and room that only some answers need is allocated when they need it.
type Writer struct {
	dns.ResponseWriter
	ctx    context.Context
	stages [maxStages]Stage
	n      uint8
	used   bool              // a second WriteMsg (unusual) gets a Response of its own
	rec    *explain.Recorder // set when the query is a dry run for the console
	resp   Response
}

// Join adds stage to the query's shared writer and returns the writer to hand to the next
// plugin: w itself when a steerdns plugin above created it, else a new Writer around w.
func Join(ctx context.Context, w dns.ResponseWriter, stage Stage) dns.ResponseWriter {
	sw, ok := w.(*Writer)
	if !ok || sw.n == maxStages || sw.used {
		rec := explain.From(w)
		if ok {
			rec = sw.rec
		}
		sw = &Writer{ResponseWriter: w, ctx: ctx, rec: rec}
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
	r.reset(w, m)
	for i := int(w.n) - 1; i >= 0; i-- {
		w.stages[i].Rewrite(r)
	}
	if r.signing != nil && !r.signAgain() {
		r.msg = r.orig // a changed RRset left unsigned would not validate: the original does
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
	w    *Writer // the query's context and the writer beneath
	msg  *dns.Msg
	orig *dns.Msg // the message the backend wrote

	set      RRset
	setOK    bool
	setValid bool // set and setOK describe msg's answer as it stands
	owned    bool // msg is copy, which the stages may edit (next to the flags above: no padding)

	copy  dns.Msg
	slots [inlineRecords]dns.RR

	// Copies made by WithTTL, one block per type for a whole answer, allocated by the first
	// copy an answer needs (a capped TTL is common, but not on every query).
	as    []dns.A
	aaaas []dns.AAAA

	signing *signing // made by the first Resign: answers that need no signing are not bigger
}

func (r *Response) reset(w *Writer, m *dns.Msg) {
	r.w, r.msg, r.orig, r.owned, r.setValid = w, m, m, false, false
	r.as, r.aaaas, r.signing = nil, nil, nil
}

// Explain returns the Recorder of a query the console explains, nil for every other query. A
// stage that finds one notes what it does and why, and changes no state of its own (it
// computes the answer it would give without advancing a counter or a rotation).
func (r *Response) Explain() *explain.Recorder { return r.w.rec }

// Context is the query's context.
func (r *Response) Context() context.Context { return r.w.ctx }

// Writer is the writer the shared one wraps: the client's address is its RemoteAddr, and a
// stage that asks the chain for more (a CNAME target) builds its sub-query's writer from it.
// Never write the response to it: WriteMsg does, after the last stage.
func (r *Response) Writer() dns.ResponseWriter { return r.w.ResponseWriter }

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
// copy (rr may be cache's). Copies of addresses come from one block per answer.
func (r *Response) WithTTL(rr dns.RR, ttl uint32) dns.RR {
	if rr.Header().Ttl == ttl {
		return rr
	}
	var c dns.RR
	switch rr := rr.(type) {
	case *dns.A:
		r.as = room(r.as, r.answer())
		c = copyInto(&r.as, rr)
	case *dns.AAAA:
		r.aaaas = room(r.aaaas, r.answer())
		c = copyInto(&r.aaaas, rr)
	case *dns.CNAME:
		cp := *rr
		c = &cp
	case *dns.RRSIG:
		if g := r.signing; g != nil && int(g.nSig) < len(g.sigs) {
			g.sigs[g.nSig] = *rr
			c = &g.sigs[g.nSig]
			g.nSig++
		}
	}
	if c == nil {
		c = dns.Copy(rr)
	}
	c.Header().Ttl = ttl
	return c
}

// answer is the answer section as it stands, none before a message is written.
func (r *Response) answer() []dns.RR {
	if r.msg == nil {
		return nil
	}
	return r.msg.Answer
}

// room returns block, or when it is nil, an empty block with room for every record of T in
// answer (at least one).
func room[T any, P interface {
	*T
	dns.RR
}](block []T, answer []dns.RR) []T {
	if block != nil {
		return block
	}
	n := 0
	for _, rr := range answer {
		if _, ok := rr.(P); ok {
			n++
		}
	}
	return make([]T, 0, max(n, 1))
}

// copyInto copies rr into the block's spare room and returns the copy; a full block (a record
// from outside the answer) gets rr copied on its own, so that earlier copies never move.
func copyInto[T any](block *[]T, rr *T) *T {
	if len(*block) == cap(*block) {
		c := *rr
		return &c
	}
	*block = append(*block, *rr)
	return &(*block)[len(*block)-1]
}
