package sign

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The signer's metrics are shared by the steerdns plugins (one signing covers what all of
// them changed in an answer), so they carry the bundle's name rather than a plugin's. The
// zone label takes the zones of the configured keys only.
var (
	signatures = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "steerdns",
		Name:      "resign_signatures_total",
		Help:      "Counter of RRSIGs made for changed RRsets (cache misses), by zone.",
	}, []string{"zone"})

	cacheHits = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "steerdns",
		Name:      "resign_cache_hits_total",
		Help:      "Counter of changed RRsets whose signatures came from the cache, by zone.",
	}, []string{"zone"})

	signErrors = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "steerdns",
		Name:      "resign_errors_total",
		Help:      "Counter of changed RRsets that could not be signed (the answer passed whole), by zone.",
	}, []string{"zone"})
)
