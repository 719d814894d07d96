package override

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/sign/signtest"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// signedZone is aliasZone's kind of zone, signed with k: www is an alias of cats, cats has
// addresses of both families; the apex has its SOA.
func signedZone(t *testing.T, k *signtest.Key) []string {
	sets := [][]string{
		{"example.test. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 300"},
		{"www.example.test. 300 IN CNAME cats.example.test."},
		{"cats.example.test. 300 IN A 192.0.2.1", "cats.example.test. 300 IN A 192.0.2.2"},
		{"cats.example.test. 300 IN AAAA 2001:db8::1"},
		{"maint.example.test. 300 IN A 192.0.2.99"},
	}
	var zone []string
	for _, set := range sets {
		var rrs []dns.RR
		for _, s := range set {
			rr, err := dns.NewRR(s)
			if err != nil {
				t.Fatal(err)
			}
			rrs = append(rrs, rr)
		}
		zone = append(zone, set...)
		zone = append(zone, k.Sign(t, rrs).String())
	}
	return zone
}

// signedHandler is an override plugin with k's key file over the signed zone, which sends
// its signatures only to clients that ask for them.
func signedHandler(t *testing.T, k *signtest.Key, overrides ...store.Override) *Handler {
	t.Helper()
	h := newTestHandler(t, overrides...)
	z := newCachedZone(t, signedZone(t, k)...)
	z.onlyDO = true
	h.Next = z
	c := caddy.NewTestController("dns", "override {\nkey file "+k.Base+"\n}")
	c.ServerBlockKeys = []string{"example.test."}
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	h.signer = cfg.signer
	return h.Handler
}

// serveDO queries name with the DO bit, as a validating resolver (or unbound, validating or
// not) does.
func serveDO(t *testing.T, h *Handler, name string, qtype uint16) *dns.Msg {
	t.Helper()
	rec := dnstest.NewRecorder(&test.ResponseWriter{})
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.SetEdns0(4096, true)
	if _, err := h.ServeDNS(context.Background(), rec, m); err != nil {
		t.Fatal(err)
	}
	return rec.Msg
}

