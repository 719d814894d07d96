package healthcheck

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

const filterCorefile = `healthcheck example.test {
    check web http port 8080
    name cats.example.test 127.0.0.2 127.0.0.3 backup 127.0.0.4 127.0.0.5
    name six.example.test ::2 ::3
    %s
}`

// newTestHC parses extra into the test configuration and publishes states, keyed by
// address, as the verdicts of the listed targets. Addresses not in states have no verdict.
func newTestHC(t testing.TB, extra string, states map[string]state) *HealthCheck {
	t.Helper()
	cfg, err := parse(caddy.NewTestController("dns", fmt.Sprintf(filterCorefile, extra)))
	if err != nil {
		t.Fatal(err)
	}
	hc := newHealthCheck(cfg)
	s := newSnapshot()
	for _, k := range hc.listed {
		if st, ok := states[k.addr.String()]; ok {
			s.set(k, verdict{state: st})
		}
	}
	hc.snap.Store(hc.withListed(s, drainSet{}))
	return hc
}

// servers numbers the server labels that serve gives each call, so that each call's
// counters start at zero.
var servers atomic.Int64

// serve sends a query for res's question through the plugin as production does (see
// through) and returns what the client gets and the outcome counted in the metrics
// (unchanged when none was).
func serve(t testing.TB, hc *HealthCheck, res *dns.Msg) (*dns.Msg, outcome) {
	t.Helper()
	label := fmt.Sprintf("dns://test-%d", servers.Add(1))
	out := through(t, hc, res, context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: label}))
	got := unchanged
	for o := outcomeFiltered; o < numOutcomes; o++ {
		c := answers.WithLabelValues(label, o.String())
		if o == outcomeSigned {
			c = dnssecPassed.WithLabelValues(label)
		}
		switch n := metricValue(c); {
		case n == 0:
		case n == 1 && got == unchanged:
			got = o
		default:
			t.Fatalf("one answer counted again as %s (%g)", o, n)
		}
	}
	return out, got
}

// through runs a query for res's question through ServeDNS: the plugin joins the query's
// shared writer, the backend below writes res, the plugin rewrites it on its way up. It
// returns what the client gets.
func through(t testing.TB, hc *HealthCheck, res *dns.Msg, ctx context.Context) *dns.Msg {
	t.Helper()
	h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, w.WriteMsg(res)
	})}
	req := new(dns.Msg)
	req.Question = append(req.Question, res.Question...)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(ctx, rec, req); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

func catsAnswer(qt uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("cats.example.test.", qt)
	m.Response, m.Authoritative = true, true
	for i := 2; i <= 5; i++ {
		m.Answer = append(m.Answer, test.A(fmt.Sprintf("cats.example.test. 300 IN A 127.0.0.%d", i)))
	}
	return m
}

func addrsTTL(m *dns.Msg) ([]string, []uint32) {
	var addrs []string
	var ttls []uint32
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			addrs, ttls = append(addrs, rr.A.String()), append(ttls, rr.Hdr.Ttl)
		case *dns.AAAA:
			addrs, ttls = append(addrs, rr.AAAA.String()), append(ttls, rr.Hdr.Ttl)
		}
	}
	return addrs, ttls
}

