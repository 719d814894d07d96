// Package signtest makes zone keys and signed answers for the tests of the steerdns plugins:
// real keys in the files dnssec-keygen writes, real signatures that a validator accepts.
package signtest

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Key is a zone key written to disk.
type Key struct {
	Base    string      // the files' common path, as a `key file` line names it
	DNSKEY  *dns.DNSKEY // the public key, which verifies the signatures
	private crypto.Signer
}

// WriteKey writes a fresh ECDSA P-256 key of zone (flags 257: a key-signing key, which
// signs everything when it is the zone's only key) into dir.
func WriteKey(t testing.TB, dir, zone string) *Key {
	t.Helper()
	k := &dns.DNSKEY{
		Hdr:   dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := k.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, fmt.Sprintf("K%s+%03d+%05d", k.Hdr.Name, k.Algorithm, k.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(k.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(k.PrivateKeyString(priv.(crypto.PrivateKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Key{Base: base, DNSKEY: k, private: priv.(crypto.Signer)}
}

// Sign returns an RRSIG over rrset by k, as a zone signer would have made it, with the
// RRset's TTL as the original TTL.
func (k *Key) Sign(t testing.TB, rrset []dns.RR) *dns.RRSIG {
	t.Helper()
	now := time.Now()
	sig := &dns.RRSIG{
		Hdr:        dns.RR_Header{Ttl: rrset[0].Header().Ttl},
		Algorithm:  k.DNSKEY.Algorithm,
		KeyTag:     k.DNSKEY.KeyTag(),
		SignerName: k.DNSKEY.Hdr.Name,
		Inception:  uint32(now.Add(-time.Hour).Unix()),
		Expiration: uint32(now.Add(30 * 24 * time.Hour).Unix()),
	}
	if err := sig.Sign(k.private, rrset); err != nil {
		t.Fatal(err)
	}
	return sig
}

// Verify checks that the answer section ans carries, for the records of owner and type t,
// exactly one RRSIG and that it verifies with k now. It returns the records it checked.
func (k *Key) Verify(t testing.TB, ans []dns.RR, owner string, rrtype uint16) []dns.RR {
	t.Helper()
	var rrset []dns.RR
	var sigs []*dns.RRSIG
	for _, rr := range ans {
		h := rr.Header()
		if !equalNames(h.Name, owner) {
			continue
		}
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == rrtype {
			sigs = append(sigs, sig)
		} else if h.Rrtype == rrtype {
			rrset = append(rrset, rr)
		}
	}
	if len(sigs) != 1 || len(rrset) == 0 {
		t.Fatalf("%s %s: %d records and %d RRSIGs in %v, want records and one RRSIG", owner, dns.TypeToString[rrtype], len(rrset), len(sigs), ans)
	}
	if err := sigs[0].Verify(k.DNSKEY, rrset); err != nil {
		t.Fatalf("%s %s: the RRSIG does not verify: %v\n%v", owner, dns.TypeToString[rrtype], err, ans)
	}
	if !sigs[0].ValidityPeriod(time.Now()) {
		t.Fatalf("%s %s: the RRSIG is not valid now: %v", owner, dns.TypeToString[rrtype], sigs[0])
	}
	for _, rr := range rrset {
		if rr.Header().Ttl > sigs[0].OrigTtl {
			t.Fatalf("%v has a TTL over the original TTL %d", rr, sigs[0].OrigTtl)
		}
	}
	return rrset
}

func equalNames(a, b string) bool { return dns.CanonicalName(a) == dns.CanonicalName(b) }
