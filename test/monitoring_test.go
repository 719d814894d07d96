package test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// The examples in examples/monitoring are only worth something while every metric and label
// they name is one that steerdns really exposes: a renamed metric turns a dashboard panel
// blank and an alert silent without any error. These tests hold them to a real server.

var (
	monitoringDir        = filepath.Join(harness.RepoRoot(), "examples", "monitoring")
	monitoringDashboard  = filepath.Join(monitoringDir, "grafana-dashboard.json")
	monitoringAlerts     = filepath.Join(monitoringDir, "alerts.yaml")
	monitoringPromQL     = parser.NewParser(parser.Options{})
	monitoringTargetLbls = []string{"instance", "job"} // added by Prometheus when it scrapes
)

// The rules load in Prometheus as they are: rulefmt is what Prometheus (and promtool check
// rules) parse them with, templates included. The alerts that issue 17 asks for are there.
func TestMonitoringAlertRulesParse(t *testing.T) {
	groups := monitoringRules(t)
	names := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			names[r.Alert] = true
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s: want a severity label and summary and description annotations", r.Alert)
			}
		}
	}
	for _, want := range []string{"SteerdnsTargetDown", "SteerdnsAllTargetsOfNameDown", "SteerdnsOverrideStoreUnreachable", "SteerdnsOverrideEnabledTooLong"} {
		if !names[want] {
			t.Errorf("alerts.yaml has no alert %s", want)
		}
	}
}

// The dashboard is valid JSON in Grafana's shape, and every query in it parses as PromQL once
// Grafana's variables are put in.
func TestMonitoringDashboardParses(t *testing.T) {
	queries := monitoringDashboardQueries(t, "5m")
	if len(queries) < 10 {
		t.Fatalf("dashboard has %d queries, want the panels of README.md", len(queries))
	}
	for _, q := range queries {
		if _, err := monitoringPromQL.ParseExpr(q.expr); err != nil {
			t.Errorf("%s: %v\n%s", q.where, err, q.expr)
		}
	}
}

// Every metric, label and label value that the dashboard and the alerts use is exposed by a
// real server running all four plugins (override on a real etcd, healthcheck probing real web
// servers, weighted with a weight file and a signed zone), scraped over HTTP as Prometheus
// would. Renaming a metric, a label or a value such as to="down" fails this test.
func TestMonitoringMetricsExist(t *testing.T) {
	setup := monitoringExercise(t)
	exposed := setup.exposed
	queries := append(monitoringDashboardQueries(t, "5m"), monitoringRuleQueries(t)...)
	for _, q := range queries {
		for _, err := range exposed.check(q) {
			t.Errorf("%s: %v\n%s", q.where, err, q.expr)
		}
	}

	// The check itself must catch a rename: each metric name used, misspelt, is reported.
	for _, name := range monitoringNames(queries) {
		q := monitoringQuery{where: "renamed", expr: name + "_renamed"}
		if errs := exposed.check(q); len(errs) == 0 {
			t.Errorf("the check accepts the unknown metric %s_renamed", name)
		}
	}
	renamed := monitoringQuery{where: "renamed", expr: `coredns_healthcheck_transitions_total{to="gone"}`, legend: "{{targets}}"}
	if errs := exposed.check(renamed); len(errs) != 2 {
		t.Errorf("the check finds %v in a query with an unknown label value and legend label, want both", errs)
	}
	if t.Failed() {
		return
	}
	t.Run("Prometheus", func(t *testing.T) { monitoringInPrometheus(t, setup) })
}

