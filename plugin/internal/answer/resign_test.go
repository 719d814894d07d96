package answer_test

import (
	"context"
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/sign"
)

// zoneKey writes a fresh ECDSA key of example.test. and returns the real signer of it (from a
// `key file` line, as the plugins read it) and its public half.
func zoneKey(t testing.TB) (*sign.Signer, *dns.DNSKEY) {
	s, pubs := zoneKeys(t, 1)
	return s, pubs[0]
}

// zoneKeys is zoneKey with n keys, as during a key rollover: each RRset gets n RRSIGs.
func zoneKeys(t testing.TB, n int) (*sign.Signer, []*dns.DNSKEY) {
	t.Helper()
	dir := t.TempDir()
	line := "key file"
	var pubs []*dns.DNSKEY
	for range n {
		k := &dns.DNSKEY{
			Hdr:   dns.RR_Header{Name: "example.test.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
			Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
		}
		priv, err := k.Generate(256)
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, fmt.Sprintf("Kexample.test.+013+%05d", k.KeyTag()))
		if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv.(crypto.PrivateKey))), 0o600); err != nil {
			t.Fatal(err)
		}
		line += " " + base
		pubs = append(pubs, k)
	}
	c := caddy.NewTestController("dns", line)
	c.Next()
	var ks sign.Keys
	if err := ks.Parse(c); err != nil {
		t.Fatal(err)
	}
	s, err := ks.Signer(answer.NewZones([]string{"example.test."}))
	if err != nil {
		t.Fatal(err)
	}
	return s, pubs
}

// cut is a stage that removes the first record of the RRset, as health does to a dead
// address, and asks for the set to be signed again.
type cut struct{ s answer.Signer }

func (c *cut) Rewrite(r *answer.Response) {
	set, ok := r.RRset()
	if !ok {
		return
	}
	a := r.Edit()
	r.SetAnswer(append(a[:set.First], a[set.First+1:]...))
	r.Resign(c.s, set.Owner, set.Type)
}

const oldSig = "cats.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 example.test. AAAA"

// signedResponse is www CNAME cats, cats with three addresses; both RRsets carry an RRSIG
// (the CNAME's is kept as it came: nothing changes the CNAME).
func signedResponse() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion("www.example.test.", dns.TypeA)
	m.Response = true
	m.Answer = []dns.RR{
		test.CNAME("www.example.test. 300 IN CNAME cats.example.test."),
		test.RRSIG("www.example.test. 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 example.test. AAAA"),
		test.A("cats.example.test. 250 IN A 192.0.2.1"),
		test.A("cats.example.test. 250 IN A 192.0.2.2"),
		test.A("cats.example.test. 250 IN A 192.0.2.3"),
		test.RRSIG(oldSig),
	}
	return m
}

// sigsOver returns the RRSIGs of m's answer over owner's records of type t.
func sigsOver(m *dns.Msg, owner string, t uint16) []*dns.RRSIG {
	var sigs []*dns.RRSIG
	for _, rr := range m.Answer {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == t && sig.Hdr.Name == owner {
			sigs = append(sigs, sig)
		}
	}
	return sigs
}

func records(m *dns.Msg, owner string, t uint16) []dns.RR {
	var rrs []dns.RR
	for _, rr := range m.Answer {
		if h := rr.Header(); h.Rrtype == t && h.Name == owner {
			rrs = append(rrs, rr)
		}
	}
	return rrs
}

