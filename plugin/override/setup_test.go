package override

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"

	"github.com/steerdns/steerdns/plugin/override/store"
)

func TestParse(t *testing.T) {
	c := caddy.NewTestController("dns", `override {
		store /var/lib/o.json
		console 127.0.0.1:8053
		ttl 30
		declare s1 cats.example.test 127.0.0.2 group cats note "server 1"
		declare s2 cats.example.test 127.0.0.3 ::3 group cats on
		declare lan *.example.test www.example.test clients 10.0.0.0/8 192.168.1.1
	}`)
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.store != "/var/lib/o.json" || cfg.console != "127.0.0.1:8053" || cfg.ttl != 30 {
		t.Errorf("got store %q console %q ttl %d", cfg.store, cfg.console, cfg.ttl)
	}
	if len(cfg.declared) != 3 {
		t.Fatalf("want 3 declared, got %d", len(cfg.declared))
	}
	s1, s2, lan := cfg.declared[0], cfg.declared[1], cfg.declared[2]
	if s1.Name != "cats.example.test." || s1.Group != "cats" || s1.Note != "server 1" || s1.Enabled {
		t.Errorf("s1 = %+v", s1)
	}
	if !s2.Enabled || strings.Join(s2.Addresses, ",") != "127.0.0.3,::3" {
		t.Errorf("s2 = %+v", s2)
	}
	if lan.CNAME != "www.example.test." || lan.Group != "*.example.test." || strings.Join(lan.Clients, ",") != "10.0.0.0/8,192.168.1.1/32" {
		t.Errorf("lan = %+v", lan)
	}
}

func TestParseDefaults(t *testing.T) {
	c := caddy.NewTestController("dns", `override`)
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ttl != defaultTTL || cfg.console != "" || filepath.Base(cfg.store) != defaultStore || !filepath.IsAbs(cfg.store) {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestParseBad(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{`override example.org`, "Wrong argument count"},
		{"override {\n frobnicate\n}", "unknown property 'frobnicate'"},
		{"override {\n ttl -1\n}", "ttl"},
		{"override {\n ttl 100000\n}", "ttl"},
		{"override {\n ttl\n}", "Wrong argument count"},
		{"override {\n store\n}", "Wrong argument count"},
		{"override {\n console nowhere\n}", "console"},
		{"override {\n console 0.0.0.0:8053\n}", "set a token"},
		{"override {\n console :8053\n}", "set a token"},
		{"override {\n declare a cats.example.test\n}", "declare needs"},
		{"override {\n declare a cats..test 1.2.3.4\n}", "name"},
		{"override {\n declare a cats.example.test 1.2.3.999\n}", `address "1.2.3.999" is not a valid IP address`},
		{"override {\n declare a cats.example.test 300.1.1.1\n}", `address "300.1.1.1" is not a valid IP address`},
		{"override {\n declare a cats.example.test 2001:db8::g\n}", "not a valid IP address"},
		{"override {\n token \"\"\n}", "token is empty"},
		{"override {\n token\n}", "Wrong argument count"},
		{"override {\n token a b\n}", "Wrong argument count"},
		{"override {\n console 127.0.0.1:99999\n}", "must be a number from 1 to 65535"},
		{"override {\n console 127.0.0.1:0\n}", "must be a number from 1 to 65535"},
		{"override {\n console 127.0.0.1:http\n}", "must be a number from 1 to 65535"},
		{"override {\n console a\n}", "console"},
		{"override {\n console \"a b:80\"\n}", "not a host name"},
		{"override {\n declare a cats.example.test 1.2.3.4 clients 10.0.0.0/33\n}", "clients"},
		{"override {\n declare a cats.example.test 1.2.3.4 group\n}", "needs a value"},
		{"override {\n declare a b.example.test 1.2.3.4\n declare a c.example.test 1.2.3.4\n}", "duplicate override id"},
		{"override {\n declare a b.example.test 1.2.3.4 on\n declare b b.example.test 1.2.3.5 on\n}", "two enabled"},
		{"override {\n declare bad/id b.example.test 1.2.3.4\n}", "id"},
		{"override {\n declare a b.*.test 1.2.3.4\n}", "name"},
		{"override {\n declare a b.example.test 1.2.3.4 group a/b\n}", "group"},
		{"override\noverride", "once"},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		_, err := parse(c)
		if err == nil {
			t.Errorf("%q: want error, got none", tc.input)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %q does not mention %q", tc.input, err, tc.want)
		}
	}
}

func TestParseConsoleWithToken(t *testing.T) {
	c := caddy.NewTestController("dns", "override {\n console 0.0.0.0:8053\n token s3cret\n}")
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.token != "s3cret" {
		t.Errorf("token = %q", cfg.token)
	}
}

// TestParseErrorLine: an error names the line of the token at fault, also when it is found
// only once the whole block is read.
func TestParseErrorLine(t *testing.T) {
	tests := []struct {
		input string
		line  int
		want  string
	}{
		{"override {\n declare a b.example.test 1.2.3.4\n ttl 5\n declare a c.example.test 1.2.3.5\n ttl 6\n}", 4, `duplicate override id "a" (first declared on line 2)`},
		{"override {\n declare a b.example.test 1.2.3.4 on\n\n declare b b.example.test 1.2.3.5 on\n declare c b.example.test 1.2.3.6\n}", 4, `group "b.example.test." has two enabled overrides: "a" and "b"`},
		{"override {\n console 10.0.0.1:8053\n ttl 5\n\n}", 2, "set a token"},
		{"override {\n ttl 5\n token \"\"\n}", 3, "token is empty"},
		{"override {\n ttl 5\n console 127.0.0.1:99999\n}", 3, "65535"},
		{"override {\n\n declare a b.example.test 300.1.1.1\n}", 3, "address"},
	}
	for _, tc := range tests {
		_, err := parse(caddy.NewTestController("dns", tc.input))
		if err == nil {
			t.Errorf("%q: want an error", tc.input)
			continue
		}
		prefix := fmt.Sprintf("Testfile:%d - ", tc.line)
		if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n error %q\n want it to start %q and mention %q", tc.input, err, prefix, tc.want)
		}
	}
}

