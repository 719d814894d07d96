package rrotate

import (
	"testing"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/fuzzmsg"
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

// FuzzRotated hands structured responses to the stage and checks, for each: no panic, the message
// and records handed in unchanged, and a result that is a permutation of the answer in which
// only the final RRset moved, and that packs.
func FuzzRotated(f *testing.F) {
	const a, aaaa, cname, sig, other = 0x00, 0x01, 0x02, 0x03, 0x08 // other: A of n1
	f.Add(byte(0), []byte{a, a, a, a})
	f.Add(byte(0), []byte{cname, 0x08 | a, 0x08 | a, 0x08 | sig, 0x08 | a})
	f.Add(byte(0), []byte{cname, 0x0a, 0x12, 0x1a, 0x00, 0x00})        // n0→n1→n2→n3→n0: a loop
	f.Add(byte(0x80), []byte{a, a | 0x20, sig, a, 0x20 | a, 0x40 | a}) // mixed case, RRSIG between
	f.Add(byte(0), fuzzmsg.SeedOps(100, a))
	f.Add(byte(0), fuzzmsg.SeedOps(130, a, sig, a, other))
	f.Add(byte(1), fuzzmsg.SeedOps(70, aaaa, aaaa, sig))
	f.Add(byte(2), []byte{0x04, 0x04, 0x44, 0x03 | 0x80})
	f.Add(byte(0x04), []byte{a, a, a})       // truncated
	f.Add(byte(0x08), []byte{a, a})          // NXDOMAIN
	f.Add(byte(0x10), []byte{})              // SERVFAIL
	f.Add(byte(0x20), []byte{a, a, 0x06, a}) // EDNS, a CH record
	f.Add(byte(0x40), []byte{a, a})          // no question
	f.Add(byte(0), []byte{})                 // NODATA
	f.Add(byte(0), []byte{0x07, 0x07, 0x07}) // duplicates
	f.Add(byte(0x21), fuzzmsg.SeedOps(80, 0x01, 0x21, 0x03, 0x0a))
	f.Fuzz(func(t *testing.T, flags byte, ops []byte) {
		if len(ops) > 400 {
			return
		}
		r := newRRotate(nil, dns.TypeA, dns.TypeAAAA, dns.TypeSRV)
		r.counters = newCounters(4)
		h := fuzzmsg.Keep(t, fuzzmsg.Msg(flags, ops))
		for range 3 {
			out := rewrite(t, r, h.Msg)
			h.Unchanged(t)
			checkRotated(t, h.Msg, h.Answer, out)
		}
		// The whole handler: the answer reaches the writer, the same records.
		r.Next = fixedPtr{h.Msg}
		if reply, err := fuzzmsg.Serve(r, fuzzmsg.Query(h.Msg)); err != nil || reply == nil || len(reply.Answer) != len(h.Answer) {
			t.Fatalf("ServeDNS: err %v, message %v", err, reply)
		}
	})
}

// checkRotated checks that out is in itself or in's answer with records only moved among the
// positions of one RRset of the question's type.
func checkRotated(t *testing.T, in *dns.Msg, answer []dns.RR, out *dns.Msg) {
	t.Helper()
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
	for rr, n := range fuzzmsg.Missing(answer, out.Answer) {
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
