package healthcheck

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/miekg/dns"
)

func TestParse(t *testing.T) {
	c := caddy.NewTestController("dns", `healthcheck example.test {
        check web http port 8080 path /health status 200-299 body ok host www.example.test interval 250ms timeout 200ms rise 3 fall 1 jitter 20%
        check secure https insecure
        check ns dns query example.test qtype SOA rcode NOERROR
        check ping tcp port 22
        name cats.example.test 127.0.0.2 127.0.0.3 backup 127.0.0.4
        name Dogs.Example.Test. check ping primary ::1 backup 127.0.0.9
        discover secure expire 30s
        ttl 5
        unknown down
        all_down answer 192.0.2.1 2001:db8::1
    }`)
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	web := cfg.checks["web"]
	if web.Kind != kindHTTP || web.Port != 8080 || web.Path != "/health" || web.StatusLo != 200 || web.StatusHi != 299 ||
		web.Body != "ok" || web.Host != "www.example.test" || web.Interval != 250*time.Millisecond ||
		web.Timeout != 200*time.Millisecond || web.Rise != 3 || web.Fall != 1 || web.Jitter != 0.2 {
		t.Errorf("check web = %+v", web)
	}
	if s := cfg.checks["secure"]; s.Port != 443 || !s.Insecure || s.Interval != defaultInterval {
		t.Errorf("check secure = %+v, want port 443, insecure, defaults", s)
	}
	if ns := cfg.checks["ns"]; ns.Port != 53 || ns.QueryName != "example.test." || ns.QueryType != dns.TypeSOA {
		t.Errorf("check ns = %+v", ns)
	}
	cats := cfg.names["cats.example.test."]
	if cats == nil || cats.check != web || len(cats.primary) != 2 || len(cats.backup) != 1 ||
		cats.backup[0] != netip.MustParseAddr("127.0.0.4") {
		t.Errorf("name cats = %+v, want the first check, two primaries, one backup", cats)
	}
	if dogs := cfg.names["dogs.example.test."]; dogs == nil || dogs.check != cfg.checks["ping"] {
		t.Errorf("name dogs = %+v, want lower-cased and check ping", dogs)
	}
	if cfg.discover != cfg.checks["secure"] || cfg.expire != 30*time.Second {
		t.Errorf("discover = %v, expire %s", cfg.discover, cfg.expire)
	}
	if cfg.ttl != 5 || cfg.unknownUp || cfg.allDown != failStatic || len(cfg.static) != 2 {
		t.Errorf("ttl %d unknownUp %t allDown %d static %v", cfg.ttl, cfg.unknownUp, cfg.allDown, cfg.static)
	}
}