func TestFilterTiers(t *testing.T) {
	const up, down = stateUp, stateDown
	tests := []struct {
		name    string
		extra   string
		states  map[string]state
		want    []string
		ttl     uint32
		outcome outcome
	}{
		{"all up: backups held back, TTL capped", "", map[string]state{"127.0.0.2": up, "127.0.0.3": up, "127.0.0.4": up, "127.0.0.5": up},
			[]string{"127.0.0.2", "127.0.0.3"}, 10, unchanged},
		{"all up, ttl changed: zone TTL kept", "ttl 10 changed", map[string]state{"127.0.0.2": up, "127.0.0.3": up, "127.0.0.4": up, "127.0.0.5": up},
			[]string{"127.0.0.2", "127.0.0.3"}, 300, unchanged},
		{"one primary down", "", map[string]state{"127.0.0.2": up, "127.0.0.3": down, "127.0.0.4": up, "127.0.0.5": up},
			[]string{"127.0.0.2"}, 10, outcomeFiltered},
		{"primaries down: backups serve", "", map[string]state{"127.0.0.2": down, "127.0.0.3": down, "127.0.0.4": up, "127.0.0.5": up},
			[]string{"127.0.0.4", "127.0.0.5"}, 10, outcomeBackup},
		{"only healthy backups serve", "", map[string]state{"127.0.0.2": down, "127.0.0.3": down, "127.0.0.4": up, "127.0.0.5": down},
			[]string{"127.0.0.4"}, 10, outcomeBackup},
		{"all down: fail open", "", map[string]state{"127.0.0.2": down, "127.0.0.3": down, "127.0.0.4": down, "127.0.0.5": down},
			[]string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}, 10, outcomeAllDownOpen},
		{"all down: static answer", "all_down answer 192.0.2.1 2001:db8::1", map[string]state{"127.0.0.2": down, "127.0.0.3": down, "127.0.0.4": down, "127.0.0.5": down},
			[]string{"192.0.2.1"}, 10, outcomeAllDownAnswer},
		{"ttl cap configurable", "ttl 3", map[string]state{"127.0.0.2": up, "127.0.0.3": down},
			[]string{"127.0.0.2"}, 3, outcomeFiltered},
		{"no verdict yet counts as up", "ttl 10 changed", map[string]state{"127.0.0.2": stateUnknown, "127.0.0.3": stateUnknown},
			[]string{"127.0.0.2", "127.0.0.3"}, 300, unchanged},
		{"address without a prober counts as up", "ttl 10 changed", map[string]state{},
			[]string{"127.0.0.2", "127.0.0.3"}, 300, unchanged},
		{"one primary down, ttl changed", "ttl 4 changed", map[string]state{"127.0.0.2": up, "127.0.0.3": down},
			[]string{"127.0.0.2"}, 4, outcomeFiltered},
		{"unknown state follows the setting", "unknown down", map[string]state{"127.0.0.2": up, "127.0.0.3": stateUnknown},
			[]string{"127.0.0.2"}, 10, outcomeFiltered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hc := newTestHC(t, tc.extra, tc.states)
			res := catsAnswer(dns.TypeA)
			out, outcome := serve(t, hc, res)
			got, ttls := addrsTTL(out)
			if !slices.Equal(got, tc.want) {
				t.Errorf("answer %v, want %v", got, tc.want)
			}
			for _, ttl := range ttls {
				if ttl != tc.ttl {
					t.Errorf("TTL %d, want %d", ttl, tc.ttl)
				}
			}
			if outcome != tc.outcome {
				t.Errorf("outcome %s, want %s", outcome, tc.outcome)
			}
		})
	}
}

func TestFilterServfail(t *testing.T) {
	hc := newTestHC(t, "all_down servfail", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateDown})
	res := catsAnswer(dns.TypeA)
	res.Answer = res.Answer[:2]
	out, _ := serve(t, hc, res)
	if out.Rcode != dns.RcodeServerFailure || len(out.Answer) != 0 || out.Id != res.Id || out.Question[0] != res.Question[0] {
		t.Fatalf("got %v, want an empty SERVFAIL reply to the same question", out)
	}
}

func TestFilterAAAAAndStatic(t *testing.T) {
	hc := newTestHC(t, "all_down answer 192.0.2.1 2001:db8::1", map[string]state{"::2": stateUp, "::3": stateDown})
	m := new(dns.Msg)
	m.SetQuestion("six.example.test.", dns.TypeAAAA)
	m.Answer = []dns.RR{test.AAAA("six.example.test. 60 IN AAAA ::2"), test.AAAA("six.example.test. 60 IN AAAA ::3")}
	out, _ := serve(t, hc, m)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"::2"}) {
		t.Fatalf("AAAA answer %v, want [::2]", got)
	}

	hc = newTestHC(t, "all_down answer 192.0.2.1 2001:db8::1", map[string]state{"::2": stateDown, "::3": stateDown})
	out, _ = serve(t, hc, m)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"2001:db8::1"}) {
		t.Fatalf("static AAAA answer %v, want the static IPv6 address only", got)
	}
}

