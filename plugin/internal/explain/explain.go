// Package explain carries a dry run of one query through the steerdns plugins, for the
// console's "why did I get this answer?". The console sends the query down the server
// block's chain, from its first steerdns plugin, with a Recorder as the response writer: the
// Recorder stands for the client (its RemoteAddr is the client's address, so scope rules
// apply) and keeps the final answer. Each steerdns plugin that finds the Recorder notes what
// it did and why, and changes no state: no counter advances, no rotation moves, no metric
// counts, nothing is discovered.
//
// A plugin finds the Recorder through its answer.Response (Response.Explain) or, in ServeDNS,
// with From. A query that is not explained carries none, which costs a plugin one type check.
package explain

import (
	"net"
	"net/netip"
	"sync"

	"github.com/miekg/dns"
)

// Step is what one plugin did with the query. Steps are recorded in the order the plugins
// acted: a plugin that answers on the way down (override's pin) first, then the response's
// way up, the plugin nearest the backend first.
type Step struct {
	Plugin string `json:"plugin"`
	Did    string `json:"did"`             // what it did, in a few words
	Why    string `json:"why,omitempty"`   // the rule that made it do so
	Facts  any    `json:"facts,omitempty"` // the plugin's detail, as JSON
}

// Query is a query to explain: a name and type, asked by a client.
type Query struct {
	Name   string
	Type   uint16
	Client netip.Addr
	TCP    bool // asked over TCP rather than UDP
	DO     bool // with the DNSSEC OK bit, as a caching resolver sends it
}

// Explanation is what a client asking a Query is answered, and why: what each steerdns
// plugin did, and for every override of the names involved, why it answered or not.
type Explanation struct {
	Query     QueryJSON         `json:"query"`
	Rcode     string            `json:"rcode"`
	Answer    []string          `json:"answer"`
	Steps     []Step            `json:"steps"`
	Overrides []OverrideVerdict `json:"overrides"`
}

// QueryJSON is a Query as the explanation repeats it.
type QueryJSON struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Client string `json:"client"`
	TCP    bool   `json:"tcp"`
	DO     bool   `json:"do"`
}

// OverrideVerdict says why one override did or did not answer.
type OverrideVerdict struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Group   string `json:"group"`
	Verdict string `json:"verdict"` // answered, disabled, expired, out of scope, not chosen
	Why     string `json:"why"`
}

// Recorder is the response writer of an explained query.
type Recorder struct {
	client netip.Addr
	tcp    bool
	trace  *trace

	mu  sync.Mutex
	msg *dns.Msg
}

// trace is shared by a Recorder and the Recorders of the sub-queries made for it (override
// asks the chain for a CNAME target), so their steps form one list.
type trace struct {
	mu    sync.Mutex
	steps []Step
}

// NewRecorder returns the writer for a query asked by client over TCP or UDP.
func NewRecorder(client netip.Addr, tcp bool) *Recorder {
	return &Recorder{client: client, tcp: tcp, trace: new(trace)}
}

// Sub returns a Recorder for a sub-query of the explained one: the same client, the same
// steps, an answer of its own.
func (r *Recorder) Sub() *Recorder { return &Recorder{client: r.client, tcp: r.tcp, trace: r.trace} }

// From returns the Recorder when w is one, else nil.
func From(w dns.ResponseWriter) *Recorder {
	r, _ := w.(*Recorder)
	return r
}

// Note records a step.
func (r *Recorder) Note(s Step) {
	r.trace.mu.Lock()
	r.trace.steps = append(r.trace.steps, s)
	r.trace.mu.Unlock()
}

// Steps returns the steps recorded so far.
func (r *Recorder) Steps() []Step {
	r.trace.mu.Lock()
	defer r.trace.mu.Unlock()
	return append([]Step(nil), r.trace.steps...)
}

// Msg returns the answer written, nil before one is.
func (r *Recorder) Msg() *dns.Msg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msg
}

// WriteMsg implements dns.ResponseWriter: it keeps the answer.
func (r *Recorder) WriteMsg(m *dns.Msg) error {
	r.mu.Lock()
	r.msg = m
	r.mu.Unlock()
	return nil
}

// Write implements dns.ResponseWriter: a packed answer is unpacked and kept.
func (r *Recorder) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return 0, err
	}
	return len(b), r.WriteMsg(m)
}

// RemoteAddr implements dns.ResponseWriter: the explained client.
func (r *Recorder) RemoteAddr() net.Addr {
	if r.tcp {
		return &net.TCPAddr{IP: r.client.AsSlice(), Port: 53}
	}
	return &net.UDPAddr{IP: r.client.AsSlice(), Port: 53}
}

// LocalAddr implements dns.ResponseWriter.
func (r *Recorder) LocalAddr() net.Addr {
	if r.tcp {
		return &net.TCPAddr{IP: net.IPv6loopback, Port: 53}
	}
	return &net.UDPAddr{IP: net.IPv6loopback, Port: 53}
}

// Close implements dns.ResponseWriter.
func (r *Recorder) Close() error { return nil }

// TsigStatus implements dns.ResponseWriter.
func (r *Recorder) TsigStatus() error { return nil }

// TsigTimersOnly implements dns.ResponseWriter.
func (r *Recorder) TsigTimersOnly(bool) {}

// Hijack implements dns.ResponseWriter.
func (r *Recorder) Hijack() {}
