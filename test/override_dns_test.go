package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// overrideZone writes a zone where cats has four IPv4 and two IPv6 addresses.
func overrideZone(t *testing.T, dir string) string {
	t.Helper()
	return harness.ZoneFile(t, dir, `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
cats  300 IN AAAA ::2
cats  300 IN AAAA ::3
cats  300 IN MX   10 mail.example.test.
`)
}

// overrideSetup is a running server with the override plugin in front of file, the demo's
// four servers declared in group cats, and the API on a free loopback port.
type overrideSetup struct {
	srv      *harness.Server
	corefile string
	api      string // base URL of the API
	store    string
}

// overrideBlock is the demo's override block: a file store in dir, the console on port, and
// server1 … server4 declared in group cats, plus extra lines.
func overrideBlock(dir string, port int, extra string) string {
	return fmt.Sprintf(`override {
        store %s
        console 127.0.0.1:%d
        declare server1 cats.example.test 127.0.0.2 group cats note "web server 1"
        declare server2 cats.example.test 127.0.0.3 group cats note "web server 2"
        declare server3 cats.example.test 127.0.0.4 group cats note "web server 3"
        declare server4 cats.example.test 127.0.0.5 group cats note "web server 4"
        %s
    }`, filepath.Join(dir, "overrides.json"), port, extra)
}