// The Corefile that examples/monitoring/README.md shows starts, and its metrics endpoint
// answers with the plugins' metrics.
func TestMonitoringReadmeCorefile(t *testing.T) {
	examples := readmeCorefiles(t, filepath.Join(monitoringDir, "README.md"))
	if len(examples) != 1 {
		t.Fatalf("README.md has %d corefile examples, want 1", len(examples))
	}
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), readmeFiles["example.test.zone"]))
	if err != nil {
		t.Fatal(err)
	}
	monitoringWrite(t, filepath.Join(dir, "example.test.zone"), string(data))
	t.Chdir(dir)
	metrics := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	corefile := strings.Replace(examples[0], "prometheus :9153", "prometheus "+metrics, 1)
	corefile = strings.Replace(corefile, "example.test {", "example.test:0 {", 1)
	if !strings.Contains(corefile, metrics) || !strings.Contains(corefile, ":0 {") {
		t.Fatalf("README example is no longer `example.test {` with `prometheus :9153`:\n%s", corefile)
	}
	harness.Start(t, corefile)
	monitoringAwait(t, "the healthcheck targets on /metrics", func() bool {
		return len(monitoringScrape(t, "http://"+metrics+"/metrics")["coredns_healthcheck_target_up"]) > 0
	})
}

// monitoringQuery is one PromQL expression of the examples, with the labels its legend or its
// annotations refer to.
type monitoringQuery struct {
	where  string // panel or alert, for the error message
	expr   string
	legend string // Grafana legendFormat, or the alert's annotations: they name labels too
}

// monitoringRules parses alerts.yaml as Prometheus does.
func monitoringRules(t *testing.T) *rulefmt.RuleGroups {
	t.Helper()
	groups, errs := rulefmt.ParseFile(monitoringAlerts, false, model.UTF8Validation, monitoringPromQL)
	for _, err := range errs {
		t.Error(err)
	}
	if groups == nil || len(groups.Groups) == 0 {
		t.Fatalf("%s holds no rule group", monitoringAlerts)
	}
	return groups
}

func monitoringRuleQueries(t *testing.T) []monitoringQuery {
	t.Helper()
	var qs []monitoringQuery
	for _, g := range monitoringRules(t).Groups {
		for _, r := range g.Rules {
			text := strings.Join(slices.Collect(maps.Values(r.Annotations)), "\n")
			qs = append(qs, monitoringQuery{where: "alert " + r.Alert, expr: r.Expr, legend: text})
		}
	}
	return qs
}

// grafanaPanel is the part of a Grafana panel that holds queries; rows nest panels.
type grafanaPanel struct {
	ID      int            `json:"id"`
	Title   string         `json:"title"`
	Type    string         `json:"type"`
	Panels  []grafanaPanel `json:"panels"`
	Targets []struct {
		Expr   string `json:"expr"`
		Legend string `json:"legendFormat"`
		RefID  string `json:"refId"`
	} `json:"targets"`
}

type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// grafanaVars stand in for the variables Grafana replaces before it sends a query: the rate
// interval given, and every instance. Any other variable in a query is an error: the test
// could not say what Prometheus would receive.
func grafanaVars(rateInterval string) *strings.Replacer {
	return strings.NewReplacer("$__rate_interval", rateInterval, "${instance}", ".*", "$instance", ".*")
}

// grafanaLabelValues is a variable query: label_values(SELECTOR, LABEL).
var grafanaLabelValues = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// monitoringDashboardQueries returns the dashboard's queries as Grafana would send them
// with rate interval ri: every panel's, and the variables' label_values selectors.
func monitoringDashboardQueries(t *testing.T, ri string) []monitoringQuery {
	t.Helper()
	data, err := os.ReadFile(monitoringDashboard)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", monitoringDashboard, err)
	}
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard has no uid or title")
	}
	var qs []monitoringQuery
	ids := map[int]bool{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			if ids[p.ID] {
				t.Errorf("panel %q: id %d used twice", p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				qs = append(qs, monitoringQuery{where: fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), expr: monitoringGrafanaExpr(t, tg.Expr, ri), legend: tg.Legend})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		text, _ := q["query"].(string)
		m := grafanaLabelValues.FindStringSubmatch(text)
		if m == nil {
			t.Errorf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, text)
			continue
		}
		qs = append(qs, monitoringQuery{where: "variable " + v.Name, expr: m[1], legend: "{{" + m[2] + "}}"})
	}
	return qs
}

