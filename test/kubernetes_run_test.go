package test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// kubernetesRunning is a manifest's Corefile running in this process, with what the test
// put around it.
type kubernetesRunning struct {
	Srv   *harness.Server
	Ports map[string]int // where health, ready, prometheus and console listen now
	Web   *kubernetesWeb
}

// kubernetesBlockPort matches the port of a server block's key, ".:53 {".
var kubernetesBlockPort = regexp.MustCompile(`(?m)^(\S+):53(\s*\{)`)

// kubernetesDocAddr matches the documentation addresses of the manifests' zone.
var kubernetesDocAddr = regexp.MustCompile(`\b192\.0\.2\.(\d+)\b`)

// kubernetesInterval matches a health check's interval.
var kubernetesInterval = regexp.MustCompile(`(\binterval )\S+`)

// kubernetesLoopbackNet is where the test's web servers stand in for the zone's servers:
// 192.0.2.N becomes 127.0.77.N. Loopback only, and a /24 no other test uses.
const kubernetesLoopbackNet = "127.0.77."

// kubernetesRun starts the pod's Corefile in this process, as kubernetesLocal rewrites it,
// in a working directory that holds the ConfigMap's other keys (kubernetesConfigDir). env
// sets what the pod's environment would (Secrets, Service links, the cluster DNS address).
func kubernetesRun(t testing.TB, pod *kubernetesPod, upstream string, env map[string]string, rewrite func(string) string) *kubernetesRunning {
	t.Helper()
	web := kubernetesStartWeb(t, kubernetesCheckedAddrs(pod))
	corefile, ports := kubernetesLocal(t, pod, "0", upstream, web.Port)
	if rewrite != nil {
		corefile = rewrite(corefile)
	}
	t.Chdir(kubernetesConfigDir(t, pod))
	for k, v := range env {
		t.Setenv(k, v)
	}
	srv := harness.Start(t, corefile)
	return &kubernetesRunning{Srv: srv, Ports: ports, Web: web}
}

// kubernetesLocal returns the pod's Corefile changed only where this machine differs from a
// cluster; each change is listed here and in the README:
//   - the kubernetes block is left out: there is no API server to talk to;
//   - the server blocks listen on 127.0.0.1 (in a pod: every interface of the pod's own
//     network) and on dnsPort instead of 53, and health, ready, prometheus and
//     the override console on free 127.0.0.1 ports instead of every interface;
//   - the zone's documentation addresses 192.0.2.N become 127.0.77.N, where the test runs
//     web servers on webPort, which replaces the health check's 8080;
//   - forward ... /etc/resolv.conf goes to upstream instead of this machine's resolvers;
//   - health checks run every 200ms (a sidecar checks every 10s), so that the tests see
//     a verdict change within their deadline;
//   - the paths under a mount of pod.Mounts (the etcd client certificate) move to the
//     directory standing in for it.
func kubernetesLocal(t testing.TB, pod *kubernetesPod, dnsPort, upstream string, webPort int) (string, map[string]int) {
	t.Helper()
	corefile := pod.Corefile
	for mount, dir := range pod.Mounts {
		corefile = kubernetesReplace(t, corefile, mount, dir)
	}
	corefile = kubernetesInterval.ReplaceAllString(corefile, "${1}200ms")
	if len(pod.Directives("kubernetes")) > 0 {
		corefile = kubernetesRemoveDirective(t, corefile, "kubernetes")
	}
	repl := "${1}:" + dnsPort + "${2}"
	if len(pod.Directives("bind")) == 0 {
		repl += "\n    bind 127.0.0.1"
	}
	corefile = kubernetesBlockPort.ReplaceAllString(corefile, repl)
	corefile, ports := kubernetesRelisten(t, corefile)
	if strings.Contains(corefile, "/etc/resolv.conf") {
		corefile = kubernetesReplace(t, corefile, "/etc/resolv.conf", upstream)
	}
	corefile = kubernetesDocAddr.ReplaceAllString(corefile, kubernetesLoopbackNet+"$1")
	corefile = kubernetesReplace(t, corefile, "port 8080", fmt.Sprintf("port %d", webPort))
	return corefile, ports
}

