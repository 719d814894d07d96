package weighted

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// backend answers every query with the same message, as cache does: the test then checks
// that the message and its records are never changed.
func backend(m *dns.Msg) plugin.Handler {
	return plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		if m == nil {
			return dns.RcodeSuccess, w.WriteMsg(nil)
		}
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
}

// newWeighted builds a plugin from a Corefile block over a backend that answers with m.
func newWeighted(t *testing.T, block string, m *dns.Msg) *Weighted {
	t.Helper()
	wt, err := parse(caddyController(block))
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.loadWeights(); err != nil {
		t.Fatal(err)
	}
	wt.Next = backend(m)
	return wt
}

// answer builds a response to qname/qtype with the records given in zone file syntax.
func response(qname string, qtype uint16, rrs ...string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(qname, qtype)
	m.Response, m.Authoritative = true, true
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	return m
}

// serve sends one query and returns the response written.
func serve(t *testing.T, wt *Weighted, qname string, qtype uint16) *dns.Msg {
	t.Helper()
	req := new(dns.Msg)
	req.SetQuestion(qname, qtype)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := wt.ServeDNS(context.Background(), rec, req); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

func answerStrings(m *dns.Msg) string {
	s := make([]string, len(m.Answer))
	for i, rr := range m.Answer {
		f := strings.Fields(rr.String())
		s[i] = f[len(f)-1]
	}
	return strings.Join(s, " ")
}

var dogs = []string{
	"dogs.example.test. 300 IN A 127.0.0.2",
	"dogs.example.test. 300 IN A 127.0.0.3",
	"dogs.example.test. 300 IN A 127.0.0.4",
}

func TestLeads(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA, dogs...)
	before := m.Copy()
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1 127.0.0.4 0\n}", m)
	var got []string
	for range 4 {
		got = append(got, answerStrings(serve(t, wt, "dogs.example.test.", dns.TypeA)))
	}
	want := []string{
		"127.0.0.2 127.0.0.3 127.0.0.4",
		"127.0.0.2 127.0.0.3 127.0.0.4",
		"127.0.0.3 127.0.0.2 127.0.0.4",
		"127.0.0.2 127.0.0.3 127.0.0.4",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if m.String() != before.String() {
		t.Errorf("the backend's message was changed:\n%s\nwas\n%s", m, before)
	}
}

func TestOnly(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA, dogs...)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1 127.0.0.4 0\n only 1\n}", m)
	var got []string
	for range 4 {
		got = append(got, answerStrings(serve(t, wt, "dogs.example.test.", dns.TypeA)))
	}
	if s := strings.Join(got, " "); s != "127.0.0.2 127.0.0.2 127.0.0.3 127.0.0.2" {
		t.Errorf("only 1 answered %s", s)
	}

	// only 3 still never returns the drained address.
	wt = newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1 127.0.0.4 0\n only 3\n}", m)
	if got := answerStrings(serve(t, wt, "dogs.example.test.", dns.TypeA)); got != "127.0.0.2 127.0.0.3" {
		t.Errorf("only 3 answered %s", got)
	}
	if len(m.Answer) != 3 {
		t.Error("the backend's answer was cut")
	}
}

func TestCNAMEStaysInFront(t *testing.T) {
	m := response("www.example.test.", dns.TypeA, append([]string{
		"www.example.test. 300 IN CNAME lb.example.test.",
		"lb.example.test. 300 IN CNAME dogs.example.test.",
	}, dogs...)...)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.4 5\n only 2\n}", m)
	got := answerStrings(serve(t, wt, "www.example.test.", dns.TypeA))
	if got != "lb.example.test. dogs.example.test. 127.0.0.4 127.0.0.2" {
		t.Errorf("got %s", got)
	}
}

