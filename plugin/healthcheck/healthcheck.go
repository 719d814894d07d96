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
	// The shared store (nil without an etcd line), the drains that apply (the store's, or the
	// process's local ones) and the Drainer registered with the health view for them.
	cl               *cluster
	book             *drainBook
	unregisterDrains func()
	gauges           map[targetKey]gaugeState // the per-target gauges as last set
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
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if !hc.running {
		return false
	}
	s := hc.snap.Load()
	for _, k := range hc.listed {
		// The own verdict: the effective state may be known from the other replicas, or
		// drained, before this replica has probed at all. And published: once ready, the
		// answers follow the verdicts.
		if p := hc.probers[k]; p == nil || p.state() == stateUnknown {
			return false
		}
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
// last good snapshot stays in force. Each target's state in the snapshot is its effective
// one: the replicas' quorum over their verdicts (the own verdict alone when nothing is
// shared or the store is out of reach), and drained while a drain covers it. The query path
// reads it exactly as it reads a lone replica's verdict, so sharing costs it nothing.
func (hc *HealthCheck) publish() {
	defer recoverLoop("publisher")
	hc.published.Add(1)
	s := newSnapshot()
	drains := hc.drainsNow()
	own := hc.judgeAll(s, drains)
	for k := range hc.gauges {
		if _, ok := hc.probers[k]; !ok {
			delete(hc.gauges, k)
		}
	}
	hc.drainUnprobed(s, drains)
	hc.snap.Store(hc.withListed(s, drains))
	if hc.cl != nil {
		hc.cl.report(hc, own)
	}
}

// judgeAll enters the effective state of every probed target into s and returns the own
// verdicts, which the cluster shares. hc.mu must be held.
func (hc *HealthCheck) judgeAll(s *snapshot, drains drainSet) map[targetID]verdictOf {
	own := make(map[targetID]verdictOf, len(hc.probers))
	shared := false
	if hc.cl != nil {
		hc.cl.mu.Lock()
		defer hc.cl.mu.Unlock()
		shared = hc.cl.isReachable()
	}
	for k, p := range hc.probers {
		m := s.verdicts[k.check]
		if m == nil {
			// Sized for all targets up front: growing a map of thousands is most of the cost.
			m = make(verdicts, len(hc.probers))
			s.verdicts[k.check] = m
		}
		id := targetID{k.addr, k.check.Name}
		ov := p.verdict()
		own[id] = ov
		eff, downs, live := ov.state, 0, 0
		if shared {
			eff, downs, live = effective(ov.state, hc.cl.peers[id], hc.cl.cfg.replica, hc.cl.cfg.quorum)
		}
		if drains.all[k.addr] {
			eff = stateDrained
		}
		m[k.addr.As16()] = verdict{state: eff, seen: hc.discovered[k]}
		hc.setGauges(k, gaugeState{eff: eff, own: ov.state, downs: downs, live: live, shared: shared})
	}
	return own
}

// drainSet is the drains in force at one moment, in the form publish looks them up.
type drainSet struct {
	all   map[netip.Addr]bool // drained for every name
	names map[drainKey]bool   // drained for one name
	list  []healthview.Drain  // every drain, for the health view
}

// drainsNow returns the drains in force now.
func (hc *HealthCheck) drainsNow() drainSet {
	var ds drainSet
	if hc.book == nil {
		return ds
	}
	ds.list = hc.book.active(time.Now())
	for _, d := range ds.list {
		if d.Name != "" {
			if ds.names == nil {
				ds.names = map[drainKey]bool{}
			}
			ds.names[keyOf(d)] = true
			continue
		}
		if a, err := netip.ParseAddr(d.Address); err == nil {
			if ds.all == nil {
				ds.all = map[netip.Addr]bool{}
			}
			ds.all[a] = true
		}
	}
	return ds
}

// drainUnprobed enters the drained addresses that no prober has yet into the verdicts of the
// discovery check, so that an address drained before discovery found it is left out too.
func (hc *HealthCheck) drainUnprobed(s *snapshot, ds drainSet) {
	ck := hc.cfg.discover
	if ck == nil || len(ds.all) == 0 {
		return
	}
	for a := range ds.all {
		if _, ok := s.get(targetKey{a, ck}); !ok {
			s.set(targetKey{a, ck}, verdict{state: stateDrained})
		}
	}
}

// withListed fills in s.listed from s.verdicts and the drains for one name, and returns s.
func (hc *HealthCheck) withListed(s *snapshot, ds drainSet) *snapshot {
	s.listed = make([][]listedVerdict, len(hc.rules))
	for i, r := range hc.rules {
		lv := make([]listedVerdict, 0, len(r.primary)+len(r.backup))
		for _, a := range r.primary {
			lv = append(lv, listedVerdict{addr: a.As16(), state: listedState(s, ds, r, a)})
		}
		for _, a := range r.backup {
			lv = append(lv, listedVerdict{addr: a.As16(), backup: true, state: listedState(s, ds, r, a)})
		}
		s.listed[i] = lv
	}
	return s
}

// listedState is the state of a listed on r's line: drained for r's name, or the target's.
func listedState(s *snapshot, ds drainSet, r *nameRule, a netip.Addr) state {
	// The length test only saves formatting the address when no name is drained (>= 0 would
	// look up an empty map: an equivalent mutant).
	if len(ds.names) > 0 && ds.names[drainKey{a.String(), r.name}] {
		return stateDrained
	}
	v, _ := s.get(targetKey{a, r.check})
	return v.state
}

// view implements healthview.Provider.
func (hc *HealthCheck) view() []healthview.Target {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	snap := hc.snap.Load()
	drains := hc.drainsNow()
	out := make([]healthview.Target, 0, len(hc.probers))
	for k, p := range hc.probers {
		t := p.view()
		t.Check = k.check.Name
		t.Names = append([]string(nil), hc.names[k]...)
		t.Discovered = hc.discovered[k] != nil
		t.Effective = t.State
		if v, ok := snap.get(k); ok {
			t.Effective = v.state.view()
		}
		for _, d := range drains.list {
			if d.Address == t.Address {
				t.Drains = append(t.Drains, d)
			}
		}
		hc.viewReplicas(&t, targetID{k.addr, k.check.Name}, p)
		out = append(out, t)
	}
	// Addresses differ in the first comparison and a (address, check) pair is one prober, so
	// neither comparison meets equal values: <= in either is an equivalent mutant.
	sort.Slice(out, func(i, j int) bool {
		if out[i].Address != out[j].Address {
			return out[i].Address < out[j].Address
		}
		return out[i].Check < out[j].Check
	})
	return out
}

// viewReplicas adds the shared verdicts on id to t: this replica's own, then the others' by
// name. hc.mu must be held.
func (hc *HealthCheck) viewReplicas(t *healthview.Target, id targetID, p *prober) {
	if hc.cl == nil {
		return
	}
	own := p.verdict()
	hc.cl.mu.Lock()
	defer hc.cl.mu.Unlock()
	t.Shared = hc.cl.cfg.String()
	t.Fallback = !hc.cl.isReachable()
	t.Replicas = append(t.Replicas, healthview.ReplicaVerdict{Replica: hc.cl.cfg.replica, Self: true,
		State: own.state.view(), Since: own.since, Reason: own.reason})
	if t.Fallback {
		return
	}
	peers := hc.cl.peers[id]
	for _, name := range slices.Sorted(maps.Keys(peers)) {
		v := peers[name]
		t.Replicas = append(t.Replicas, healthview.ReplicaVerdict{Replica: name, State: v.state.view(), Since: v.since, Reason: v.reason})
	}
}
