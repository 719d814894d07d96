package weighted

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	// selections counts answers by the address (or SRV target) that leads them.
	selections = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "weighted",
		Name:      "selections_total",
		Help:      "Counter of answers by name and the address (or SRV target) chosen to lead them.",
	}, []string{"name", "address"})

	// signedUncut counts answers that `only` would have cut but could not: a signed RRset.
	signedUncut = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "weighted",
		Name:      "signed_uncut_total",
		Help:      "Counter of answers whose RRset carried an RRSIG, so `only` reordered it without removing records.",
	}, []string{"name"})

	// drained counts answers in which every address had weight 0, passed on unchanged.
	drained = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "weighted",
		Name:      "all_drained_total",
		Help:      "Counter of answers in which every address had weight 0 and which were passed on unchanged.",
	}, []string{"name"})

	// reloads counts weight file reloads by result.
	reloads = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: "weighted",
		Name:      "weight_file_reloads_total",
		Help:      "Counter of weight file reloads after a change, by result (ok or error).",
	}, []string{"result"})
)
