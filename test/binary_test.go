package test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// TestBinaryListsPlugins runs the built coredns: -plugins lists ours beside upstream's and
// -version works.
func TestBinaryListsPlugins(t *testing.T) {
	bin := harness.Binary(t)
	out, err := exec.Command(bin, "-plugins").CombinedOutput()
	if err != nil {
		t.Fatalf("coredns -plugins: %v\n%s", err, out)
	}
	listed := map[string]bool{}
	for _, f := range strings.Fields(string(out)) {
		listed[f] = true
	}
	for _, want := range []string{"rrotate", "file", "cache", "forward"} {
		if !listed[want] {
			t.Errorf("coredns -plugins does not list %s:\n%s", want, out)
		}
	}
	out, err = exec.Command(bin, "-version").CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("CoreDNS-1.15.0")) {
		t.Errorf("coredns -version: %v\n%s", err, out)
	}
}

// TestBinaryServes starts the built coredns as a process with the demo's zone and queries it.
func TestBinaryServes(t *testing.T) {
	bin := harness.Binary(t)
	dir := t.TempDir()
	zone, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "examples", "demo", "example.test.zone"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "example.test.zone"), zone, 0o644); err != nil {
		t.Fatal(err)
	}
	port := harness.FreePort(t)
	corefile := fmt.Sprintf("example.test:%d {\n bind 127.0.0.1\n rrotate\n cache\n file example.test.zone\n}\n", port)
	if err := os.WriteFile(filepath.Join(dir, "Corefile"), []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	p := StartProcess(t, dir, bin, "-conf", "Corefile")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	WaitForDNS(t, p, addr)

	var leads []string
	for range 4 {
		leads = append(leads, harness.Addresses(harness.Exchange(t, "udp", addr, "cats.example.test.", dns.TypeA))[0])
	}
	if got := strings.Join(leads, " "); got != "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5" {
		t.Errorf("four answers from the binary lead with %s, want each server once in order", got)
	}
}

// Process is a coredns process a test started; its output is kept for failure messages.
type Process struct {
	Cmd    *exec.Cmd
	Output *syncBuffer
}

// StartProcess starts bin with args in dir and kills it when the test ends.
func StartProcess(t *testing.T, dir, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin, args...), Output: &syncBuffer{}}
	p.Cmd.Dir = dir
	p.Cmd.Stdout, p.Cmd.Stderr = p.Output, p.Output
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		p.Cmd.Wait()
	})
	return p
}

// dnsStartWait bounds how long a coredns process may take to answer its first query: the
// start is quick, but a loaded machine can delay it by seconds.
const dnsStartWait = 60 * time.Second

// WaitForDNS waits until the process answers queries on addr, failing after dnsStartWait.
func WaitForDNS(t *testing.T, p *Process, addr string) {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	for deadline := time.Now().Add(dnsStartWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := harness.ExchangeMsg("udp", addr, m); err == nil {
			return
		}
	}
	t.Fatalf("coredns did not answer on %s within %s; output:\n%s", addr, dnsStartWait, p.Output.String())
}