func TestFilterKeepsCNAMEChain(t *testing.T) {
	hc := newTestHC(t, "ttl 10 changed", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Question[0].Name = "www.example.test."
	res.Answer = append([]dns.RR{test.CNAME("www.example.test. 3600 IN CNAME cats.example.test.")}, res.Answer...)
	out, _ := serve(t, hc, res)
	if len(out.Answer) != 2 || out.Answer[0] != res.Answer[0] {
		t.Fatalf("answer %v, want the original CNAME then 127.0.0.3", out.Answer)
	}
	if out.Answer[0].Header().Ttl != 3600 {
		t.Errorf("CNAME TTL changed to %d", out.Answer[0].Header().Ttl)
	}
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Fatalf("addresses %v, want [127.0.0.3]", got)
	}
}

func TestFilterCaseInsensitiveOwner(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := new(dns.Msg)
	res.SetQuestion("CATS.Example.TEST.", dns.TypeA)
	res.Answer = []dns.RR{test.A("CATS.Example.TEST. 300 IN A 127.0.0.2"), test.A("CATS.Example.TEST. 300 IN A 127.0.0.3")}
	out, _ := serve(t, hc, res)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Fatalf("answer %v, want [127.0.0.3]", got)
	}
}

func TestFilterLargeAnswer(t *testing.T) {
	var addrs []string
	for i := 10; i < 40; i++ {
		addrs = append(addrs, fmt.Sprintf("127.0.1.%d", i))
	}
	cfg, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web tcp port 1\n name big.example.test "+
		strings.Join(addrs, " ")+"\n}"))
	if err != nil {
		t.Fatal(err)
	}
	hc := newHealthCheck(cfg)
	s := newSnapshot()
	res := new(dns.Msg)
	res.SetQuestion("big.example.test.", dns.TypeA)
	var want []string
	for i, k := range hc.listed {
		st := stateUp
		if i%3 == 0 {
			st = stateDown
		}
		s.set(k, verdict{state: st})
	}
	for _, a := range addrs {
		res.Answer = append(res.Answer, test.A("big.example.test. 5 IN A "+a))
		if v, _ := s.get(targetKey{netip.MustParseAddr(a), cfg.checks["web"]}); v.state == stateUp {
			want = append(want, a)
		}
	}
	hc.snap.Store(hc.withListed(s, drainSet{}))
	out, _ := serve(t, hc, res)
	if got, _ := addrsTTL(out); !slices.Equal(got, want) {
		t.Fatalf("answer %v, want %v", got, want)
	}
}

func TestFilterSignedPassesWhole(t *testing.T) {
	hc := newTestHC(t, "ttl 10 changed", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = append(res.Answer, test.RRSIG("cats.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl"))
	out, outcome := serve(t, hc, res)
	if out != res || outcome != outcomeSigned {
		t.Fatalf("signed answer was changed (outcome %s)", outcome)
	}
}

func TestFilterDiscoveryReportsUnknownAddresses(t *testing.T) {
	hc := newTestHC(t, "discover web", map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = append(res.Answer, test.A("cats.example.test. 300 IN A 127.0.0.8"), test.A("cats.example.test. 300 IN A 127.0.0.9"))
	serve(t, hc, res)
	var got []string
	for len(hc.found) > 0 {
		d := <-hc.found
		got = append(got, d.key.addr.String()+" "+d.owner)
	}
	want := []string{"127.0.0.8 cats.example.test.", "127.0.0.9 cats.example.test."} // the listed ones have probers
	if !slices.Equal(got, want) {
		t.Fatalf("discoveries %v, want %v", got, want)
	}
}

// TestServeDNSNeverMutates runs a filtering answer through ServeDNS and checks that the
// message and records the backend handed up are exactly as they were.
func TestServeDNSNeverMutates(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	before := res.Copy()
	h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		return dns.RcodeSuccess, w.WriteMsg(res)
	})}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	filtered := answers.WithLabelValues("", "filtered")
	before0 := metricValue(filtered)
	if _, err := h.ServeDNS(context.Background(), rec, res.Copy()); err != nil {
		t.Fatal(err)
	}
	if n := metricValue(filtered) - before0; n != 1 {
		t.Errorf("answers_total{outcome=filtered} grew by %g, want 1", n)
	}
	if got, _ := addrsTTL(rec.Msg); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Fatalf("answer %v, want [127.0.0.3]", got)
	}
	if res.String() != before.String() || len(res.Answer) != 4 {
		t.Fatalf("backend message changed:\n%s\nwas\n%s", res, before)
	}
}