func TestResignAfterCut(t *testing.T) {
	s, pub := zoneKey(t)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := answer.Join(context.Background(), rec, &cut{s})
	in := signedResponse()
	before := in.String()
	if err := w.WriteMsg(in); err != nil {
		t.Fatal(err)
	}
	if in.String() != before {
		t.Errorf("the backend's message changed:\n%s", in)
	}
	got := rec.Msg
	addrs := records(got, "cats.example.test.", dns.TypeA)
	if len(addrs) != 2 {
		t.Fatalf("answer %v, want two addresses", got.Answer)
	}
	sigs := sigsOver(got, "cats.example.test.", dns.TypeA)
	if len(sigs) != 1 {
		t.Fatalf("%d RRSIGs over the cut set, want the new one only: %v", len(sigs), got.Answer)
	}
	if err := sigs[0].Verify(pub, addrs); err != nil {
		t.Errorf("the new RRSIG does not verify: %v", err)
	}
	if !sigs[0].ValidityPeriod(time.Now()) {
		t.Errorf("the new RRSIG is not valid now: %v", sigs[0])
	}
	// The original TTL is the zone's, from the old RRSIG; the RRSIG's own TTL is the set's.
	if sigs[0].OrigTtl != 300 || sigs[0].Hdr.Ttl != 250 {
		t.Errorf("RRSIG original TTL %d and TTL %d, want 300 and 250", sigs[0].OrigTtl, sigs[0].Hdr.Ttl)
	}
	// It takes the old RRSIG's place; the CNAME and its signature are as they came.
	if got.Answer[len(got.Answer)-1] != dns.RR(sigs[0]) {
		t.Errorf("the new RRSIG is not where the old one was: %v", got.Answer)
	}
	if got.Answer[0] != in.Answer[0] || got.Answer[1] != in.Answer[1] {
		t.Errorf("the CNAME or its RRSIG changed: %v", got.Answer[:2])
	}
}

// Three stages change one set: it is signed once, after the last of them, over what the
// last one left.
func TestResignOnceForSeveralStages(t *testing.T) {
	s, pub := zoneKey(t)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := answer.Join(context.Background(), rec, &cut{s})
	w = answer.Join(context.Background(), w, &cut{s})
	before := s.Signings("example.test.")
	if err := w.WriteMsg(signedResponse()); err != nil {
		t.Fatal(err)
	}
	if n := s.Signings("example.test.") - before; n != 1 {
		t.Errorf("%d signings for two stages, want 1", n)
	}
	addrs := records(rec.Msg, "cats.example.test.", dns.TypeA)
	sigs := sigsOver(rec.Msg, "cats.example.test.", dns.TypeA)
	if len(addrs) != 1 || len(sigs) != 1 {
		t.Fatalf("answer %v, want one address and one RRSIG", rec.Msg.Answer)
	}
	if err := sigs[0].Verify(pub, addrs); err != nil {
		t.Errorf("the RRSIG does not verify: %v", err)
	}
	// The same answer again: the signature comes from the cache.
	w = answer.Join(context.Background(), dnstest.NewRecorder(&test.ResponseWriter{}), &cut{s})
	w = answer.Join(context.Background(), w, &cut{s})
	w.WriteMsg(signedResponse())
	if n := s.Signings("example.test.") - before; n != 1 {
		t.Errorf("%d signings after the same answer twice, want 1", n)
	}
}

// A set the signer has no key for cannot be signed again: the backend's answer is written
// whole, which validates, rather than a cut one that would not.
func TestResignFailureWritesOriginal(t *testing.T) {
	s, _ := zoneKey(t)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := answer.Join(context.Background(), rec, &cut{s})
	in := signedResponse()
	for _, rr := range in.Answer {
		rr.Header().Name = "other.test."
	}
	in.Answer[0].(*dns.CNAME).Target = "other.test."
	in.Question[0].Name = "other.test."
	if err := w.WriteMsg(in); err != nil {
		t.Fatal(err)
	}
	if rec.Msg != in {
		t.Errorf("got %v, want the backend's message as it came", rec.Msg)
	}
}

// replace is a stage that puts new records in place of the set and of its signatures, as a
// pin does, and asks for them to be signed.
type replace struct {
	s     answer.Signer
	addrs []string
}