// kubernetesCheckedAddrs returns the loopback stand-ins of the addresses the Corefile's
// healthcheck blocks name.
func kubernetesCheckedAddrs(pod *kubernetesPod) []string {
	var addrs []string
	for _, d := range pod.Directives("healthcheck") {
		for _, l := range d.Block {
			if l[0] != "name" {
				continue
			}
			for _, a := range l[2:] {
				if m := kubernetesDocAddr.FindStringSubmatch(a); m != nil {
					addrs = append(addrs, kubernetesLoopbackNet+m[1])
				}
			}
		}
	}
	return addrs
}

// kubernetesConfigDir writes the ConfigMap's keys other than the Corefile (the zone, with
// its addresses moved to loopback) to a new directory, which stands in for the mount path
// that is the container's working directory.
func kubernetesConfigDir(t testing.TB, pod *kubernetesPod) string {
	t.Helper()
	dir := t.TempDir()
	for key, data := range pod.ConfigMap.Data {
		if key == "Corefile" {
			continue
		}
		data = kubernetesDocAddr.ReplaceAllString(data, kubernetesLoopbackNet+"$1")
		if err := os.WriteFile(filepath.Join(dir, key), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// kubernetesRelisten moves health, ready, prometheus and console to free loopback ports,
// one port per directive name, shared by the server blocks as in the manifest.
func kubernetesRelisten(t testing.TB, corefile string) (string, map[string]int) {
	t.Helper()
	ports := map[string]int{}
	lines := strings.Split(corefile, "\n")
	for i, line := range lines {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch name := fields[0]; name {
		case "health", "ready", "prometheus", "console":
			if ports[name] == 0 {
				ports[name] = harness.FreePort(t)
			}
			indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			lines[i] = fmt.Sprintf("%s%s 127.0.0.1:%d", indent, name, ports[name])
			if fields[len(fields)-1] == "{" {
				lines[i] += " {"
			}
		}
	}
	return strings.Join(lines, "\n"), ports
}

// kubernetesUpstream starts a stand-in for the cluster DNS (or the node's resolvers) on
// loopback, authoritative for the cluster domain with one name,
// kubernetes.default.svc.DOMAIN, and returns its address.
func kubernetesUpstream(t testing.TB, domain string) string {
	t.Helper()
	zone := filepath.Join(t.TempDir(), "cluster.zone")
	data := fmt.Sprintf(`$ORIGIN %[1]s.
@ 30 IN SOA ns.dns.%[1]s. hostmaster.%[1]s. 1 7200 1800 86400 30
@ 30 IN NS ns.dns.%[1]s.
kubernetes.default.svc 30 IN A 10.96.0.1
`, domain)
	if err := os.WriteFile(zone, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := harness.Start(t, fmt.Sprintf("%s:0 {\n    bind 127.0.0.1\n    file %s\n}\n", domain, zone))
	return srv.UDP
}

// kubernetesWeb is the set of web servers standing in for the zone's servers.
type kubernetesWeb struct {
	Port    int
	servers map[string]*http.Server
}

// kubernetesStartWeb starts a web server on each address, all on one free port, answering
// "server ADDRESS"; they stop when the test ends.
func kubernetesStartWeb(t testing.TB, addrs []string) *kubernetesWeb {
	t.Helper()
	for attempt := 0; attempt < 10; attempt++ {
		w := &kubernetesWeb{servers: map[string]*http.Server{}}
		var lns []net.Listener
		ok := true
		for _, a := range addrs {
			ln, err := net.Listen("tcp", net.JoinHostPort(a, fmt.Sprint(w.Port)))
			if err != nil {
				ok = false
				break
			}
			w.Port = ln.Addr().(*net.TCPAddr).Port
			lns = append(lns, ln)
		}
		if !ok {
			for _, ln := range lns {
				ln.Close()
			}
			continue
		}
		for i, ln := range lns {
			addr := addrs[i]
			s := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(rw, "server %s\n", addr)
			})}
			w.servers[addr] = s
			go s.Serve(ln)
		}
		t.Cleanup(func() {
			for _, s := range w.servers {
				s.Close()
			}
		})
		return w
	}
	t.Fatalf("could not start web servers on %v", addrs)
	return nil
}

// Stop stops the web server on addr, as a crashed server would.
func (w *kubernetesWeb) Stop(t testing.TB, addr string) {
	t.Helper()
	s, ok := w.servers[addr]
	if !ok {
		t.Fatalf("no web server on %s", addr)
	}
	s.Close()
}

// kubernetesHTTP sends a request and returns the status and body; a connection error is
// status 0.
func kubernetesHTTP(method, url, token string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// kubernetesEventually polls cond until it holds, failing the test after 20 s with what
// the last attempt said. Probes and health verdicts take their time; no timing is asserted.
func kubernetesEventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("%s: still not so after 20s; last: %s", what, last)
}

// kubernetesWaitReady waits until /ready answers 200: the zone is loaded and every checked
// address has its first verdict, which is when the kubelet would send traffic.
func kubernetesWaitReady(t testing.TB, run *kubernetesRunning) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/ready", run.Ports["ready"])
	kubernetesEventually(t, "GET "+url+" is 200", func() (bool, string) {
		code, body := kubernetesHTTP("GET", url, "")
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})
	url = fmt.Sprintf("http://127.0.0.1:%d/health", run.Ports["health"])
	if code, body := kubernetesHTTP("GET", url, ""); code != http.StatusOK {
		t.Errorf("GET %s: %d %s", url, code, body)
	}
}

