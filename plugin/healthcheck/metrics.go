package healthcheck

import (
	"sync"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// targetUp is 1 for an up target, 0 for a down one and -1 before its first verdict.
	targetUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "target_up",
		Help:      "Health of each probed target: 1 up, 0 down, -1 before the first verdict.",
	}, []string{"target", "check"})

	// probeDuration shows how slow targets answer, and how close probes come to the timeout.
	probeDuration = promauto.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "probe_duration_seconds",
		Buckets:   plugin.TimeBuckets,
		Help:      "Histogram of the time each probe took, by check and result (ok or fail).",
	}, []string{"check", "kind", "result"})

	// transitions counts state changes; a fast-growing count is a flapping target.
	transitions = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "transitions_total",
		Help:      "Counter of target state changes, by the state entered (up or down).",
	}, []string{"target", "check", "to"})

	// answers counts responses that health changed, by what was done to them.
	answers = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "answers_total",
		Help:      "Counter of answers changed by health: filtered, backup, all_down_open, all_down_servfail, all_down_answer.",
	}, []string{"server", "outcome"})

	// discoveryDropped counts addresses seen in answers but not probed because
	// max_discovered targets are probed already.
	discoveryDropped = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "discovery_dropped_total",
		Help:      "Counter of answers carrying an address not probed because max_discovered targets are, by check.",
	}, []string{"check"})

	// panics counts panics recovered in the background loops; anything above zero is a bug.
	panics = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "panics_total",
		Help:      "Counter of panics recovered in a background loop (prober, discovery, publisher).",
	}, []string{"loop"})

	// effectiveUp is what the answers follow, after the replicas' quorum and the drains.
	effectiveUp = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "effective_up",
		Help:      "What the answers follow for each target: 1 up, 0 down or drained, -1 unknown.",
	}, []string{"target", "check"})

	// replicaVerdicts counts the live replicas by their verdict on a target: how much they agree.
	replicaVerdicts = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "replica_verdicts",
		Help:      "Live replicas (this one included) whose shared verdict on the target is up or down.",
	}, []string{"target", "check", "verdict"})

	// outvoted is 1 while this replica's own verdict differs from the effective state.
	outvoted = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "outvoted",
		Help:      "1 while this replica's own verdict on the target differs from the replicas' quorum, else 0.",
	}, []string{"target", "check"})

	// drainsActive counts the drains in force, per store ("local" without etcd).
	drainsActive = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "drains_active",
		Help:      "Drains in force, by the store that shares them (local: this replica only).",
	}, []string{"store"})

	// sharedReachable is 0 while the shared store is out of reach and this replica answers by
	// its own verdicts.
	sharedReachable = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "shared_reachable",
		Help:      "1 while the store that shares verdicts answers, 0 while this replica falls back to its own verdicts.",
	}, []string{"store"})

	// sharedFallbacks counts the times this replica lost the shared store and fell back.
	sharedFallbacks = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "shared_fallbacks_total",
		Help:      "Counter of the times the shared store became unreachable and this replica fell back to its own verdicts.",
	}, []string{"store"})

	// dnssecPassed counts signed answers that could not be filtered without breaking them.
	dnssecPassed = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "dnssec_passthrough_total",
		Help:      "Counter of answers passed unfiltered because their address RRset is signed.",
	}, []string{"server"})
)

// outcome is what filter did to an answer.
type outcome uint8

const (
	unchanged outcome = iota
	outcomeFiltered
	outcomeBackup
	outcomeAllDownOpen
	outcomeAllDownServfail
	outcomeAllDownAnswer
	outcomeSigned // passed whole because its address RRset is signed
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"", "filtered", "backup", "all_down_open", "all_down_servfail", "all_down_answer", "dnssec"}

func (o outcome) String() string { return outcomeNames[o] }

// serverCounters are one server's counters, looked up once: WithLabelValues hashes its
// labels on every call, which the query path cannot afford.
type serverCounters [numOutcomes]prometheus.Counter

// counterCache maps a server label to its counters. Copy on write: servers are few and fixed.
type counterCache struct {
	mu sync.Mutex
	m  atomic.Pointer[map[string]*serverCounters]
}

func (c *counterCache) count(server string, o outcome) {
	if m := c.m.Load(); m != nil {
		if sc, ok := (*m)[server]; ok {
			sc[o].Inc()
			return
		}
	}
	c.add(server)[o].Inc()
}

func (c *counterCache) add(server string) *serverCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	if old != nil {
		if sc, ok := (*old)[server]; ok {
			return sc
		}
	}
	sc := new(serverCounters)
	for o := outcomeFiltered; o < numOutcomes; o++ {
		if o == outcomeSigned {
			sc[o] = dnssecPassed.WithLabelValues(server)
		} else {
			sc[o] = answers.WithLabelValues(server, o.String())
		}
	}
	m := map[string]*serverCounters{server: sc}
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	c.m.Store(&m)
	return sc
}

// gaugeState is what a target's per-target gauges say; they are set only when it changes,
// so that a publish of thousands of targets does not hash thousands of label sets.
type gaugeState struct {
	eff, own    state
	downs, live int
	shared      bool
}

// outvoted reports whether the replicas' quorum overrules this replica's own verdict.
func (g gaugeState) outvoted() bool {
	return g.own != stateUnknown && g.eff != stateDrained && g.eff != g.own
}

// setGauges sets k's effective_up, outvoted and replica_verdicts to g if they say something
// else. hc.mu must be held.
func (hc *HealthCheck) setGauges(k targetKey, g gaugeState) {
	if hc.gauges == nil {
		hc.gauges = map[targetKey]gaugeState{}
	}
	if old, ok := hc.gauges[k]; ok && old == g {
		return
	}
	hc.gauges[k] = g
	target := k.addr.String()
	up := -1.0
	switch g.eff {
	case stateUp:
		up = 1
	case stateDown, stateDrained:
		up = 0
	}
	effectiveUp.WithLabelValues(target, k.check.Name).Set(up)
	if !g.shared {
		return
	}
	out := 0.0
	if g.outvoted() {
		out = 1
	}
	outvoted.WithLabelValues(target, k.check.Name).Set(out)
	replicaVerdicts.WithLabelValues(target, k.check.Name, "down").Set(float64(g.downs))
	replicaVerdicts.WithLabelValues(target, k.check.Name, "up").Set(float64(g.live - g.downs))
}

// deleteTargetSeries removes every series of a target that is no longer probed, so that
// their number follows the configuration, not every address answers ever carried.
func deleteTargetSeries(target, check string) {
	targetUp.DeleteLabelValues(target, check)
	transitions.DeleteLabelValues(target, check, stateUp.String())
	transitions.DeleteLabelValues(target, check, stateDown.String())
	effectiveUp.DeleteLabelValues(target, check)
	outvoted.DeleteLabelValues(target, check)
	replicaVerdicts.DeleteLabelValues(target, check, "up")
	replicaVerdicts.DeleteLabelValues(target, check, "down")
}
