// Package healthcheck implements a plugin that probes the servers behind a name and removes
// the dead ones from A and AAAA answers, failing over from primary to backup addresses.
package healthcheck

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/handoff"
	"github.com/steerdns/steerdns/plugin/internal/healthview"
	"github.com/steerdns/steerdns/plugin/internal/sign"
)

// HealthCheck is one healthcheck block: its configuration, its probers and the verdicts.
// Probers feed verdicts in; the query path reads them from an immutable snapshot that is
// swapped atomically, so it takes no lock and never waits for a probe.
type HealthCheck struct {
	cfg    *config
	rules  []*nameRule // cfg.names in name order; a rule's index is its place here
	listed []targetKey // targets from the Corefile: Ready waits for their first verdict

	snap      atomic.Pointer[snapshot]
	published atomic.Uint64 // snapshots built so far: what batching and throttling keep low
	counters  counterCache
	now       atomic.Int64 // coarse clock (unix seconds) for the last-seen marks of discovered targets

	mu         sync.Mutex // guards the fields below
	probers    map[targetKey]*prober
	names      map[targetKey][]string // names whose answers each target filters
	discovered map[targetKey]*atomic.Int64
	capLogged  bool // the max_discovered warning was logged since the cap was last reached
	running    bool
	stop       chan struct{}
	done       chan struct{}
	unregister func()
	// republish, while set, publishes again at the end of a throttle window if dirty.
	republish *time.Timer
	dirty     bool

	found chan discovery // addresses seen in answers and not probed yet

	unsigned *sign.Unsigned // warns once per signed zone that passes whole for want of keys
}

// targetKey is one (address, check) pair: the unit that has a verdict.
type targetKey struct {
	addr  netip.Addr
	check *checkSpec
}

// discovery is an address seen in an answer for owner, to be probed with check.
type discovery struct {
	key   targetKey
	owner string
}

// snapshot is the verdict of every target at one moment. It is never changed once
// published; a new verdict publishes a new snapshot.
type snapshot struct {
	verdicts map[*checkSpec]verdicts
	// listed holds, per name rule (by its index), the verdicts of the addresses the rule
	// lists: a short linear scan over these beats a map lookup for every address.
	listed [][]listedVerdict
}

// listedVerdict is the verdict of one address listed on a name line.
type listedVerdict struct {
	addr   [16]byte
	backup bool
	state  state
}

// find returns the verdict of a among the listed ones.
func find(lv []listedVerdict, a [16]byte) (listedVerdict, bool) {
	for i := range lv {
		if lv[i].addr == a {
			return lv[i], true
		}
	}
	return listedVerdict{}, false
}

// verdicts of one check, keyed by the 16-byte form of the address: hashing a plain array is
// much cheaper on the query path than hashing a netip.Addr.
type verdicts map[[16]byte]verdict

func newSnapshot() *snapshot { return &snapshot{verdicts: map[*checkSpec]verdicts{}} }

func (s *snapshot) set(k targetKey, v verdict) {
	m := s.verdicts[k.check]
	if m == nil {
		m = verdicts{}
		s.verdicts[k.check] = m
	}
	m[k.addr.As16()] = v
}

func (s *snapshot) get(k targetKey) (verdict, bool) {
	v, ok := s.verdicts[k.check][k.addr.As16()]
	return v, ok
}

type verdict struct {
	state state
	seen  *atomic.Int64 // non-nil for discovered targets: when an answer last carried them
}

// Handler is a HealthCheck in one plugin chain. A server block with several keys builds one
// chain per key, each with its own next plugin, all sharing the block's HealthCheck.
type Handler struct {
	*HealthCheck
	Next plugin.Handler
}

