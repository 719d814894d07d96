package test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// readmeFiles are present in the working directory of every README example, so examples may
// serve a zone without shipping one.
var readmeFiles = map[string]string{
	"example.test.zone": "examples/demo/example.test.zone",
	"db.example.org":    "test/testdata/db.example.org",
}

// TestReadmeExamples starts every ~~~ corefile block of every plugin README: a Corefile
// example that does not start is a bug in the docs. The addresses an example names are a
// reader's (a console on 8053, etcd on 2379, web servers on 8080): each is rewritten to one
// of the test's own, so an example never binds, probes or writes to anything else on the
// machine.
func TestReadmeExamples(t *testing.T) {
	dir := t.TempDir()
	for name, src := range readmeFiles {
		data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	defer func(port string) { dnsserver.Port = port }(dnsserver.Port)
	dnsserver.Port = "0"

	readmes, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "plugin", "*", "README.md"))
	if err != nil || len(readmes) == 0 {
		t.Fatalf("no plugin READMEs found: %v", err)
	}
	own := &ownAddresses{t: t}
	for _, readme := range readmes {
		examples := readmeCorefiles(t, readme)
		if len(examples) == 0 {
			t.Errorf("%s has no ~~~ corefile example", readme)
		}
		for i, example := range examples {
			name := fmt.Sprintf("%s example %d", filepath.Base(filepath.Dir(readme)), i+1)
			corefile := own.rewrite(example)
			if foreign := own.foreignPorts(corefile); len(foreign) > 0 {
				t.Errorf("%s still names ports %v after the rewrite to the test's own; teach ownAddresses this form:\n%s", name, foreign, corefile)
				continue
			}
			srv, err := harness.StartErr(corefile)
			if err != nil {
				t.Errorf("%s does not start: %v\n%s", name, err, corefile)
				continue
			}
			srv.Stop()
		}
	}
}

// TestReadmeRewriteLeavesNoForeignPort checks the rewrite on the forms README examples use,
// so that TestReadmeExamples cannot pass by leaving a reader's port in place.
func TestReadmeRewriteLeavesNoForeignPort(t *testing.T) {
	own := &ownAddresses{t: t}
	in := `example.test:1053 {
    override {
        store etcd http://127.0.0.1:2379 127.0.0.1:22379 {
            prefix /x/
        }
        console 127.0.0.1:8053
    }
    healthcheck {
        check web http port 8080 path / interval 250ms
        check tls https path /health
        name cats.example.test 127.0.0.2 127.0.0.3
        etcd 127.0.0.1:2379 {
            prefix /steerdns/health/
        }
    }
    forward . 127.0.0.1:5300 [::1]:5301
}
`
	out := own.rewrite(in)
	for _, reader := range []string{":1053", "2379", "8053", "8080", "5300", "5301"} {
		if strings.Contains(out, reader) {
			t.Errorf("rewritten Corefile still holds %s:\n%s", reader, out)
		}
	}
	if foreign := own.foreignPorts(out); len(foreign) > 0 {
		t.Errorf("ports %v are not the test's own:\n%s", foreign, out)
	}
	if n := strings.Count(out, fmt.Sprintf("port %d", own.web.Port)); n != 2 {
		t.Errorf("%d checks probe the test's web servers, want both:\n%s", n, out)
	}
	lines := etcdStore.FindAllStringSubmatch(out, -1)
	if len(lines) != 2 {
		t.Fatalf("found %d etcd lines after the rewrite, want override's and healthcheck's:\n%s", len(lines), out)
	}
	if m := lines[0]; strings.Fields(m[2])[0] != own.etcd.Endpoint || len(strings.Fields(m[2])) != 2 {
		t.Errorf("override's etcd endpoints are not the test's etcd and one proxy to it:\n%s", out)
	}
	if m := lines[1]; strings.TrimSpace(m[2]) != own.etcd.Endpoint {
		t.Errorf("healthcheck's etcd endpoint is not the test's etcd:\n%s", out)
	}
	if foreign := own.foreignPorts("console 127.0.0.1:8053\n"); len(foreign) != 1 {
		t.Errorf("foreignPorts misses a reader's console port: %v", foreign)
	}
}

// ownAddresses rewrites a README example's addresses to servers the test runs: free ports for
// listeners (console, forward targets), an embedded etcd for `store etcd`, and real web
// servers for health checks. Each is started the first time an example needs it.
type ownAddresses struct {
	t     *testing.T
	etcd  *etcdtest.Server
	web   *harness.Web
	webIP map[string]bool // the addresses web serves on
	ports map[int]bool    // every port handed to an example
}

