package store

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// enabledOverrides counts the overrides that answer queries now, per store.
	enabledOverrides = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "enabled",
		Help:      "Number of enabled, unexpired overrides, per store.",
	}, []string{"store"})

	// changes counts changes to the table by action (create, update, delete, enable, ...).
	changes = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "changes_total",
		Help:      "Counter of changes to the overrides, by action.",
	}, []string{"action"})

	// panics counts panics recovered in a background loop (reaper, watch, resync).
	panics = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "panics_total",
		Help:      "Counter of panics recovered in the override's background loops, by loop.",
	}, []string{"loop"})
)
