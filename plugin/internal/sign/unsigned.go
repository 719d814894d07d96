package sign

import (
	"sync"
	"sync/atomic"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// maxWarned bounds the zones Unsigned remembers: the signer names come from answers, which a
// backend such as forward may bring from anywhere.
const maxWarned = 64

// Unsigned warns, once per signed zone, that a plugin left a signed answer whole because it
// has no key for the zone. A plugin can know that a zone is signed only from its answers, so
// the warning comes with the first signed answer of each zone, not at start.
type Unsigned struct {
	log  clog.P
	what string // what the plugin does not do for the zone's signed names

	mu   sync.Mutex
	seen atomic.Pointer[map[string]struct{}] // copy on write: read on the query path
}

// NewUnsigned returns an Unsigned that logs to log; what completes "for clients that ask for
// DNSSEC, ..." (for example "failover is off for its signed names").
func NewUnsigned(log clog.P, what string) *Unsigned {
	return &Unsigned{log: log, what: what}
}

// Note records that the signed RRset set of ans passed whole, and warns if its zone (the
// signer name of its RRSIG) has not been warned about.
func (u *Unsigned) Note(ans []dns.RR, set answer.RRset) {
	zone := signerName(ans, set)
	if m := u.seen.Load(); m != nil {
		if _, ok := (*m)[zone]; ok {
			return
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	old := u.seen.Load()
	if old != nil {
		if _, ok := (*old)[zone]; ok || len(*old) >= maxWarned {
			return
		}
	}
	m := map[string]struct{}{zone: {}}
	if old != nil {
		for z := range *old {
			m[z] = struct{}{}
		}
	}
	u.seen.Store(&m)
	u.log.Warningf("zone %s is signed (DNSSEC) and this block has no key for it: for clients that ask for DNSSEC "+
		"(the DO bit, which most resolvers set), %s. Give the zone's keys with 'key file' to sign changed answers", zone, u.what)
}

// signerName is the signer name of the first RRSIG over set.
func signerName(ans []dns.RR, set answer.RRset) string {
	for _, rr := range ans {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == set.Type && answer.SameName(sig.Hdr.Name, set.Owner) {
			return sig.SignerName
		}
	}
	return set.Owner
}
