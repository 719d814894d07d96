package rrotate

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// FuzzParse feeds the Corefile parser any block: it returns an error or a plugin that can
// serve, never panics, and never accepts a type it must refuse or a bound below 1.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"rrotate",
		"rrotate example.test",
		"rrotate a.test b.test {\n types A AAAA SRV MX\n max_names 10\n}",
		"rrotate {\n types cname\n}",
		"rrotate {\n types RRSIG OPT TYPE65280\n}",
		"rrotate {\n max_names 0\n}",
		"rrotate {\n max_names 99999999999999999999\n}",
		"rrotate {\n max_names 1\n types txt\n}",
		"rrotate\nrrotate",
		"rrotate {\n types\n}",
		"rrotate {\n}\n}",
		"rrotate {\n shuffle\n}",
		"rrotate \"\" {\n}",
		"rrotate {\n ttl 5\n}",
		"rrotate {\n ttl 0\n}",
		"rrotate {\n ttl 4294967296\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		c := caddy.NewTestController("dns", input)
		c.ServerBlockKeys = []string{"example.org."}
		r, err := parse(c)
		if err != nil {
			return
		}
		if r.counters == nil || r.counters.capacity() < 1 || len(r.types) == 0 {
			t.Fatalf("parse(%q) accepted a plugin that cannot serve: %+v", input, r)
		}
		if r.ttl > maxTTL {
			t.Fatalf("parse(%q) accepted ttl %d", input, r.ttl)
		}
		for _, typ := range r.types {
			if !rotatable(typ) {
				t.Fatalf("parse(%q) accepted type %d", input, typ)
			}
		}
	})
}

// fuzzMsg builds a response from a few flag bits and one byte per answer record, so that
// the fuzzer explores the shapes that matter (CNAME chains and loops, mixed case, RRSIGs
// between the records, other owners, classes and types, duplicates, large answers, errors,
// truncation, EDNS) rather than wire-format noise.
//
// flags: bits 0-1 the question type (A, AAAA, SRV, MX), bit 2 truncated, bit 3 NXDOMAIN,
// bit 4 SERVFAIL, bit 5 EDNS, bit 6 no question, bit 7 question in upper case.
// ops, per record: bits 0-2 the kind, bits 3-4 the owner (n0..n3.test.), bit 5 owner in
// mixed case, bits 6-7 vary the data.
func fuzzMsg(flags byte, ops []byte) *dns.Msg {
	qtypes := [4]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeMX}
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
		owner := fmt.Sprintf("n%d.test.", op>>3&3)
		if op&0x20 != 0 {
			owner = strings.ToUpper(owner[:1]) + owner[1:]
		}
		hdr := func(t uint16) dns.RR_Header {
			return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: 60}
		}
		v := byte(i) ^ op>>6
		var rr dns.RR
		switch op & 7 {
		case 0:
			rr = &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(10, byte(i>>8), byte(i), v)}
		case 1:
			rr = &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.ParseIP(fmt.Sprintf("2001:db8::%x:%x", i, v))}
		case 2: // to the next owner, or back to n0 from n3: chains and loops
			rr = &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: fmt.Sprintf("n%d.test.", (op>>3+1+op>>6)&3)}
		case 3:
			rr = &dns.RRSIG{Hdr: hdr(dns.TypeRRSIG), TypeCovered: qtypes[op>>6], Algorithm: 13, Labels: 2,
				OrigTtl: 60, Expiration: 2000000000, Inception: 1000000000, KeyTag: uint16(i), SignerName: "test.", Signature: "c2ln"}
		case 4:
			rr = &dns.SRV{Hdr: hdr(dns.TypeSRV), Priority: 10, Weight: uint16(v), Port: 80, Target: fmt.Sprintf("t%d.test.", v&3)}
		case 5:
			rr = &dns.MX{Hdr: hdr(dns.TypeMX), Preference: uint16(v), Mx: fmt.Sprintf("mx%d.test.", v&3)}
		case 6:
			a := &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(10, 9, 9, v)}
			a.Hdr.Class = dns.ClassCHAOS
			rr = a
		case 7:
			rr = &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(10, 7, 7, v&1)} // duplicates
		}
		m.Answer = append(m.Answer, rr)
	}
	return m
}

func seedOps(n int, kinds ...byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = kinds[i%len(kinds)]
	}
	return out
}

