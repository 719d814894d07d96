package override

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// answersServed counts the pinned answers each override gave.
var answersServed = promauto.NewCounterVec(prometheus.CounterOpts{
	Namespace: plugin.Namespace,
	Subsystem: pluginName,
	Name:      "answers_total",
	Help:      "Counter of answers served by each override.",
}, []string{"id"})