func TestServeDNSPassThrough(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	nx := catsAnswer(dns.TypeA)
	nx.Rcode, nx.Answer = dns.RcodeNameError, nil
	empty := catsAnswer(dns.TypeA)
	empty.Answer = nil
	mx := catsAnswer(dns.TypeMX)
	mx.Answer = []dns.RR{test.MX("cats.example.test. 300 IN MX 10 mail.example.test.")}
	other := catsAnswer(dns.TypeA)
	other.Question[0].Name = "elsewhere.test."
	unlisted := new(dns.Msg)
	unlisted.SetQuestion("dogs.example.test.", dns.TypeA)
	unlisted.Answer = []dns.RR{test.A("dogs.example.test. 300 IN A 127.0.0.2"), test.A("dogs.example.test. 300 IN A 127.0.0.3")}
	noQuestion := catsAnswer(dns.TypeA)
	noQuestion.Question = nil
	axfr := catsAnswer(dns.TypeAXFR)

	for name, res := range map[string]*dns.Msg{"nxdomain": nx, "empty": empty, "mx": mx, "other zone": other,
		"unlisted name": unlisted, "no question": noQuestion, "axfr": axfr} {
		h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
			return dns.RcodeSuccess, w.WriteMsg(res)
		})}
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		req := new(dns.Msg)
		if len(res.Question) > 0 {
			req.SetQuestion(res.Question[0].Name, res.Question[0].Qtype)
		}
		if _, err := h.ServeDNS(context.Background(), rec, req); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rec.Msg != res {
			t.Errorf("%s: response was not passed through untouched", name)
		}
	}
}

// nilWriter records whether a nil message reached it.
type nilWriter struct {
	test.ResponseWriter
	gotNil bool
}

func (w *nilWriter) WriteMsg(m *dns.Msg) error {
	w.gotNil = m == nil
	return nil
}

// TestServeDNSNilResponse: a backend that writes no message at all gets an error back instead
// of a panic in the writer below, and nothing is written.
func TestServeDNSNilResponse(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown})
	h := &Handler{HealthCheck: hc, Next: test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, w.WriteMsg(nil)
	})}
	w := &nilWriter{}
	if _, err := h.ServeDNS(context.Background(), w, catsAnswer(dns.TypeA)); err == nil {
		t.Error("writing a nil message must be an error")
	}
	if w.gotNil {
		t.Error("the nil message reached the writer below")
	}
}

