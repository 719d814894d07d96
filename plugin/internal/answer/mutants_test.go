package answer

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// These tests pin contracts that make mutate found unguarded (docs/MUTATION.md): each fails
// when one of the package's comparisons or counters is changed.

// TestLowerEdges: A and Z, the ends of the upper-case range, are folded wherever they stand,
// the bytes just outside it are not, and a name that needs no folding gives nil (the caller
// then uses the name itself).
func TestLowerEdges(t *testing.T) {
	var buf NameBuffer
	for name, want := range map[string]string{
		"A.test.":     "a.test.",
		"Z.test.":     "z.test.",
		"zAZ.test.":   "zaz.test.",
		"xyZ.test.":   "xyz.test.",
		"Q@[`{.test.": "q@[`{.test.",
	} {
		if got := Lower(&buf, name); string(got) != want {
			t.Errorf("Lower(%q) = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"", ".", "cats.test.", "@[`{.test."} {
		if got := Lower(&buf, name); got != nil {
			t.Errorf("Lower(%q) = %q, want nil: the name has no upper-case letter", name, got)
		}
	}
}

// TestLookupEdgeLetters: a name whose only capital is A or Z is found.
func TestLookupEdgeLetters(t *testing.T) {
	m := map[string]int{"aardvark.test.": 1, "zebra.test.": 2}
	for name, want := range map[string]int{"Aardvark.test.": 1, "aArdvark.test.": 1, "Zebra.test.": 2, "zebra.tesT.": 2} {
		if v, ok := Lookup(m, name); !ok || v != want {
			t.Errorf("Lookup(%q) = %d, %v; want %d", name, v, ok, want)
		}
	}
}

// longName returns a name of n octets in presentation form, with capitals.
func longName(n int) string {
	name := strings.Repeat("Ab.", n/3)
	return strings.Repeat("c", n-len(name)) + name
}

// TestLowerLongNames: a name longer than the buffer (escapes in presentation form) is still
// folded, and one that fills the buffer exactly is folded without allocating.
func TestLowerLongNames(t *testing.T) {
	var buf NameBuffer
	for _, n := range []int{len(buf), len(buf) + 1, 4 * len(buf)} {
		name := longName(n)
		if got := Lower(&buf, name); string(got) != strings.ToLower(name) {
			t.Errorf("Lower of a %d-octet name = %q, want %q", n, got, strings.ToLower(name))
		}
	}
	name := longName(len(buf))
	m := map[string]int{strings.ToLower(name): 1}
	if allocs := testing.AllocsPerRun(20, func() { Lookup(m, name) }); allocs != 0 {
		t.Errorf("looking up a %d-octet name allocated %v times, want 0", len(name), allocs)
	}
}

// TestInZoneEscapedFirstLabel: a backslash at the very start escapes the dot after it, so the
// first label runs on into what looked like the zone.
func TestInZoneEscapedFirstLabel(t *testing.T) {
	for name, want := range map[string]bool{
		`\.example.test.`:   false, // one label ".example", then "test"
		`\\.example.test.`:  true,  // a label "\", then example.test.
		`\\\.example.test.`: false,
	} {
		if got := InZone(name, "example.test."); got != want {
			t.Errorf("InZone(%q, example.test.) = %v, want %v", name, got, want)
		}
	}
}

// TestMember: the set's members are its owner's records of its type and class IN, in any case.
func TestMember(t *testing.T) {
	set := RRset{Owner: "cats.example.test.", Type: dns.TypeA}
	ch := test.A("cats.example.test. 300 IN A 192.0.2.1")
	ch.Hdr.Class = dns.ClassCHAOS
	for rr, want := range map[dns.RR]bool{
		test.A("cats.example.test. 300 IN A 192.0.2.1"):         true,
		test.A("CATS.Example.test. 300 IN A 192.0.2.2"):         true,
		test.AAAA("cats.example.test. 300 IN AAAA 2001:db8::1"): false,
		test.A("dogs.example.test. 300 IN A 192.0.2.3"):         false,
		ch: false,
	} {
		if got := set.Member(rr); got != want {
			t.Errorf("Member(%s) = %v, want %v", rr, got, want)
		}
	}
}

// TestFindClassIN: records of another class are never the set.
func TestFindClassIN(t *testing.T) {
	ch := test.A("cats.example.test. 300 IN A 192.0.2.9")
	ch.Hdr.Class = dns.ClassCHAOS
	answer := []dns.RR{ch, test.A("cats.example.test. 300 IN A 192.0.2.1")}
	want := RRset{Owner: "cats.example.test.", Type: dns.TypeA, First: 1, Count: 1}
	if got, ok := Find(answer, "cats.example.test.", dns.TypeA); !ok || got != want {
		t.Errorf("Find = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := Find([]dns.RR{ch}, "cats.example.test.", dns.TypeA); ok {
		t.Error("a CH record alone was taken for an IN RRset")
	}
}

// TestCapTTL: records over the cap are replaced by copies at the cap; records at or under it
// stay as they are (the very same record); a cap of 0 changes nothing.
func TestCapTTL(t *testing.T) {
	over := test.A("cats.example.test. 300 IN A 192.0.2.1")
	at := test.A("cats.example.test. 30 IN A 192.0.2.2")
	under := test.A("cats.example.test. 10 IN A 192.0.2.3")
	var r Response
	a := []dns.RR{over, at, under}
	r.CapTTL(a, 0)
	if a[0] != over || a[1] != at || a[2] != under {
		t.Fatal("a cap of 0 changed the records")
	}
	r.CapTTL(a, 30)
	if a[0] == over || a[0].Header().Ttl != 30 || over.Hdr.Ttl != 300 {
		t.Errorf("the record over the cap: %s (the original now %s), want a copy with TTL 30", a[0], over)
	}
	if a[1] != at || a[2] != under || under.Hdr.Ttl != 10 {
		t.Errorf("records at or under the cap changed: %s, %s", a[1], a[2])
	}
}

// reorder is a stage that edits the answer without changing any record.
type reorder struct{}

func (*reorder) Rewrite(r *Response) {
	a := r.Edit()
	a[0], a[len(a)-1] = a[len(a)-1], a[0]
}

// capAll is a stage that caps the TTLs of the whole answer.
type capAll struct{ ttl uint32 }

func (c *capAll) Rewrite(r *Response) { r.CapTTL(r.Edit(), c.ttl) }

// TestOneAllocationPerQuery: however many stages change a response of the usual size (up to
// eight records), the query costs one allocation, the shared writer; new TTLs cost one block
// for all the addresses of a type and one allocation per CNAME copied, however many stages
// cap them.
func TestOneAllocationPerQuery(t *testing.T) {
	msg := func(qtype uint16, rrs ...dns.RR) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.test.", qtype)
		m.Response = true
		m.Answer = rrs
		return m
	}
	cname1 := test.CNAME("www.example.test. 300 IN CNAME web.example.test.")
	cname2 := test.CNAME("web.example.test. 300 IN CNAME cats.example.test.")
	var eight, fourA, twoAAAA []dns.RR
	for i := range 8 {
		eight = append(eight, test.A("cats.example.test. 300 IN A 192.0.2."+string(rune('1'+i))))
	}
	fourA = append([]dns.RR{cname1, cname2}, eight[:4]...)
	twoAAAA = []dns.RR{cname1, cname2, test.AAAA("cats.example.test. 300 IN AAAA 2001:db8::1"), test.AAAA("cats.example.test. 300 IN AAAA 2001:db8::2")}
	for _, tc := range []struct {
		desc   string
		in     *dns.Msg
		stages []Stage
		want   float64
	}{
		{"eight records reordered", msg(dns.TypeA, eight...), []Stage{&reorder{}, &reorder{}}, 1},
		{"two CNAMEs and four A records capped", msg(dns.TypeA, fourA...), []Stage{&reorder{}, &capAll{60}, &capAll{30}}, 4},
		{"two CNAMEs and two AAAA records capped", msg(dns.TypeAAAA, twoAAAA...), []Stage{&capAll{30}, &reorder{}}, 4},
		{"four A records capped", msg(dns.TypeA, eight[:4]...), []Stage{&capAll{60}, &capAll{30}}, 2},
	} {
		before := tc.in.String()
		ctx, rw := context.Background(), &test.ResponseWriter{}
		allocs := testing.AllocsPerRun(20, func() {
			w := dns.ResponseWriter(rw)
			for _, s := range tc.stages {
				w = Join(ctx, w, s)
			}
			w.WriteMsg(tc.in)
		})
		if allocs != tc.want {
			t.Errorf("%s: %v allocations, want %v", tc.desc, allocs, tc.want)
		}
		if tc.in.String() != before {
			t.Errorf("%s: the backend's message changed", tc.desc)
		}
	}
}
