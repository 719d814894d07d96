package override

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// backend stands for the rest of the chain: it answers every A query with 192.0.2.1 and
// every other type with NOERROR and no answer.
func backend() test.HandlerFunc {
	return func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		if len(r.Question) == 1 && r.Question[0].Qtype == dns.TypeA {
			m.Answer = append(m.Answer, test.A(r.Question[0].Name+" 300 IN A 192.0.2.1"))
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	}
}

// testHandler is a Handler subscribed to a table of its own, as setup wires them.
type testHandler struct {
	*Handler
	tab *store.Table
}

var tester = store.Actor{Who: "tester", From: "127.0.0.1:1"}

// newTestTable opens a table on a fresh file store, as setup does.
func newTestTable(t testing.TB) *store.Table {
	t.Helper()
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab, err := store.Open(context.Background(), store.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func newTestHandler(t testing.TB, overrides ...store.Override) testHandler {
	t.Helper()
	tab := newTestTable(t)
	for _, o := range overrides {
		if _, err := tab.Create(context.Background(), tester, o); err != nil {
			t.Fatal(err)
		}
	}
	h := newHandler(defaultTTL)
	h.Next = backend()
	t.Cleanup(tab.Subscribe((*subscriber)(h)))
	return testHandler{Handler: h, tab: tab}
}

func serve(t testing.TB, h plugin.Handler, client, name string, qtype uint16) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{RemoteIP: client})
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if _, err := h.ServeDNS(context.Background(), rec, m); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

func TestServeDNS(t *testing.T) {
	h := newTestHandler(t,
		store.Override{ID: "v4", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true},
		store.Override{ID: "off", Name: "dogs.example.test", Addresses: []string{"127.0.0.9"}},
		store.Override{ID: "dual", Name: "dual.example.test", Addresses: []string{"127.0.0.4", "::4"}, Enabled: true},
		store.Override{ID: "wild", Name: "*.wild.example.test", Addresses: []string{"127.0.0.5"}, Enabled: true},
		store.Override{ID: "lan", Name: "lan.example.test", Addresses: []string{"127.0.0.6"}, Clients: []string{"10.240.0.0/16"}, Enabled: true},
		store.Override{ID: "wan", Name: "wan.example.test", Addresses: []string{"127.0.0.7"}, Clients: []string{"192.168.0.0/16"}, Enabled: true},
		store.Override{ID: "alias", Name: "alias.example.test", CNAME: "www.example.test", Enabled: true},
	)
	tests := []test.Case{
		{Qname: "cats.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("cats.example.test. 5 IN A 127.0.0.3")}},
		{Qname: "CaTs.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("CaTs.example.test. 5 IN A 127.0.0.3")}},
		// The override has no IPv6 address: NODATA, not the backend's answer.
		{Qname: "cats.example.test.", Qtype: dns.TypeAAAA},
		// Other types are not ours.
		{Qname: "cats.example.test.", Qtype: dns.TypeMX},
		{Qname: "dogs.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("dogs.example.test. 300 IN A 192.0.2.1")}},
		{Qname: "dual.example.test.", Qtype: dns.TypeAAAA, Answer: []dns.RR{test.AAAA("dual.example.test. 5 IN AAAA ::4")}},
		{Qname: "a.b.wild.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("a.b.wild.example.test. 5 IN A 127.0.0.5")}},
		{Qname: "wild.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("wild.example.test. 300 IN A 192.0.2.1")}},
		{Qname: "lan.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("lan.example.test. 5 IN A 127.0.0.6")}},
		{Qname: "wan.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{test.A("wan.example.test. 300 IN A 192.0.2.1")}},
		{Qname: "alias.example.test.", Qtype: dns.TypeA, Answer: []dns.RR{
			test.CNAME("alias.example.test. 5 IN CNAME www.example.test."),
			test.A("www.example.test. 300 IN A 192.0.2.1"),
		}},
	}
	for _, tc := range tests {
		resp := serve(t, h, "", tc.Qname, tc.Qtype)
		if err := test.SortAndCheck(resp, tc); err != nil {
			t.Errorf("%s %s: %v", tc.Qname, dns.TypeToString[tc.Qtype], err)
		}
	}
}

func TestServeDNSExpired(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "a", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}})
	if _, err := h.tab.Enable(context.Background(), tester, "a", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// The pin lasts a millisecond: poll until it has passed, without a sleep standing for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := serve(t, h, "", "cats.example.test.", dns.TypeA)
		if len(resp.Answer) == 1 && resp.Answer[0].(*dns.A).A.String() == "192.0.2.1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired override still answers: %v", resp.Answer)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestServeDNSDoesNotMutateRequest proves the query is left as it came: the server and the
// plugins above us may still hold it.
func TestServeDNSDoesNotMutateRequest(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "a", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true})
	m := new(dns.Msg)
	m.SetQuestion("cats.example.test.", dns.TypeA)
	before := m.Copy()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	h.ServeDNS(context.Background(), rec, m)
	if m.String() != before.String() {
		t.Errorf("request changed:\n%s\nwas\n%s", m, before)
	}
	// Two answers never share a record, so one reader changing its copy cannot touch another.
	r1, r2 := serve(t, h, "", "cats.example.test.", dns.TypeA), serve(t, h, "", "cats.example.test.", dns.TypeA)
	if r1.Answer[0] == r2.Answer[0] {
		t.Error("two answers share a record")
	}
}

func TestServeDNSOddQueries(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "a", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true})
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	m := new(dns.Msg) // no question at all
	if _, err := h.ServeDNS(context.Background(), rec, m); err != nil {
		t.Fatal(err)
	}
	m = new(dns.Msg)
	m.SetQuestion("cats.example.test.", dns.TypeA)
	m.Question[0].Qclass = dns.ClassCHAOS
	rec = dnstest.NewRecorder(&test.ResponseWriter{})
	h.ServeDNS(context.Background(), rec, m)
	if rec.Msg == nil || len(rec.Msg.Answer) != 1 || rec.Msg.Answer[0].(*dns.A).A.String() != "192.0.2.1" {
		t.Errorf("CHAOS query was answered by the override: %v", rec.Msg)
	}
}

// discard is a ResponseWriter that drops the reply, so that benchmarks measure the plugin.
type discard struct{ test.ResponseWriter }

func (discard) WriteMsg(*dns.Msg) error { return nil }

func benchHandler(b *testing.B) testHandler {
	h := newTestHandler(b,
		store.Override{ID: "s2", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.3"}, Enabled: true},
		store.Override{ID: "s3", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.4"}},
		store.Override{ID: "w", Name: "*.wild.example.test", Addresses: []string{"127.0.0.5"}, Enabled: true},
	)
	h.Next = test.HandlerFunc(func(context.Context, dns.ResponseWriter, *dns.Msg) (int, error) {
		return dns.RcodeSuccess, nil
	})
	return h
}

func benchServe(b *testing.B, name string) {
	h := benchHandler(b)
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	w := &discard{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, m)
	}
}

// BenchmarkMiss is a name nobody overrides while overrides are enabled: the lookup, and the
// shared answer writer joined for the alias stage (one allocation). BenchmarkAliasNoneEnabled
// is the path with none enabled (no allocation).
func BenchmarkMiss(b *testing.B) { benchServe(b, "dogs.example.test.") }

// BenchmarkMissUnderWildcardZone walks the labels looking for a wildcard, and still misses
// (then joins, as BenchmarkMiss).
func BenchmarkMissUnderWildcardZone(b *testing.B) { benchServe(b, "a.b.c.example.test.") }

// BenchmarkHit builds a pinned answer.
func BenchmarkHit(b *testing.B) { benchServe(b, "cats.example.test.") }

// BenchmarkHitWildcard builds a pinned answer found through a wildcard.
func BenchmarkHitWildcard(b *testing.B) { benchServe(b, "x.wild.example.test.") }

// BenchmarkBaselineNext is what any plugin pays to hand a query on (plugin.NextOrFailure);
// BenchmarkMiss minus this is the override plugin's own cost for a name it does not pin.
func BenchmarkBaselineNext(b *testing.B) {
	h := benchHandler(b)
	m := new(dns.Msg)
	m.SetQuestion("dogs.example.test.", dns.TypeA)
	w := &discard{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		plugin.NextOrFailure(h.Name(), h.Next, ctx, w, m)
	}
}

// BenchmarkMissLookup is the override plugin's own decision for a name it does not pin.
func BenchmarkMissLookup(b *testing.B) {
	h := benchHandler(b)
	b.ReportAllocs()
	for b.Loop() {
		if h.snap.Load().lookup("dogs.example.test.") != nil {
			b.Fatal("hit")
		}
	}
}

// TestServeDNSEchoesFlags: a pinned answer echoes the query's RD and CD flags, as SetReply
// does, and is authoritative.
func TestServeDNSEchoesFlags(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "a", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true})
	for _, flag := range []bool{true, false} {
		m := new(dns.Msg)
		m.SetQuestion("cats.example.test.", dns.TypeA)
		m.RecursionDesired, m.CheckingDisabled = flag, flag
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		h.ServeDNS(context.Background(), rec, m)
		if r := rec.Msg; r.RecursionDesired != flag || r.CheckingDisabled != flag || !r.Authoritative || r.Id != m.Id {
			t.Errorf("query RD=CD=%v: answer RD=%v CD=%v AA=%v id %d (query %d)", flag,
				r.RecursionDesired, r.CheckingDisabled, r.Authoritative, r.Id, m.Id)
		}
	}
}

// Deleting an override drops its answers_total series: a fleet that creates and deletes
// overrides must not grow the metric without bound.
func TestRemoveForgetsAnswerCounter(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "gone", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true})
	if m := serve(t, h, "", "cats.example.test.", dns.TypeA); len(m.Answer) != 1 {
		t.Fatalf("no pinned answer: %v", m)
	}
	if err := h.tab.Remove(context.Background(), tester, "gone"); err != nil {
		t.Fatal(err)
	}
	if answersServed.DeleteLabelValues("gone") {
		t.Error("answers_total of a deleted override is still exported")
	}
}
