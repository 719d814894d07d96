package test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// TestOverrideSurvivesKill9 runs the built coredns, enables an override through the API,
// kills the process with SIGKILL the moment the API acknowledges, and starts it again: the
// acknowledged change must be there.
func TestOverrideSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the coredns binary")
	}
	bin := harness.Binary(t)
	dir := t.TempDir()
	overrideZone(t, dir)
	dnsPort, apiPort := harness.FreePort(t), harness.FreePort(t)
	corefile := fmt.Sprintf(`example.test:%d {
    bind 127.0.0.1
    override {
        store overrides.json
        console 127.0.0.1:%d
        declare server1 cats.example.test 127.0.0.2 group cats
        declare server2 cats.example.test 127.0.0.3 group cats
    }
    file example.test.zone
}
`, dnsPort, apiPort)
	if err := os.WriteFile(filepath.Join(dir, "Corefile"), []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	dnsAddr := fmt.Sprintf("127.0.0.1:%d", dnsPort)
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	p := StartProcess(t, dir, bin, "-conf", "Corefile")
	WaitForDNS(t, p, dnsAddr)
	overrideMust(t, "POST", api+"/api/overrides/server2/enable", "")
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.Cmd.Wait()

	p = StartProcess(t, dir, bin, "-conf", "Corefile")
	WaitForDNS(t, p, dnsAddr)
	if got := overrideAddrs(t, "udp", dnsAddr, dns.TypeA); got != "127.0.0.3" {
		t.Errorf("after kill -9 and restart: %s, want 127.0.0.3 (server2 pinned)", got)
	}
	audit := overrideMust(t, "GET", api+"/api/audit", "")["entries"].([]any)
	if last := audit[len(audit)-1].(map[string]any); last["action"] != "enable" || last["id"] != "server2" {
		t.Errorf("last audit entry after restart: %v", last)
	}
}
