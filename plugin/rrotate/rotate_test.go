package rrotate

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// fixed answers every query with a copy of the same message, the way cache does: the same
// records, owned by the backend, for every answer.
type fixed struct{ msg *dns.Msg }

func (f fixed) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := *f.msg
	m.Id = r.Id
	return m.Rcode, w.WriteMsg(&m)
}

func (fixed) Name() string { return "fixed" }

func newRRotate(next plugin.Handler, types ...uint16) *RRotate {
	if len(types) == 0 {
		types = []uint16{dns.TypeA, dns.TypeAAAA}
	}
	r := &RRotate{Next: next, zones: answer.NewZones([]string{"."}), counters: newCounters(1000)}
	for _, t := range types {
		r.types = r.types.with(t)
	}
	return r
}

func response(qname string, qtype uint16, rrs ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response, m.Authoritative = true, true
	for _, s := range rrs {
		m.Answer = append(m.Answer, mustRR(s))
	}
	return m
}

func serve(t *testing.T, h plugin.Handler, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(qname, qtype)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(context.TODO(), rec, req); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

// rewrite hands res to r the way the chain does, through the query's shared writer, and
// returns what reaches the client: res itself when r leaves it alone.
func rewrite(t *testing.T, r *RRotate, res *dns.Msg) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if err := answer.Join(context.Background(), rec, r).WriteMsg(res); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

func rdata(rrs []dns.RR) string {
	var s []string
	for _, rr := range rrs {
		f := strings.Fields(rr.String())
		s = append(s, f[3]+" "+strings.Join(f[4:], " "))
	}
	return strings.Join(s, " | ")
}

func TestStrictRotation(t *testing.T) {
	backend := response("cats.example.test.", dns.TypeA,
		"cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3",
		"cats.example.test. 300 IN A 127.0.0.4", "cats.example.test. 300 IN A 127.0.0.5")
	r := newRRotate(fixed{backend})
	want := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.2"}
	for i, lead := range want {
		m := serve(t, r, "cats.example.test.", dns.TypeA)
		if got := m.Answer[0].(*dns.A).A.String(); got != lead {
			t.Fatalf("answer %d leads with %s, want %s", i+1, got, lead)
		}
		// The rest follows in circular order.
		for j, rr := range m.Answer {
			wantIP := fmt.Sprintf("127.0.0.%d", 2+(i+j)%4)
			if got := rr.(*dns.A).A.String(); got != wantIP {
				t.Fatalf("answer %d position %d is %s, want %s", i+1, j, got, wantIP)
			}
		}
	}
}

func TestCountersArePerNameAndType(t *testing.T) {
	backends := map[string]*dns.Msg{
		"a.A":    response("a.test.", dns.TypeA, "a.test. 60 IN A 10.0.0.1", "a.test. 60 IN A 10.0.0.2"),
		"b.A":    response("b.test.", dns.TypeA, "b.test. 60 IN A 10.0.1.1", "b.test. 60 IN A 10.0.1.2"),
		"a.AAAA": response("a.test.", dns.TypeAAAA, "a.test. 60 IN AAAA ::1", "a.test. 60 IN AAAA ::2"),
	}
	next := plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		key := strings.TrimSuffix(strings.ToLower(r.Question[0].Name), ".test.") + "." + dns.TypeToString[r.Question[0].Qtype]
		return fixed{backends[key]}.ServeDNS(ctx, w, r)
	})
	r := newRRotate(next)
	lead := func(name string, qtype uint16) string {
		m := serve(t, r, name, qtype)
		f := strings.Fields(m.Answer[0].String())
		return f[len(f)-1]
	}
	// Interleaving other names and types does not advance a.test./A.
	got := []string{lead("a.test.", dns.TypeA), lead("b.test.", dns.TypeA), lead("a.test.", dns.TypeAAAA), lead("A.TEST.", dns.TypeA), lead("a.test.", dns.TypeA)}
	want := []string{"10.0.0.1", "10.0.1.1", "::1", "10.0.0.2", "10.0.0.1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("leads %v, want %v", got, want)
	}
}