// Weights are keyed by the final owner: an alias gets the weights (and shares the rotation)
// of the name it points to, and weights given to the alias itself never apply.
func TestWeightsOfTheFinalOwner(t *testing.T) {
	alias := response("www.example.test.", dns.TypeA, append([]string{"www.example.test. 300 IN CNAME DOGS.example.test."}, dogs...)...)
	direct := response("dogs.example.test.", dns.TypeA, dogs...)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 1 127.0.0.3 1 127.0.0.4 1\n weight www.example.test 127.0.0.2 0 127.0.0.3 0\n only 1\n}", alias)
	var leads []string
	for i := range 6 {
		m := alias
		if i%2 == 1 {
			m = direct
		}
		wt.Next = backend(m)
		r := serve(t, wt, m.Question[0].Name, dns.TypeA)
		leads = append(leads, r.Answer[len(r.Answer)-1].(*dns.A).A.String())
	}
	if got := strings.Join(leads, " "); got != "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.2 127.0.0.3 127.0.0.4" {
		t.Errorf("alias and target alternating led %s, want one 1:1:1 rotation for dogs", got)
	}
}

func TestSignedRRsetIsNotCut(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA, append(dogs,
		"dogs.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl")...)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.3 5\n only 1\n}", m)
	before := counterValue(signedUncut.WithLabelValues("dogs.example.test."))
	r := serve(t, wt, "dogs.example.test.", dns.TypeA)
	if got := answerStrings(r); got != "127.0.0.3 127.0.0.2 127.0.0.4 c2lnbmF0dXJl" {
		t.Errorf("got %s", got)
	}
	if d := counterValue(signedUncut.WithLabelValues("dogs.example.test.")) - before; d != 1 {
		t.Errorf("signed_uncut_total rose by %v, want 1", d)
	}
}

func TestSRV(t *testing.T) {
	m := response("_http._tcp.example.test.", dns.TypeSRV,
		"_http._tcp.example.test. 300 IN SRV 10 10 8080 web1.example.test.",
		"_http._tcp.example.test. 300 IN SRV 10 10 8080 Web2.Example.Test.")
	wt := newWeighted(t, "weighted {\n weight _http._tcp.example.test web2.example.test 2\n types SRV\n}", m)
	var got []string
	for range 3 {
		got = append(got, strings.Fields(serve(t, wt, "_http._tcp.example.test.", dns.TypeSRV).Answer[0].String())[7])
	}
	if s := strings.Join(got, " "); s != "Web2.Example.Test. web1.example.test. Web2.Example.Test." {
		t.Errorf("SRV leaders %s", s)
	}
	// A is no longer weighted once types names only SRV.
	a := response("_http._tcp.example.test.", dns.TypeA, "_http._tcp.example.test. 300 IN A 10.0.0.1")
	wt.Next = backend(a)
	if r := serve(t, wt, "_http._tcp.example.test.", dns.TypeA); r != a {
		t.Error("an A answer was touched with types SRV")
	}
}

func TestAAAA(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeAAAA, "dogs.example.test. 300 IN AAAA ::2", "dogs.example.test. 300 IN AAAA ::3")
	wt := newWeighted(t, "weighted {\n weight dogs.example.test ::3 1 ::2 0\n}", m)
	if got := answerStrings(serve(t, wt, "DOGS.example.TEST.", dns.TypeAAAA)); got != "::3 ::2" {
		t.Errorf("got %s", got)
	}
}

