package override

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
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
		{"override {\n declare a cats.example.test 1.2.3.999\n}", "cname"},
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