func TestCNAMEChainStaysInFront(t *testing.T) {
	backend := response("www.example.test.", dns.TypeA,
		"www.example.test. 60 IN CNAME web.example.test.",
		"web.example.test. 60 IN CNAME cats.example.test.",
		"cats.example.test. 60 IN A 127.0.0.2",
		"cats.example.test. 60 IN A 127.0.0.3",
		"cats.example.test. 60 IN A 127.0.0.4",
		"cats.example.test. 60 IN RRSIG A 13 3 60 20300101000000 20200101000000 12345 example.test. c2ln",
	)
	r := newRRotate(fixed{backend})
	serve(t, r, "www.example.test.", dns.TypeA)
	m := serve(t, r, "www.example.test.", dns.TypeA)
	want := "CNAME web.example.test. | CNAME cats.example.test. | A 127.0.0.3 | A 127.0.0.4 | A 127.0.0.2 | RRSIG A 13 3 60 20300101000000 20200101000000 12345 example.test. c2ln"
	if got := rdata(m.Answer); got != want {
		t.Errorf("second answer\n got %s\nwant %s", got, want)
	}
}

func TestOtherTypesOnRequest(t *testing.T) {
	backend := response("_http._tcp.example.test.", dns.TypeSRV,
		"_http._tcp.example.test. 60 IN SRV 10 10 80 a.example.test.",
		"_http._tcp.example.test. 60 IN SRV 10 10 80 b.example.test.")
	// Without SRV in types the order never changes.
	plain := newRRotate(fixed{backend})
	for range 3 {
		if got := rdata(serve(t, plain, "_http._tcp.example.test.", dns.TypeSRV).Answer); !strings.HasPrefix(got, "SRV 10 10 80 a.") {
			t.Fatalf("SRV rotated without being asked: %s", got)
		}
	}
	// With SRV in types it rotates.
	srv := newRRotate(fixed{backend}, dns.TypeSRV)
	serve(t, srv, "_http._tcp.example.test.", dns.TypeSRV)
	if got := rdata(serve(t, srv, "_http._tcp.example.test.", dns.TypeSRV).Answer); !strings.HasPrefix(got, "SRV 10 10 80 b.") {
		t.Errorf("second SRV answer: %s, want b first", got)
	}
}

func TestPassThrough(t *testing.T) {
	two := []string{"x.test. 60 IN A 10.0.0.1", "x.test. 60 IN A 10.0.0.2"}
	tests := []struct {
		name string
		msg  *dns.Msg
	}{
		{"nxdomain", func() *dns.Msg { m := response("x.test.", dns.TypeA, two...); m.Rcode = dns.RcodeNameError; return m }()},
		{"servfail", func() *dns.Msg { m := response("x.test.", dns.TypeA); m.Rcode = dns.RcodeServerFailure; return m }()},
		{"empty", response("x.test.", dns.TypeA)},
		{"single", response("x.test.", dns.TypeA, two[0])},
		{"truncated", func() *dns.Msg { m := response("x.test.", dns.TypeA, two...); m.Truncated = true; return m }()},
		{"no question", func() *dns.Msg { m := response("x.test.", dns.TypeA, two...); m.Question = nil; return m }()},
		{"axfr", response("x.test.", dns.TypeAXFR, two...)},
		{"other owner", response("x.test.", dns.TypeA, "y.test. 60 IN A 10.0.0.1", "y.test. 60 IN A 10.0.0.2")},
		{"mx not asked", response("x.test.", dns.TypeMX, "x.test. 60 IN MX 10 a.test.", "x.test. 60 IN MX 10 b.test.")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.msg.String()
			r := newRRotate(fixedPtr{tc.msg})
			for range 3 {
				if out := serve(t, r, "x.test.", dns.TypeA); out != tc.msg {
					t.Fatalf("rotated a response that must pass untouched: %v", out)
				}
			}
			if tc.msg.String() != before {
				t.Error("the response was changed")
			}
		})
	}
	// A nil response is an error, not a panic further down, and nothing is written.
	req := new(dns.Msg)
	req.SetQuestion("x.test.", dns.TypeA)
	w := &capture{}
	if _, err := newRRotate(fixedPtr{nil}).ServeDNS(context.Background(), w, req); err == nil || w.n != 0 {
		t.Errorf("a nil response: err %v, %d writes, wrote %v", err, w.n, w.msg)
	}
}

