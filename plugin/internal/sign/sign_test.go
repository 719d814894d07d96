package sign

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// writeKey writes a fresh ECDSA P-256 key for zone in dir, in dnssec-keygen's two files, and
// returns their base path and the public key.
func writeKey(t testing.TB, dir, zone string, flags uint16) (string, *dns.DNSKEY) {
	t.Helper()
	k := &dns.DNSKEY{
		Hdr:   dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: flags, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", dns.Fqdn(zone), k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte("; a comment, as dnssec-keygen writes\n"+k.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv.(crypto.PrivateKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	return base, k
}

// testCapacity is the smallest capacity the cache keeps exactly: ten entries in each of its
// 256 shards.
const testCapacity = 2560

// testSigner returns a Signer of its own (not the shared one) with the keys at bases and a
// clock the test sets.
func testSigner(t testing.TB, now *time.Time, bases ...string) *Signer {
	t.Helper()
	var keys []*key
	for _, b := range bases {
		k, err := readKey(b)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	return newSigner(keys, testCapacity, func() time.Time { return *now })
}

func addrSet(owner string, ttl uint32, addrs ...string) []dns.RR {
	var rrs []dns.RR
	for _, a := range addrs {
		rrs = append(rrs, test.A(fmt.Sprintf("%s %d IN A %s", owner, ttl, a)))
	}
	return rrs
}

func verify(t *testing.T, sigs []dns.RR, k *dns.DNSKEY, rrset []dns.RR, at time.Time) {
	t.Helper()
	if len(sigs) != 1 {
		t.Fatalf("got %d RRSIGs, want 1", len(sigs))
	}
	sig := sigs[0].(*dns.RRSIG)
	if err := sig.Verify(k, rrset); err != nil {
		t.Fatalf("signature does not verify: %v\n%v", err, sig)
	}
	if !sig.ValidityPeriod(at) {
		t.Fatalf("signature not valid at %v: %v", at, sig)
	}
}

func TestSignVerifies(t *testing.T) {
	now := time.Now()
	base, pub := writeKey(t, t.TempDir(), "example.test.", 257)
	s := testSigner(t, &now, base)
	rrset := addrSet("cats.example.test.", 30, "192.0.2.1", "192.0.2.2")
	sigs, err := s.Sign(rrset, 300)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, sigs, pub, rrset, now)
	// A validator checks the records with the original TTL: what the zone gave, not the
	// TTL of the moment.
	sig := sigs[0].(*dns.RRSIG)
	if sig.OrigTtl != 300 || sig.Hdr.Ttl != 300 || sig.SignerName != "example.test." || sig.Labels != 3 {
		t.Errorf("RRSIG fields: %v", sig)
	}
	// Inception an hour back for clients whose clocks run behind; a bounded validity.
	if inc := time.Unix(int64(sig.Inception), 0); now.Sub(inc) < 59*time.Minute || now.Sub(inc) > 61*time.Minute {
		t.Errorf("inception %v is not an hour before %v", inc, now)
	}
	if exp := time.Unix(int64(sig.Expiration), 0); exp.Sub(now) > validity+time.Minute || exp.Sub(now) < validity-time.Minute {
		t.Errorf("expiration %v is not %v after %v", exp, validity, now)
	}
	if got := s.Signings("example.test"); got != 1 {
		t.Errorf("Signings = %d, want 1", got)
	}
}

func TestSignCachedWhateverOrderAndCase(t *testing.T) {
	now := time.Now()
	base, pub := writeKey(t, t.TempDir(), "example.test.", 257)
	s := testSigner(t, &now, base)
	first, err := s.Sign(addrSet("cats.example.test.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3"), 300)
	if err != nil {
		t.Fatal(err)
	}
	for _, rrset := range [][]dns.RR{
		addrSet("cats.example.test.", 30, "192.0.2.3", "192.0.2.1", "192.0.2.2"), // rotated
		addrSet("CaTs.ExAmPlE.test.", 7, "192.0.2.2", "192.0.2.3", "192.0.2.1"),  // 0x20, a lower TTL
		addrSet("CATS.EXAMPLE.TEST.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3"), // every letter, A to Z
		addrSet("cats.exaMPLE.tesT.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3"),
	} {
		sigs, err := s.Sign(rrset, 300)
		if err != nil {
			t.Fatal(err)
		}
		if sigs[0] != first[0] {
			t.Errorf("%v signed again", rrset)
		}
		verify(t, sigs, pub, rrset, now)
	}
	if got := s.Signings("example.test."); got != 1 {
		t.Errorf("Signings = %d after three signings of one RRset, want 1", got)
	}
	// Different content is signed on its own: another address set, another original TTL,
	// another owner, another type.
	for _, rrset := range [][]dns.RR{
		addrSet("cats.example.test.", 30, "192.0.2.1", "192.0.2.2"),
		addrSet("dogs.example.test.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3"),
		{test.AAAA("cats.example.test. 30 IN AAAA 2001:db8::1")},
	} {
		sigs, err := s.Sign(rrset, 300)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, sigs, pub, rrset, now)
	}
	sigs, err := s.Sign(addrSet("cats.example.test.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3"), 600)
	if err != nil {
		t.Fatal(err)
	}
	if sigs[0].(*dns.RRSIG).OrigTtl != 600 {
		t.Errorf("another original TTL got the cached signature: %v", sigs[0])
	}
	if got := s.Signings("example.test."); got != 5 {
		t.Errorf("Signings = %d, want 5", got)
	}
}