// kubernetesCheckSteering checks the steered zone: cats.example.test is weighted 3:1:1:1 over
// UDP and TCP, dogs.example.test rotates strictly, and a name of the cluster domain is
// forwarded to the (stand-in) cluster DNS.
func kubernetesCheckSteering(t testing.TB, run *kubernetesRunning, domain string) {
	t.Helper()
	_, tcp := run.Srv.Addrs(0)
	for _, net := range []struct{ name, addr string }{{"udp", run.Srv.UDP}, {"tcp", tcp}} {
		leads := map[string]int{}
		for range 6 {
			m := harness.Exchange(t, net.name, net.addr, "cats.example.test.", dns.TypeA)
			got := harness.Addresses(m)
			if len(got) != 4 {
				t.Fatalf("cats.example.test over %s: %v, want the four servers", net.name, got)
			}
			leads[got[0]]++
		}
		want := map[string]int{kubernetesLoopbackNet + "2": 3, kubernetesLoopbackNet + "3": 1, kubernetesLoopbackNet + "4": 1, kubernetesLoopbackNet + "5": 1}
		if fmt.Sprint(leads) != fmt.Sprint(want) {
			t.Errorf("over %s, 6 answers for cats.example.test lead with %v, want the weights 3:1:1:1 %v", net.name, leads, want)
		}
	}

	var dogs []string
	for range 3 {
		got := harness.Addresses(run.Srv.Query(t, "dogs.example.test.", dns.TypeA))
		if len(got) != 3 {
			t.Fatalf("dogs.example.test: %v, want three addresses", got)
		}
		dogs = append(dogs, got[0])
	}
	if strings.Join(dogs, " ") != "127.0.77.6 127.0.77.7 127.0.77.8" {
		t.Errorf("three answers for dogs.example.test lead with %v, want each server once, in zone order", dogs)
	}

	name := "kubernetes.default.svc." + domain + "."
	m := run.Srv.Query(t, name, dns.TypeA)
	if got := harness.Addresses(m); m.Rcode != dns.RcodeSuccess || len(got) != 1 || got[0] != "10.96.0.1" {
		t.Errorf("%s: %s %v, want 10.96.0.1 from the upstream", name, dns.RcodeToString[m.Rcode], got)
	}
}

// kubernetesCheckHealth stops the web server behind 192.0.2.3 and waits until the answers
// for cats.example.test leave it out.
func kubernetesCheckHealth(t testing.TB, run *kubernetesRunning) {
	t.Helper()
	down := kubernetesLoopbackNet + "3"
	run.Web.Stop(t, down)
	kubernetesEventually(t, "cats.example.test leaves out the stopped server "+down, func() (bool, string) {
		got := harness.Addresses(run.Srv.Query(t, "cats.example.test.", dns.TypeA))
		return len(got) == 3 && !strings.Contains(strings.Join(got, " ")+" ", down+" "), fmt.Sprint(got)
	})
}

// kubernetesCheckMetrics checks that the metrics port the Service and the manifests point
// at serves CoreDNS's and our plugins' metrics.
func kubernetesCheckMetrics(t testing.TB, run *kubernetesRunning, want ...string) {
	t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", run.Ports["prometheus"])
	code, body := kubernetesHTTP("GET", url, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d", url, code)
	}
	for _, m := range append([]string{"coredns_dns_requests_total"}, want...) {
		if !strings.Contains(body, m) {
			t.Errorf("GET %s has no %s", url, m)
		}
	}
}