// TestNeverMutatesInput plays cache: the same message and records are handed up for every
// answer, and must come out of each rotation exactly as they went in.
func TestNeverMutatesInput(t *testing.T) {
	backend := response("cats.example.test.", dns.TypeA,
		"cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3",
		"cats.example.test. 300 IN A 127.0.0.4")
	before := backend.Copy()
	answerSlice := backend.Answer
	r := newRRotate(fixed{backend})
	for range 5 {
		serve(t, r, "cats.example.test.", dns.TypeA)
	}
	if backend.String() != before.String() {
		t.Errorf("backend message changed:\n%s\nwant\n%s", backend, before)
	}
	for i, rr := range answerSlice {
		if !dns.IsDuplicate(rr, before.Answer[i]) {
			t.Errorf("backend answer slice changed at %d: %s, want %s", i, rr, before.Answer[i])
		}
	}
}

func TestLargeAnswer(t *testing.T) {
	var rrs []string
	for i := range 20 {
		rrs = append(rrs, fmt.Sprintf("big.test. 60 IN A 10.0.0.%d", i))
	}
	r := newRRotate(fixed{response("big.test.", dns.TypeA, rrs...)})
	for i := range 25 {
		m := serve(t, r, "big.test.", dns.TypeA)
		if len(m.Answer) != 20 {
			t.Fatalf("answer %d has %d records, want 20", i, len(m.Answer))
		}
		if got, want := m.Answer[0].(*dns.A).A.String(), fmt.Sprintf("10.0.0.%d", i%20); got != want {
			t.Fatalf("answer %d leads with %s, want %s", i, got, want)
		}
	}
}

func TestOutsideZonesPassesThrough(t *testing.T) {
	backend := response("x.other.", dns.TypeA, "x.other. 60 IN A 10.0.0.1", "x.other. 60 IN A 10.0.0.2")
	r := newRRotate(fixed{backend})
	r.zones = answer.NewZones([]string{"example.test."})
	for range 3 {
		if got := serve(t, r, "x.other.", dns.TypeA).Answer[0].(*dns.A).A.String(); got != "10.0.0.1" {
			t.Fatalf("name outside the zones rotated: lead %s", got)
		}
	}
}

// capture records what it is asked to write, nil included.
type capture struct {
	test.ResponseWriter
	msg *dns.Msg
	n   int
}

func (c *capture) WriteMsg(m *dns.Msg) error {
	c.msg, c.n = m, c.n+1
	return nil
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

// Answers of any size rotate: over TCP and EDNS a name can carry a hundred addresses or more,
// more than a 64-bit mask of members could hold.
func TestRotatesAnySize(t *testing.T) {
	for _, n := range []int{9, 63, 64, 65, 100, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var rrs []string
			for i := range n {
				rrs = append(rrs, fmt.Sprintf("big.test. 60 IN A 10.0.%d.%d", i/256, i%256))
			}
			backend := response("big.test.", dns.TypeA, rrs...)
			before := backend.Copy()
			r := newRRotate(fixed{backend})
			for i := range n + 2 {
				m := serve(t, r, "big.test.", dns.TypeA)
				if len(m.Answer) != n {
					t.Fatalf("answer %d has %d records, want %d", i, len(m.Answer), n)
				}
				for j, rr := range m.Answer {
					k := (i + j) % n
					if got, want := rr.(*dns.A).A.String(), fmt.Sprintf("10.0.%d.%d", k/256, k%256); got != want {
						t.Fatalf("answer %d record %d is %s, want %s", i, j, got, want)
					}
				}
			}
			if backend.String() != before.String() {
				t.Error("backend message changed")
			}
		})
	}
}

