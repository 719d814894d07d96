package override

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// cachedZone stands for file behind cache: it answers from records (zone-file lines) the way
// file does, following CNAMEs inside the zone, and hands out the very same message for the
// same question every time, as cache does, so that a test can check nobody changed it.
type cachedZone struct {
	records []dns.RR
	onlyDO  bool // RRSIGs only to a client that set the DO bit, as file does; else to all
	answers map[zoneQuery]*dns.Msg
	seen    dns.ResponseWriter // the writer of the last query
}

// zoneQuery keys the cached answers, as cache does: the question and the DO bit.
type zoneQuery struct {
	q  dns.Question
	do bool
}

func newCachedZone(t testing.TB, records ...string) *cachedZone {
	t.Helper()
	z := &cachedZone{answers: map[zoneQuery]*dns.Msg{}}
	for _, s := range records {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		z.records = append(z.records, rr)
	}
	return z
}

func (z *cachedZone) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	z.seen = w
	q := r.Question[0]
	q.Name = strings.ToLower(q.Name)
	opt := r.IsEdns0()
	key := zoneQuery{q, opt != nil && opt.Do()}
	m, ok := z.answers[key]
	if !ok {
		m = new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		name, visited := q.Name, map[string]bool{}
		for !visited[name] {
			visited[name] = true
			next := ""
			for _, rr := range z.records {
				h := rr.Header()
				if !strings.EqualFold(h.Name, name) || (h.Rrtype == dns.TypeRRSIG && z.onlyDO && !key.do) {
					continue
				}
				switch {
				case h.Rrtype == q.Qtype, h.Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == q.Qtype:
					m.Answer = append(m.Answer, rr)
				case h.Rrtype == dns.TypeCNAME:
					m.Answer = append(m.Answer, rr)
					next = rr.(*dns.CNAME).Target
				case h.Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == dns.TypeCNAME:
					m.Answer = append(m.Answer, rr)
				}
			}
			if next == "" {
				break
			}
			name = strings.ToLower(next)
		}
		z.answers[key] = m
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func (z *cachedZone) Name() string { return "cachedZone" }

// aliasZone: www and shop are aliases of cats, deep of a name under the wildcard, loop1 and
// loop2 point at each other, mail is an alias of dogs (never pinned), maint is the target of
// a cname override.
var aliasZone = []string{
	"www.example.test. 300 IN CNAME cats.example.test.",
	"shop.example.test. 300 IN CNAME www.example.test.",
	"cats.example.test. 300 IN A 192.0.2.1",
	"cats.example.test. 300 IN A 192.0.2.2",
	"cats.example.test. 300 IN A 192.0.2.3",
	"cats.example.test. 300 IN AAAA 2001:db8::1",
	"deep.example.test. 300 IN CNAME x.wild.example.test.",
	"x.wild.example.test. 300 IN A 192.0.2.7",
	"loop1.example.test. 300 IN CNAME loop2.example.test.",
	"loop2.example.test. 300 IN CNAME loop1.example.test.",
	"mail.example.test. 300 IN CNAME dogs.example.test.",
	"dogs.example.test. 300 IN A 192.0.2.9",
	"only4.example.test. 300 IN CNAME v4.example.test.",
	"v4.example.test. 300 IN A 192.0.2.4",
	"maint.example.test. 300 IN A 192.0.2.99",
	"signed.example.test. 300 IN CNAME sig.example.test.",
	"signed.example.test. 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 example.test. AAAA",
	"sig.example.test. 300 IN A 192.0.2.5",
	"sig.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 example.test. AAAA",
}

func aliasHandler(t testing.TB, overrides ...store.Override) (testHandler, *cachedZone) {
	t.Helper()
	h := newTestHandler(t, overrides...)
	z := newCachedZone(t, aliasZone...)
	h.Next = z
	return h, z
}

// records renders an answer section one record a line, TTLs included.
func records(rrs []dns.RR) string {
	var b strings.Builder
	for _, rr := range rrs {
		b.WriteString(strings.ReplaceAll(rr.String(), "\t", " "))
		b.WriteString("\n")
	}
	return b.String()
}

func checkAnswer(t *testing.T, what string, m *dns.Msg, want ...string) {
	t.Helper()
	if m == nil {
		t.Fatalf("%s: no response", what)
	}
	if m.Rcode != dns.RcodeSuccess {
		t.Errorf("%s: rcode %s", what, dns.RcodeToString[m.Rcode])
	}
	w := ""
	for _, s := range want {
		w += s + "\n"
	}
	if got := records(m.Answer); got != w {
		t.Errorf("%s: answer\n%swant\n%s", what, got, w)
	}
}

func TestAliasFollowsPin(t *testing.T) {
	h, _ := aliasHandler(t,
		store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true},
		store.Override{ID: "wild", Name: "*.wild.example.test", Addresses: []string{"127.0.0.5", "::5"}, Enabled: true},
	)
	served := counterValue(t, answersServed.WithLabelValues("s2"))
	checkAnswer(t, "direct", serve(t, h, "", "cats.example.test.", dns.TypeA),
		"cats.example.test. 5 IN A 127.0.0.3")
	checkAnswer(t, "alias", serve(t, h, "", "www.example.test.", dns.TypeA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN A 127.0.0.3")
	checkAnswer(t, "alias of an alias", serve(t, h, "", "shop.example.test.", dns.TypeA),
		"shop.example.test. 300 IN CNAME www.example.test.",
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN A 127.0.0.3")
	checkAnswer(t, "alias in another case", serve(t, h, "", "WWW.Example.Test.", dns.TypeA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN A 127.0.0.3")
	checkAnswer(t, "alias to a name under a wildcard", serve(t, h, "", "deep.example.test.", dns.TypeA),
		"deep.example.test. 300 IN CNAME x.wild.example.test.",
		"x.wild.example.test. 5 IN A 127.0.0.5")
	checkAnswer(t, "alias to a wildcard, the other family", serve(t, h, "", "deep.example.test.", dns.TypeAAAA),
		"deep.example.test. 300 IN CNAME x.wild.example.test.",
		"x.wild.example.test. 5 IN AAAA ::5")
	checkAnswer(t, "alias of a name nobody pins", serve(t, h, "", "mail.example.test.", dns.TypeA),
		"mail.example.test. 300 IN CNAME dogs.example.test.",
		"dogs.example.test. 300 IN A 192.0.2.9")
	if got := counterValue(t, answersServed.WithLabelValues("s2")) - served; got != 4 {
		t.Errorf("answers counted for s2: %v, want 4 (one direct, three through aliases)", got)
	}
}

// TestAliasOtherFamilyNoData: a pin without an address of the query's family leaves the
// alias's CNAMEs and no address, as a direct query gets NODATA.
func TestAliasOtherFamilyNoData(t *testing.T) {
	h, _ := aliasHandler(t,
		store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true},
		store.Override{ID: "v6", Name: "v4.example.test", Addresses: []string{"::4"}, Enabled: true},
	)
	checkAnswer(t, "AAAA through the alias", serve(t, h, "", "www.example.test.", dns.TypeAAAA),
		"www.example.test. 300 IN CNAME cats.example.test.")
	// The zone has no AAAA for v4: the pin's AAAA takes the empty RRset's place.
	checkAnswer(t, "AAAA of a name with none in the zone", serve(t, h, "", "only4.example.test.", dns.TypeAAAA),
		"only4.example.test. 300 IN CNAME v4.example.test.",
		"v4.example.test. 5 IN AAAA ::4")
	checkAnswer(t, "A of an IPv6-only pin", serve(t, h, "", "only4.example.test.", dns.TypeA),
		"only4.example.test. 300 IN CNAME v4.example.test.")
}

func TestAliasScopedPin(t *testing.T) {
	h, _ := aliasHandler(t,
		store.Override{ID: "lan", Name: "cats.example.test", Addresses: []string{"127.0.0.6"}, Clients: []string{"10.240.0.0/16"}, Enabled: true},
	)
	checkAnswer(t, "client in the scope", serve(t, h, "10.240.1.1", "www.example.test.", dns.TypeA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN A 127.0.0.6")
	checkAnswer(t, "another client", serve(t, h, "192.0.2.200", "www.example.test.", dns.TypeA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 300 IN A 192.0.2.1",
		"cats.example.test. 300 IN A 192.0.2.2",
		"cats.example.test. 300 IN A 192.0.2.3")
}

func TestAliasExpiredPin(t *testing.T) {
	h, _ := aliasHandler(t, store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}})
	if _, err := h.tab.Enable(context.Background(), tester, "s2", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := serve(t, h, "", "www.example.test.", dns.TypeA)
		if len(m.Answer) == 4 {
			break // the zone's answer: the pin has expired
		}
		if time.Now().After(deadline) {
			t.Fatalf("an expired pin still answers through the alias:\n%s", records(m.Answer))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAliasCNAMEPin: a cname override reached through an alias answers as it does directly:
// its CNAME, then what the rest of the chain answers for the target.
func TestAliasCNAMEPin(t *testing.T) {
	h, _ := aliasHandler(t,
		store.Override{ID: "maint", Name: "cats.example.test", CNAME: "maint.example.test", Enabled: true},
	)
	checkAnswer(t, "direct", serve(t, h, "", "cats.example.test.", dns.TypeA),
		"cats.example.test. 5 IN CNAME maint.example.test.",
		"maint.example.test. 300 IN A 192.0.2.99")
	checkAnswer(t, "alias", serve(t, h, "", "www.example.test.", dns.TypeA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN CNAME maint.example.test.",
		"maint.example.test. 300 IN A 192.0.2.99")
}

// TestAliasSignedSet: the signature over the replaced RRset goes with it (it would not
// verify); the CNAME's signature stays; the answer is not marked authenticated.
func TestAliasSignedSet(t *testing.T) {
	h, z := aliasHandler(t, store.Override{ID: "s", Name: "sig.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	m := new(dns.Msg)
	m.SetQuestion("signed.example.test.", dns.TypeA)
	first := dnstest.NewRecorder(&test.ResponseWriter{})
	z.ServeDNS(context.Background(), first, m) // warm the "cache"
	z.answers[zoneQuery{m.Question[0], false}].AuthenticatedData = true
	resp := serve(t, h, "", "signed.example.test.", dns.TypeA)
	checkAnswer(t, "signed", resp,
		"signed.example.test. 300 IN CNAME sig.example.test.",
		"signed.example.test. 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 example.test. AAAA",
		"sig.example.test. 5 IN A 127.0.0.8")
	if resp.AuthenticatedData {
		t.Error("an answer with pinned records is marked authenticated")
	}
}

func TestAliasLoopPassesWhole(t *testing.T) {
	h, _ := aliasHandler(t, store.Override{ID: "l", Name: "loop2.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	checkAnswer(t, "loop", serve(t, h, "", "loop1.example.test.", dns.TypeA),
		"loop1.example.test. 300 IN CNAME loop2.example.test.",
		"loop2.example.test. 300 IN CNAME loop1.example.test.")
}

// TestAliasLeavesCachedMessage: the message the zone (cache) hands out and its records stay
// as they were, however often a pin replaces its RRset.
func TestAliasLeavesCachedMessage(t *testing.T) {
	h, z := aliasHandler(t, store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3", "::3"}, Enabled: true})
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		serve(t, h, "", "www.example.test.", qtype) // fills the "cache"
		cached := z.answers[zoneQuery{dns.Question{Name: "www.example.test.", Qtype: qtype, Qclass: dns.ClassINET}, false}]
		before, rrs := cached.String(), append([]dns.RR(nil), cached.Answer...)
		var answers []*dns.Msg
		for range 3 {
			answers = append(answers, serve(t, h, "", "www.example.test.", qtype))
		}
		if cached.String() != before {
			t.Errorf("%s: the cached message changed:\n%s\nwas\n%s", dns.TypeToString[qtype], cached, before)
		}
		for i, rr := range rrs {
			if cached.Answer[i] != rr {
				t.Errorf("%s: cached record %d replaced", dns.TypeToString[qtype], i)
			}
		}
		if answers[0].Answer[1] == answers[1].Answer[1] {
			t.Errorf("%s: two answers share a pinned record", dns.TypeToString[qtype])
		}
	}
}

// TestAliasStageOnlyWhileEnabled: with no override enabled the next plugin gets the query's
// own writer; with one, the shared answer writer.
func TestAliasStageOnlyWhileEnabled(t *testing.T) {
	h, z := aliasHandler(t, store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}})
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	h.ServeDNS(context.Background(), rec, m)
	if z.seen != rec {
		t.Errorf("no override enabled: the next plugin got %T, want the query's writer", z.seen)
	}
	if _, err := h.tab.Enable(context.Background(), tester, "s2", 0); err != nil {
		t.Fatal(err)
	}
	h.ServeDNS(context.Background(), rec, m)
	if _, ok := z.seen.(*answer.Writer); !ok {
		t.Errorf("an override enabled: the next plugin got %T, want *answer.Writer", z.seen)
	}
	m.SetQuestion("www.example.test.", dns.TypeMX)
	h.ServeDNS(context.Background(), rec, m)
	if z.seen != rec {
		t.Errorf("MX query: the next plugin got %T, want the query's writer", z.seen)
	}
}

// udpDiscard drops the reply and gives its client address as CoreDNS's UDP writer does: one
// address, made once.
type udpDiscard struct {
	discard
	addr *net.UDPAddr
}

func (w *udpDiscard) RemoteAddr() net.Addr { return w.addr }

// aliasBench serves qname from a prebuilt, cached answer to a writer that drops it.
func aliasBench(b *testing.B, qname string, overrides ...store.Override) {
	h, z := aliasHandler(b, overrides...)
	m := new(dns.Msg)
	m.SetQuestion(qname, dns.TypeA)
	w := &udpDiscard{addr: &net.UDPAddr{IP: net.ParseIP("10.240.0.1"), Port: 53000}}
	z.ServeDNS(context.Background(), w, m) // warm the "cache"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeDNS(ctx, w, m)
	}
}

var benchPins = []store.Override{
	{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true},
	{ID: "s3", Name: "cats.example.test", Addresses: []string{"127.0.0.4"}},
}

// BenchmarkAliasBaseline is the cached answer with the next plugin alone: what the
// benchmarks below cost over.
func BenchmarkAliasBaseline(b *testing.B) {
	z := newCachedZone(b, aliasZone...)
	m := new(dns.Msg)
	m.SetQuestion("mail.example.test.", dns.TypeA)
	w := &discard{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		z.ServeDNS(ctx, w, m)
	}
}

// BenchmarkAliasNoneEnabled: no override enabled, the query passes with no wrapper (0 allocs).
func BenchmarkAliasNoneEnabled(b *testing.B) {
	aliasBench(b, "mail.example.test.", store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}})
}

// BenchmarkAliasEnabledNotMatching: one override enabled, the answer's chain ends elsewhere:
// the shared writer (1 alloc) and a lookup of the final owner.
func BenchmarkAliasEnabledNotMatching(b *testing.B) {
	aliasBench(b, "mail.example.test.", benchPins...)
}

// BenchmarkAliasHitDirect: the query name is pinned; the answer is built here (1 alloc).
func BenchmarkAliasHitDirect(b *testing.B) { aliasBench(b, "cats.example.test.", benchPins...) }

// BenchmarkAliasHit: the chain ends at a pinned name: the shared writer is the one allocation;
// the copy and the pinned record come from its inline room.
func BenchmarkAliasHit(b *testing.B) { aliasBench(b, "www.example.test.", benchPins...) }

// BenchmarkAliasHitScoped: with a client-scoped pin enabled, the stage carries the writer
// (one more allocation).
func BenchmarkAliasHitScoped(b *testing.B) {
	aliasBench(b, "www.example.test.", store.Override{ID: "lan", Name: "cats.example.test",
		Addresses: []string{"127.0.0.3"}, Clients: []string{"10.240.0.0/16"}, Enabled: true})
}

// FuzzAliasStage writes any response through the alias stage (pins of every kind enabled):
// it must not panic and must leave the response it was given as it was.
func FuzzAliasStage(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"www.example.test.", dns.TypeA}, {"WWW.example.test.", dns.TypeAAAA}, {"deep.example.test.", dns.TypeA},
		{"loop1.example.test.", dns.TypeA}, {"signed.example.test.", dns.TypeA}, {"shop.example.test.", dns.TypeA}} {
		z := newCachedZone(f, aliasZone...)
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		z.ServeDNS(context.Background(), rec, m)
		packed, err := rec.Msg.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(packed)
	}
	h, _ := aliasHandler(f,
		store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3", "::3"}, Enabled: true},
		store.Override{ID: "wild", Name: "*.wild.example.test", Addresses: []string{"127.0.0.5"}, Enabled: true},
		store.Override{ID: "lan", Name: "sig.example.test", Addresses: []string{"127.0.0.6"}, Clients: []string{"10.240.0.0/16"}, Enabled: true},
		store.Override{ID: "maint", Name: "dogs.example.test", CNAME: "maint.example.test", Enabled: true},
	)
	f.Fuzz(func(t *testing.T, packed []byte) {
		in := new(dns.Msg)
		if in.Unpack(packed) != nil {
			return
		}
		before := in.String()
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		w := answer.Join(context.Background(), rec, (*aliasStage)(h.Handler))
		if err := w.WriteMsg(in); err != nil {
			t.Fatal(err)
		}
		if in.String() != before {
			t.Fatalf("the response changed:\n%s\nwas\n%s", in, before)
		}
	})
}

// chainZone is a zone where n0 … n<links> form a CNAME chain whose end has an AAAA record
// and no A record.
func chainZone(links int) []string {
	var zone []string
	for i := range links {
		zone = append(zone, fmt.Sprintf("n%d.example.test. 300 IN CNAME n%d.example.test.", i, i+1))
	}
	return append(zone, fmt.Sprintf("n%d.example.test. 300 IN AAAA 2001:db8::1", links))
}

// TestAliasChainBound: the end of a chain with no record of the query type is followed as far
// as answer.MaxChain links, as every steerdns plugin follows a chain, and no further.
func TestAliasChainBound(t *testing.T) {
	for _, links := range []int{answer.MaxChain, answer.MaxChain + 1} {
		end := fmt.Sprintf("n%d.example.test", links)
		h := newTestHandler(t, store.Override{ID: fmt.Sprint("end", links), Name: end, Addresses: []string{"127.0.0.8"}, Enabled: true})
		h.Next = newCachedZone(t, chainZone(links)...)
		m := serve(t, h, "", "n0.example.test.", dns.TypeA)
		pinned := len(m.Answer) == links+1 && m.Answer[links].Header().Rrtype == dns.TypeA
		if want := links <= answer.MaxChain; pinned != want {
			t.Errorf("%d links: pinned %v, want %v:\n%s", links, pinned, want, records(m.Answer))
		}
	}
}

// TestAliasPinnedInPlace: the pinned records take the place of the RRset they replace, also
// in an answer that lists the CNAME after the addresses.
func TestAliasPinnedInPlace(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "s2", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true})
	h.Next = test.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{
			test.A("cats.example.test. 300 IN A 192.0.2.1"),
			test.A("cats.example.test. 300 IN A 192.0.2.2"),
			test.CNAME("www.example.test. 300 IN CNAME cats.example.test."),
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	checkAnswer(t, "CNAME last", serve(t, h, "", "www.example.test.", dns.TypeA),
		"cats.example.test. 5 IN A 127.0.0.3",
		"www.example.test. 300 IN CNAME cats.example.test.")
}

// TestAliasSeveralAddresses: a pin with several addresses of a family puts all of them, in
// its order, where the RRset was.
func TestAliasSeveralAddresses(t *testing.T) {
	h, _ := aliasHandler(t, store.Override{ID: "two", Name: "cats.example.test",
		Addresses: []string{"127.0.0.3", "127.0.0.4", "::3", "::4"}, Enabled: true})
	checkAnswer(t, "A", serve(t, h, "", "www.example.test.", dns.TypeA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN A 127.0.0.3",
		"cats.example.test. 5 IN A 127.0.0.4")
	checkAnswer(t, "AAAA", serve(t, h, "", "www.example.test.", dns.TypeAAAA),
		"www.example.test. 300 IN CNAME cats.example.test.",
		"cats.example.test. 5 IN AAAA ::3",
		"cats.example.test. 5 IN AAAA ::4")
}

// TestLookupFewWildcards: up to maxSuffixScan wildcards are found by suffix, the closest
// enclosing one first, whatever the order they were created in.
func TestLookupFewWildcards(t *testing.T) {
	st := store.State{}
	for i := range maxSuffixScan - 1 {
		st.Overrides = append(st.Overrides, store.Override{ID: fmt.Sprint("w", i), Name: fmt.Sprintf("*.zone%d.example.test.", i),
			Group: fmt.Sprint("g", i), Addresses: []string{"10.0.0.1"}, Enabled: true})
	}
	st.Overrides = append(st.Overrides,
		store.Override{ID: "outer", Name: "*.example.test.", Group: "outer", Addresses: []string{"10.0.0.2"}, Enabled: true})
	s := newSnapshot(st)
	if len(s.wild) != maxSuffixScan {
		t.Fatalf("%d wildcards, want %d", len(s.wild), maxSuffixScan)
	}
	for name, want := range map[string]string{
		"a.zone0.example.test.": "w0", "a.b.zone6.example.test.": "w6", "a.example.test.": "outer",
		"zone3.example.test.": "outer",
	} {
		if pins := s.lookup(name); pins == nil || pins[0].id != want {
			t.Errorf("lookup(%q) = %v, want %s", name, pins, want)
		}
	}
}
