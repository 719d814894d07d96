package rrotate

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	rotations = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: name,
		Name:      "rotations_total",
		Help:      "Counter of answers whose records were rotated.",
	}, []string{"server"})

	evictions = promauto.NewCounter(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: name,
		Name:      "evictions_total",
		Help:      "Counter of names whose rotation counter was dropped to stay within max_names.",
	})
)