// The n-th answer for a name leads with its n-th record, whatever the names around it: the
// shift is the count of answers before this one, modulo the RRset's size.
func TestShiftIsTheAnswerCount(t *testing.T) {
	backend := response("s.test.", dns.TypeA,
		"s.test. 60 IN A 10.0.0.0", "s.test. 60 IN A 10.0.0.1", "s.test. 60 IN A 10.0.0.2")
	r := newRRotate(nil)
	for n := range 7 {
		out := rewrite(t, r, backend)
		want := fmt.Sprintf("A 10.0.0.%d | A 10.0.0.%d | A 10.0.0.%d", n%3, (n+1)%3, (n+2)%3)
		if got := rdata(out.Answer); got != want {
			t.Fatalf("answer %d: %s, want %s", n, got, want)
		}
	}
}

// RRSIGs keep their places: the records of the rotating RRset rotate among their own
// positions, and every other record (CNAMEs, RRSIGs, records of other owners) stays at its
// index, wherever the backend put it.
func TestRRSIGsKeepTheirPlaces(t *testing.T) {
	const sig = "cats.test. 60 IN RRSIG A 13 2 60 20300101000000 20200101000000 12345 test. c2ln"
	backend := response("www.test.", dns.TypeA,
		"www.test. 60 IN CNAME cats.test.",
		"cats.test. 60 IN A 10.0.0.1",
		sig,
		"cats.test. 60 IN A 10.0.0.2",
		"www.test. 60 IN RRSIG CNAME 13 2 60 20300101000000 20200101000000 12345 test. d3d3",
		"cats.test. 60 IN A 10.0.0.3",
	)
	before := backend.Copy()
	r := newRRotate(fixed{backend})
	leads := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"}
	for i, lead := range leads {
		m := serve(t, r, "www.test.", dns.TypeA)
		if len(m.Answer) != 6 {
			t.Fatalf("answer %d has %d records", i, len(m.Answer))
		}
		for _, k := range []int{0, 2, 4} {
			if m.Answer[k].String() != before.Answer[k].String() {
				t.Fatalf("answer %d: record %d moved: got %s, want %s", i, k, m.Answer[k], before.Answer[k])
			}
		}
		n := func(k int) string { return m.Answer[k].(*dns.A).A.String() }
		want := []string{lead, fmt.Sprintf("10.0.0.%d", (i+1)%3+1), fmt.Sprintf("10.0.0.%d", (i+2)%3+1)}
		if got := []string{n(1), n(3), n(5)}; !reflect.DeepEqual(got, want) {
			t.Fatalf("answer %d: A records %v, want %v", i, got, want)
		}
	}
	if backend.String() != before.String() {
		t.Error("backend message changed")
	}
}

// Records of the asked type whose owner is not the end of the CNAME chain, or whose class is
// not IN, are not part of the rotating RRset: they stay where they are.
func TestOnlyTheFinalRRsetRotates(t *testing.T) {
	backend := response("x.test.", dns.TypeA,
		"x.test. 60 IN A 10.0.0.1",
		"other.test. 60 IN A 10.9.9.9",
		"X.TEST. 60 IN A 10.0.0.2",
		"x.test. 60 CH A 10.8.8.8",
		"x.test. 60 IN A 10.0.0.3",
	)
	r := newRRotate(nil)
	rewrite(t, r, backend)
	got := rdata(rewrite(t, r, backend).Answer)
	want := "A 10.0.0.2 | A 10.9.9.9 | A 10.0.0.3 | A 10.8.8.8 | A 10.0.0.1"
	if got != want {
		t.Errorf("second answer\n got %s\nwant %s", got, want)
	}
}