// newHealthCheck returns the state of one block; it probes nothing until OnStartup.
func newHealthCheck(cfg *config) *HealthCheck {
	hc := &HealthCheck{cfg: cfg, found: make(chan discovery, 256),
		unsigned: sign.NewUnsigned(log, "failover is off for its signed names: dead addresses stay in their answers")}
	seen := map[targetKey]bool{}
	for _, name := range slices.Sorted(maps.Keys(cfg.names)) {
		r := cfg.names[name]
		r.index = len(hc.rules)
		hc.rules = append(hc.rules, r)
		for _, a := range append(append([]netip.Addr(nil), r.primary...), r.backup...) {
			k := targetKey{a, r.check}
			if !seen[k] {
				seen[k] = true
				hc.listed = append(hc.listed, k)
			}
		}
	}
	return hc
}

// Name implements plugin.Handler.
func (h *Handler) Name() string { return pluginName }

// ServeDNS implements plugin.Handler. Only A and AAAA questions in the plugin's zones are
// its concern: for those it joins the query's shared writer (answer.Join) to filter the
// response on its way up; the rest goes straight on with the caller's writer.
func (h *Handler) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if h.concerns(r) {
		w = answer.Join(ctx, w, h.HealthCheck)
	}
	return handoff.Next(h.Name(), h.Next, ctx, w, r)
}

// concerns reports whether the plugin filters the answer to r: an A or AAAA question in its
// zones.
func (hc *HealthCheck) concerns(r *dns.Msg) bool {
	if len(r.Question) == 0 {
		return false
	}
	q := r.Question[0]
	return (q.Qtype == dns.TypeA || q.Qtype == dns.TypeAAAA) && hc.cfg.zones.Match(q.Name) != ""
}

// Ready implements the ready plugin's Readiness: true once every target listed in the
// Corefile has its first verdict. Discovered targets do not hold readiness back.
func (hc *HealthCheck) Ready() bool {
	s := hc.snap.Load()
	if s == nil {
		return false
	}
	for _, k := range hc.listed {
		if v, _ := s.get(k); v.state == stateUnknown {
			return false
		}
	}
	return true
}

// rule returns the Corefile's rule for owner (in any case), or nil.
func (hc *HealthCheck) rule(owner string) *nameRule {
	r, _ := answer.Lookup(hc.cfg.names, owner)
	return r
}

// publish builds and swaps in a new snapshot. hc.mu must be held. If building panics, the
// last good snapshot stays in force.
func (hc *HealthCheck) publish() {
	defer recoverLoop("publisher")
	hc.published.Add(1)
	s := newSnapshot()
	for k, p := range hc.probers {
		m := s.verdicts[k.check]
		if m == nil {
			// Sized for all targets up front: growing a map of thousands is most of the cost.
			m = make(verdicts, len(hc.probers))
			s.verdicts[k.check] = m
		}
		m[k.addr.As16()] = verdict{state: p.state(), seen: hc.discovered[k]}
	}
	hc.snap.Store(hc.withListed(s))
}

// withListed fills in s.listed from s.verdicts and returns s.
func (hc *HealthCheck) withListed(s *snapshot) *snapshot {
	s.listed = make([][]listedVerdict, len(hc.rules))
	for i, r := range hc.rules {
		lv := make([]listedVerdict, 0, len(r.primary)+len(r.backup))
		for _, a := range r.primary {
			v, _ := s.get(targetKey{a, r.check})
			lv = append(lv, listedVerdict{addr: a.As16(), state: v.state})
		}
		for _, a := range r.backup {
			v, _ := s.get(targetKey{a, r.check})
			lv = append(lv, listedVerdict{addr: a.As16(), backup: true, state: v.state})
		}
		s.listed[i] = lv
	}
	return s
}

// view implements healthview.Provider.
func (hc *HealthCheck) view() []healthview.Target {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	out := make([]healthview.Target, 0, len(hc.probers))
	for k, p := range hc.probers {
		t := p.view()
		t.Check = k.check.Name
		t.Names = append([]string(nil), hc.names[k]...)
		t.Discovered = hc.discovered[k] != nil
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			return out[i].Address < out[j].Address
		}
		return out[i].Check < out[j].Check
	})
	return out
}
