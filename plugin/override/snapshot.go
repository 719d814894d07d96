package override

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// pin is an enabled override in the form the query path wants: parsed addresses, parsed
// client prefixes, expiry as a number, and its answer counter already resolved.
type pin struct {
	id      string
	a       []net.IP
	aaaa    []net.IP
	cname   string
	clients []netip.Prefix
	expires int64 // Unix nanoseconds; 0 means never
	served  prometheus.Counter
	recent  atomic.Pointer[recent] // set at the pin's first answer
}

// count counts an answer the pin gave: in answers_total and in the console's plot.
func (p *pin) count() {
	p.served.Inc()
	r := p.recent.Load()
	if r == nil {
		r = recentOf(p.id)
		p.recent.Store(r)
	}
	r.add(time.Now())
}

// snapshot indexes the enabled overrides by name. It is immutable once built and replaced as a
// whole on every change, so that queries read it through one atomic load without locks.
type snapshot struct {
	exact map[string][]*pin // by lower-case FQDN
	wild  map[string][]*pin // "*.example.test." is kept under "example.test."
	// suffixes lists the wildcard domains with a leading dot (".example.test."), longest
	// first, when there are few: comparing a few suffixes beats hashing every parent name.
	suffixes []string
	// wildDepths has bit n set when a wildcard domain has n labels (63: 63 or more), so that
	// a long list of wildcards is probed only at the depths where one can be.
	wildDepths uint64
	// enabled is whether any override answers: without one, a query costs a map-free check.
	enabled bool
}

// maxSuffixScan is how many wildcards are tried by suffix comparison before lookups fall
// back to one map probe per label.
const maxSuffixScan = 8

var emptySnapshot = &snapshot{}

func newSnapshot(st store.State) *snapshot {
	s := &snapshot{exact: map[string][]*pin{}, wild: map[string][]*pin{}}
	defer sweepRecents(time.Now())
	for i := range st.Overrides {
		o := &st.Overrides[i]
		if !o.Enabled {
			continue
		}
		p, err := newPin(o)
		if err != nil {
			// Unreachable while every way in normalises; a bad record must still cost
			// its own answer, never the process.
			log.Errorf("override %q not served: %v", o.ID, err)
			continue
		}
		s.enabled = true
		name := o.Name
		// normalize refuses the bare "*.", so >= 2 would be an equivalent mutant.
		if len(name) > 2 && name[:2] == "*." {
			name = name[2:]
			s.wild[name] = append(s.wild[name], p)
			s.wildDepths |= 1 << min(dns.CountLabel(name), 63)
			continue
		}
		s.exact[name] = append(s.exact[name], p)
	}
	if len(s.wild) <= maxSuffixScan {
		for domain := range s.wild {
			s.suffixes = append(s.suffixes, "."+domain)
		}
		slices.SortFunc(s.suffixes, func(a, b string) int { return len(b) - len(a) })
	}
	for _, index := range []map[string][]*pin{s.exact, s.wild} {
		for _, pins := range index {
			// Client-scoped pins first: a narrower audience is the more specific answer. Then
			// by id, so that every replica and every store picks the same one.
			slices.SortFunc(pins, func(a, b *pin) int {
				return cmp.Or(boolRank(len(b.clients) > 0)-boolRank(len(a.clients) > 0), strings.Compare(a.id, b.id))
			})
		}
	}
	return s
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// newPin parses a stored override. It was normalised on the way in, but it is stored data:
// an error here is reported, never a panic.
func newPin(o *store.Override) (*pin, error) {
	p := &pin{id: o.ID, cname: o.CNAME}
	for _, a := range o.Addresses {
		ip, err := netip.ParseAddr(a)
		if err != nil {
			return nil, err
		}
		if ip.Is4() {
			p.a = append(p.a, net.IP(ip.AsSlice()))
		} else {
			p.aaaa = append(p.aaaa, net.IP(ip.AsSlice()))
		}
	}

	for _, c := range o.Clients {
		pfx, err := store.ParseClient(c)
		if err != nil {
			return nil, err
		}
		p.clients = append(p.clients, pfx)
	}
	if o.Expires != nil {
		p.expires = o.Expires.UnixNano()
	}
	p.served = answersServed.WithLabelValues(o.ID)
	return p, nil
}

// lookup returns the pins for name (lower case, fully qualified): an exact entry first, else
// the closest enclosing wildcard. A miss costs one map probe when there are no wildcards.
func (s *snapshot) lookup(name string) []*pin {
	if pins, ok := s.exact[name]; ok {
		return pins
	}
	if len(s.wild) == 0 {
		return nil
	}
	// With exactly maxSuffixScan wildcards, the walk by label below finds the same pins (< is an
	// equivalent mutant); a name never starts with the dot a suffix starts with (nor would >=).
	if len(s.wild) <= maxSuffixScan {
		for _, suffix := range s.suffixes {
			if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
				return s.wild[suffix[1:]]
			}
		}
		return nil
	}
	off, end := dns.NextLabel(name, 0)
	for depth := dns.CountLabel(name) - 1; !end; depth-- {
		if s.wildDepths&(1<<min(depth, 63)) != 0 {
			if pins, ok := s.wild[name[off:]]; ok {
				return pins
			}
		}
		off, end = dns.NextLabel(name, off)
	}
	return nil
}

// lookupAnyCase is lookup for a name as a client sent it, in any case. Folding the case in a
// buffer on the stack keeps a miss free of allocations for clients that randomise case
// (0x20), unless there are so many wildcards that the walk by label needs a folded string.
func (s *snapshot) lookupAnyCase(name string) []*pin {
	var buf answer.NameBuffer
	b := answer.Lower(&buf, name)
	if b == nil {
		return s.lookup(name)
	}
	if len(s.wild) > maxSuffixScan {
		return s.lookup(string(b))
	}
	// As lookup does; string(b) in a map index or a comparison does not allocate.
	if pins, ok := s.exact[string(b)]; ok {
		return pins
	}
	for _, suffix := range s.suffixes { // (>= below: equivalent, as in lookup)
		if len(b) > len(suffix) && string(b[len(b)-len(suffix):]) == suffix {
			return s.wild[suffix[1:]]
		}
	}
	return nil
}

// choose returns the pin that applies to a client, or nil. client is asked at most once and
// only when a pin is scoped, because finding the client's address is the costly part.
func choose(pins []*pin, client func() netip.Addr) *pin {
	var (
		now  int64
		addr netip.Addr
		have bool
	)
	for _, p := range pins {
		if p.expires != 0 {
			if now == 0 {
				now = time.Now().UnixNano()
			}
			if now >= p.expires { // (> differs only at the expiry's very nanosecond: equivalent)
				continue
			}
		}
		if len(p.clients) == 0 {
			return p
		}
		if !have {
			addr, have = client(), true
		}
		for _, c := range p.clients {
			if c.Contains(addr) {
				return p
			}
		}
	}
	return nil
}