// Responses weighted does not act on reach the client as the very message the backend wrote.
func TestPassThrough(t *testing.T) {
	const w = "weighted {\n weight dogs.example.test 127.0.0.2 3\n only 1\n}"
	nx := response("dogs.example.test.", dns.TypeA)
	nx.Rcode = dns.RcodeNameError
	otherOwner := response("dogs.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3")
	inOrder := response("dogs.example.test.", dns.TypeA, "dogs.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3")
	drainedAll := response("dogs.example.test.", dns.TypeA, "dogs.example.test. 300 IN A 127.0.0.9")
	tests := []struct {
		name  string
		block string
		qname string
		qtype uint16
		m     *dns.Msg
	}{
		{"name without weights", w, "cats.example.test.", dns.TypeA, response("cats.example.test.", dns.TypeA, dogs...)},
		{"type not weighted", w, "dogs.example.test.", dns.TypeMX, response("dogs.example.test.", dns.TypeMX, "dogs.example.test. 300 IN MX 10 mx.example.test.")},
		{"NXDOMAIN", w, "dogs.example.test.", dns.TypeA, nx},
		{"NODATA", w, "dogs.example.test.", dns.TypeA, response("dogs.example.test.", dns.TypeA)},
		{"no question", w, "dogs.example.test.", dns.TypeA, &dns.Msg{Answer: response("x.", dns.TypeA, dogs...).Answer}},
		{"records of another owner only", w, "dogs.example.test.", dns.TypeA, otherOwner},
		{"nothing to reorder or cut", w, "dogs.example.test.", dns.TypeA, inOrder},
		{"class CH", w, "dogs.example.test.", dns.TypeA, func() *dns.Msg {
			m := response("dogs.example.test.", dns.TypeA, dogs...)
			m.Question[0].Qclass = dns.ClassCHAOS
			return m
		}()},
		{"all drained", "weighted {\n weight dogs.example.test 127.0.0.9 0\n only 1\n}", "dogs.example.test.", dns.TypeA, drainedAll},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.m.String()
			wt := newWeighted(t, tc.block, tc.m)
			if r := serve(t, wt, tc.qname, tc.qtype); r != tc.m {
				t.Errorf("answer was rewritten:\n%s", r)
			}
			if tc.m.String() != before {
				t.Error("message was changed")
			}
		})
	}
}