// A CNAME chain longer than answer.MaxChain, or a loop, passes untouched rather than being
// chased.
func TestCNAMELoopPasses(t *testing.T) {
	loop := response("a.test.", dns.TypeA,
		"a.test. 60 IN CNAME b.test.", "b.test. 60 IN CNAME a.test.",
		"a.test. 60 IN A 10.0.0.1", "a.test. 60 IN A 10.0.0.2")
	r := newRRotate(nil)
	for range 2 {
		if out := rewrite(t, r, loop); out != loop {
			t.Errorf("a CNAME loop was rotated: %v", out.Answer)
		}
	}
	var chain []string
	for i := range answer.MaxChain + 1 {
		chain = append(chain, fmt.Sprintf("c%d.test. 60 IN CNAME c%d.test.", i, i+1))
	}
	end := fmt.Sprintf("c%d.test.", answer.MaxChain+1)
	long := response("c0.test.", dns.TypeA, append(chain, end+" 60 IN A 10.0.0.1", end+" 60 IN A 10.0.0.2")...)
	for range 2 {
		if out := rewrite(t, r, long); out != long {
			t.Errorf("a chain of %d CNAMEs was rotated", answer.MaxChain+1)
		}
	}
	short := response("c1.test.", dns.TypeA, append(chain[1:], end+" 60 IN A 10.0.0.1", end+" 60 IN A 10.0.0.2")...)
	short.Question[0].Name = "C1.TEST."
	rewrite(t, r, short)
	if out := rewrite(t, r, short); out.Answer[answer.MaxChain].(*dns.A).A.String() != "10.0.0.2" {
		t.Errorf("a chain of %d CNAMEs (mixed case) was not rotated: %v", answer.MaxChain, out)
	}
}

// The rotated reply is a new message: the header and the other sections are the backend's,
// the answer section a new slice.
func TestReplyIsACopy(t *testing.T) {
	backend := response("x.test.", dns.TypeA, "x.test. 60 IN A 10.0.0.1", "x.test. 60 IN A 10.0.0.2")
	backend.Ns = []dns.RR{mustRR("test. 60 IN NS ns.test.")}
	backend.Extra = []dns.RR{mustRR("ns.test. 60 IN A 10.1.1.1")}
	backend.SetEdns0(1232, true)
	backend.Id = 4242
	r := newRRotate(nil)
	rewrite(t, r, backend)
	out := rewrite(t, r, backend)
	if out == backend || &out.Answer[0] == &backend.Answer[0] {
		t.Fatal("the reply shares the backend's message or answer slice")
	}
	if out.Id != 4242 || !out.Authoritative || len(out.Ns) != 1 || len(out.Extra) != 2 || out.IsEdns0() == nil {
		t.Errorf("the reply lost the backend's header or sections:\n%v", out)
	}
	if _, err := out.Pack(); err != nil {
		t.Errorf("the reply does not pack: %v", err)
	}
}

// A writer that writes twice writes the rotated form each time, from the same counter.
func TestWriterCountsRotations(t *testing.T) {
	backend := response("x.test.", dns.TypeA, "x.test. 60 IN A 10.0.0.1", "x.test. 60 IN A 10.0.0.2")
	r := newRRotate(fixed{backend})
	const server = "dns://:4242"
	before := counterValue(t, rotations.WithLabelValues(server))
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	ctx := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: server})
	w := answer.Join(ctx, rec, r)
	if err := w.WriteMsg(backend); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteMsg(backend); err != nil {
		t.Fatal(err)
	}
	if got := rdata(rec.Msg.Answer); got != "A 10.0.0.2 | A 10.0.0.1" {
		t.Errorf("second write: %s", got)
	}
	single := response("x.test.", dns.TypeA, "x.test. 60 IN A 10.0.0.1")
	if err := w.WriteMsg(single); err != nil || rec.Msg != single {
		t.Errorf("a single record answer was not passed as it came (err %v)", err)
	}
	if d := counterValue(t, rotations.WithLabelValues(server)) - before; d != 2 {
		t.Errorf("rotations_total{server=%q} rose by %v, want 2", server, d)
	}
}

