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

// markdown renders the median of each configuration's rounds, with ratios to the baseline.
func markdown(configs []Config, results map[string][]Result, duration time.Duration, rounds int) string {
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "Measured %s on %s (%s, %d CPUs, %s), %d rounds of %s per configuration, alternated; medians shown.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, runtime.GOARCH, runtime.NumCPU(), cpuModel(), rounds, duration)
	base := median(results[baseline], func(r Result) float64 { return r.QPS })
	b.WriteString("| configuration | QPS | × cache+file | avg latency µs | p99 latency µs | lost |\n|---|---:|---:|---:|---:|---:|\n")
	for _, c := range configs {
		rs := results[c.Name]
		qps := median(rs, func(r Result) float64 { return r.QPS })
		ratio := "—"
		if base > 0 {
			ratio = fmt.Sprintf("%.3f", qps/base)
		}
		lost := 0
		for _, r := range rs {
			lost += r.Lost
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.0f | %.0f | %d |\n", c.Name, qps, ratio,
			median(rs, func(r Result) float64 { return r.AvgMicros }),
			median(rs, func(r Result) float64 { return r.P99Micros }), lost)
	}
	return b.String()
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
