package weighted

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
)

func TestParse(t *testing.T) {
	wt, err := parse(caddyController(`weighted {
		weight Dogs.Example.Test 127.0.0.2 3 127.0.0.3 1
		weight dogs.example.test. ::1 0
		only 2
		types A SRV
		file weights
		reload 5s
	}`))
	if err != nil {
		t.Fatal(err)
	}
	ws := wt.inline["dogs.example.test."]
	if ws[addr("127.0.0.2")] != 3 || ws[addr("127.0.0.3")] != 1 || ws[addr("::1")] != 0 || len(ws) != 3 {
		t.Errorf("weights: %v", ws)
	}
	if wt.only != 2 || wt.types != [3]bool{true, false, true} || wt.file != "weights" || wt.reload.String() != "5s" {
		t.Errorf("options: only=%d types=%v file=%q reload=%v", wt.only, wt.types, wt.file, wt.reload)
	}

	wt, err = parse(caddyController("weighted {\n only 3\n leads\n weight a.test 10.0.0.1 2\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if wt.only != 0 || wt.types != [3]bool{true, true, false} || wt.reload != defaultReload {
		t.Errorf("defaults: only=%d types=%v reload=%v", wt.only, wt.types, wt.reload)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		input string
		want  string
	}{
		{"weighted", "no weights"},
		{"weighted {\n}", "no weights"},
		{"weighted www.example.test 127.0.0.2 3", "'127.0.0.2' is not a zone: weights and options go in the block"},
		{"weighted example.test 3 {\n weight a.test 10.0.0.1 1\n}", "'3' is not a zone"},
		{"weighted ::1 {\n weight a.test 10.0.0.1 1\n}", "'::1' is not a zone"},
		{"weighted \"\" {\n weight a.test 10.0.0.1 1\n}", "'' is not a zone"},
		{"weighted {\n weight a.test 10.0.0.1 1\n ttl\n}", "ttl wants one value: seconds"},
		{"weighted {\n weight a.test 10.0.0.1 1\n ttl 0\n}", "invalid ttl '0': want seconds from 1 to 3600"},
		{"weighted {\n weight a.test 10.0.0.1 1\n ttl 3601\n}", "invalid ttl '3601'"},
		{"weighted {\n weight a.test 10.0.0.1 1\n ttl 10s\n}", "invalid ttl '10s'"},
		{"weighted {\n bogus\n}", "unknown property 'bogus'"},
		{"weighted {\n weight a.test\n}", "at least one ADDRESS WEIGHT pair"},
		{"weighted {\n weight a.test 10.0.0.1\n}", "at least one ADDRESS WEIGHT pair"},
		{"weighted {\n weight a.test 10.0.0.1 1 10.0.0.2\n}", "weight for '10.0.0.2' has no value"},
		{"weighted {\n weight 10.0.0.9 10.0.0.1 1\n}", "is an address where a domain name was expected"},
		{"weighted {\n weight a.test 10.0.0.1 x\n}", "invalid weight \"x\""},
		{"weighted {\n weight a.test 10.0.0.1 65536\n}", "invalid weight \"65536\""},
		{"weighted {\n weight a.test 10.0.0.256 1\n}", "invalid IP address \"10.0.0.256\""},
		{"weighted {\n weight a.test 10.0.0.1 1\n only\n}", "only wants exactly one count"},
		{"weighted {\n weight a.test 10.0.0.1 1\n only 0\n}", "invalid count '0'"},
		{"weighted {\n weight a.test 10.0.0.1 1\n only two\n}", "invalid count 'two'"},
		{"weighted {\n weight a.test 10.0.0.1 1\n leads 2\n}", "leads takes no arguments"},
		{"weighted {\n weight a.test 10.0.0.1 1\n types MX\n}", "unsupported type 'MX'"},
		{"weighted {\n weight a.test 10.0.0.1 1\n types\n}", "types wants at least one"},
		{"weighted {\n file\n}", "file wants exactly one path"},
		{"weighted {\n weight a.test 127.0.0.2x 1\n}", "'127.0.0.2x.' is not an IP address (host names are SRV targets"},
		{"weighted {\n file a b\n}", "file wants exactly one path"},
		{"weighted {\n file a\n reload soon\n}", "invalid reload duration 'soon'"},
		{"weighted {\n file a\n reload -1s\n}", "invalid reload duration '-1s'"},
		{"weighted {\n weight a.test 10.0.0.1 1\n}\nweighted {\n weight a.test 10.0.0.1 1\n}", "this plugin can only be used once per Server Block"},
	}
	for _, tc := range tests {
		_, err := parse(caddyController(tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want one containing %q", tc.input, err, tc.want)
		}
	}
}

// ZONES default to the server block's; given, they replace them. ttl is off unless given.
func TestParseZonesAndTTL(t *testing.T) {
	for _, tc := range []struct {
		input string
		zones string
		ttl   uint32
	}{
		{"weighted {\n weight a.test 10.0.0.1 1\n}", "example.org.", 0},
		{"weighted A.Test b.test. {\n weight a.test 10.0.0.1 1\n ttl 5\n}", "a.test. b.test.", 5},
		{"weighted 10.0.0.0/24 {\n weight a.test 10.0.0.1 1\n ttl 3600\n}", "0.0.10.in-addr.arpa.", 3600},
	} {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = []string{"example.org."}
		wt, err := parse(c)
		if err != nil {
			t.Fatalf("%q: %v", tc.input, err)
		}
		if got := strings.Join(wt.zones, " "); got != tc.zones || wt.ttl != tc.ttl {
			t.Errorf("%q: zones %q ttl %d, want %q and %d", tc.input, got, wt.ttl, tc.zones, tc.ttl)
		}
	}
}

func TestSetupWeightFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(good, []byte("a.test\n10.0.0.1 4\n10.0.0.2 9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := caddyController("weighted {\n file " + good + "\n weight a.test 10.0.0.2 2\n}")
	if err := setup(c); err != nil {
		t.Fatal(err)
	}

	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("a.test\n10.0.0.1 heavy\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for input, want := range map[string]string{
		"weighted {\n file " + bad + "\n}":                      bad + ":2: invalid weight \"heavy\"",
		"weighted {\n file " + filepath.Join(dir, "no") + "\n}": "no such file",
	} {
		err := setup(caddyController(input))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got error %v, want one containing %q", input, err, want)
		}
	}
}

// caddyController reads input as the block of a server for the root zone.
func caddyController(input string) *caddy.Controller {
	c := caddy.NewTestController("dns", input)
	c.ServerBlockKeys = []string{"."}
	return c
}

// The reload default is the literal 30 seconds the README promises (as loadbalance), and
// `reload 0` parses to 0: never.
func TestReloadSetting(t *testing.T) {
	for input, want := range map[string]time.Duration{
		"weighted {\n file w\n}":             30 * time.Second,
		"weighted {\n file w\n reload 0\n}":  0,
		"weighted {\n file w\n reload 0s\n}": 0,
		"weighted {\n file w\n reload 2m\n}": 2 * time.Minute,
	} {
		wt, err := parse(caddyController(input))
		if err != nil {
			t.Fatalf("%q: %v", input, err)
		}
		if wt.reload != want {
			t.Errorf("%q: reload %v, want %v", input, wt.reload, want)
		}
	}
}

// A relative weight file path is relative to the root plugin's directory; an absolute one,
// or one without root, stays as written.
func TestFileRelativeToRoot(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		root, file, want string
	}{
		{root, "weights", filepath.Join(root, "weights")},
		{root, "sub/weights", filepath.Join(root, "sub", "weights")},
		{root, "/etc/weights", "/etc/weights"},
		{"", "weights", "weights"},
	}
	for _, tc := range tests {
		c := caddyController("weighted {\n file " + tc.file + "\n}")
		dnsserver.GetConfig(c).Root = tc.root
		wt, err := parse(c)
		if err != nil {
			t.Fatal(err)
		}
		if wt.file != tc.want {
			t.Errorf("root %q, file %q: reads %q, want %q", tc.root, tc.file, wt.file, tc.want)
		}
	}
}