func TestPinSigned(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	h := signedHandler(t, k, store.Override{ID: "c2", Name: "cats.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	m := serveDO(t, h, "cats.example.test.", dns.TypeA)
	rrset := k.Verify(t, m.Answer, "cats.example.test.", dns.TypeA)
	if len(rrset) != 1 || rrset[0].(*dns.A).A.String() != "127.0.0.8" {
		t.Errorf("answer %v, want the pin", m.Answer)
	}
	// Without DO, no signatures: a plain client gets the plain pin.
	if m := serve(t, h, "", "cats.example.test.", dns.TypeA); len(m.Answer) != 1 {
		t.Errorf("answer without DO %v, want the pinned address alone", m.Answer)
	}
}

// A pin without the queried family answers NODATA with a signed denial: an NSEC at the name
// that lacks the type, and the zone's signed SOA.
func TestPinOtherFamilySignedDenial(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	h := signedHandler(t, k, store.Override{ID: "c2", Name: "cats.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	m := serveDO(t, h, "cats.example.test.", dns.TypeAAAA)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 {
		t.Fatalf("rcode %s, answer %v: want NODATA", dns.RcodeToString[m.Rcode], m.Answer)
	}
	checkDenial(t, k, m.Ns, "cats.example.test.", dns.TypeAAAA)
}

func checkDenial(t *testing.T, k *signtest.Key, ns []dns.RR, name string, denied uint16) {
	t.Helper()
	nsecs := k.Verify(t, ns, name, dns.TypeNSEC)
	nsec := nsecs[0].(*dns.NSEC)
	if slices.Contains(nsec.TypeBitMap, denied) || !slices.Contains(nsec.TypeBitMap, dns.TypeA) {
		t.Errorf("NSEC bitmap %v must lack %s and hold A", nsec.TypeBitMap, dns.TypeToString[denied])
	}
	if nsec.NextDomain != `\000.`+name {
		t.Errorf("NSEC next name %s denies more than %s", nsec.NextDomain, name)
	}
	soa := k.Verify(t, ns, "example.test.", dns.TypeSOA)
	if soa[0].Header().Ttl > defaultTTL || nsec.Hdr.Ttl > defaultTTL {
		t.Errorf("SOA TTL %d, NSEC TTL %d: the denial must not outlive the pin (%ds)", soa[0].Header().Ttl, nsec.Hdr.Ttl, defaultTTL)
	}
}

func TestPinCNAMESigned(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	h := signedHandler(t, k, store.Override{ID: "m", Name: "cats.example.test", CNAME: "maint.example.test", Enabled: true})
	m := serveDO(t, h, "cats.example.test.", dns.TypeA)
	k.Verify(t, m.Answer, "cats.example.test.", dns.TypeCNAME)
	k.Verify(t, m.Answer, "maint.example.test.", dns.TypeA) // the zone's own, from the chase
}

// A pin reached through an alias: the CNAME keeps the zone's signature, the pinned set gets
// a new one, and a pin without the family gets a signed denial.
func TestAliasPinSigned(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	h := signedHandler(t, k, store.Override{ID: "c2", Name: "cats.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	m := serveDO(t, h, "www.example.test.", dns.TypeA)
	k.Verify(t, m.Answer, "www.example.test.", dns.TypeCNAME)
	if rrset := k.Verify(t, m.Answer, "cats.example.test.", dns.TypeA); len(rrset) != 1 || rrset[0].(*dns.A).A.String() != "127.0.0.8" {
		t.Errorf("answer %v, want the pin", m.Answer)
	}
	m = serveDO(t, h, "www.example.test.", dns.TypeAAAA)
	k.Verify(t, m.Answer, "www.example.test.", dns.TypeCNAME)
	checkDenial(t, k, m.Ns, "cats.example.test.", dns.TypeAAAA)

	h = signedHandler(t, k, store.Override{ID: "m", Name: "cats.example.test", CNAME: "maint.example.test", Enabled: true})
	m = serveDO(t, h, "www.example.test.", dns.TypeA)
	k.Verify(t, m.Answer, "www.example.test.", dns.TypeCNAME)
	k.Verify(t, m.Answer, "cats.example.test.", dns.TypeCNAME)
	k.Verify(t, m.Answer, "maint.example.test.", dns.TypeA)
}

// Without a key, a pin for a client that asked for DNSSEC goes out unsigned, as before, and
// the metric counts it.
func TestPinUnsignedCounted(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	h := signedHandler(t, k, store.Override{ID: "c2", Name: "cats.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	h.signer = nil
	before := counterValue(t, unsignedPins)
	for _, name := range []string{"cats.example.test.", "www.example.test."} {
		m := serveDO(t, h, name, dns.TypeA)
		for _, rr := range m.Answer {
			if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == dns.TypeA {
				t.Errorf("%s: an RRSIG over the pin without a key: %v", name, m.Answer)
			}
		}
	}
	if d := counterValue(t, unsignedPins) - before; d != 2 {
		t.Errorf("unsigned_answers_total rose by %v, want 2", d)
	}
}

func TestParseKey(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "other.test.")
	c := caddy.NewTestController("dns", "override {\nttl 5\nkey file "+k.Base+"\n}")
	c.ServerBlockKeys = []string{"example.test."}
	if _, err := parse(c); err == nil || !strings.Contains(err.Error(), ":3 - Error during parsing: key other.test.") {
		t.Errorf("a key of another zone: %v", err)
	}
	c = caddy.NewTestController("dns", "override {\nkey file\n}")
	if _, err := parse(c); err == nil || !strings.Contains(err.Error(), "key wants 'file'") {
		t.Errorf("no key file: %v", err)
	}
}

// A client that did not ask for signatures gets none, with a key configured too: the zone
// sent the answer unsigned, so an alias pin is not signed either.
func TestAliasPinWithoutDOUnsigned(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	h := signedHandler(t, k, store.Override{ID: "c2", Name: "cats.example.test", Addresses: []string{"127.0.0.8"}, Enabled: true})
	m := serve(t, h, "", "www.example.test.", dns.TypeA)
	for _, rr := range m.Answer {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			t.Fatalf("an RRSIG in the answer to a client without DO: %v", m.Answer)
		}
	}
	if len(m.Answer) != 2 || m.Answer[1].(*dns.A).A.String() != "127.0.0.8" {
		t.Errorf("answer %v, want the CNAME and the pin", m.Answer)
	}
}