func monitoringGrafanaExpr(t *testing.T, expr, ri string) string {
	t.Helper()
	out := grafanaVars(ri).Replace(expr)
	if strings.Contains(out, "$") {
		t.Errorf("query uses a Grafana variable the test does not know: %s", expr)
	}
	return out
}

// monitoringNames returns the metric names the queries select, sorted.
func monitoringNames(qs []monitoringQuery) []string {
	seen := map[string]bool{}
	for _, q := range qs {
		e, err := monitoringPromQL.ParseExpr(q.expr)
		if err != nil {
			continue
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				seen[vs.Name] = true
			}
			return nil
		})
	}
	return slices.Sorted(maps.Keys(seen))
}

// exposition is what a scrape showed: series name, label name, label values. A histogram F
// appears as F_bucket (with le), F_sum and F_count, as PromQL sees a classic histogram.
type exposition map[string]map[string]map[string]bool

func newExposition(families map[string]*dto.MetricFamily) exposition {
	e := exposition{}
	add := func(series string, m *dto.Metric, extra ...string) {
		if e[series] == nil {
			e[series] = map[string]map[string]bool{}
		}
		for _, l := range m.GetLabel() {
			if e[series][l.GetName()] == nil {
				e[series][l.GetName()] = map[string]bool{}
			}
			e[series][l.GetName()][l.GetValue()] = true
		}
		for _, name := range extra {
			if e[series][name] == nil {
				e[series][name] = map[string]bool{}
			}
		}
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				add(name+"_bucket", m, "le")
				add(name+"_sum", m)
				add(name+"_count", m)
			case dto.MetricType_SUMMARY:
				add(name, m, "quantile")
				add(name+"_sum", m)
				add(name+"_count", m)
			default:
				add(name, m)
			}
		}
	}
	return e
}

// check parses q and returns what in it the exposition lacks: a metric, a label a selector
// matches on or a query groups by, a label value matched with = (or each alternative of a
// plain a|b|c regexp), or a label the legend or the annotations name that the result does not
// carry.
func (e exposition) check(q monitoringQuery) []error {
	expr, err := monitoringPromQL.ParseExpr(q.expr)
	if err != nil {
		return []error{err}
	}
	var errs []error
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			errs = append(errs, e.checkSelector(n)...)
		case *parser.AggregateExpr:
			errs = append(errs, e.checkLabels("grouping of "+n.Op.String(), n.Grouping, e.inputLabels(n.Expr))...)
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				have := e.inputLabels(n.LHS)
				maps.Copy(have, e.inputLabels(n.RHS))
				errs = append(errs, e.checkLabels("vector matching", append(slices.Clone(vm.MatchingLabels), vm.Include...), have)...)
			}
		}
		return nil
	})
	return append(errs, e.checkLabels("legend or annotation", monitoringReferencedLabels(q.legend), e.outputLabels(expr))...)
}

// plainAlternatives matches a regexp that is only literal values separated by |.
var plainAlternatives = regexp.MustCompile(`^[a-zA-Z0-9_.:-]+(\|[a-zA-Z0-9_.:-]+)*$`)

func (e exposition) checkSelector(vs *parser.VectorSelector) []error {
	series, ok := e[vs.Name]
	if !ok {
		return []error{fmt.Errorf("metric %s is not exposed (exposed: %s)", vs.Name, e.similar(vs.Name))}
	}
	var errs []error
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName || slices.Contains(monitoringTargetLbls, m.Name) {
			continue
		}
		values, ok := series[m.Name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s has no label %q (labels: %v)", vs.Name, m.Name, slices.Sorted(maps.Keys(series))))
			continue
		}
		var want []string
		switch {
		case m.Type == labels.MatchEqual:
			want = []string{m.Value}
		case m.Type == labels.MatchRegexp && plainAlternatives.MatchString(m.Value):
			want = strings.Split(m.Value, "|")
		}
		for _, v := range want {
			if !values[v] {
				errs = append(errs, fmt.Errorf("no series of %s has %s=%q (values seen: %v)", vs.Name, m.Name, v, slices.Sorted(maps.Keys(values))))
			}
		}
	}
	return errs
}

