// Package sign signs again the RRsets that a steerdns plugin changed in an answer from a
// signed zone: a health-cut address set, a weighted `only N` answer, a pinned answer. It
// reads the zone's keys in BIND's key-file format (what CoreDNS's dnssec plugin reads) and
// keeps the signatures it makes in a bounded cache keyed by the RRset's content, so that a
// steady load of the same few answers signs nothing after the first of each.
package sign

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin/pkg/cache"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// Signature timing. Validators accept a signature from its inception to its expiration
// (RFC 4035 5.3.1), by their own clocks: the inception is an hour in the past, so a client
// whose clock runs behind still accepts it. A cached signature is used for a day, so every
// signature served has six days or more left, far longer than any TTL it is served with.
const (
	inceptionSkew = time.Hour
	validity      = 7 * 24 * time.Hour
	refreshAfter  = 24 * time.Hour
)

// defaultCapacity is how many signed RRsets a Signer keeps: each entry is a few hundred bytes
// (the RRset's canonical content and one RRSIG per key).
const defaultCapacity = 10000

// Signer signs RRsets with the keys of one or more zones. It is safe for concurrent use; the
// plugin blocks of a process that are given the same keys share one Signer.
type Signer struct {
	keys  []*key
	zones []*zoneKeys
	cache *cache.Cache[*entry]
	now   func() time.Time
}

// zoneKeys are the keys that sign the RRsets of one zone, with its counters looked up once
// (WithLabelValues hashes its labels on every call, which the query path cannot afford).
type zoneKeys struct {
	zone   string
	keys   []*key
	signed prometheus.Counter
	hits   prometheus.Counter
	errors prometheus.Counter
	count  atomic.Uint64 // signatures made, for tests: the metric is process-wide
}

// entry is one cached signing: the RRset's canonical content (compared on a hit, so that a
// hash collision can never serve another RRset's signatures) and its RRSIGs.
type entry struct {
	content []byte
	sigs    []dns.RR
	refresh int64 // unix seconds after which the RRset is signed anew
}

// registry holds the Signers made so far, by their keys' identities.
var registry = struct {
	sync.Mutex
	m map[string]*Signer
}{m: map[string]*Signer{}}

// shared returns the Signer of keys: the one already made for the same keys, or a new one.
func shared(keys []*key) *Signer {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.identity()
	}
	slices.Sort(ids)
	id := strings.Join(slices.Compact(ids), "\n")
	registry.Lock()
	defer registry.Unlock()
	if s, ok := registry.m[id]; ok {
		return s
	}
	s := newSigner(keys, defaultCapacity, time.Now)
	registry.m[id] = s
	return s
}

func newSigner(keys []*key, capacity int, now func() time.Time) *Signer {
	s := &Signer{keys: keys, cache: cache.New[*entry](capacity), now: now}
	for _, k := range keys {
		zk := s.zoneKeys(k.zone)
		if zk == nil {
			zk = &zoneKeys{
				zone:   k.zone,
				signed: signatures.WithLabelValues(k.zone),
				hits:   cacheHits.WithLabelValues(k.zone),
				errors: signErrors.WithLabelValues(k.zone),
			}
			s.zones = append(s.zones, zk)
		}
		zk.keys = append(zk.keys, k)
	}
	for _, zk := range s.zones {
		zk.keys = signingKeys(zk.keys)
	}
	return s
}

// signingKeys returns the keys that sign RRsets other than DNSKEY: with both KSKs and ZSKs
// given (split keys), the ZSKs; else every key, each a combined signing key. The dnssec
// plugin decides the same way.
func signingKeys(keys []*key) []*key {
	var zsks []*key
	ksk := false
	for _, k := range keys {
		if k.ksk() {
			ksk = true
		} else {
			zsks = append(zsks, k)
		}
	}
	if ksk && len(zsks) > 0 {
		return zsks
	}
	return keys
}