// A nil response is an error, not a panic further down, and nothing is written.
func TestNilResponse(t *testing.T) {
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 3\n}", nil)
	req := new(dns.Msg)
	req.SetQuestion("dogs.example.test.", dns.TypeA)
	w := &capture{}
	if _, err := wt.ServeDNS(context.Background(), w, req); err == nil || w.n != 0 {
		t.Errorf("a nil response: err %v, %d writes, wrote %v", err, w.n, w.msg)
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

// selections_total counts leads by name and listed address; every address the configuration
// does not list shares the label "other", so the series are bounded by the configuration,
// however many addresses the backends answer with.
func TestSelectionsMetric(t *testing.T) {
	const name = "metric.example.test."
	rrs := []string{name + " 300 IN A 127.0.0.2", name + " 300 IN A 127.0.0.3", name + " 300 IN A 127.0.0.4"}
	m := response(name, dns.TypeA, rrs...)
	wt := newWeighted(t, "weighted {\n weight metric.example.test 127.0.0.2 2\n}", m)
	labels := []string{"127.0.0.2", "other", "127.0.0.3", "127.0.0.4"}
	before := map[string]float64{}
	for _, a := range labels {
		before[a] = counterValue(selections.WithLabelValues(name, a))
	}
	for range 8 {
		serve(t, wt, name, dns.TypeA)
	}
	for a, want := range map[string]float64{"127.0.0.2": 4, "other": 4, "127.0.0.3": 0, "127.0.0.4": 0} {
		if got := counterValue(selections.WithLabelValues(name, a)) - before[a]; got != want {
			t.Errorf("selections_total{address=%q} rose by %v, want %v", a, got, want)
		}
	}
	// Unlisted addresses, however many, add no series.
	series := func() int {
		ch := make(chan prometheus.Metric, 1<<12)
		selections.Collect(ch)
		return len(ch)
	}
	n := series()
	for i := range 50 {
		wt.Next = backend(response(name, dns.TypeA, fmt.Sprintf("%s 300 IN A 10.1.0.%d", name, i), name+" 300 IN A 127.0.0.2"))
		serve(t, wt, name, dns.TypeA)
	}
	if got := series(); got != n {
		t.Errorf("50 unlisted addresses grew selections_total from %d to %d series", n, got)
	}
}

// When every address of an answer is drained, the answer passes unchanged and
// all_drained_total counts it for that name.
func TestAllDrainedMetric(t *testing.T) {
	const name = "drained.example.test."
	m := response(name, dns.TypeA, name+" 300 IN A 127.0.0.2", name+" 300 IN A 127.0.0.3")
	wt := newWeighted(t, "weighted {\n weight drained.example.test 127.0.0.2 0 127.0.0.3 0\n}", m)
	before := counterValue(drained.WithLabelValues(name))
	for range 3 {
		if r := serve(t, wt, name, dns.TypeA); r != m {
			t.Fatalf("an all-drained answer was rewritten:\n%v", r)
		}
	}
	if d := counterValue(drained.WithLabelValues(name)) - before; d != 3 {
		t.Errorf("all_drained_total{name=%q} rose by %v, want 3", name, d)
	}
	// One live address: no longer all drained.
	wt.Next = backend(response(name, dns.TypeA, name+" 300 IN A 127.0.0.2", name+" 300 IN A 127.0.0.9"))
	if got := answerStrings(serve(t, wt, name, dns.TypeA)); got != "127.0.0.9 127.0.0.2" {
		t.Errorf("with an unlisted (weight 1) address: %s", got)
	}
	if d := counterValue(drained.WithLabelValues(name)) - before; d != 3 {
		t.Errorf("all_drained_total{name=%q} rose by %v, want still 3", name, d)
	}
}

// The Additional section (here the addresses of SRV targets) and the Authority section reach
// the client as the backend wrote them, while the answer is reordered.
func TestAdditionalUntouched(t *testing.T) {
	m := response("_http._tcp.example.test.", dns.TypeSRV,
		"_http._tcp.example.test. 300 IN SRV 10 10 8080 web1.example.test.",
		"_http._tcp.example.test. 300 IN SRV 10 10 8080 web2.example.test.")
	m.Ns = []dns.RR{mustRR("example.test. 300 IN NS ns.example.test.")}
	m.Extra = []dns.RR{
		mustRR("web1.example.test. 300 IN A 127.0.0.2"),
		mustRR("web2.example.test. 300 IN A 127.0.0.3"),
		mustRR("web2.example.test. 300 IN AAAA ::3"),
	}
	m.SetEdns0(1232, true)
	before := m.Copy()
	wt := newWeighted(t, "weighted {\n weight _http._tcp.example.test web2.example.test 3\n types SRV\n only 1\n}", m)
	r := serve(t, wt, "_http._tcp.example.test.", dns.TypeSRV)
	if r == m {
		t.Fatal("the answer was not weighted")
	}
	if got := answerStrings(r); got != "web2.example.test." {
		t.Errorf("answer %s, want web2 alone", got)
	}
	if len(r.Extra) != len(before.Extra) || len(r.Ns) != 1 {
		t.Fatalf("sections changed: %d additional, %d authority", len(r.Extra), len(r.Ns))
	}
	for i := range r.Extra {
		if r.Extra[i].String() != before.Extra[i].String() {
			t.Errorf("additional record %d is %s, want %s", i, r.Extra[i], before.Extra[i])
		}
	}
	if m.String() != before.String() {
		t.Errorf("the backend's message was changed:\n%s", m)
	}
	if _, err := r.Pack(); err != nil {
		t.Errorf("the reply does not pack: %v", err)
	}
}

func mustRR(s string) dns.RR {
	rr, err := dns.NewRR(s)
	if err != nil {
		panic(err)
	}
	return rr
}

// counterValue reads a counter the way a scrape would.
func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}

// Records of the RRset mixed with others (here an RRSIG and a record of another owner
// between them) are ordered among their own positions; the others keep their places.
func TestInterleavedAnswer(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA,
		"dogs.example.test. 300 IN A 127.0.0.2",
		"dogs.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl",
		"cats.example.test. 300 IN A 127.0.0.9",
		"dogs.example.test. 300 IN A 127.0.0.3")
	before := m.String()
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.3 2\n only 1\n}", m)
	if got := answerStrings(serve(t, wt, "dogs.example.test.", dns.TypeA)); got != "127.0.0.3 c2lnbmF0dXJl 127.0.0.9 127.0.0.2" {
		t.Errorf("got %s", got)
	}
	if m.String() != before {
		t.Error("message was changed")
	}
	// Unsigned, only 1 cuts the other position out; the record of another owner stays.
	m.Answer = slices.Delete(slices.Clone(m.Answer), 1, 2)
	wt = newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.3 2\n only 1\n}", m)
	if got := answerStrings(serve(t, wt, "dogs.example.test.", dns.TypeA)); got != "127.0.0.3 127.0.0.9" {
		t.Errorf("unsigned: got %s", got)
	}
}

