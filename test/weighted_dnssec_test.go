package test

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// weightedSigningKey writes a fresh ECDSA zone key for example.test in the files the dnssec
// plugin reads, and returns their common base path.
func weightedSigningKey(t *testing.T) string {
	t.Helper()
	key := &dns.DNSKEY{
		Hdr:       dns.RR_Header{Name: "example.test.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600},
		Flags:     257,
		Protocol:  3,
		Algorithm: dns.ECDSAP256SHA256,
	}
	priv, err := key.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), fmt.Sprintf("Kexample.test.+%03d+%05d", key.Algorithm, key.KeyTag()))
	if err := os.WriteFile(base+".key", []byte(key.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".private", []byte(key.PrivateKeyString(priv.(crypto.PrivateKey))), 0o600); err != nil {
		t.Fatal(err)
	}
	return base
}

// A signed answer is reordered but never cut in only mode (cutting would make it bogus); the
// unsigned answer to the same name is cut.
func TestWeightedSignedAnswerIsNotCut(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    weighted {
        weight dogs.example.test 127.0.0.3 3
        only 1
    }
    cache 30
    dnssec {
        key file %s
    }
    file %s
}`, weightedSigningKey(t), weightedZoneFile(t)))

	signed := map[string]int{}
	for range 10 {
		m := new(dns.Msg)
		m.SetQuestion("dogs.example.test.", dns.TypeA)
		m.SetEdns0(4096, true)
		r, err := harness.ExchangeMsg("udp", srv.UDP, m)
		if err != nil {
			t.Fatal(err)
		}
		addrs := harness.Addresses(r)
		sigs := 0
		for _, rr := range r.Answer {
			if _, ok := rr.(*dns.RRSIG); ok {
				sigs++
			}
		}
		if len(addrs) != 3 || sigs != 1 {
			t.Fatalf("signed answer has %d addresses and %d RRSIGs, want 3 and 1: %v", len(addrs), sigs, r.Answer)
		}
		signed[addrs[0]]++
	}
	// 3:1:1 over 10 answers: the order still follows the weights.
	if signed["127.0.0.3"] != 6 || signed["127.0.0.2"] != 2 || signed["127.0.0.4"] != 2 {
		t.Errorf("signed answers led %v, want 6:2:2", signed)
	}

	if a := harness.Addresses(srv.Query(t, "dogs.example.test.", dns.TypeA)); len(a) != 1 {
		t.Errorf("unsigned answer in only mode has %v, want one address", a)
	}
}