func (e exposition) checkLabels(what string, names []string, have map[string]bool) []error {
	var errs []error
	for _, name := range names {
		if !have[name] {
			errs = append(errs, fmt.Errorf("%s uses label %q, which the series there lack (they have %v)", what, name, slices.Sorted(maps.Keys(have))))
		}
	}
	return errs
}

// inputLabels is every label of every series that expr selects, and Prometheus's own.
func (e exposition) inputLabels(expr parser.Expr) map[string]bool {
	have := map[string]bool{}
	for _, l := range monitoringTargetLbls {
		have[l] = true
	}
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			for l := range e[vs.Name] {
				have[l] = true
			}
		}
		return nil
	})
	return have
}

// outputLabels is the labels expr's result can carry: what survives aggregation, matching
// and histogram_quantile. It errs on the side of more labels where PromQL is subtle.
func (e exposition) outputLabels(expr parser.Expr) map[string]bool {
	switch n := expr.(type) {
	case *parser.AggregateExpr:
		in := e.outputLabels(n.Expr)
		switch {
		case n.Op == parser.TOPK || n.Op == parser.BOTTOMK || n.Op == parser.LIMITK || n.Op == parser.LIMIT_RATIO:
			return in
		case n.Without:
			for _, l := range n.Grouping {
				delete(in, l)
			}
			return in
		}
		out := map[string]bool{}
		for _, l := range n.Grouping {
			if in[l] {
				out[l] = true
			}
		}
		return out
	case *parser.Call:
		out := map[string]bool{}
		for _, arg := range n.Args {
			if arg.Type() == parser.ValueTypeVector || arg.Type() == parser.ValueTypeMatrix {
				out = e.outputLabels(arg)
			}
		}
		if n.Func.Name == "histogram_quantile" {
			delete(out, "le")
		}
		return out
	case *parser.BinaryExpr:
		if n.LHS.Type() != parser.ValueTypeVector {
			return e.outputLabels(n.RHS)
		}
		out := e.outputLabels(n.LHS)
		if n.Op == parser.LOR && n.RHS.Type() == parser.ValueTypeVector {
			maps.Copy(out, e.outputLabels(n.RHS))
		}
		return out
	case *parser.ParenExpr:
		return e.outputLabels(n.Expr)
	case *parser.UnaryExpr:
		return e.outputLabels(n.Expr)
	case *parser.MatrixSelector:
		return e.outputLabels(n.VectorSelector)
	case *parser.SubqueryExpr:
		return e.outputLabels(n.Expr)
	case *parser.VectorSelector:
		return e.inputLabels(n)
	}
	return map[string]bool{}
}

// similar lists the exposed series that share name's plugin prefix, to make a rename obvious.
func (e exposition) similar(name string) []string {
	prefix := name
	if parts := strings.SplitN(name, "_", 3); len(parts) == 3 {
		prefix = parts[0] + "_" + parts[1] + "_"
	}
	var out []string
	for s := range e {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// monitoringLabelRef finds {{label}} in a Grafana legend and $labels.label in a template.
var monitoringLabelRef = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}|\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)

func monitoringReferencedLabels(text string) []string {
	var out []string
	for _, m := range monitoringLabelRef.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1]+m[2])
	}
	return out
}

// monitoringSetup is a server running all four plugins, its backends, and what its
// /metrics showed once every event the examples chart and alert on had happened.
type monitoringSetup struct {
	srv     *harness.Server
	web     *harness.Web
	etcd    *etcdtest.Server
	metrics string // host:port of the prometheus plugin
	console string // host:port of the override API
	weights string // the weight file
	exposed exposition
}

func (s *monitoringSetup) scrape(t *testing.T) exposition {
	t.Helper()
	return monitoringScrape(t, "http://"+s.metrics+"/metrics")
}

