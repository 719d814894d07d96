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
