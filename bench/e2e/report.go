package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"
)

// baseline is the configuration ratios refer to.
const baseline = "cache+file"

// markdown renders the median of each configuration's rounds, with ratios to the baseline,
// and says whether the chain meets its targets.
func markdown(configs []Config, results map[string][]Result, duration time.Duration, rounds int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d rounds of %s per configuration, alternated; medians shown. Ratios are to the median QPS of `%s`.\n\n", rounds, duration, baseline)
	qps := func(name string) float64 { return median(results[name], func(r Result) float64 { return r.QPS }) }
	base := qps(baseline)
	b.WriteString(fmt.Sprintf("| configuration | QPS | × cache+file | avg latency µs | p99 latency µs | p99.9 µs at %d qps | lost |\n|---|---:|---:|---:|---:|---:|---:|\n", fixedRate))
	for _, c := range configs {
		rs := results[c.Name]
		ratio := "—"
		if base > 0 {
			ratio = fmt.Sprintf("%.3f", qps(c.Name)/base)
		}
		lost := 0
		for _, r := range rs {
			lost += r.Lost
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.0f | %.0f | %.0f | %d |\n", c.Name, qps(c.Name), ratio,
			median(rs, func(r Result) float64 { return r.AvgMicros }),
			median(rs, func(r Result) float64 { return r.P99Micros }),
			median(rs, func(r Result) float64 { return r.P999AtRateMicros }), lost)
	}
	full, lb := qps(fullChain), qps(loadbalanced)
	if full > 0 && base > 0 && lb > 0 {
		fmt.Fprintf(&b, "\nTargets: full chain %.3f× `cache+file` (target ≥ 0.95: %s), %.3f× `loadbalance+cache+file` (target ≥ 1.0: %s).\n",
			full/base, verdict(full/base >= 0.95), full/lb, verdict(full/lb >= 1.0))
	}
	p999 := func(name string) float64 {
		return median(results[name], func(r Result) float64 { return r.P999AtRateMicros })
	}
	if full, base := p999(fullChain), p999(baseline); full > 0 && base > 0 {
		fmt.Fprintf(&b, "p99.9 latency at %d qps: full chain %.2f× `cache+file`'s (target ≤ 1.2: %s).\n", fixedRate, full/base, verdict(full/base <= 1.2))
	}
	return b.String()
}

// The configurations the targets compare.
const (
	fullChain    = "full chain+cache+file"
	loadbalanced = "loadbalance+cache+file"
)

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "missed"
}

// document is the whole BENCHMARKS.md: the machine, the command, the end-to-end table and the
// sections read from the files the other measurements wrote (skipped when not given).
func document(command, machine, e2e, goBench, healthLoad, notes string) (string, error) {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `bench/e2e` from one run of the command below; every figure in a table was measured in that run, side by side on the same machine. Shared machines are noisy: compare rows of one table, not figures across runs.\n\n")
	fmt.Fprintf(&b, "- Command: `%s`\n- Measured: %s\n- Machine: %s\n\n", command, time.Now().UTC().Format("2006-01-02 15:04 MST"), machine)
	b.WriteString("## End to end: the built coredns under dnsperf\n\n")
	b.WriteString("One zone, one query mix (mostly `cats.example.test` A with four addresses, the name the plugins act on; some AAAA, CNAME, single-address, NXDOMAIN and SOA queries), one coredns binary; only the Corefile changes. coredns and dnsperf are pinned to separate cores (taskset), on loopback.\n\n")
	b.WriteString(e2e)
	if goBench != "" {
		table, err := goBenchTable(goBench)
		if err != nil {
			return "", err
		}
		b.WriteString("\n## Query paths: Go benchmarks\n\n`go test -run '^$' -bench . -benchmem ./plugin/...`, in the same run. A plugin's own cost is its figure minus the handler it wraps, which the benchmarks stub with one that allocates nothing.\n\n")
		b.WriteString(table)
	}
	if healthLoad != "" {
		data, err := os.ReadFile(healthLoad)
		if err != nil {
			return "", err
		}
		b.WriteString("\n## Health checking at scale\n\n`go run ./bench/healthload`: the built coredns with one healthcheck block of TCP checks on loopback targets (127.1.x.y, a few accepting, the rest refusing), measured from /proc over the window after a warm-up.\n\n")
		b.Write(data)
	}
	if notes != "" {
		data, err := os.ReadFile(notes)
		if err != nil {
			return "", err
		}
		b.WriteString("\n")
		b.Write(data)
	}
	return b.String(), nil
}

// machine describes where the figures were taken.
func machine() string {
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	load, _ := os.ReadFile("/proc/loadavg")
	return fmt.Sprintf("%s, %s, %d CPUs (%s), Linux %s, %s; load average at start %s",
		host, runtime.GOARCH, runtime.NumCPU(), cpuModel(), strings.TrimSpace(string(kernel)), runtime.Version(),
		strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
}

func median(rs []Result, f func(Result) float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	return v[len(v)/2]
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if name, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
		}
	}
	return "unknown CPU"
}