func (s *Signer) zoneKeys(zone string) *zoneKeys {
	for _, zk := range s.zones {
		if zk.zone == zone {
			return zk
		}
	}
	return nil
}

// Zone returns the zone whose keys sign name: the longest key owner that name is in, "" when
// no key covers it.
func (s *Signer) Zone(name string) string {
	if zk := s.zoneOf(name); zk != nil {
		return zk.zone
	}
	return ""
}

func (s *Signer) zoneOf(name string) *zoneKeys {
	var best *zoneKeys
	for _, zk := range s.zones {
		// Two zones of one length cannot both hold name: >= is an equivalent mutant.
		if (best == nil || len(zk.zone) > len(best.zone)) && answer.InZone(name, zk.zone) {
			best = zk
		}
	}
	return best
}

// Signings returns how many RRSIGs the Signer has made for zone: a steady load of answers
// already signed once adds none.
func (s *Signer) Signings(zone string) uint64 {
	if zk := s.zoneKeys(strings.ToLower(dns.Fqdn(zone))); zk != nil {
		return zk.count.Load()
	}
	return 0
}

var (
	errEmpty  = errors.New("sign: empty RRset")
	errNoZone = errors.New("sign: no key covers the RRset's owner")
)

// Sign returns RRSIGs over rrset, one per signing key of its zone, with origTTL as the
// original TTL (also their own TTL: give a copy a lower one to match the RRset as served).
// rrset is one RRset: one owner, type and class; its records are not changed. The RRSIGs
// are shared with every caller that signs the same RRset: never change them. Signatures
// come from the cache while they are fresh, which costs no allocation.
func (s *Signer) Sign(rrset []dns.RR, origTTL uint32) ([]dns.RR, error) {
	if len(rrset) == 0 {
		return nil, errEmpty
	}
	zk := s.zoneOf(rrset[0].Header().Name)
	if zk == nil {
		return nil, errNoZone
	}
	var buf [contentRoom]byte
	var scratch [contentRoom]byte
	content := canonical(buf[:0], scratch[:0], rrset, origTTL)
	h := maphash.Bytes(seed, content)
	now := s.now()
	if e, ok := s.cache.Get(h); ok && now.Unix() < e.refresh && bytes.Equal(e.content, content) {
		zk.hits.Inc()
		return e.sigs, nil
	}
	sigs, err := zk.sign(rrset, origTTL, now)
	if err != nil {
		zk.errors.Inc()
		return nil, err
	}
	s.cache.Add(h, &entry{content: bytes.Clone(content), sigs: sigs, refresh: now.Add(refreshAfter).Unix()})
	return sigs, nil
}

// sign makes the RRSIGs of rrset, one per signing key.
func (zk *zoneKeys) sign(rrset []dns.RR, origTTL uint32, now time.Time) ([]dns.RR, error) {
	sigs := make([]dns.RR, 0, len(zk.keys))
	for _, k := range zk.keys {
		sig := &dns.RRSIG{
			Hdr:        dns.RR_Header{Ttl: origTTL},
			Algorithm:  k.dnskey.Algorithm,
			KeyTag:     k.tag,
			SignerName: zk.zone,
			OrigTtl:    origTTL,
			Inception:  uint32(now.Add(-inceptionSkew).Unix()), // #nosec G115 -- RFC 1982 serial arithmetic wraps in 2106 by design
			Expiration: uint32(now.Add(validity).Unix()),       // #nosec G115 -- as above
		}
		if err := sig.Sign(k.signer, rrset); err != nil {
			return nil, fmt.Errorf("sign %s %s with key %d: %v", rrset[0].Header().Name, dns.TypeToString[rrset[0].Header().Rrtype], k.tag, err)
		}
		sigs = append(sigs, sig)
		zk.signed.Inc()
		zk.count.Add(1)
	}
	return sigs, nil
}

// seed keys the cache's hash for the life of the process.
var seed = maphash.MakeSeed()
