package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Result is one dnsperf run against one configuration.
type Result struct {
	QPS       float64
	AvgMicros float64
	P99Micros float64
	Lost      int
	// P999Micros is the 99.9th percentile of this pass; see P999AtRateMicros.
	P999Micros float64
	// P999AtRateMicros is the 99.9th percentile latency at a fixed, modest rate (fixedRate):
	// what a client sees when the server is not saturated.
	P999AtRateMicros float64
}

// fixedRate is the query rate of the latency run, well below what any configuration serves.
const fixedRate = 1000

type runner struct {
	bin                string
	duration           time.Duration
	serverCPU, loadCPU string
}

// measure starts coredns with c, waits until it answers, runs dnsperf against it and stops it.
func (r *runner) measure(c Config) (Result, error) {
	dir, err := os.MkdirTemp("", "steerdns-bench-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return Result{}, err
	}
	files := map[string]string{"Corefile": c.corefile(port), "example.test.zone": zone, "queries.txt": queries}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return Result{}, err
		}
	}

	var serverOut bytes.Buffer
	server := exec.Command("taskset", "-c", r.serverCPU, r.bin, "-conf", "Corefile", "-quiet")
	server.Dir, server.Stdout, server.Stderr = dir, &serverOut, &serverOut
	if err := server.Start(); err != nil {
		return Result{}, err
	}
	defer func() {
		server.Process.Kill()
		server.Wait()
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitForDNS(addr); err != nil {
		return Result{}, fmt.Errorf("%v\n%s", err, serverOut.String())
	}
	time.Sleep(1500 * time.Millisecond) // first health verdicts, warm cache

	res, err := r.dnsperf(dir, port, "-c", "8", "-q", "64")
	if err != nil {
		return Result{}, err
	}
	atRate, err := r.dnsperf(dir, port, "-c", "1", "-q", "16", "-Q", strconv.Itoa(fixedRate))
	if err != nil {
		return Result{}, err
	}
	res.P999AtRateMicros = atRate.P999Micros
	return res, nil
}

// dnsperf runs one dnsperf pass of r.duration against the server with the extra arguments.
func (r *runner) dnsperf(dir string, port int, args ...string) (Result, error) {
	args = append([]string{"-c", r.loadCPU, "dnsperf", "-s", "127.0.0.1", "-p", strconv.Itoa(port),
		"-d", "queries.txt", "-l", strconv.Itoa(int(r.duration.Seconds())), "-v"}, args...)
	load := exec.Command("taskset", args...)
	load.Dir = dir
	out, err := load.Output()
	if err != nil {
		return Result{}, fmt.Errorf("dnsperf: %v", err)
	}
	return parseDNSPerf(out)
}

var (
	qpsLine  = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	avgLine  = regexp.MustCompile(`Average Latency \(s\):\s+([0-9.]+)`)
	lostLine = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
)

// parseDNSPerf reads dnsperf's summary and its verbose per-query lines
// ("> NOERROR name type 0.000123") for the 99th percentile.
func parseDNSPerf(out []byte) (Result, error) {
	var res Result
	m := qpsLine.FindSubmatch(out)
	if m == nil {
		return res, fmt.Errorf("no 'Queries per second' in dnsperf output:\n%s", tail(out))
	}
	res.QPS, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := avgLine.FindSubmatch(out); m != nil {
		avg, _ := strconv.ParseFloat(string(m[1]), 64)
		res.AvgMicros = avg * 1e6
	}
	if m := lostLine.FindSubmatch(out); m != nil {
		res.Lost, _ = strconv.Atoi(string(m[1]))
	}
	var lat []float64
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 5 && f[0] == ">" {
			if v, err := strconv.ParseFloat(f[4], 64); err == nil {
				lat = append(lat, v)
			}
		}
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		res.P99Micros = lat[len(lat)*99/100] * 1e6
		res.P999Micros = lat[len(lat)*999/1000] * 1e6
	}
	return res, nil
}

func waitForDNS(addr string) error {
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if r, _, err := c.Exchange(m, addr); err == nil && r.Rcode == dns.RcodeSuccess {
			return nil
		}
	}
	return fmt.Errorf("coredns did not answer on %s", addr)
}

func freePort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}
