package test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/steerdns/steerdns/test/harness"
)

// scrape reads a server's /metrics as Prometheus would and returns the value of the series
// of family name whose labels include every pair of want (0 when there is none).
func scrape(t *testing.T, url, name string, want map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	f, ok := families[name]
	if !ok {
		return 0
	}
	for _, m := range f.GetMetric() {
		if hasLabels(m, want) {
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	for k, v := range want {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == k && strings.Contains(l.GetValue(), v) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestOverrideMetrics: what the README lists under Metrics moves as an operator would see it
// on /metrics: enabled per store, answers per override, changes per action. Each check is on
// the series this test's own store and override produce, as a change from before.
func TestOverrideMetrics(t *testing.T) {
	dir := t.TempDir()
	overrideZone(t, dir)
	apiPort, metricsPort := harness.FreePort(t), harness.FreePort(t)
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	metrics := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	s := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    prometheus 127.0.0.1:%d
    %s
    file %s
}`, metricsPort, overrideBlock(dir, apiPort, ""), filepath.Join(dir, "example.test.zone")))
	store := map[string]string{"store": filepath.Join(dir, "overrides.json")}
	id := map[string]string{"id": "metrics-pin"}
	changes := func(action string) float64 {
		return scrape(t, metrics, "coredns_override_changes_total", map[string]string{"action": action})
	}
	created, enabled, disabled := changes("create"), changes("enable"), changes("disable")
	answered := scrape(t, metrics, "coredns_override_answers_total", id)

	overrideMust(t, "POST", api+"/api/overrides", `{"id":"metrics-pin","name":"cats.example.test","addresses":["127.0.0.9"],"group":"metrics"}`)
	if got := scrape(t, metrics, "coredns_override_enabled", store); got != 0 {
		t.Errorf("enabled with nothing enabled: %v", got)
	}
	overrideMust(t, "POST", api+"/api/overrides/metrics-pin/enable", "")
	if got := scrape(t, metrics, "coredns_override_enabled", store); got != 1 {
		t.Errorf("enabled after one enable: %v, want 1", got)
	}
	for range 3 {
		if got := harness.Addresses(harness.Exchange(t, "udp", s.UDP, "cats.example.test.", dns.TypeA)); strings.Join(got, " ") != "127.0.0.9" {
			t.Fatalf("pinned answer %v", got)
		}
	}
	if got := scrape(t, metrics, "coredns_override_answers_total", id) - answered; got != 3 {
		t.Errorf("answers_total of the pin rose by %v over 3 pinned answers", got)
	}
	overrideMust(t, "POST", api+"/api/overrides/metrics-pin/disable", "")
	if got := scrape(t, metrics, "coredns_override_enabled", store); got != 0 {
		t.Errorf("enabled after the disable: %v, want 0", got)
	}
	for action, before := range map[string]float64{"create": created, "enable": enabled, "disable": disabled} {
		if got := changes(action) - before; got != 1 {
			t.Errorf("changes_total{action=%q} rose by %v, want 1", action, got)
		}
	}
}

// TestEtcdRacingEnablesAudited: three replicas enable three overrides of one group at once,
// from a group with none enabled, so each enable changes the table whatever order etcd puts
// them in: every one is applied in turn and every one is in the shared audit log, whichever
// replica reads it.
func TestEtcdRacingEnablesAudited(t *testing.T) {
	_, rs := etcdStartReplicas(t, 3)
	const rounds = 3
	for range rounds {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, r := range rs {
			wg.Go(func() {
				<-start
				resp, err := http.Post(fmt.Sprintf("%s/api/overrides/server%d/enable", r.api, i+2), "application/json", nil)
				if err == nil {
					resp.Body.Close()
				}
			})
		}
		close(start)
		wg.Wait()
		overrideMust(t, "POST", rs[0].api+"/api/groups/cats/disable", "")
	}
	want := rounds * len(rs)
	deadline := time.Now().Add(20 * time.Second)
	for {
		enables := map[string]int{}
		for _, e := range overrideMust(t, "GET", rs[2].api+"/api/audit?limit=100", "")["entries"].([]any) {
			entry := e.(map[string]any)
			if entry["action"] == "enable" {
				enables[fmt.Sprint(entry["id"])]++
			}
		}
		total := enables["server2"] + enables["server3"] + enables["server4"]
		if total == want && enables["server2"] == rounds && enables["server3"] == rounds && enables["server4"] == rounds {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit log holds enables %v, want %d of each of server2..server4", enables, rounds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