// Rotating an answer of common size costs one allocation in all, the query's shared writer,
// which holds the copy of the reply; the positions stay on the stack. Larger answers pay for
// their answer section and the RRset's scratch space too (at most; the compiler may keep
// a small one on the stack).
func TestRotatedAllocations(t *testing.T) {
	for n, want := range map[int]float64{2: 1, 4: 1, inlineRecords: 1, inlineRecords + 1: 3, 100: 3} {
		var rrs []string
		for i := range n {
			rrs = append(rrs, fmt.Sprintf("x.test. 60 IN A 10.0.0.%d", i))
		}
		r := newRRotate(fixedPtr{response("x.test.", dns.TypeA, rrs...)})
		req := new(dns.Msg)
		req.SetQuestion("x.test.", dns.TypeA)
		ctx, w := context.Background(), &discard{}
		if got := testing.AllocsPerRun(50, func() { r.ServeDNS(ctx, w, req) }); got > want || (n <= inlineRecords && got != want) {
			t.Errorf("rotating %d records: %v allocations, want %v", n, got, want)
		}
	}
}

// Counters are keyed by the final owner: an alias and the name it points to share one
// rotation, whichever of them a client asks for.
func TestAliasSharesTheFinalOwnersRotation(t *testing.T) {
	cats := []string{"cats.test. 60 IN A 10.0.0.1", "cats.test. 60 IN A 10.0.0.2", "cats.test. 60 IN A 10.0.0.3"}
	direct := response("cats.test.", dns.TypeA, cats...)
	alias := response("www.test.", dns.TypeA, append([]string{"www.test. 60 IN CNAME Cats.Test."}, cats...)...)
	r := newRRotate(nil)
	lead := func(m *dns.Msg) string {
		for _, rr := range rewrite(t, r, m).Answer {
			if a, ok := rr.(*dns.A); ok {
				return a.A.String()
			}
		}
		return ""
	}
	got := []string{lead(direct), lead(alias), lead(direct), lead(alias)}
	if want := []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("leads %v, want %v: one rotation for cats and its alias", got, want)
	}
}

// ttl caps the TTL of every record of the answers rrotate rotates (the RRset, the CNAMEs in
// front, the RRSIGs), with copies: the backend's records keep theirs. Lower TTLs stay.
func TestTTLCapsRotatedAnswers(t *testing.T) {
	backend := response("www.test.", dns.TypeA,
		"www.test. 300 IN CNAME cats.test.",
		"cats.test. 3 IN A 10.0.0.1",
		"cats.test. 300 IN A 10.0.0.2",
		"cats.test. 300 IN RRSIG A 13 2 300 20300101000000 20200101000000 12345 test. c2ln")
	before := backend.String()
	r := newRRotate(fixed{backend})
	r.ttl = 5
	for i := range 3 { // the first answer is in order already (shift 0): capped all the same
		m := serve(t, r, "www.test.", dns.TypeA)
		for _, rr := range m.Answer {
			want := uint32(5)
			if a, ok := rr.(*dns.A); ok && a.A.String() == "10.0.0.1" {
				want = 3
			}
			if rr.Header().Ttl != want {
				t.Errorf("answer %d: %s has TTL %d, want %d", i, rr, rr.Header().Ttl, want)
			}
		}
	}
	if backend.String() != before {
		t.Errorf("the backend's records changed:\n%s\nwas\n%s", backend, before)
	}
	// Without ttl, TTLs pass as they are.
	r.ttl = 0
	for _, rr := range serve(t, r, "www.test.", dns.TypeA).Answer {
		if rr.Header().Ttl != 300 && rr.Header().Ttl != 3 {
			t.Errorf("without ttl: %s", rr)
		}
	}
}

// Without ttl, an answer whose rotation leaves it in order is written as it came: no copy.
func TestInOrderAnswerIsNotCopied(t *testing.T) {
	backend := response("x.test.", dns.TypeA, "x.test. 60 IN A 10.0.0.1", "x.test. 60 IN A 10.0.0.2")
	r := newRRotate(nil)
	if out := rewrite(t, r, backend); out != backend {
		t.Error("the first answer (shift 0) was copied")
	}
	if out := rewrite(t, r, backend); out == backend {
		t.Error("the second answer was not rotated")
	}
}
