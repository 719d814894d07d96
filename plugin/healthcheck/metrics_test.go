package healthcheck

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricValue reads a gauge or counter the way a scrape would.
func metricValue(m prometheus.Metric) float64 {
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		return -999
	}
	if g := out.GetGauge(); g != nil {
		return g.GetValue()
	}
	return out.GetCounter().GetValue()
}

func TestCounterCache(t *testing.T) {
	var c counterCache
	before := metricValue(answers.WithLabelValues("dns://:53", "backup"))
	c.count("dns://:53", outcomeBackup)
	c.count("dns://:53", outcomeBackup)
	c.count("dns://:54", outcomeSigned)
	if n := metricValue(answers.WithLabelValues("dns://:53", "backup")) - before; n != 2 {
		t.Errorf("answers_total{backup} grew by %g, want 2", n)
	}
	if n := metricValue(dnssecPassed.WithLabelValues("dns://:54")); n < 1 {
		t.Errorf("dnssec_passthrough_total = %g, want at least 1", n)
	}
}