func overrideCorefile(dir string, port int, extra string) string {
	return fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    %s
    rrotate
    cache 30
    file %s
}`, overrideBlock(dir, port, extra), filepath.Join(dir, "example.test.zone"))
}

func overrideStart(t *testing.T, extra string) *overrideSetup {
	t.Helper()
	return overrideStartIn(t, t.TempDir(), extra)
}

// overrideStartIn is overrideStart with the zone and the store in dir.
func overrideStartIn(t *testing.T, dir, extra string) *overrideSetup {
	t.Helper()
	overrideZone(t, dir)
	port := harness.FreePort(t)
	s := &overrideSetup{
		corefile: overrideCorefile(dir, port, extra),
		api:      fmt.Sprintf("http://127.0.0.1:%d", port),
		store:    filepath.Join(dir, "overrides.json"),
	}
	s.srv = harness.Start(t, s.corefile)
	return s
}

// overrideCall sends one API request and decodes the JSON answer.
func overrideCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-User", "integration-test")
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func overrideMust(t *testing.T, method, url, body string) map[string]any {
	t.Helper()
	status, out := overrideCall(t, method, url, body)
	if status/100 != 2 {
		t.Fatalf("%s %s %s: status %d: %v", method, url, body, status, out)
	}
	return out
}

// overrideAddrs queries over network and returns the answer's addresses, sorted as given.
func overrideAddrs(t *testing.T, network, addr string, qtype uint16) string {
	t.Helper()
	m := harness.Exchange(t, network, addr, "cats.example.test.", qtype)
	if m.Rcode != dns.RcodeSuccess {
		t.Fatalf("rcode %s", dns.RcodeToString[m.Rcode])
	}
	got := harness.Addresses(m)
	if len(got) == 0 {
		return "NODATA"
	}
	return strings.Join(overrideSorted(got), " ")
}

func overrideSorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

const overrideAll = "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"

func TestOverrideEnableSwitchDisable(t *testing.T) {
	s := overrideStart(t, "")
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != overrideAll {
		t.Fatalf("before any override: %s", got)
	}

	overrideMust(t, "POST", s.api+"/api/overrides/server2/enable", "")
	for _, network := range []string{"udp", "tcp"} {
		addr := map[string]string{"udp": s.srv.UDP, "tcp": s.srv.TCP}[network]
		m := harness.Exchange(t, network, addr, "cats.example.test.", dns.TypeA)
		if got := strings.Join(harness.Addresses(m), " "); got != "127.0.0.3" || m.Answer[0].Header().Ttl != 5 {
			t.Errorf("server2 pinned, %s: %s ttl %d, want 127.0.0.3 ttl 5", network, got, m.Answer[0].Header().Ttl)
		}
	}
	// A dual-stack client must not slip past the pin through IPv6.
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeAAAA); got != "NODATA" {
		t.Errorf("AAAA while pinned to an IPv4-only override: %s, want NODATA", got)
	}
	// Other types are the zone's as always.
	if m := s.srv.Query(t, "cats.example.test.", dns.TypeMX); len(m.Answer) != 1 {
		t.Errorf("MX while pinned: %v", m.Answer)
	}

	overrideMust(t, "POST", s.api+"/api/overrides/server3/enable", "")
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.4" {
		t.Errorf("after switching to server3: %s", got)
	}
	list := overrideMust(t, "GET", s.api+"/api/overrides?group=cats&enabled=true", "")
	if items := list["overrides"].([]any); len(items) != 1 {
		t.Errorf("enabled in group cats: %d, want 1", len(items))
	}

	overrideMust(t, "POST", s.api+"/api/overrides/server3/disable", "")
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != overrideAll {
		t.Errorf("after disable: %s, want the zone's four", got)
	}
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeAAAA); got != "::2 ::3" {
		t.Errorf("AAAA after disable: %s", got)
	}

	audit := overrideMust(t, "GET", s.api+"/api/audit", "")["entries"].([]any)
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.(map[string]any)["action"].(string))
	}
	if got := strings.Join(actions, " "); got != "seed enable enable disable" {
		t.Errorf("audit actions: %s", got)
	}
}

func TestOverrideCreateAndDualStack(t *testing.T) {
	s := overrideStart(t, "")
	overrideMust(t, "POST", s.api+"/api/overrides",
		`{"id":"v6","name":"cats.example.test","group":"cats","addresses":["127.0.0.9","::9"],"enabled":true}`)
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.9" {
		t.Errorf("A: %s", got)
	}
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeAAAA); got != "::9" {
		t.Errorf("AAAA: %s", got)
	}
	status, out := overrideCall(t, "POST", s.api+"/api/overrides", `{"name":"cats.example.test","addresses":["300.1.1.1"]}`)
	if status != 400 || out["field"] != "addresses" {
		t.Errorf("bad address: %d %v", status, out)
	}
}

// overrideQueryFrom sends a query from a chosen loopback source address.
func overrideQueryFrom(t *testing.T, src, server string) string {
	t.Helper()
	c := &dns.Client{Net: "udp", Timeout: 2 * time.Second,
		Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}}}
	m := new(dns.Msg)
	m.SetQuestion("cats.example.test.", dns.TypeA)
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query from %s: %v", src, err)
	}
	return strings.Join(overrideSorted(harness.Addresses(r)), " ")
}

func TestOverrideClientScope(t *testing.T) {
	s := overrideStart(t, "declare tester cats.example.test 127.0.0.4 group tester clients 127.0.0.9/32 on")
	if got := overrideQueryFrom(t, "127.0.0.9", s.srv.UDP); got != "127.0.0.4" {
		t.Errorf("client inside the scope: %s, want 127.0.0.4", got)
	}
	if got := overrideQueryFrom(t, "127.0.0.1", s.srv.UDP); got != overrideAll {
		t.Errorf("client outside the scope: %s, want the normal answer", got)
	}
	// A group-wide pin for everyone else does not take the scoped client away from its pin.
	overrideMust(t, "POST", s.api+"/api/overrides/server1/enable", "")
	if got := overrideQueryFrom(t, "127.0.0.9", s.srv.UDP); got != "127.0.0.4" {
		t.Errorf("scoped client with a global pin too: %s", got)
	}
	if got := overrideQueryFrom(t, "127.0.0.1", s.srv.UDP); got != "127.0.0.2" {
		t.Errorf("other client with a global pin: %s", got)
	}
}

func TestOverrideExpiry(t *testing.T) {
	s := overrideStart(t, "")
	// The pin must answer while it lasts and stop at its expiry. Three fsyncs, an HTTP round
	// trip and a query can take longer than a second on a loaded machine, so the pin lasts
	// 3s, and the "still pinned" check holds whenever the query was answered before the
	// expiry the API reported; after it, only the expiry itself is checked.
	o := overrideMust(t, "POST", s.api+"/api/overrides/server4/enable", `{"for":"3s"}`)
	expires, err := time.Parse(time.RFC3339Nano, fmt.Sprint(o["expires"]))
	if err != nil {
		t.Fatalf("enable for 3s: expires %v: %v", o["expires"], err)
	}
	got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA)
	if answered := time.Now(); answered.Before(expires) && got != "127.0.0.5" {
		t.Fatalf("before expiry (%s left): %s, want the pin 127.0.0.5", expires.Sub(answered), got)
	}
	deadline := time.Now().Add(30 * time.Second)
	for overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA) != overrideAll {
		if time.Now().After(deadline) {
			t.Fatal("the override did not expire")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The stored state follows: the reaper switches it off and says so in the audit log.
	for {
		o := overrideMust(t, "GET", s.api+"/api/overrides/server4", "")
		if o["enabled"] == false {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server4 still enabled in the store after expiry: %v", o)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestOverrideRestartAndReloadKeepState(t *testing.T) {
	s := overrideStart(t, "")
	overrideMust(t, "POST", s.api+"/api/overrides/server2/enable", "")

	// A reload starts a new instance before the old one stops: the pin and the API survive.
	if err := s.srv.Reload(s.corefile); err != nil {
		t.Fatal(err)
	}
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.3" {
		t.Errorf("after reload: %s", got)
	}
	overrideMust(t, "POST", s.api+"/api/overrides/server3/enable", "")
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.4" {
		t.Errorf("after reload and switch: %s", got)
	}

	// A full stop and start reads the store again.
	s.srv.Stop()
	s.srv = harness.Start(t, s.corefile)
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.4" {
		t.Errorf("after restart: %s", got)
	}
	o := overrideMust(t, "GET", s.api+"/api/overrides/server3", "")
	if o["enabled"] != true || o["changed_by"] != "integration-test" {
		t.Errorf("server3 after restart: %v", o)
	}
}

func TestOverrideCorruptStoreRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	overrideZone(t, dir)
	store := filepath.Join(dir, "overrides.json")
	if err := os.WriteFile(store, []byte(`{"overrides": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := harness.StartErr(overrideCorefile(dir, harness.FreePort(t), ""))
	if err == nil {
		srv.Stop()
		t.Fatal("started with a corrupt store")
	}
	if !strings.Contains(err.Error(), store) {
		t.Errorf("error does not name the store: %v", err)
	}
	if data, _ := os.ReadFile(store); string(data) != `{"overrides": [` {
		t.Errorf("the corrupt store was replaced: %s", data)
	}
}

// TestOverrideFailedReloadKeepsServing reloads with a broken override block: the reload fails,
// and the old instance keeps both its pin and its API.
func TestOverrideFailedReloadKeepsServing(t *testing.T) {
	s := overrideStart(t, "")
	overrideMust(t, "POST", s.api+"/api/overrides/server2/enable", "")
	if err := s.srv.Reload(strings.Replace(s.corefile, "declare server1", "ttl forever\n        declare server1", 1)); err == nil {
		t.Fatal("a reload with a bad ttl succeeded")
	}
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.3" {
		t.Errorf("after a failed reload: %s", got)
	}
	overrideMust(t, "POST", s.api+"/api/overrides/server3/enable", "")
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.4" {
		t.Errorf("API after a failed reload: %s", got)
	}
}
