package store

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// storeReachable tells whether a shared store answered its last request; while it is 0
	// the replica answers from the last state it knew.
	storeReachable = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_reachable",
		Help:      "1 if the shared override store answered its last request, 0 while this replica serves the last state it knew.",
	}, []string{"store"})

	// storeConflicts counts updates that lost a race to another replica and were retried.
	storeConflicts = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_conflicts_total",
		Help:      "Counter of changes retried because another replica changed the shared store first.",
	}, []string{"store"})

	// storeRejected counts tables read from a shared store that break the table's rules
	// (not JSON, a bad override, two enabled in a group); each is refused as a whole.
	storeRejected = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "store_rejected_total",
		Help:      "Counter of invalid tables found in the shared store and refused, keeping the last good state.",
	}, []string{"store"})
)