// TestFilterAliasKeyedByFinalOwner: an answer reached through an alias is judged by the rule
// of the name at the end of the CNAME chain (the shared rule of answer.Find), whatever the
// case the chain spells it in; a rule for the alias itself does not apply, and addresses of
// other owners stay as they are.
func TestFilterAliasKeyedByFinalOwner(t *testing.T) {
	// www's own line would make 127.0.0.3 a backup, serving alone: cats's rule must win.
	hc := newTestHC(t, "name www.example.test 127.0.0.2 backup 127.0.0.3", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := new(dns.Msg)
	res.SetQuestion("www.example.test.", dns.TypeA)
	res.Answer = []dns.RR{
		test.CNAME("www.example.test. 300 IN CNAME CATS.Example.test."),
		test.A("cats.EXAMPLE.test. 300 IN A 127.0.0.2"),
		test.A("cats.example.test. 300 IN A 127.0.0.3"),
		test.A("other.example.test. 300 IN A 127.0.0.2"),
	}
	out, outcome := serve(t, hc, res)
	want := []string{"www.example.test.\t10\tIN\tCNAME\tCATS.Example.test.", "cats.example.test.\t10\tIN\tA\t127.0.0.3",
		"other.example.test.\t300\tIN\tA\t127.0.0.2"}
	if got := answerStrings(out); !slices.Equal(got, want) || outcome != outcomeFiltered {
		t.Errorf("answer %q outcome %s, want %q filtered", got, outcome, want)
	}
}

// TestFilterUnfollowableChainPassesWhole: a CNAME loop, or a chain longer than answer.MaxChain,
// has no RRset the plugin acts on: the answer passes as it is, dead address and TTLs included.
func TestFilterUnfollowableChainPassesWhole(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	long := new(dns.Msg)
	long.SetQuestion("n0.example.test.", dns.TypeA)
	for i := range answer.MaxChain {
		long.Answer = append(long.Answer, test.CNAME(fmt.Sprintf("n%d.example.test. 300 IN CNAME n%d.example.test.", i, i+1)))
	}
	long.Answer = append(long.Answer, test.CNAME(fmt.Sprintf("n%d.example.test. 300 IN CNAME cats.example.test.", answer.MaxChain)),
		test.A("cats.example.test. 300 IN A 127.0.0.2"), test.A("cats.example.test. 300 IN A 127.0.0.3"))
	loop := new(dns.Msg)
	loop.SetQuestion("cats.example.test.", dns.TypeA)
	loop.Answer = []dns.RR{test.CNAME("cats.example.test. 300 IN CNAME www.example.test."), test.CNAME("www.example.test. 300 IN CNAME cats.example.test."),
		test.A("cats.example.test. 300 IN A 127.0.0.2"), test.A("cats.example.test. 300 IN A 127.0.0.3")}
	for name, res := range map[string]*dns.Msg{"too long": long, "loop": loop} {
		if out, outcome := serve(t, hc, res); out != res || outcome != unchanged {
			t.Errorf("%s: answer %q outcome %s, want it passed whole", name, answerStrings(out), outcome)
		}
	}
	// One link less is followed: the same answer is filtered.
	long.Answer = long.Answer[1:]
	long.Question[0].Name = "n1.example.test."
	if got, _ := addrsTTL(mustServe(t, hc, long)); !slices.Equal(got, []string{"127.0.0.3"}) {
		t.Errorf("a chain of answer.MaxChain links: addresses %v, want [127.0.0.3]", got)
	}
}

func mustServe(t *testing.T, hc *HealthCheck, res *dns.Msg) *dns.Msg {
	out, _ := serve(t, hc, res)
	return out
}

func answerStrings(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		out = append(out, rr.String())
	}
	return out
}

// TestServeDNSOtherTypeResponse: a response of another type written to an A query (a plugin
// below changed the question) is not the plugin's to filter: addresses are only read from
// A and AAAA records.
func TestServeDNSOtherTypeResponse(t *testing.T) {
	hc := newTestHC(t, "", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Question[0].Qtype = dns.TypeMX
	res.Answer = append(res.Answer, test.MX("cats.example.test. 300 IN MX 10 mail.example.test."))
	h := &Handler{HealthCheck: hc, Next: backend(res)}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if _, err := h.ServeDNS(context.Background(), rec, catsAnswer(dns.TypeA)); err != nil {
		t.Fatal(err)
	}
	if rec.Msg != res {
		t.Errorf("an MX response was changed: %q", answerStrings(rec.Msg))
	}
}

// TestFilterMoreBackupsThanPrimaries: a name line may list more backups than primaries; with
// its primary down, the backups that are up are answered.
func TestFilterMoreBackupsThanPrimaries(t *testing.T) {
	hc := newTestHC(t, "name dogs.example.test 127.0.0.6 backup 127.0.0.7 127.0.0.8 127.0.0.9",
		map[string]state{"127.0.0.6": stateDown, "127.0.0.7": stateUp, "127.0.0.8": stateDown, "127.0.0.9": stateUp})
	res := new(dns.Msg)
	res.SetQuestion("dogs.example.test.", dns.TypeA)
	res.Response = true
	for i := 6; i <= 9; i++ {
		res.Answer = append(res.Answer, test.A(fmt.Sprintf("dogs.example.test. 300 IN A 127.0.0.%d", i)))
	}
	out, outcome := serve(t, hc, res)
	if got, _ := addrsTTL(out); outcome != outcomeBackup || !slices.Equal(got, []string{"127.0.0.7", "127.0.0.9"}) {
		t.Errorf("answer %v (outcome %s), want the two backups that are up", got, outcome)
	}
}