func TestSignRefreshesOldSignatures(t *testing.T) {
	now := time.Now()
	base, pub := writeKey(t, t.TempDir(), "example.test.", 257)
	s := testSigner(t, &now, base)
	rrset := addrSet("cats.example.test.", 30, "192.0.2.1")
	if _, err := s.Sign(rrset, 300); err != nil {
		t.Fatal(err)
	}
	now = now.Add(refreshAfter - time.Second)
	if _, err := s.Sign(rrset, 300); err != nil || s.Signings("example.test.") != 1 {
		t.Fatalf("a signature younger than %v was made again (%d signings, %v)", refreshAfter, s.Signings("example.test."), err)
	}
	now = now.Add(time.Second) // refreshAfter exactly: due
	sigs, err := s.Sign(rrset, 300)
	if err != nil {
		t.Fatal(err)
	}
	if s.Signings("example.test.") != 2 {
		t.Errorf("a signature older than %v was not made again", refreshAfter)
	}
	verify(t, sigs, pub, rrset, now.Add(validity-refreshAfter))
}

func TestSignSplitKeysUseZSK(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	ksk, _ := writeKey(t, dir, "example.test.", 257)
	zsk, zpub := writeKey(t, dir, "example.test.", 256)
	s := testSigner(t, &now, ksk, zsk)
	rrset := addrSet("cats.example.test.", 30, "192.0.2.1")
	sigs, err := s.Sign(rrset, 300)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, sigs, zpub, rrset, now)
}

func TestSignLongestZone(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	parent, _ := writeKey(t, dir, "example.test.", 257)
	child, cpub := writeKey(t, dir, "sub.example.test.", 257)
	s := testSigner(t, &now, parent, child)
	if z := s.Zone("a.SUB.example.test."); z != "sub.example.test." {
		t.Errorf("Zone = %q, want the longest", z)
	}
	if z := s.Zone("other.test."); z != "" {
		t.Errorf("Zone(other.test.) = %q, want none", z)
	}
	rrset := addrSet("a.sub.example.test.", 30, "192.0.2.1")
	sigs, err := s.Sign(rrset, 300)
	if err != nil {
		t.Fatal(err)
	}
	verify(t, sigs, cpub, rrset, now)
	if _, err := s.Sign(addrSet("a.other.test.", 30, "192.0.2.1"), 300); err == nil {
		t.Error("an RRset no key covers was signed")
	}
	if _, err := s.Sign(nil, 300); err == nil {
		t.Error("an empty RRset was signed")
	}
}