// targetUp waits until the scrape shows target's verdict as want (1 up, 0 down).
func (s *monitoringSetup) targetUp(t *testing.T, target, want string) {
	t.Helper()
	monitoringAwait(t, target+" target_up "+want, func() bool {
		f := monitoringFamilies(t, "http://"+s.metrics+"/metrics")["coredns_healthcheck_target_up"]
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "target" && l.GetValue() == target {
					return fmt.Sprint(m.GetGauge().GetValue()) == want
				}
			}
		}
		return false
	})
}

// monitoringExercise starts the server and runs every plugin through the events the
// examples chart and alert on.
func monitoringExercise(t *testing.T) *monitoringSetup {
	t.Helper()
	dir := t.TempDir()
	zone := harness.ZoneFile(t, dir, `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
fish  300 IN A    127.0.0.6
fish  300 IN A    127.0.0.7
owls  300 IN A    127.0.0.8
dogs  300 IN A    127.0.0.2
dogs  300 IN A    127.0.0.3
birds 300 IN A    127.0.0.4
birds 300 IN A    127.0.0.5
*.many 300 IN A   127.0.0.2
*.many 300 IN A   127.0.0.3
`)
	s := &monitoringSetup{
		web:     harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"),
		etcd:    etcdtest.Start(t),
		metrics: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
		console: fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t)),
		weights: filepath.Join(dir, "weights"),
	}
	monitoringWrite(t, s.weights, "dogs.example.test\n127.0.0.2 3\n127.0.0.3 1\n")
	// rrotate keeps one counter per shard (64 shards), so 65 names always evict one.
	s.srv = harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    prometheus %s
    override {
        store etcd %s {
            prefix /steerdns/%s/
        }
        console %s
        declare server2 cats.example.test 127.0.0.3 group cats
    }
    rrotate {
        max_names 64
    }
    weighted {
        file %s
        reload 50ms
        weight birds.example.test 127.0.0.4 0 127.0.0.5 0
        only 1
    }
    healthcheck {
        check web http port %d interval 100ms timeout 1s rise 1 fall 1 jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
        name fish.example.test 127.0.0.6 backup 127.0.0.7
        name owls.example.test 127.0.0.8
    }
    cache 30
    dnssec {
        key file %s
    }
    file %s
}`, s.metrics, s.etcd.Endpoint, t.Name(), s.console, s.weights, s.web.Port, weightedSigningKey(t), zone))
	srv := s.srv
	scrape := func() exposition { return s.scrape(t) }
	has := func(e exposition, series, label, value string) bool { return e[series][label][value] }

	// Health: 127.0.0.5 goes down (cats filtered), 127.0.0.6 goes down (fish from its
	// backup), 127.0.0.8 goes down (owls all down, answered by the open policy).
	for _, ip := range []string{"127.0.0.5", "127.0.0.6", "127.0.0.8"} {
		s.web.Stop(ip)
	}
	monitoringAwait(t, "cats without 127.0.0.5, fish from its backup", func() bool {
		cats := harness.Addresses(srv.Query(t, "cats.example.test", dns.TypeA))
		fish := harness.Addresses(srv.Query(t, "fish.example.test", dns.TypeA))
		return len(cats) == 3 && !slices.Contains(cats, "127.0.0.5") && slices.Equal(fish, []string{"127.0.0.7"})
	})
	s.targetUp(t, "127.0.0.8", "0")
	s.traffic(t, "setup")
	signed := new(dns.Msg)
	signed.SetQuestion("dogs.example.test.", dns.TypeA)
	signed.SetEdns0(4096, true)
	if _, err := harness.ExchangeMsg("udp", srv.UDP, signed); err != nil {
		t.Fatal(err)
	}
	// A broken weight file is counted as a failed reload, a repaired one as a good reload.
	monitoringWrite(t, s.weights, "dogs.example.test\n127.0.0.2 heavy\n")
	monitoringAwait(t, "a failed weight file reload", func() bool {
		return has(scrape(), "coredns_weighted_weight_file_reloads_total", "result", "error")
	})
	monitoringWrite(t, s.weights, "dogs.example.test\n127.0.0.2 1\n")
	monitoringAwait(t, "a good weight file reload", func() bool {
		return has(scrape(), "coredns_weighted_weight_file_reloads_total", "result", "ok")
	})
	// Overrides: server2 is enabled through the API and answers cats.
	overrideMust(t, "POST", "http://"+s.console+"/api/overrides/server2/enable", "")
	monitoringAwait(t, "cats pinned to server2", func() bool {
		return slices.Equal(harness.Addresses(srv.Query(t, "cats.example.test", dns.TypeA)), []string{"127.0.0.3"})
	})
	monitoringAwait(t, "the etcd store reported reachable", func() bool {
		s.exposed = scrape()
		return len(s.exposed["coredns_override_store_reachable"]) > 0
	})
	return s
}

// traffic asks for the names whose answers the metrics count: weighted dogs, drained birds,
// fish from its backup, owls all down, and 65 fresh names that rrotate must make room for.
func (s *monitoringSetup) traffic(t *testing.T, round string) {
	t.Helper()
	for _, name := range []string{"dogs", "dogs", "dogs", "birds", "fish", "owls"} {
		s.srv.Query(t, name+".example.test", dns.TypeA)
	}
	for i := range 65 {
		s.srv.Query(t, fmt.Sprintf("%s-%d.many.example.test", round, i), dns.TypeA)
	}
}

// monitoringScrape reads url in Prometheus's text format.
func monitoringScrape(t *testing.T, addr string) exposition {
	t.Helper()
	return newExposition(monitoringFamilies(t, addr))
}

func monitoringFamilies(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s", addr, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	return families
}

// monitoringAwait polls cond until it holds, failing the test after a generous deadline.
func monitoringAwait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20s", what)
		}
	}
}

func monitoringWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// monitoringPrometheus is where Debian's prometheus package puts the server.
const monitoringPrometheus = "/usr/bin/prometheus"

// monitoringInPrometheus loads alerts.yaml into a real Prometheus that scrapes the server,
// makes every alert's condition happen, and waits until Prometheus holds each alert pending
// or firing; then every dashboard query must return series from the scraped data.
func monitoringInPrometheus(t *testing.T, s *monitoringSetup) {
	if _, err := os.Stat(monitoringPrometheus); err != nil {
		t.Skipf("%s not found (apt-get install prometheus); the alerts are checked only by the rule parser", monitoringPrometheus)
	}
	api := monitoringStartPrometheus(t, s.metrics)
	// Counters must rise after Prometheus's first scrape for increase and rate to see it.
	monitoringAwait(t, "Prometheus scraping CoreDNS", func() bool {
		return len(monitoringQueryAPI(t, api, `coredns_healthcheck_transitions_total{to="down"}`)) > 0
	})

	// The etcd store goes away: the next change fails and the replica says it is unreachable.
	s.etcd.Stop()
	overrideCall(t, "POST", "http://"+s.console+"/api/overrides/server2/enable", "")
	// 127.0.0.5 flaps: up and down three times.
	for range 3 {
		s.web.Start("127.0.0.5")
		s.targetUp(t, "127.0.0.5", "1")
		s.web.Stop("127.0.0.5")
		s.targetUp(t, "127.0.0.5", "0")
	}
	// The weight file breaks again, differently.
	monitoringWrite(t, s.weights, "dogs.example.test\n127.0.0.2 heavier\n")

	want := map[string]bool{}
	for _, g := range monitoringRules(t).Groups {
		for _, r := range g.Rules {
			want[r.Alert] = true
		}
	}
	var alerts map[string][]map[string]string
	for round, deadline := 0, time.Now().Add(90*time.Second); ; round++ {
		s.traffic(t, fmt.Sprint("prom", round))
		alerts = monitoringAlertsAPI(t, api)
		if len(alerts) == len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for name := range want {
		if len(alerts[name]) == 0 {
			t.Errorf("alert %s is neither pending nor firing after its condition happened (active: %v)", name, slices.Sorted(maps.Keys(alerts)))
		}
	}
	monitoringWantAlert(t, alerts, "SteerdnsTargetDown", "target", "127.0.0.5")
	monitoringWantAlert(t, alerts, "SteerdnsTargetFlapping", "target", "127.0.0.5")
	monitoringWantAlert(t, alerts, "SteerdnsAllTargetsOfNameDown", "outcome", "all_down_open")
	monitoringWantAlert(t, alerts, "SteerdnsOverrideStoreUnreachable", "store", s.etcd.Endpoint)

	// A scrape that times out on a loaded machine marks every series stale until the next
	// one succeeds, so each query gets until the deadline to return series.
	deadline := time.Now().Add(60 * time.Second)
	for _, q := range monitoringDashboardQueries(t, "30s") {
		if strings.HasPrefix(q.where, "variable") {
			q.expr = "group by (" + strings.Trim(q.legend, "{}") + ") (" + q.expr + ")"
		}
		for len(monitoringQueryAPI(t, api, q.expr)) == 0 {
			if time.Now().After(deadline) {
				t.Errorf("%s: Prometheus returns no series\n%s", q.where, q.expr)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// monitoringWantAlert fails unless an active alert name has a label that contains value.
func monitoringWantAlert(t *testing.T, alerts map[string][]map[string]string, name, label, value string) {
	t.Helper()
	for _, labels := range alerts[name] {
		if strings.Contains(labels[label], value) {
			return
		}
	}
	t.Errorf("no active %s alert with %s=%q: %v", name, label, value, alerts[name])
}

// monitoringStartPrometheus runs Prometheus scraping target every 2 s (a scrape may take up
// to that long on a loaded machine) with alerts.yaml evaluated every second, and returns its
// base URL. It stops when the test ends.
func monitoringStartPrometheus(t *testing.T, target string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	monitoringWrite(t, config, fmt.Sprintf(`global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 1s
scrape_configs:
  - job_name: coredns
    static_configs:
      - targets: ["%s"]
