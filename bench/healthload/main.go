// Command healthload measures what health checking costs at scale: it starts the built
// coredns with one healthcheck block probing many TCP targets on loopback addresses
// (127.1.x.y; a few accept, the others refuse at once) and reports the server's CPU time, as
// a share of one core, its resident memory and the probes it made, over a fixed window. It
// stops by itself.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, 100 on Linux.
const userHZ = 100

func main() {
	coredns := flag.String("coredns", "./coredns", "the coredns binary to measure")
	targets := flag.Int("targets", 10000, "how many TCP targets to probe")
	interval := flag.Duration("interval", time.Second, "probe interval of every target")
	warmup := flag.Duration("warmup", 5*time.Second, "time before the window, for the first probes to spread out")
	window := flag.Duration("window", 20*time.Second, "how long CPU and memory are measured")
	listeners := flag.Int("up", 50, "how many of the targets accept connections")
	cpu := flag.String("cpu", "0", "CPU list for coredns (taskset -c)")
	out := flag.String("out", "", "write the markdown report to this file as well as stdout")
	profile := flag.String("cpuprofile", "", "write a CPU profile of coredns over the window to this file")
	heapProfile := flag.String("heapprofile", "", "write a heap profile of coredns at the end of the window to this file")
	flag.Parse()
	if *targets < 1 || *targets > 65000 {
		log.Fatalf("-targets %d: want 1 to 65000", *targets)
	}

	bin, err := filepath.Abs(*coredns)
	if err != nil {
		log.Fatal(err)
	}
	port, stopListeners := listen(min(*listeners, *targets))
	defer stopListeners()
	dir, err := os.MkdirTemp("", "steerdns-healthload-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dnsPort, metricsPort, pprofPort := freePort(), freePort(), 0
	if *profile != "" || *heapProfile != "" {
		pprofPort = freePort()
	}
	if err := os.WriteFile(filepath.Join(dir, "Corefile"), []byte(corefile(*targets, port, dnsPort, metricsPort, pprofPort, *interval)), 0o644); err != nil {
		log.Fatal(err)
	}

	server := exec.Command("taskset", "-c", *cpu, bin, "-conf", "Corefile", "-quiet")
	var serverOut bytes.Buffer
	server.Dir, server.Stdout, server.Stderr = dir, &serverOut, &serverOut
	if err := server.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() {
		server.Process.Kill()
		server.Wait()
	}()
	pid := server.Process.Pid
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)
	if err := waitHTTP(metricsURL, 30*time.Second); err != nil {
		log.Fatalf("%v\n%s", err, serverOut.String())
	}
	time.Sleep(*warmup)

	cpu0, probes0, start := cpuTicks(pid), probeCount(metricsURL), time.Now()
	profiled := make(chan error, 1)
	if *profile != "" && *heapProfile == "" {
		go func() {
			profiled <- fetch(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", pprofPort, int(window.Seconds())), *profile)
		}()
	} else {
		profiled <- nil
	}
	var rssMax int64
	for time.Since(start) < *window {
		time.Sleep(time.Second)
		rssMax = max(rssMax, rssKiB(pid))
	}
	cpu1, probes1, elapsed := cpuTicks(pid), probeCount(metricsURL), time.Since(start).Seconds()
	stacks, heap := scrape(metricsURL, "go_memstats_stack_inuse_bytes"), scrape(metricsURL, "go_memstats_heap_inuse_bytes")
	if server.ProcessState != nil || cpu1 == 0 {
		log.Fatalf("coredns stopped:\n%s", serverOut.String())
	}

	if err := <-profiled; err != nil {
		log.Printf("cpu profile: %v", err)
	}
	if *heapProfile != "" {
		if err := fetch(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap", pprofPort), *heapProfile); err != nil {
			log.Printf("heap profile: %v", err)
		}
	}
	cpuShare := float64(cpu1-cpu0) / userHZ / elapsed * 100
	report := fmt.Sprintf("| targets | interval | window | CPU (%% of one core) | RSS max | Go heap in use | goroutine stacks | probes/s |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n| %d | %s | %s | %.1f | %.0f MiB | %.0f MiB | %.0f MiB | %.0f |\n",
		*targets, *interval, *window, cpuShare, float64(rssMax)/1024, heap/(1<<20), stacks/(1<<20), (probes1-probes0)/elapsed)
	log.Printf("%d targets (%d accepting) every %s: %.1f%% of one core, RSS max %.0f MiB, %.0f probes/s",
		*targets, min(*listeners, *targets), *interval, cpuShare, float64(rssMax)/1024, (probes1-probes0)/elapsed)
	fmt.Print(report)
	if *out != "" {
		if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

// corefile probes n targets, 100 addresses per name, with a TCP check on port; pprofPort 0
// leaves the pprof plugin out.
func corefile(n, port, dnsPort, metricsPort, pprofPort int, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "example.test:%d {\n    bind 127.0.0.1\n    prometheus 127.0.0.1:%d\n", dnsPort, metricsPort)
	if pprofPort != 0 {
		fmt.Fprintf(&b, "    pprof 127.0.0.1:%d\n", pprofPort)
	}
	b.WriteString("    healthcheck {\n")
	fmt.Fprintf(&b, "        check tcp tcp port %d interval %s timeout 1s\n", port, interval)
	for i := 0; i < n; i += 100 {
		fmt.Fprintf(&b, "        name n%d.example.test", i/100)
		for j := i; j < min(i+100, n); j++ {
			b.WriteString(" " + target(j))
		}
		b.WriteString("\n")
	}
	b.WriteString("    }\n    whoami\n}\n")
	return b.String()
}

// target is the i-th target address: 127.1.0.1, 127.1.0.2, … on loopback.
func target(i int) string {
	i++
	return fmt.Sprintf("127.1.%d.%d", i/256, i%256)
}

// listen accepts connections on the first n targets, on one port, and closes each at once.
func listen(n int) (int, func()) {
	port := 0
	var lns []net.Listener
	for i := range n {
		ln, err := net.Listen("tcp", net.JoinHostPort(target(i), strconv.Itoa(port)))
		if err != nil {
			log.Fatalf("listener: %v", err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		lns = append(lns, ln)
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	if port == 0 {
		port = freePort() // nothing listens: every probe is refused
	}
	return port, func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
}

// cpuTicks is the user plus system CPU time of pid, in USER_HZ ticks.
func cpuTicks(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name in parentheses may hold spaces: fields count from the last ')'.
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// rssKiB is the resident set size of pid.
func rssKiB(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kib
		}
	}
	return 0
}

// probeCount sums the probes counted by the healthcheck's probe duration histograms.
func probeCount(url string) float64 {
	return scrape(url, "coredns_healthcheck_probe_duration_seconds_count")
}

// scrape sums the samples of the metric whose name starts with prefix.
func scrape(url, prefix string) float64 {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	total := 0.0
	s := bufio.NewScanner(resp.Body)
	s.Buffer(make([]byte, 64*1024), 1<<20)
	for s.Scan() {
		line := s.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			total += v
		}
	}
	return total
}

// fetch saves what url serves to path.
func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

func waitHTTP(url string, timeout time.Duration) error {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("coredns did not serve %s", url)
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