// Answers larger than the reply's inline space are handled the same way.
func TestLargeAnswer(t *testing.T) {
	var rrs []string
	for i := 1; i <= 20; i++ {
		rrs = append(rrs, fmt.Sprintf("big.example.test. 300 IN A 10.0.0.%d", i))
	}
	m := response("big.example.test.", dns.TypeA, rrs...)
	wt := newWeighted(t, "weighted {\n weight big.example.test 10.0.0.20 19\n}", m)
	counts := map[string]int{}
	for range 76 {
		r := serve(t, wt, "big.example.test.", dns.TypeA)
		if len(r.Answer) != 20 {
			t.Fatalf("answer has %d records", len(r.Answer))
		}
		counts[r.Answer[0].(*dns.A).A.String()]++
	}
	if counts["10.0.0.20"] != 38 || counts["10.0.0.1"] != 2 || counts["10.0.0.19"] != 2 {
		t.Errorf("over two rounds of W=38: %v", counts)
	}
}

// Many clients at once, as a server sees them: the shared backend message is never written
// (the race detector watches) and the leads still add up exactly.
func TestConcurrentServe(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA, dogs...)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 2 127.0.0.3 1 127.0.0.4 1\n}", m)
	const workers, each = 4, 200
	leads := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				req := new(dns.Msg)
				req.SetQuestion("dogs.example.test.", dns.TypeA)
				rec := dnstest.NewRecorder(&test.ResponseWriter{})
				if _, err := wt.ServeDNS(context.Background(), rec, req); err != nil {
					t.Error(err)
					return
				}
				leads <- rec.Msg.Answer[0].(*dns.A).A.String()
			}
		})
	}
	wg.Wait()
	close(leads)
	counts := map[string]int{}
	for l := range leads {
		counts[l]++
	}
	if counts["127.0.0.2"] != 400 || counts["127.0.0.3"] != 200 || counts["127.0.0.4"] != 200 {
		t.Errorf("leads %v, want 400:200:200", counts)
	}
}

