package sign

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/miekg/dns"
)

// key is one zone key that signs: the public DNSKEY and its private half.
type key struct {
	dnskey *dns.DNSKEY
	signer crypto.Signer
	zone   string // the key's owner in lower case: the zone it signs, the RRSIGs' signer name
	tag    uint16
}

// Flags of a DNSKEY (RFC 4034 2.1.1).
const (
	flagZone = 1 << 8
	flagSEP  = 1
)

func (k *key) ksk() bool { return k.dnskey.Flags&flagSEP != 0 }

// keyBase returns the common base of a key's two files, whatever form the Corefile gives it
// in (the dnssec plugin's rule): Kexample.test.+013+12345, with .key or .private, relative to
// root unless absolute.
func keyBase(root, name string) string {
	base := strings.TrimSuffix(strings.TrimSuffix(name, ".key"), ".private")
	if !filepath.IsAbs(base) && root != "" {
		base = filepath.Join(root, base)
	}
	return base
}

// readKey reads the key pair at base (base.key and base.private, as dnssec-keygen writes
// them). The errors name the file and what is wrong with it.
func readKey(base string) (*key, error) {
	pub, err := readDNSKEY(base + ".key")
	if err != nil {
		return nil, err
	}
	if pub.Flags&flagZone == 0 {
		return nil, fmt.Errorf("%s.key: not a zone key (flags %d lack the zone bit 256)", base, pub.Flags)
	}
	f, err := os.Open(filepath.Clean(base + ".private"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	priv, err := pub.ReadPrivateKey(f, base+".private")
	if err != nil {
		return nil, fmt.Errorf("%s.private: %v", base, err)
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s.private: a key of algorithm %d cannot sign", base, pub.Algorithm)
	}
	return &key{dnskey: pub, signer: s, zone: strings.ToLower(dns.Fqdn(pub.Hdr.Name)), tag: pub.KeyTag()}, nil
}

func readDNSKEY(path string) (*dns.DNSKEY, error) {
	f, err := os.Open(filepath.Clean(path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rr, err := dns.ReadRR(f, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	pub, ok := rr.(*dns.DNSKEY)
	if !ok {
		return nil, fmt.Errorf("%s: no DNSKEY record in the file", path)
	}
	return pub, nil
}

// identity names a key by what it signs with, so that two blocks given the same key share
// one signer (and one signature cache).
func (k *key) identity() string {
	return fmt.Sprintf("%s %d %d %d %s", k.zone, k.dnskey.Flags, k.dnskey.Protocol, k.dnskey.Algorithm, k.dnskey.PublicKey)
}