rule_files:
  - %s
`, target, monitoringAlerts))
	listen := fmt.Sprintf("127.0.0.1:%d", harness.FreePort(t))
	var out syncBuffer
	cmd := exec.Command(monitoringPrometheus, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus output:\n%s", out.String())
		}
	})
	api := "http://" + listen
	monitoringAwait(t, "Prometheus ready", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("prometheus exited: %v\n%s", err, out.String())
		default:
		}
		resp, err := http.Get(api + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return api
}

// monitoringQueryAPI runs an instant query and returns the label sets of the result.
func monitoringQueryAPI(t *testing.T, api, expr string) []map[string]string {
	t.Helper()
	var out struct {
		Status string
		Error  string
		Data   struct {
			Result []struct {
				Metric map[string]string
			}
		}
	}
	monitoringGetJSON(t, api+"/api/v1/query?query="+url.QueryEscape(expr), &out)
	if out.Status != "success" {
		t.Fatalf("query %s: %s", expr, out.Error)
	}
	var sets []map[string]string
	for _, r := range out.Data.Result {
		sets = append(sets, r.Metric)
	}
	return sets
}

// monitoringAlertsAPI returns the label sets of the pending and firing alerts, by name.
func monitoringAlertsAPI(t *testing.T, api string) map[string][]map[string]string {
	t.Helper()
	var out struct {
		Data struct {
			Alerts []struct {
				Labels map[string]string
				State  string
			}
		}
	}
	monitoringGetJSON(t, api+"/api/v1/alerts", &out)
	alerts := map[string][]map[string]string{}
	for _, a := range out.Data.Alerts {
		if a.State == "pending" || a.State == "firing" {
			alerts[a.Labels["alertname"]] = append(alerts[a.Labels["alertname"]], a.Labels)
		}
	}
	return alerts
}

func monitoringGetJSON(t *testing.T, addr string, v any) {
	t.Helper()
	resp, err := http.Get(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
}
