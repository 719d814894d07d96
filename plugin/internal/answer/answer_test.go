package answer

import (
	"context"
	"fmt"
	"testing"
	"unsafe"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

func TestInZone(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		want       bool
	}{
		{"example.test.", "example.test.", true},
		{"WWW.Example.TEST.", "example.test.", true},
		{"a.b.example.test.", "example.test.", true},
		{"badexample.test.", "example.test.", false},
		{"test.", "example.test.", false},
		{"anything.", ".", true},
		{`a\.example.test.`, "example.test.", false}, // one label "a.example", then "test"
		{`a\\.example.test.`, "example.test.", true}, // an escaped backslash, then a real dot
		{`www\.example.test.`, "www.example.test.", false},
		{`\.example.test.`, "example.test.", false}, // one label ".example", escaped from its start
	} {
		if got := InZone(tc.name, tc.zone); got != tc.want {
			t.Errorf("InZone(%q, %q) = %v, want %v", tc.name, tc.zone, got, tc.want)
		}
	}
}

func TestZonesMatchLongest(t *testing.T) {
	z := NewZones([]string{"Example.test", "sub.example.test.", "other."})
	for name, want := range map[string]string{
		"a.sub.example.TEST.": "sub.example.test.",
		"a.example.test.":     "example.test.",
		"x.other.":            "other.",
		"x.elsewhere.":        "",
	} {
		if got := z.Match(name); got != want {
			t.Errorf("Match(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestLookupAnyCase(t *testing.T) {
	m := map[string]int{"cats.example.test.": 1}
	for _, name := range []string{"cats.example.test.", "CaTs.ExAmPlE.tEsT."} {
		if v, ok := Lookup(m, name); !ok || v != 1 {
			t.Errorf("Lookup(%q) = %d, %v", name, v, ok)
		}
	}
	if _, ok := Lookup(m, "dogs.example.test."); ok {
		t.Error("a name not in the table was found")
	}
}

func TestFind(t *testing.T) {
	sig := test.RRSIG("cats.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 example.test. AAAA")
	sigOther := test.RRSIG("www.example.test. 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 example.test. AAAA")
	for _, tc := range []struct {
		desc   string
		answer []dns.RR
		qname  string
		ok     bool
		want   RRset
	}{
		{"plain", []dns.RR{test.A("cats.example.test. 300 IN A 192.0.2.1"), test.A("cats.example.test. 300 IN A 192.0.2.2")},
			"cats.example.test.", true, RRset{Owner: "cats.example.test.", Type: dns.TypeA, First: 0, Count: 2}},
		{"chain, mixed case", []dns.RR{test.CNAME("WWW.example.test. 300 IN CNAME Cats.example.test."), sigOther,
			test.A("cats.example.test. 300 IN A 192.0.2.1"), sig, test.A("CATS.example.test. 300 IN A 192.0.2.2")},
			"www.example.test.", true, RRset{Owner: "cats.example.test.", Type: dns.TypeA, First: 2, Count: 2, Signed: true}},
		{"an RRSIG of another type does not sign the set", []dns.RR{test.CNAME("www.example.test. 300 IN CNAME cats.example.test."), sigOther,
			test.A("cats.example.test. 300 IN A 192.0.2.1")},
			"www.example.test.", true, RRset{Owner: "cats.example.test.", Type: dns.TypeA, First: 2, Count: 1}},
		{"records of another owner are not the set", []dns.RR{test.A("other.example.test. 300 IN A 192.0.2.9"), test.A("cats.example.test. 300 IN A 192.0.2.1")},
			"cats.example.test.", true, RRset{Owner: "cats.example.test.", Type: dns.TypeA, First: 1, Count: 1}},
		{"loop", []dns.RR{test.CNAME("a.example.test. 300 IN CNAME b.example.test."), test.CNAME("b.example.test. 300 IN CNAME a.example.test.")},
			"a.example.test.", false, RRset{}},
		{"no records of the type", []dns.RR{test.CNAME("a.example.test. 300 IN CNAME b.example.test.")}, "a.example.test.", false, RRset{}},
	} {
		got, ok := Find(tc.answer, tc.qname, dns.TypeA)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s: Find = %+v, %v; want %+v, %v", tc.desc, got, ok, tc.want, tc.ok)
		}
	}
}

// chain returns an answer whose CNAME chain has n links before the A record.
func chain(n int) []dns.RR {
	var rrs []dns.RR
	for i := range n {
		rrs = append(rrs, test.CNAME(fmt.Sprintf("n%d.example.test. 300 IN CNAME n%d.example.test.", i, i+1)))
	}
	return append(rrs, test.A(fmt.Sprintf("n%d.example.test. 300 IN A 192.0.2.1", n)))
}

func TestFindChainBound(t *testing.T) {
	if _, ok := Find(chain(MaxChain), "n0.example.test.", dns.TypeA); !ok {
		t.Errorf("a chain of %d CNAMEs must be followed", MaxChain)
	}
	if _, ok := Find(chain(MaxChain+1), "n0.example.test.", dns.TypeA); ok {
		t.Errorf("a chain of %d CNAMEs must not be followed", MaxChain+1)
	}
}

// reverse is a stage that reverses the answer's RRset, and records that it ran.
type reverse struct{ ran *[]string }

func (s reverse) Rewrite(r *Response) {
	*s.ran = append(*s.ran, "reverse")
	set, ok := r.RRset()
	if !ok {
		return
	}
	a := r.Edit()
	for i, j := set.First, set.First+set.Count-1; i < j; i, j = i+1, j-1 {
		a[i], a[j] = a[j], a[i]
	}
}

// dropFirst is a stage that removes the first record of the RRset and caps TTLs at 10.
type dropFirst struct{ ran *[]string }

func (s dropFirst) Rewrite(r *Response) {
	*s.ran = append(*s.ran, "dropFirst")
	set, ok := r.RRset()
	if !ok {
		return
	}
	a := r.Edit()
	out := append(a[:set.First], a[set.First+1:]...)
	for i := range out {
		out[i] = r.WithTTL(out[i], 10)
	}
	r.SetAnswer(out)
}

func response() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	m.Response = true
	m.Answer = []dns.RR{
		test.CNAME("www.example.test. 300 IN CNAME cats.example.test."),
		test.A("cats.example.test. 300 IN A 192.0.2.1"),
		test.A("cats.example.test. 300 IN A 192.0.2.2"),
		test.A("cats.example.test. 300 IN A 192.0.2.3"),
	}
	return m
}

// TestWriterStagesShareOneCopy: two plugins that join one query see the response in chain
// order (the lower one first), change one copy, and leave the backend's message alone.
func TestWriterStagesShareOneCopy(t *testing.T) {
	var ran []string
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := Join(context.Background(), rec, reverse{&ran}) // the upper plugin
	if w2 := Join(context.Background(), w, dropFirst{&ran}); w2 != w {
		t.Fatal("the plugin below must share the writer of the plugin above")
	}
	in := response()
	before := in.String()
	if err := w.WriteMsg(in); err != nil {
		t.Fatal(err)
	}
	if in.String() != before {
		t.Errorf("the backend's message changed:\n%s\nwas\n%s", in, before)
	}
	if fmt.Sprint(ran) != "[dropFirst reverse]" {
		t.Errorf("stages ran %v, want the lower plugin's first", ran)
	}
	got := rec.Msg.Answer
	want := []string{"www.example.test.\t10\tIN\tCNAME\tcats.example.test.",
		"cats.example.test.\t10\tIN\tA\t192.0.2.3", "cats.example.test.\t10\tIN\tA\t192.0.2.2"}
	if len(got) != len(want) {
		t.Fatalf("answer %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("answer[%d] = %s, want %s", i, got[i], want[i])
		}
	}
}

func TestWriterPassesErrorsWhole(t *testing.T) {
	var ran []string
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := Join(context.Background(), rec, reverse{&ran})
	for _, m := range []*dns.Msg{
		func() *dns.Msg { m := response(); m.Rcode = dns.RcodeNameError; return m }(),
		func() *dns.Msg { m := response(); m.Truncated = true; return m }(),
		func() *dns.Msg { m := response(); m.Question = nil; return m }(),
	} {
		if err := w.WriteMsg(m); err != nil {
			t.Fatal(err)
		}
		if rec.Msg != m {
			t.Errorf("%v: not passed as it is", m.MsgHdr)
		}
	}
	if len(ran) != 0 {
		t.Errorf("stages ran on responses they must not see: %v", ran)
	}
	if err := w.WriteMsg(nil); err == nil {
		t.Error("a nil message must be an error")
	}
}

// TestWriterSecondWrite: a second response written to the same writer gets room of its own,
// so the first, if someone kept it, stays as it was written.
func TestWriterSecondWrite(t *testing.T) {
	var ran []string
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := Join(context.Background(), rec, dropFirst{&ran})
	w.WriteMsg(response())
	first := rec.Msg
	firstText := first.String()
	w.WriteMsg(response())
	if first.String() != firstText {
		t.Error("the second response overwrote the first")
	}
}

func TestWriterFullStartsAnother(t *testing.T) {
	var ran []string
	var w = dns.ResponseWriter(dnstest.NewRecorder(&test.ResponseWriter{}))
	for range maxStages + 1 {
		w = Join(context.Background(), w, reverse{&ran})
	}
	w.WriteMsg(response())
	if len(ran) != maxStages+1 {
		t.Errorf("%d stages ran, want %d", len(ran), maxStages+1)
	}
}

// TestWriterSize: the shared writer is the one allocation of a query the plugins act on, and
// its cost grows with its size class.
func TestWriterSize(t *testing.T) {
	if size := unsafe.Sizeof(Writer{}); size > 512 {
		t.Errorf("the shared writer takes %d bytes, more than the 512-byte size class", size)
	}
}

func TestWithTTLCopies(t *testing.T) {
	r := Response{msg: response()}
	for _, rr := range []dns.RR{
		test.A("a.example.test. 300 IN A 192.0.2.1"), test.AAAA("a.example.test. 300 IN AAAA 2001:db8::1"),
		test.CNAME("a.example.test. 300 IN CNAME b.example.test."), test.MX("a.example.test. 300 IN MX 10 mx.example.test."),
		test.RRSIG("a.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 example.test. AAAA"),
	} {
		var copies []dns.RR
		for i := range 5 { // past the room made for the answer's three addresses
			c := r.WithTTL(rr, uint32(10+i))
			if c == rr || c.Header().Ttl != uint32(10+i) || rr.Header().Ttl != 300 {
				t.Errorf("%s: WithTTL changed the record or returned it", rr)
			}
			copies = append(copies, c)
		}
		for i, c := range copies { // a later copy never overwrites an earlier one
			if c.Header().Ttl != uint32(10+i) || c.String()[len(c.Header().String()):] != rr.String()[len(rr.Header().String()):] {
				t.Errorf("copy %d is now %s", i, c)
			}
		}
		if r.WithTTL(rr, 300) != rr {
			t.Errorf("%s: a record with the TTL already must be returned as it is", rr)
		}
	}
}

func BenchmarkZonesMatch(b *testing.B) {
	z := NewZones([]string{"example.test.", "example.org."})
	b.ReportAllocs()
	for b.Loop() {
		z.Match("WWW.Elsewhere.example.")
	}
}

func BenchmarkLookupMixedCase(b *testing.B) {
	m := map[string]int{"cats.example.test.": 1}
	b.ReportAllocs()
	for b.Loop() {
		Lookup(m, "CaTs.ExAmPlE.tEsT.")
	}
}

// BenchmarkWriterThreeStages is a query that three plugins change: one allocation in all.
func BenchmarkWriterThreeStages(b *testing.B) {
	var ran []string
	in := response()
	rw := &test.ResponseWriter{}
	b.ReportAllocs()
	for b.Loop() {
		ran = ran[:0]
		w := Join(context.Background(), rw, reverse{&ran})
		w = Join(context.Background(), w, reverse{&ran})
		w = Join(context.Background(), w, dropFirst{&ran})
		w.WriteMsg(in)
	}
}

// WithTTL copies an answer's addresses into one block per type, made by the first copy the
// answer needs (one allocation for all of them); a CNAME copy is an allocation of its own.
func TestWithTTLBlocks(t *testing.T) {
	m := response() // a CNAME and three A records
	r := &Response{msg: m}
	copies := func(cnames int) func() {
		return func() {
			r.as, r.aaaas = nil, nil
			for _, rr := range m.Answer[1:] {
				r.WithTTL(rr, 10)
			}
			for range cnames {
				r.WithTTL(m.Answer[0], 10)
			}
		}
	}
	if got := testing.AllocsPerRun(20, copies(0)); got != 1 {
		t.Errorf("%v allocations for the three addresses, want 1 (their block)", got)
	}
	if got := testing.AllocsPerRun(20, copies(1)); got != 2 {
		t.Errorf("%v allocations for the addresses and the CNAME, want 2", got)
	}
}