func TestParseDefaults(t *testing.T) {
	c := caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n name cats.example.test 127.0.0.2\n}")
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	ck := cfg.checks["web"]
	if ck.Port != 80 || ck.Path != "/" || ck.StatusLo != 200 || ck.StatusHi != 399 || ck.Interval != time.Second ||
		ck.Timeout != time.Second || ck.Rise != 2 || ck.Fall != 2 || ck.Jitter != 0.1 {
		t.Errorf("defaults = %+v", ck)
	}
	if cfg.ttl != 10 || !cfg.ttlAll || cfg.maxFound != 1024 || !cfg.unknownUp || cfg.allDown != failOpen || cfg.discover != nil {
		t.Errorf("ttl %d unknownUp %t allDown %d discover %v", cfg.ttl, cfg.unknownUp, cfg.allDown, cfg.discover)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		input, want string
	}{
		{"healthcheck example.test", "no check defined"},
		{"healthcheck example.test {\n bogus\n}", "unknown property 'bogus'"},
		{"healthcheck example.test {\n check web\n}", "needs a name and a kind"},
		{"healthcheck example.test {\n check web icmp\n}", "unknown kind 'icmp'"},
		{"healthcheck example.test {\n check web tcp\n}", "needs 'port'"},
		{"healthcheck example.test {\n check web http port 0\n}", "invalid port '0'"},
		{"healthcheck example.test {\n check web http port http\n}", "invalid port 'http'"},
		{"healthcheck example.test {\n check web http interval 0s\n}", "invalid interval '0s'"},
		{"healthcheck example.test {\n check web http timeout soon\n}", "invalid timeout 'soon'"},
		{"healthcheck example.test {\n check web http rise 0\n}", "invalid rise '0'"},
		{"healthcheck example.test {\n check web http fall -1\n}", "invalid fall '-1'"},
		{"healthcheck example.test {\n check web http jitter 150%\n}", "invalid jitter '150%'"},
		{"healthcheck example.test {\n check web http status 99\n}", "invalid status '99'"},
		{"healthcheck example.test {\n check web http status 400-200\n}", "invalid status '400-200'"},
		{"healthcheck example.test {\n check web http path health\n}", "must start with '/'"},
		{"healthcheck example.test {\n check web http port\n}", "option 'port' needs a value"},
		{"healthcheck example.test {\n check web http insecure\n}", "only to https"},
		{"healthcheck example.test {\n check web tcp port 1 path /x\n}", "unknown option 'path' for a tcp check"},
		{"healthcheck example.test {\n check web http qtype A\n}", "unknown option 'qtype'"},
		{"healthcheck example.test {\n check ns dns qtype BOGUS\n}", "unknown qtype 'BOGUS'"},
		{"healthcheck example.test {\n check ns dns rcode MAYBE\n}", "unknown rcode 'MAYBE'"},
		{"healthcheck example.test {\n check web http\n check web tcp port 1\n}", "check 'web' is defined twice"},
		{"healthcheck example.test {\n check web http\n name cats.example.test\n}", "at least one address"},
		{"healthcheck example.test {\n check web http\n name cats.example.test 300.0.0.1\n}", "invalid address '300.0.0.1'"},
		{"healthcheck example.test {\n check web http\n name cats.example.test backup 127.0.0.2\n}", "at least one primary"},
		{"healthcheck example.test {\n check web http\n name cats.example.test 127.0.0.2 backup 127.0.0.2\n}", "listed twice"},
		{"healthcheck example.test {\n check web http\n name cats.other.test 127.0.0.2\n}", "outside the zones"},
		{"healthcheck example.test {\n check web http\n name cats.example.test 127.0.0.2\n name cats.example.test 127.0.0.3\n}", "'cats.example.test.' is listed twice"},
		{"healthcheck example.test {\n check web http\n name cats.example.test check nope 127.0.0.2\n}", "no check named 'nope'"},
		{"healthcheck example.test {\n check web http\n name cats.example.test 127.0.0.2 check\n}", "'check' needs a check name"},
		{"healthcheck example.test {\n check web http\n discover nope\n}", "no check named 'nope'"},
		{"healthcheck example.test {\n check web http\n discover web expire\n}", "'expire' needs a duration"},
		{"healthcheck example.test {\n check web http\n discover web extra\n}", "unexpected argument 'extra'"},
		{"healthcheck example.test {\n check web http\n ttl 0\n}", "invalid ttl '0'"},
		{"healthcheck example.test {\n check web http\n ttl\n}", "ttl needs seconds"},
		{"healthcheck example.test {\n check web http\n unknown maybe\n}", "unknown needs one value"},
		{"healthcheck example.test {\n check web http\n all_down\n}", "all_down needs a policy"},
		{"healthcheck example.test {\n check web http\n all_down shrug\n}", "unknown all_down policy 'shrug'"},
		{"healthcheck example.test {\n check web http\n all_down answer\n}", "needs at least one address"},
		{"healthcheck example.test {\n check web http\n all_down answer nowhere\n}", "invalid address 'nowhere'"},
		{"healthcheck example.test {\n check web http\n all_down open 127.0.0.1\n}", "takes no addresses"},
		{"healthcheck example.test {\n check web http\n}\nhealthcheck example.test {\n check web http\n}", "only one healthcheck block"},
	}
	for _, tc := range tests {
		_, err := parse(caddy.NewTestController("dns", tc.input))
		if err == nil {
			t.Errorf("parse(%q): no error, want one containing %q", tc.input, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %q, want it to contain %q", tc.input, err, tc.want)
		}
	}
}

func TestSetup(t *testing.T) {
	c := caddy.NewTestController("dns", "healthcheck example.test {\n check web tcp port 1\n}")
	if err := setup(c); err != nil {
		t.Fatal(err)
	}
	c = caddy.NewTestController("dns", "healthcheck example.test {\n nonsense\n}")
	if err := setup(c); err == nil || !strings.Contains(err.Error(), "plugin/healthcheck") {
		t.Fatalf("setup error = %v, want one naming the plugin", err)
	}
}