// Records weighted cannot make sense of still get an answer, never a panic.
func TestOddRecords(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA)
	m.Answer = []dns.RR{
		&dns.A{Hdr: dns.RR_Header{Name: "dogs.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET}},
		&dns.A{Hdr: dns.RR_Header{Name: "dogs.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP("127.0.0.2")},
		&dns.RFC3597{Hdr: dns.RR_Header{Name: "dogs.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET}, Rdata: "7f000003"},
	}
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 2\n}", m)
	for range 3 {
		if r := serve(t, wt, "dogs.example.test.", dns.TypeA); len(r.Answer) != 3 {
			t.Fatalf("answer has %d records, want 3", len(r.Answer))
		}
	}
}

// ttl caps the TTL of every record of the answers weighted orders (the RRset, the CNAMEs in
// front, the RRSIGs), with copies: the backend's records keep theirs. Lower TTLs stay, and
// answers whose final owner has no weights keep theirs.
func TestTTLCapsWeightedAnswers(t *testing.T) {
	m := response("www.example.test.", dns.TypeA,
		"www.example.test. 300 IN CNAME dogs.example.test.",
		"dogs.example.test. 2 IN A 127.0.0.2",
		"dogs.example.test. 300 IN A 127.0.0.3",
		"dogs.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl")
	before := m.String()
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 1\n ttl 7\n}", m)
	for i := range 3 { // the first answer keeps the order: capped all the same
		r := serve(t, wt, "www.example.test.", dns.TypeA)
		if len(r.Answer) != 4 {
			t.Fatalf("answer %d: %v", i, r.Answer)
		}
		for _, rr := range r.Answer {
			want := uint32(7)
			if a, ok := rr.(*dns.A); ok && a.A.String() == "127.0.0.2" {
				want = 2
			}
			if rr.Header().Ttl != want {
				t.Errorf("answer %d: %s has TTL %d, want %d", i, rr, rr.Header().Ttl, want)
			}
		}
	}
	if m.String() != before {
		t.Errorf("the backend's records changed:\n%s\nwas\n%s", m, before)
	}
	other := response("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.5", "cats.example.test. 300 IN A 127.0.0.6")
	wt.Next = backend(other)
	if r := serve(t, wt, "cats.example.test.", dns.TypeA); r != other {
		t.Errorf("a name without weights was capped: %v", r)
	}
}

// Names outside ZONES are not weighted, even with weights and through an alias: the query
// goes on with the caller's writer.
func TestOutsideZones(t *testing.T) {
	m := response("dogs.example.test.", dns.TypeA, dogs...)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.4 9\n}", m)
	wt.zones = answer.NewZones([]string{"example.org."})
	req := new(dns.Msg)
	req.SetQuestion("dogs.example.test.", dns.TypeA)
	next := &seen{}
	wt.Next = next
	w := &capture{}
	if _, err := wt.ServeDNS(context.Background(), w, req); err != nil || next.w != dns.ResponseWriter(w) {
		t.Errorf("a query outside the zones got writer %T (err %v), want the caller's", next.w, err)
	}
	wt.zones = answer.NewZones([]string{"Example.Test"})
	wt.Next = backend(m)
	if got := answerStrings(serve(t, wt, "DOGS.example.test.", dns.TypeA)); got != "127.0.0.4 127.0.0.2 127.0.0.3" {
		t.Errorf("inside the zones: %s", got)
	}
}

// seen records the writer it was handed.
type seen struct{ w dns.ResponseWriter }

func (s *seen) ServeDNS(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
	s.w = w
	return dns.RcodeSuccess, nil
}

func (*seen) Name() string { return "seen" }

// A weighted answer of common size costs one allocation in all, the query's shared writer,
// which holds the copy of the reply; queries weighted does not look at cost none.
func TestAllocations(t *testing.T) {
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.2 3 127.0.0.3 1\n only 2\n}", response("dogs.example.test.", dns.TypeA, dogs...))
	ctx, w := context.Background(), &test.ResponseWriter{}
	for _, tc := range []struct {
		qtype uint16
		want  float64
	}{{dns.TypeA, 1}, {dns.TypeMX, 0}, {dns.TypeSRV, 0}} {
		req := new(dns.Msg)
		req.SetQuestion("dogs.example.test.", tc.qtype)
		if got := testing.AllocsPerRun(50, func() { wt.ServeDNS(ctx, w, req) }); got != tc.want {
			t.Errorf("%s query: %v allocations, want %v", dns.TypeToString[tc.qtype], got, tc.want)
		}
	}
	wt.weights.Store(newTable(weightSpec{}))
	req := new(dns.Msg)
	req.SetQuestion("dogs.example.test.", dns.TypeA)
	if got := testing.AllocsPerRun(50, func() { wt.ServeDNS(ctx, w, req) }); got != 0 {
		t.Errorf("without any weights: %v allocations, want 0", got)
	}
}

// A signed RRset that `only` would not cut anyway (only N at least its size) is not counted
// as uncut.
func TestSignedRRsetWithinOnlyIsNotCounted(t *testing.T) {
	const name = "signedsmall.example.test."
	m := response(name, dns.TypeA, name+" 300 IN A 127.0.0.2", name+" 300 IN A 127.0.0.3",
		name+" 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl")
	wt := newWeighted(t, "weighted {\n weight signedsmall.example.test 127.0.0.3 5\n only 2\n}", m)
	before := counterValue(signedUncut.WithLabelValues(name))
	if got := answerStrings(serve(t, wt, name, dns.TypeA)); got != "127.0.0.3 127.0.0.2 c2lnbmF0dXJl" {
		t.Errorf("got %s", got)
	}
	if d := counterValue(signedUncut.WithLabelValues(name)) - before; d != 0 {
		t.Errorf("signed_uncut_total rose by %v, want 0: nothing was left uncut", d)
	}
}