var (
	// serverBlockPort matches the port of a server block's key; the kernel picks one instead.
	serverBlockPort = regexp.MustCompile(`(?m)^(\S*):\d+(\s*\{)`)
	// etcdStore matches override's `store etcd ENDPOINT... {` line and healthcheck's
	// `etcd ENDPOINT... {`.
	etcdStore = regexp.MustCompile(`(?m)^([ \t]*(?:store[ \t]+)?etcd)((?:[ \t]+[^\s{]+)+)([ \t]*\{?[ \t]*)$`)
	// checkLine matches a health check's `check NAME KIND` and the rest of its line.
	checkLine = regexp.MustCompile(`(?m)^([ \t]*check[ \t]+\S+[ \t]+\S+)(.*)$`)
	// checkPort matches a check's `port N` option.
	checkPort = regexp.MustCompile(`[ \t]+port[ \t]+\d+`)
	// hostPort matches an IP address or localhost with a port, or a bare :PORT, as a word. It
	// consumes no character after the port, so that two in a row ("A:1 B:2") both match.
	hostPort = regexp.MustCompile(`(^|\s)(\d{1,3}(?:\.\d{1,3}){3}|localhost|\[[0-9a-fA-F:]+\]|):(\d+)\b`)
	// loopbackIPv4 matches the addresses an example's health checks may probe.
	loopbackIPv4 = regexp.MustCompile(`\b127\.\d{1,3}\.\d{1,3}\.\d{1,3}\b`)
)

func (o *ownAddresses) rewrite(corefile string) string {
	corefile = serverBlockPort.ReplaceAllString(corefile, "${1}:0${2}")
	corefile = etcdStore.ReplaceAllStringFunc(corefile, func(line string) string {
		m := etcdStore.FindStringSubmatch(line)
		return m[1] + " " + strings.Join(o.etcdEndpoints(len(strings.Fields(m[2]))), " ") + m[3]
	})
	corefile = checkLine.ReplaceAllStringFunc(corefile, func(line string) string {
		m := checkLine.FindStringSubmatch(line)
		return m[1] + fmt.Sprintf(" port %d", o.webPort(corefile)) + checkPort.ReplaceAllString(m[2], "")
	})
	// Run to a fixed point: adjacent addresses share the whitespace between them.
	for {
		next := hostPort.ReplaceAllStringFunc(corefile, func(s string) string {
			m := hostPort.FindStringSubmatch(s)
			if o.ports[atoi(m[3])] {
				return s
			}
			return m[1] + m[2] + ":" + strconv.Itoa(o.freePort())
		})
		if next == corefile {
			return corefile
		}
		corefile = next
	}
}

// foreignPorts returns the ports in corefile that the rewrite did not hand out: any word of
// the form HOST:PORT or SCHEME://HOST:PORT, and any `port N`. It is independent of the
// rewrite's patterns, so a form the rewrite does not know is reported, not missed.
func (o *ownAddresses) foreignPorts(corefile string) []string {
	var out []string
	words := strings.Fields(corefile)
	for i, w := range words {
		if w == "port" && i+1 < len(words) {
			if p, err := strconv.Atoi(words[i+1]); err == nil && !o.ports[p] {
				out = append(out, "port "+words[i+1])
			}
			continue
		}
		hostport := w
		if _, after, ok := strings.Cut(w, "://"); ok {
			hostport = strings.TrimSuffix(after, "/")
		}
		_, port, err := net.SplitHostPort(hostport)
		if err != nil {
			continue // no port, or an IPv6 address
		}
		if p, err := strconv.Atoi(port); err == nil && p != 0 && !o.ports[p] {
			out = append(out, w)
		}
	}
	return out
}

// etcdEndpoints returns n endpoints of the test's etcd: the server itself and proxies to it,
// so that an example listing every member of a cluster keeps its shape.
func (o *ownAddresses) etcdEndpoints(n int) []string {
	if o.etcd == nil {
		o.etcd = etcdtest.Start(o.t)
	}
	out := []string{o.etcd.Endpoint}
	for len(out) < n {
		out = append(out, o.etcd.Proxy(o.t).Endpoint)
	}
	for _, e := range out {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(e, "http://"))
		o.own(atoi(port))
	}
	return out
}

// webPort returns the port of web servers on every IPv4 loopback address corefile names, so
// that its HTTP and TCP checks probe the test's servers and nothing else.
func (o *ownAddresses) webPort(corefile string) int {
	if o.webIP == nil {
		o.webIP = map[string]bool{}
	}
	var ips []string
	for _, ip := range loopbackIPv4.FindAllString(corefile, -1) {
		if !o.webIP[ip] {
			o.webIP[ip] = true
			ips = append(ips, ip)
		}
	}
	if o.web == nil {
		o.web = harness.StartWeb(o.t, ips...)
		o.own(o.web.Port)
		return o.web.Port
	}
	for _, ip := range ips {
		o.web.Start(ip)
	}
	return o.web.Port
}

func (o *ownAddresses) freePort() int {
	p := harness.FreePort(o.t)
	o.own(p)
	return p
}

func (o *ownAddresses) own(port int) {
	if o.ports == nil {
		o.ports = map[int]bool{}
	}
	o.ports[port] = true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func readmeCorefiles(t *testing.T, readme string) []string {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var block *strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case block == nil && (line == "~~~ corefile" || line == "``` corefile"):
			block = &strings.Builder{}
		case block != nil && (line == "~~~" || line == "```"):
			out = append(out, block.String())
			block = nil
		case block != nil:
			block.WriteString(line + "\n")
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