func TestSignOtherTypes(t *testing.T) {
	now := time.Now()
	base, pub := writeKey(t, t.TempDir(), "example.test.", 257)
	s := testSigner(t, &now, base)
	for _, rrset := range [][]dns.RR{
		{test.CNAME("www.example.test. 30 IN CNAME Cats.example.test.")},
		{test.SRV("_http._tcp.example.test. 30 IN SRV 10 20 80 a.example.test."), test.SRV("_http._tcp.example.test. 30 IN SRV 10 20 80 b.example.test.")},
		{&dns.NSEC{Hdr: dns.RR_Header{Name: "cats.example.test.", Rrtype: dns.TypeNSEC, Class: dns.ClassINET, Ttl: 30},
			NextDomain: "\\000.cats.example.test.", TypeBitMap: []uint16{dns.TypeA, dns.TypeRRSIG, dns.TypeNSEC}}},
		{test.MX("example.test. 30 IN MX 10 mail.example.test.")},
	} {
		sigs, err := s.Sign(rrset, 30)
		if err != nil {
			t.Fatal(err)
		}
		verify(t, sigs, pub, rrset, now)
		again, err := s.Sign(rrset, 30)
		if err != nil || again[0] != sigs[0] {
			t.Errorf("%v was not cached", rrset)
		}
	}
}

// An A record whose address a zone-file parser holds in 16 bytes is the same content as one
// unpacked from the wire in 4.
func TestCanonicalIPv4Forms(t *testing.T) {
	a16 := test.A("cats.example.test. 30 IN A 192.0.2.1")
	a16.A = a16.A.To16()
	a4 := test.A("cats.example.test. 30 IN A 192.0.2.1")
	a4.A = a4.A.To4()
	x := canonical(nil, nil, []dns.RR{a16}, 30)
	y := canonical(nil, nil, []dns.RR{a4}, 30)
	if string(x) != string(y) {
		t.Errorf("16- and 4-byte forms differ: %x %x", x, y)
	}
}

