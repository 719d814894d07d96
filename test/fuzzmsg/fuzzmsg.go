// Package fuzzmsg builds DNS responses from a few bytes for the fuzz targets of the plugins
// that rearrange an answer (rrotate, weighted), and checks what those targets all check: that
// the response handed in comes back unchanged. Building structured messages, rather than
// unpacking wire-format noise, lets the fuzzer spend its time on the shapes that matter:
// CNAME chains and loops, mixed case, RRSIGs between the records, other owners, classes and
// types, duplicates, large answers, errors, truncation, EDNS.
//
// A message is one flags byte and one op byte per answer record.
//
// flags: bits 0-1 the question type (A, AAAA, SRV, MX), bit 2 truncated, bit 3 NXDOMAIN,
// bit 4 SERVFAIL, bit 5 EDNS, bit 6 no question, bit 7 question in upper case. The question
// name is n0.test.
//
// op, per record: bits 0-2 the kind (A, AAAA, CNAME, RRSIG, SRV, MX, CHAOS, Dup below),
// bits 3-4 the owner (n0..n3.test.), bit 5 owner in mixed case, bits 6-7 vary the data.
package fuzzmsg

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// The record kinds, bits 0-2 of an op.
const (
	A     byte = iota // A 10.x.y.v of the owner, one address per position
	AAAA              // AAAA 2001:db8::i:v of the owner
	CNAME             // CNAME to the next owner (n3 back to n0; bits 6-7 skip further): chains and loops
	RRSIG             // RRSIG covering the type bits 6-7 pick among the question types
	SRV               // SRV to t0..t3.test., weight from the data
	MX                // MX to mx0..mx3.test., preference from the data
	CHAOS             // A 10.9.9.v of class CHAOS
	Dup               // A 10.7.7.0 or 10.7.7.1: duplicates
)

// qtypes are the question types flags bits 0-1 pick, and the types an RRSIG covers.
var qtypes = [4]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeMX}

// Msg builds the response that flags and ops describe (see the package comment).
func Msg(flags byte, ops []byte) *dns.Msg {
	m := new(dns.Msg)
	qname := "n0.test."
	if flags&0x80 != 0 {
		qname = "N0.TEST."
	}
	m.SetQuestion(qname, qtypes[flags&3])
	m.Response, m.Authoritative = true, true
	m.Truncated = flags&0x04 != 0
	switch {
	case flags&0x08 != 0:
		m.Rcode = dns.RcodeNameError
	case flags&0x10 != 0:
		m.Rcode = dns.RcodeServerFailure
	}
	if flags&0x20 != 0 {
		m.SetEdns0(1232, true)
	}
	if flags&0x40 != 0 {
		m.Question = nil
	}
	for i, op := range ops {
		m.Answer = append(m.Answer, record(i, op))
	}
	return m
}

// record builds the answer record op describes at position i; the position goes into the
// data so that records of one kind differ.
func record(i int, op byte) dns.RR {
	owner := fmt.Sprintf("n%d.test.", op>>3&3)
	if op&0x20 != 0 {
		owner = strings.ToUpper(owner[:1]) + owner[1:]
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
	}
	v := byte(i) ^ op>>6
	switch op & 7 {
	case A:
		return &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(10, byte(i>>8), byte(i), v)}
	case AAAA:
		return &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP(fmt.Sprintf("2001:db8::%x:%x", i, v))}
	case CNAME:
		return &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: fmt.Sprintf("n%d.test.", (op>>3+1+op>>6)&3)}
	case RRSIG:
		return &dns.RRSIG{Hdr: hdr(dns.TypeRRSIG), TypeCovered: qtypes[op>>6], Algorithm: 13, Labels: 2,
			OrigTtl: 60, Expiration: 2000000000, Inception: 1000000000, KeyTag: uint16(i), SignerName: "test.", Signature: "c2ln"}
	case SRV:
		return &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: 10, Weight: uint16(v), Port: 80, Target: fmt.Sprintf("t%d.test.", v&3)}
	case MX:
		return &dns.MX{Hdr: hdr(dns.TypeMX), Preference: uint16(v), Mx: fmt.Sprintf("mx%d.test.", v&3)}
	case CHAOS:
		a := &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(10, 9, 9, v)}
		a.Hdr.Class = dns.ClassCHAOS
		return a
	default: // Dup
		return &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(10, 7, 7, v&1)}
	}
}

// SeedOps returns n ops that repeat kinds in turn, for seeds with large answers.
func SeedOps(n int, kinds ...byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)]
	}
	return out
}

// Query returns the query a client sent to get m: m's question, or n0.test. A when m has none.
func Query(m *dns.Msg) *dns.Msg {
	req := new(dns.Msg)
	req.SetQuestion("n0.test.", dns.TypeA)
	if len(m.Question) == 1 {
		req.Question = slices.Clone(m.Question)
	}
	return req
}

// Serve serves req through h as a server would and returns the reply h wrote, nil if it wrote
// none.
func Serve(h plugin.Handler, req *dns.Msg) (*dns.Msg, error) {
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	_, err := h.ServeDNS(context.Background(), rec, req)
	return rec.Msg, err
}

// Handed is a response as a backend handed it to the plugin under test, kept so that the test
// can check the plugin changed none of it: the plugin must copy before it rearranges, since
// the backend (a cache, say) may hand the same message to others.
type Handed struct {
	// Msg is the response handed to the plugin.
	Msg *dns.Msg
	// Answer holds the records of Msg.Answer as handed in, in their order.
	Answer []dns.RR

	text string
	wire []byte
}

// Keep records m as it is now; the test fails if m does not pack, for then the fault is the
// generator's, not the plugin's.
func Keep(t testing.TB, m *dns.Msg) *Handed {
	t.Helper()
	wire, err := m.Pack()
	if err != nil {
		t.Fatalf("the built message does not pack: %v", err)
	}
	return &Handed{Msg: m, Answer: slices.Clone(m.Answer), text: m.String(), wire: wire}
}

// Unchanged fails the test if the message, its answer slice or any record in it changed since
// Keep.
func (h *Handed) Unchanged(t testing.TB) {
	t.Helper()
	m := h.Msg
	for i, rr := range m.Answer {
		if i >= len(h.Answer) || rr != h.Answer[i] {
			t.Fatalf("the answer slice handed in changed at %d", i)
		}
	}
	if m.String() != h.text {
		t.Fatalf("the message handed in changed:\n%s\nwas\n%s", m, h.text)
	}
	if again, _ := m.Pack(); !bytes.Equal(again, h.wire) {
		t.Fatal("the message handed in packs differently")
	}
}

// Missing counts, for each record of answer, how many times more it stands in answer than in
// out, and below zero for a record out holds more often than answer. Records count by
// identity: a plugin that rearranges hands on the records it was given, it does not copy them.
func Missing(answer, out []dns.RR) map[dns.RR]int {
	n := make(map[dns.RR]int, len(answer))
	for _, rr := range answer {
		n[rr]++
	}
	for _, rr := range out {
		n[rr]--
	}
	return n
}
