package healthcheck

import (
	"fmt"
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

// TestEffectiveUpUnknown: before a target's first verdict target_up and effective_up say -1
// (unknown), neither up nor down; once the verdict comes effective_up follows it.
func TestEffectiveUpUnknown(t *testing.T) {
	// A listener that never accepts: the kernel completes the connection, and the HTTP probe
	// waits for an answer that does not come.
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	startHC(t, fmt.Sprintf("healthcheck example.test {\n check pending http port %d timeout 1m\n name cats.example.test 127.0.0.2\n}", port))
	g := effectiveUp.WithLabelValues("127.0.0.2", "pending")
	if v := metricValue(g); v != -1 {
		t.Errorf("effective_up = %g before the first verdict, want -1", v)
	}
	if v := metricValue(targetUp.WithLabelValues("127.0.0.2", "pending")); v != -1 {
		t.Errorf("target_up = %g before the first verdict, want -1", v)
	}
	l.Close() // resets the waiting connection: the probe fails
	waitUntil(t, "effective_up 0 after the failed probe", func() bool { return metricValue(g) == 0 })
}