// FuzzRotated hands structured responses to the stage and checks, for each: no panic, the message
// and records handed in unchanged, and a result that is a permutation of the answer in which
// only the final RRset moved, and that packs.
func FuzzRotated(f *testing.F) {
	const a, aaaa, cname, sig, other = 0x00, 0x01, 0x02, 0x03, 0x08 // other: A of n1
	f.Add(byte(0), []byte{a, a, a, a})
	f.Add(byte(0), []byte{cname, 0x08 | a, 0x08 | a, 0x08 | sig, 0x08 | a})
	f.Add(byte(0), []byte{cname, 0x0a, 0x12, 0x1a, 0x00, 0x00})        // n0→n1→n2→n3→n0: a loop
	f.Add(byte(0x80), []byte{a, a | 0x20, sig, a, 0x20 | a, 0x40 | a}) // mixed case, RRSIG between
	f.Add(byte(0), seedOps(100, a))
	f.Add(byte(0), seedOps(130, a, sig, a, other))
	f.Add(byte(1), seedOps(70, aaaa, aaaa, sig))
	f.Add(byte(2), []byte{0x04, 0x04, 0x44, 0x03 | 0x80})
	f.Add(byte(0x04), []byte{a, a, a})       // truncated
	f.Add(byte(0x08), []byte{a, a})          // NXDOMAIN
	f.Add(byte(0x10), []byte{})              // SERVFAIL
	f.Add(byte(0x20), []byte{a, a, 0x06, a}) // EDNS, a CH record
	f.Add(byte(0x40), []byte{a, a})          // no question
	f.Add(byte(0), []byte{})                 // NODATA
	f.Add(byte(0), []byte{0x07, 0x07, 0x07}) // duplicates
	f.Add(byte(0x21), seedOps(80, 0x01, 0x21, 0x03, 0x0a))
	f.Fuzz(func(t *testing.T, flags byte, ops []byte) {
		if len(ops) > 400 {
			return
		}
		r := newRRotate(nil, dns.TypeA, dns.TypeAAAA, dns.TypeSRV)
		r.counters = newCounters(4)
		m := fuzzMsg(flags, ops)
		before := m.String()
		packed, err := m.Pack()
		if err != nil {
			t.Fatalf("the built message does not pack: %v", err)
		}
		answer := slices.Clone(m.Answer)
		for range 3 {
			out := rewrite(t, r, m)
			checkRotated(t, m, answer, out)
			if m.String() != before {
				t.Fatalf("the message handed in changed:\n%s\nwas\n%s", m, before)
			}
			if again, _ := m.Pack(); !bytes.Equal(again, packed) {
				t.Fatal("the message handed in packs differently")
			}
		}
		// The whole handler: the answer reaches the writer, the same records.
		req := new(dns.Msg)
		req.SetQuestion("n0.test.", dns.TypeA)
		if len(m.Question) == 1 {
			req.Question = m.Question
		}
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		r.Next = fixedPtr{m}
		if _, err := r.ServeDNS(context.Background(), rec, req); err != nil || rec.Msg == nil || len(rec.Msg.Answer) != len(answer) {
			t.Fatalf("ServeDNS: err %v, message %v", err, rec.Msg)
		}
	})
}

// checkRotated checks that out is in itself or in's answer with records only moved among the
// positions of one RRset of the question's type.
func checkRotated(t *testing.T, in *dns.Msg, answer []dns.RR, out *dns.Msg) {
	t.Helper()
	for i, rr := range in.Answer {
		if rr != answer[i] {
			t.Fatalf("the answer slice handed in changed at %d", i)
		}
	}
	if out == in {
		return
	}
	if out == nil || len(out.Answer) != len(answer) || (len(answer) > 0 && &out.Answer[0] == &in.Answer[0]) {
		t.Fatalf("rotated did not return a copy of the same size")
	}
	if in.Rcode != dns.RcodeSuccess || in.Truncated || len(in.Question) != 1 {
		t.Fatalf("rotated a response it must pass: %v", in)
	}
	qtype := in.Question[0].Qtype
	uses := map[dns.RR]int{}
	for _, rr := range answer {
		uses[rr]++
	}
	for _, rr := range out.Answer {
		uses[rr]--
	}
	for rr, n := range uses {
		if n != 0 {
			t.Fatalf("record %s appears %d times more in the answer handed in than in the rotated one", rr, n)
		}
	}
	for i, rr := range out.Answer {
		h := answer[i].Header()
		if (h.Rrtype != qtype || h.Class != dns.ClassINET) && rr != answer[i] {
			t.Fatalf("record %d (%s) moved: it is not of the rotating RRset", i, answer[i])
		}
	}
	if _, err := out.Pack(); err != nil {
		t.Fatalf("the rotated message does not pack: %v", err)
	}
}