// TestParseErrorLines: every error names the line that is wrong, not the closing brace, and
// nonsense timings (NaN, infinite or negative jitter, probes back to back) are refused.
func TestParseErrorLines(t *testing.T) {
	tests := []struct {
		body string // lines 2.. of the block; the block opens on line 1
		line int
		want string
	}{
		{"check web http jitter NaN", 2, "invalid jitter 'NaN'"},
		{"check web http jitter nan%", 2, "invalid jitter 'nan%'"},
		{"check web http jitter Inf", 2, "invalid jitter 'Inf'"},
		{"check web http jitter -5%", 2, "invalid jitter '-5%'"},
		{"check web http interval 1ns", 2, "invalid interval '1ns': want a duration of at least 100ms"},
		{"check web http interval 99ms", 2, "invalid interval '99ms'"},
		{"check web http interval -1s", 2, "invalid interval '-1s'"},
		{"check web http timeout 0s", 2, "invalid timeout '0s'"},
		{"check web http timeout -1s", 2, "invalid timeout '-1s'"},
		{"check web http timeout 1ms", 2, "invalid timeout '1ms'"},
		{"check web http\nname cats.example.test check nosuch 127.0.0.2\nttl 5", 3, "no check named 'nosuch'"},
		{"check web http\nttl 5\ndiscover nosuch\nunknown up", 4, "no check named 'nosuch'"},
		{"check web http\nmax_discovered 10\nttl 5", 3, "max_discovered needs a discover line"},
		{"check web http\ndiscover\nmax_discovered 0", 4, "invalid max_discovered '0'"},
		{"check web http\ndiscover\ndiscover", 4, "discover is given twice"},
		{"check web http\nttl 5 sometimes", 3, "invalid ttl mode 'sometimes'"},
		{"check web http\nttl 5 all changed", 3, "ttl needs seconds"},
		{"check web http\ncheck web tcp port 1", 3, "check 'web' is defined twice"},
	}
	for _, tc := range tests {
		input := "healthcheck example.test {\n" + tc.body + "\n}"
		_, err := parse(caddy.NewTestController("dns", input))
		if err == nil {
			t.Errorf("parse(%q): no error, want %q", input, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%q) = %q, want it to contain %q", input, err, tc.want)
		}
		if at := fmt.Sprintf(":%d - ", tc.line); !strings.Contains(err.Error(), at) {
			t.Errorf("parse(%q) = %q, want it to name line %d", input, err, tc.line)
		}
	}
}

func TestParseTTLAndDiscoveryOptions(t *testing.T) {
	cfg, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n ttl 7 changed\n discover\n max_discovered 3\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ttl != 7 || cfg.ttlAll || cfg.maxFound != 3 {
		t.Errorf("ttl %d all %t max_discovered %d, want 7 false 3", cfg.ttl, cfg.ttlAll, cfg.maxFound)
	}
	cfg, err = parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n ttl 7 all\n check other tcp port 1 interval 100ms timeout 10ms\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ttl != 7 || !cfg.ttlAll || cfg.maxFound != defaultMaxDiscovered {
		t.Errorf("ttl %d all %t max_discovered %d, want 7 true %d", cfg.ttl, cfg.ttlAll, cfg.maxFound, defaultMaxDiscovered)
	}
}

// TestParseTTLBounds: 1 and 3600 seconds are the ends of the range, both accepted.
func TestParseTTLBounds(t *testing.T) {
	for _, arg := range []string{"1", "3600 changed"} {
		if _, _, err := parseTTL(strings.Fields(arg)); err != nil {
			t.Errorf("ttl %s: %v", arg, err)
		}
	}
	if _, _, err := parseTTL([]string{"3601"}); err == nil {
		t.Error("ttl 3601 accepted")
	}
}

// TestParseMaxDiscoveredBounds: 1 and 1048576 targets are the ends of the range, both
// accepted.
func TestParseMaxDiscoveredBounds(t *testing.T) {
	for _, n := range []int{1, maxMaxDiscovered} {
		cfg, err := parse(caddy.NewTestController("dns", fmt.Sprintf("healthcheck example.test {\n check web http\n discover web\n max_discovered %d\n}", n)))
		if err != nil || cfg.maxFound != n {
			t.Errorf("max_discovered %d: %v", n, err)
		}
	}
}
