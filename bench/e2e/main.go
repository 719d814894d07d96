// Command e2e measures the query throughput and latency of the built coredns with a series
// of Corefiles, side by side in one run: the same binary, zone and query mix, dnsperf as the
// load, server and load generator pinned to separate cores, and the configurations
// alternated round after round so that drift on a noisy machine hits all of them alike.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func main() {
	coredns := flag.String("coredns", "./coredns", "the coredns binary to measure")
	duration := flag.Duration("duration", 10*time.Second, "length of one dnsperf run")
	rounds := flag.Int("rounds", 3, "how many times each configuration is measured, alternated")
	only := flag.String("only", "", "comma-separated configuration names to run (default all)")
	out := flag.String("out", "", "write the report (all of BENCHMARKS.md) to this file as well as stdout")
	goBench := flag.String("gobench", "", "output of `go test -bench -benchmem` to include in the report")
	healthLoad := flag.String("healthload", "", "report of bench/healthload to include")
	notes := flag.String("notes", "", "markdown file appended to the report")
	command := flag.String("command", "", "the command to name in the report (default: this one)")
	serverCPU := flag.String("server-cpu", "0", "CPU list for coredns (taskset -c)")
	loadCPU := flag.String("load-cpu", "1", "CPU list for dnsperf (taskset -c)")
	flag.Parse()

	bin, err := filepath.Abs(*coredns)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		log.Fatalf("coredns binary: %v (run `make build` first)", err)
	}

	if *command == "" {
		*command = "go run ./bench/e2e " + strings.Join(os.Args[1:], " ")
	}
	machineAtStart := machine() // before the load
	backends, stop := startBackends()
	defer stop()

	var selected []Config
	for _, c := range configs(backends) {
		if *only == "" || contains(strings.Split(*only, ","), c.Name) {
			selected = append(selected, c)
		}
	}
	if len(selected) == 0 {
		log.Fatalf("-only %q matches no configuration", *only)
	}

	r := &runner{bin: bin, duration: *duration, serverCPU: *serverCPU, loadCPU: *loadCPU}
	results := map[string][]Result{}
	for round := 1; round <= *rounds; round++ {
		// Every other round runs backwards (A B C, C B A, …), so that a configuration's place
		// in a round does not bias it: a drift within rounds hits the first and last alike.
		order := slices.Clone(selected)
		if round%2 == 0 {
			slices.Reverse(order)
		}
		for _, c := range order {
			res, err := r.measure(c)
			if err != nil {
				log.Fatalf("%s: %v", c.Name, err)
			}
			log.Printf("round %d %-24s %8.0f qps  avg %6.0f µs  p99 %6.0f µs", round, c.Name, res.QPS, res.AvgMicros, res.P99Micros)
			results[c.Name] = append(results[c.Name], res)
		}
	}

	report, err := document(*command, machineAtStart, markdown(selected, results, *duration, *rounds), *goBench, *healthLoad, *notes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// startBackends starts the web servers healthcheck probes: one per address of
// cats.example.test, all healthy, on a port that was free.
func startBackends() ([]string, func()) {
	var addrs []string
	var servers []*http.Server
	port := 0
	for i := 2; i <= 5; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:%d", i, port))
		if err != nil {
			log.Fatalf("backend: %v", err)
		}
		port = ln.Addr().(*net.TCPAddr).Port // the same port on every address
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintln(w, "ok")
		}), ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		servers = append(servers, srv)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, func() {
		for _, s := range servers {
			s.Close()
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}