func (p replace) Rewrite(r *answer.Response) {
	set, _ := r.RRset()
	a := r.Edit()
	out := a[:0]
	for _, rr := range a {
		if set.Member(rr) || rr.Header().Rrtype == dns.TypeRRSIG && rr.Header().Name == set.Owner {
			continue
		}
		out = append(out, rr)
	}
	for _, addr := range p.addrs {
		out = append(out, test.A("cats.example.test. 5 IN A "+addr))
	}
	r.SetAnswer(out)
	r.Resign(p.s, set.Owner, set.Type)
}

// A set new to the answer has no old RRSIG: its own TTL is the original TTL, and the RRSIG
// follows it. A set removed entirely takes its signatures with it.
func TestResignNewAndEmptySets(t *testing.T) {
	s, pub := zoneKey(t)
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	w := answer.Join(context.Background(), rec, replace{s, []string{"198.51.100.7"}})
	w.WriteMsg(signedResponse())
	addrs := records(rec.Msg, "cats.example.test.", dns.TypeA)
	sigs := sigsOver(rec.Msg, "cats.example.test.", dns.TypeA)
	if len(addrs) != 1 || len(sigs) != 1 {
		t.Fatalf("answer %v, want the pinned address and one RRSIG", rec.Msg.Answer)
	}
	if err := sigs[0].Verify(pub, addrs); err != nil || sigs[0].OrigTtl != 5 || sigs[0].Hdr.Ttl != 5 {
		t.Errorf("RRSIG %v: %v, want one over the new set with TTLs 5", sigs[0], err)
	}
	if last := rec.Msg.Answer[len(rec.Msg.Answer)-1]; last != dns.RR(sigs[0]) {
		t.Errorf("the RRSIG does not follow the set: %v", rec.Msg.Answer)
	}

	rec = dnstest.NewRecorder(&test.ResponseWriter{})
	w = answer.Join(context.Background(), rec, replace{s, nil})
	w.WriteMsg(signedResponse())
	if len(rec.Msg.Answer) != 2 || len(sigsOver(rec.Msg, "cats.example.test.", dns.TypeA)) != 0 {
		t.Errorf("answer %v, want the CNAME and its RRSIG only", rec.Msg.Answer)
	}
}

// A set signed again from the cache costs the shared writer and the room for signing, no
// more, with two keys too (a rollover).
func TestResignAllocations(t *testing.T) {
	s, _ := zoneKeys(t, 2)
	in := signedResponse()
	rw := &test.ResponseWriter{}
	stage := &cut{s}
	if got := testing.AllocsPerRun(50, func() { answer.Join(context.Background(), rw, stage).WriteMsg(in) }); got != 2 {
		t.Errorf("%v allocations, want 2", got)
	}
}

// BenchmarkWriterResignCached is the steady state of a health-cut signed answer: one cut,
// one signature from the cache, two allocations: the shared writer, and the room for signing.
func BenchmarkWriterResignCached(b *testing.B) {
	s, _ := zoneKey(b)
	in := signedResponse()
	rw := &test.ResponseWriter{}
	stage := &cut{s}
	b.ReportAllocs()
	for b.Loop() {
		w := answer.Join(context.Background(), rw, stage)
		w.WriteMsg(in)
	}
}

// marks is a stage that cuts nothing and asks for the RRsets of the given owners and types to
// be signed again.
type marks struct {
	s     answer.Signer
	names []string
	types []uint16
}

func (m *marks) Rewrite(r *answer.Response) {
	r.Edit()
	for i := range m.names {
		r.Resign(m.s, m.names[i], m.types[i])
	}
}