func TestCacheBounded(t *testing.T) {
	now := time.Now()
	base, _ := writeKey(t, t.TempDir(), "example.test.", 257)
	s := testSigner(t, &now, base)
	for i := range 2 * testCapacity {
		if _, err := s.Sign(addrSet(fmt.Sprintf("n%d.example.test.", i), 30, "192.0.2.1"), 30); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.cache.Len(); n > testCapacity {
		t.Errorf("cache holds %d entries, capacity %d", n, testCapacity)
	}
}

func parseKeys(t *testing.T, input string) (*Keys, error) {
	t.Helper()
	c := caddy.NewTestController("dns", input)
	ks := new(Keys)
	for c.Next() {
		for c.NextBlock() {
			if c.Val() != "key" {
				t.Fatalf("unexpected %q", c.Val())
			}
			if err := ks.Parse(c); err != nil {
				return nil, err
			}
		}
	}
	return ks, nil
}

func TestKeysParse(t *testing.T) {
	dir := t.TempDir()
	base, _ := writeKey(t, dir, "example.test.", 257)
	zones := answer.NewZones([]string{"example.test."})
	// Every form the dnssec plugin accepts names the same key, and the same keys share one
	// Signer.
	var first *Signer
	for _, name := range []string{base, base + ".key", base + ".private"} {
		ks, err := parseKeys(t, "p {\nkey file "+name+"\n}")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := ks.Signer(zones)
		if err != nil || s == nil {
			t.Fatalf("%s: %v", name, err)
		}
		if first == nil {
			first = s
		} else if s != first {
			t.Errorf("%s: the same key made another Signer", name)
		}
	}
	// A relative name is under the root, as the dnssec plugin reads it.
	c := caddy.NewTestController("dns", "key file "+filepath.Base(base))
	dnsserver.GetConfig(c).Root = dir
	c.Next()
	var rel Keys
	if err := rel.Parse(c); err != nil {
		t.Fatalf("relative key under the root: %v", err)
	}
	if s, err := rel.Signer(zones); err != nil || s != first {
		t.Errorf("a relative key under the root is another Signer: %v", err)
	}
	ks, err := parseKeys(t, "p {\n}")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ks.Signer(zones); s != nil || err != nil {
		t.Errorf("no keys gave %v, %v", s, err)
	}
	// A key of a zone the block does not serve is refused; a parent's key is not.
	ks, err = parseKeys(t, "p {\nkey file "+base+"\n}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Signer(answer.NewZones([]string{"other.test."})); err == nil || !strings.Contains(err.Error(), "signs none of the zones") {
		t.Errorf("a key for another zone: %v", err)
	}
	if _, err := ks.Signer(answer.NewZones([]string{"sub.example.test."})); err != nil {
		t.Errorf("a key of the parent zone: %v", err)
	}
}

func TestKeysParseErrors(t *testing.T) {
	dir := t.TempDir()
	base, _ := writeKey(t, dir, "example.test.", 257)
	notZone, _ := writeKey(t, dir, "example.test.", 0)
	onlyPub := filepath.Join(dir, "Konlypub")
	if err := os.Rename(base+".key", onlyPub+".key"); err != nil {
		t.Fatal(err)
	}
	noDNSKEY := filepath.Join(dir, "Knodnskey")
	if err := os.WriteFile(noDNSKEY+".key", []byte("example.test. 3600 IN A 192.0.2.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	garbled := filepath.Join(dir, "Kgarbled")
	if err := os.WriteFile(garbled+".key", []byte("this is not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badPriv, _ := writeKey(t, t.TempDir(), "example.test.", 257)
	if err := os.Remove(notZone + ".key"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badPriv+".private", []byte("Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\nPrivateKey: !!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notZone2, _ := writeKey(t, dir, "example.test.", 0)
	for _, tc := range []struct{ input, want string }{
		{"key", "key wants 'file'"},
		{"key file", "key wants 'file'"},
		{"key aws_secretsmanager x", "key wants 'file'"},
		{"key file " + filepath.Join(dir, "Kmissing"), "no such file"},
		{"key file " + onlyPub, "Konlypub.private"},
		{"key file " + noDNSKEY, "no DNSKEY record"},
		{"key file " + garbled, "Kgarbled.key"},
		{"key file " + badPriv, badPriv + ".private"},
		{"key file " + notZone2, "not a zone key"},
	} {
		_, err := parseKeys(t, "p {\n"+tc.input+"\n}")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.input, err, tc.want)
		}
		if err != nil && !strings.Contains(err.Error(), "Testfile:2") {
			t.Errorf("%q: error %v does not name the line", tc.input, err)
		}
	}
}

// The cache hit is the steady state of a signed zone behind failover: it allocates nothing.
func BenchmarkSignCached(b *testing.B) {
	now := time.Now()
	base, _ := writeKey(b, b.TempDir(), "example.test.", 257)
	s := testSigner(b, &now, base)
	rrset := addrSet("cats.example.test.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	if _, err := s.Sign(rrset, 300); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign(rrset, 300); err != nil {
			b.Fatal(err)
		}
	}
}

// A cold signing: one ECDSA P-256 signature over the RRset.
func BenchmarkSignCold(b *testing.B) {
	now := time.Now()
	base, _ := writeKey(b, b.TempDir(), "example.test.", 257)
	s := testSigner(b, &now, base)
	rrset := addrSet("cats.example.test.", 30, "192.0.2.1", "192.0.2.2", "192.0.2.3")
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(refreshAfter + time.Second) // every cached signature is stale
		if _, err := s.Sign(rrset, 300); err != nil {
			b.Fatal(err)
		}
	}
}

// Names are compared in any case, A to Z, in owners and in record data.
func TestCanonicalCase(t *testing.T) {
	x := canonical(nil, nil, []dns.RR{test.CNAME("AZaz.example.test. 30 IN CNAME Zoo.example.test.")}, 30)
	y := canonical(nil, nil, []dns.RR{test.CNAME("azAZ.example.test. 30 IN CNAME zOO.example.test.")}, 30)
	if string(x) != string(y) {
		t.Errorf("case makes a difference: %q %q", x, y)
	}
	z := canonical(nil, nil, []dns.RR{test.CNAME("azaz.example.test. 30 IN CNAME [oo.example.test.")}, 30)
	if string(x) == string(z) {
		t.Error("[ is not the lower case of Z")
	}
}