// TestParseTokenUnsetEnv reads a Corefile the way CoreDNS does (environment variables
// replaced): a token from an unset variable is refused as empty, on its line.
func TestParseTokenUnsetEnv(t *testing.T) {
	t.Setenv("OVERRIDE_TEST_UNSET", "")
	blocks, err := caddyfile.Parse("Corefile", strings.NewReader(".:53 {\n override {\n  ttl 5\n  token {$OVERRIDE_TEST_UNSET}\n }\n}"), []string{"override"})
	if err != nil {
		t.Fatal(err)
	}
	c := caddy.NewTestController("dns", "")
	c.Dispenser = caddyfile.NewDispenserTokens("Corefile", blocks[0].Tokens["override"])
	_, err = parse(c)
	if err == nil || !strings.HasPrefix(err.Error(), "Corefile:4 - ") || !strings.Contains(err.Error(), "token is empty") {
		t.Errorf("token {$UNSET}: error %v, want it on line 4 saying the token is empty", err)
	}
}

// A mistyped address in a declare says the address is invalid, not that it is a bad cname.
func TestDeclareBadAddressMessage(t *testing.T) {
	c := caddy.NewTestController("dns", "override {\n declare s1 name.test 300.1.1.1\n}")
	c.Next()
	c.NextBlock()
	_, err := parseDeclare(c)
	if err == nil || !strings.Contains(err.Error(), `"300.1.1.1" is not a valid IP address`) {
		t.Fatalf("declare s1 name.test 300.1.1.1: got %v, want the address named invalid", err)
	}
}

// max_overrides parses, and its bounds are refused with the line.
func TestParseMaxOverrides(t *testing.T) {
	c := caddy.NewTestController("dns", "override {\n max_overrides 3\n}")
	cfg, err := parse(c)
	if err != nil || cfg.maxOverrides != 3 {
		t.Fatalf("max_overrides 3: got %+v, %v", cfg, err)
	}
	for _, bad := range []string{"0", "-1", "x", "1 2", ""} {
		c := caddy.NewTestController("dns", "override {\n max_overrides "+bad+"\n}")
		if _, err := parse(c); err == nil {
			t.Errorf("max_overrides %q accepted", bad)
		}
	}
}

// TestParseRangeEnds: ttl and max_overrides accept both ends of their documented ranges and
// refuse one past the top.
func TestParseRangeEnds(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   func(*config) bool
	}{
		{"ttl 0", func(c *config) bool { return c.ttl == 0 }},
		{fmt.Sprintf("ttl %d", maxTTL), func(c *config) bool { return c.ttl == maxTTL }},
		{"max_overrides 1", func(c *config) bool { return c.maxOverrides == 1 }},
		{fmt.Sprintf("max_overrides %d", store.MaxMaxOverrides), func(c *config) bool { return c.maxOverrides == store.MaxMaxOverrides }},
	} {
		cfg, err := parse(caddy.NewTestController("dns", "override {\n "+tc.line+"\n}"))
		if err != nil || !tc.ok(cfg) {
			t.Errorf("%s: %+v, %v", tc.line, cfg, err)
		}
	}
	for _, line := range []string{fmt.Sprintf("ttl %d", maxTTL+1), fmt.Sprintf("max_overrides %d", store.MaxMaxOverrides+1)} {
		if _, err := parse(caddy.NewTestController("dns", "override {\n "+line+"\n}")); err == nil {
			t.Errorf("%s accepted", line)
		}
	}
}