// Each RRset marked is signed; one marked twice is signed once; marks past the room (one
// RRset per stage) are dropped, not a crash.
func TestResignSeveralSets(t *testing.T) {
	s, pub := zoneKey(t)
	in := new(dns.Msg)
	in.SetQuestion("cats.example.test.", dns.TypeA)
	in.Answer = []dns.RR{
		test.A("cats.example.test. 300 IN A 192.0.2.1"),
		test.RRSIG(oldSig),
		test.AAAA("cats.example.test. 300 IN AAAA 2001:db8::1"),
		test.RRSIG("cats.example.test. 300 IN RRSIG AAAA 13 3 300 20300101000000 20200101000000 1 example.test. AAAA"),
	}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	st := &marks{s: s,
		names: []string{"cats.example.test.", "CATS.example.test.", "cats.example.test.", "a.example.test.", "b.example.test.", "c.example.test."},
		types: []uint16{dns.TypeA, dns.TypeA, dns.TypeAAAA, dns.TypeA, dns.TypeA, dns.TypeA}}
	before := s.Signings("example.test.")
	if err := answer.Join(context.Background(), rec, st).WriteMsg(in); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []uint16{dns.TypeA, dns.TypeAAAA} {
		sigs := sigsOver(rec.Msg, "cats.example.test.", typ)
		if len(sigs) != 1 {
			t.Fatalf("%d RRSIGs over %s, want 1: %v", len(sigs), dns.TypeToString[typ], rec.Msg.Answer)
		}
		if err := sigs[0].Verify(pub, records(rec.Msg, "cats.example.test.", typ)); err != nil {
			t.Errorf("%s: %v", dns.TypeToString[typ], err)
		}
	}
	if n := s.Signings("example.test.") - before; n != 2 {
		t.Errorf("%d signings, want 2 (A once, AAAA once)", n)
	}
}

// Signatures in front of the set: the new ones take the first one's place, with its original
// TTL; with three keys (past the response's room for two), all follow each other there, and
// each verifies.
func TestResignInPlaceThreeKeys(t *testing.T) {
	s, pubs := zoneKeys(t, 3)
	in := new(dns.Msg)
	in.SetQuestion("cats.example.test.", dns.TypeA)
	in.Answer = []dns.RR{
		test.RRSIG(oldSig), // original TTL 300
		test.RRSIG("cats.example.test. 300 IN RRSIG A 13 3 600 20300101000000 20200101000000 2 example.test. AAAA"),
		test.A("cats.example.test. 250 IN A 192.0.2.1"),
		test.A("cats.example.test. 250 IN A 192.0.2.2"),
		test.A("cats.example.test. 250 IN A 192.0.2.3"),
	}
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	if err := answer.Join(context.Background(), rec, &cut{s}).WriteMsg(in); err != nil {
		t.Fatal(err)
	}
	got := rec.Msg.Answer
	if len(got) != 5 {
		t.Fatalf("answer %v, want three RRSIGs and two addresses", got)
	}
	addrs := records(rec.Msg, "cats.example.test.", dns.TypeA)
	for i, pub := range pubs {
		sig, ok := got[i].(*dns.RRSIG)
		if !ok {
			t.Fatalf("answer[%d] = %v, want a new RRSIG in the old ones' place", i, got[i])
		}
		if sig.OrigTtl != 300 || sig.Hdr.Ttl != 250 {
			t.Errorf("RRSIG %d: original TTL %d, TTL %d, want 300 (the first old one's) and 250", i, sig.OrigTtl, sig.Hdr.Ttl)
		}
		if err := sigsOver(rec.Msg, "cats.example.test.", dns.TypeA)[keyIndex(got[:3], pub)].Verify(pub, addrs); err != nil {
			t.Errorf("the RRSIG of key %d: %v", pub.KeyTag(), err)
		}
	}
}

// keyIndex is the index of the RRSIG by pub among sigs; the test fails without one.
func keyIndex(sigs []dns.RR, pub *dns.DNSKEY) int {
	for i, rr := range sigs {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.KeyTag == pub.KeyTag() {
			return i
		}
	}
	panic(fmt.Sprintf("no RRSIG of key %d in %v", pub.KeyTag(), sigs))
}
