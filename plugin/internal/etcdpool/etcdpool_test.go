package etcdpool

import (
	"context"
	"crypto/tls"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// TestPoolSharesOneClient: two handles on one configuration share one client, which lives
// until the last handle is released; another configuration gets a client of its own.
func TestPoolSharesOneClient(t *testing.T) {
	etcd := etcdtest.Start(t)
	cfg := Config{Endpoints: []string{etcd.Endpoint}}
	a, b := Acquire(cfg), Acquire(cfg)
	other := Acquire(Config{Endpoints: []string{etcd.Proxy(t).Endpoint}})
	defer other.Release()
	ca, err := a.Get()
	if err != nil {
		t.Fatal(err)
	}
	cb, _ := b.Get()
	co, _ := other.Get()
	if ca != cb || ca == co {
		t.Fatalf("clients: a %p, b %p, other %p; want a and b shared, other its own", ca, cb, co)
	}
	if again, _ := a.Get(); again != ca {
		t.Fatal("a second Get made a new client")
	}
	a.Release()
	a.Release() // twice is harmless: it must not release b's reference
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cb.Put(ctx, "/pool/k", "v"); err != nil {
		t.Fatalf("b's client after a's release: %v", err)
	}
	b.Release()
	if _, err := cb.Get(ctx, "/pool/k"); err == nil {
		t.Fatal("the client still works after the last release")
	}
	c := Acquire(cfg)
	defer c.Release()
	if cc, err := c.Get(); err != nil || cc == ca {
		t.Fatalf("after the last release a new handle got %p (%v), want a new client", cc, err)
	}
	if s := c.String(); s != "etcd "+etcd.Endpoint {
		t.Errorf("String() = %q", s)
	}
}

// TestPoolKeysTLS: a Corefile's TLS is known by its files, so two blocks naming the same
// files share a client; a TLS configuration a program made without files is its own, so that
// a client with a certificate is never handed to one without (or the other way round).
func TestPoolKeysTLS(t *testing.T) {
	files := func(args ...string) Config {
		return Config{Endpoints: []string{"127.0.0.1:2379"}, TLS: &tls.Config{}, TLSArgs: append([]string{"tls"}, args...)}
	}
	if files("/a.pem", "/a.key").key() != files("/a.pem", "/a.key").key() {
		t.Error("two TLS configurations of the same files have different keys")
	}
	if files("/a.pem", "/a.key").key() == files("/b.pem", "/b.key").key() {
		t.Error("TLS configurations of different files share a key")
	}
	one, two := &tls.Config{}, &tls.Config{}
	made := func(tc *tls.Config) Config { return Config{Endpoints: []string{"127.0.0.1:2379"}, TLS: tc} }
	if made(one).key() == made(two).key() || made(one).key() == made(nil).key() {
		t.Error("TLS configurations made without files share a key with another, or with none")
	}
	if made(one).key() != made(one).key() {
		t.Error("one TLS configuration made without files has two keys")
	}
}

// TestGetFailsWithoutEtcdForALogin: with a user name, the client logs in as it is made; with
// etcd gone that fails, and Get tries again on the next call.
func TestGetFailsWithoutEtcdForALogin(t *testing.T) {
	etcd := etcdtest.Start(t)
	etcd.Stop()
	c := Acquire(Config{Endpoints: []string{etcd.Endpoint}, Username: "u", Password: "p"})
	defer c.Release()
	if cli, err := c.Get(); err == nil || cli != nil {
		t.Fatalf("Get with etcd stopped and a login to make: %p, %v", cli, err)
	}
}

// parseBlock parses input; extra, when given, takes the properties named in it, each with
// one value.
func parseBlock(t *testing.T, input string, extra ...string) (Config, []string, error) {
	t.Helper()
	c := caddy.NewTestController("dns", input)
	c.Next()
	var seen []string
	cfg, err := ParseBlock(c, "etcd", c.RemainingArgs(), func(p string) (bool, error) {
		seen = append(seen, p)
		if !slices.Contains(extra, p) {
			return false, nil
		}
		_, err := OneArg(c)
		return true, err
	})
	return cfg, seen, err
}

func TestParseBlock(t *testing.T) {
	dir := t.TempDir()
	cert, key := etcdtest.WriteCert(t, dir)
	cfg, seen, err := parseBlock(t, "etcd http://127.0.0.1:2379 127.0.0.1:2479 {\n tls "+cert+" "+key+"\n username u\n password p\n replica x\n}", "replica")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Endpoints) != 2 || cfg.TLS == nil || len(cfg.TLS.Certificates) != 1 || cfg.Username != "u" || cfg.Password != "p" ||
		strings.Join(seen, ",") != "replica" || len(cfg.TLSArgs) != 3 {
		t.Errorf("config %+v, properties handed on %v", cfg, seen)
	}
	if k := cfg.key(); !strings.Contains(k, "u") || k == (Config{Endpoints: cfg.Endpoints}).key() {
		t.Errorf("key %q does not tell the credentials apart", k)
	}
	if s := cfg.String(); strings.Contains(s, "p") && strings.Contains(s, "password") {
		t.Errorf("String() shows the password: %q", s)
	}
	if cfg, _, err := parseBlock(t, "etcd 127.0.0.1:2379 {\n tls "+cert+" "+key+" "+cert+"\n}"); err != nil || cfg.TLS.RootCAs == nil {
		t.Errorf("tls CERT KEY CA: %v", err)
	}
	if cfg, _, err := parseBlock(t, "etcd 127.0.0.1:2379"); err != nil || len(cfg.Endpoints) != 1 {
		t.Errorf("no block: %+v, %v", cfg, err)
	}
}

func TestParseBlockRelativeTLS(t *testing.T) {
	dir := t.TempDir()
	etcdtest.WriteCert(t, dir)
	c := caddy.NewTestController("dns", "etcd 127.0.0.1:2379 {\n tls cert.pem key.pem\n}")
	dnsserver.GetConfig(c).Root = dir
	c.Next()
	cfg, err := ParseBlock(c, "etcd", c.RemainingArgs(), func(string) (bool, error) { return false, nil })
	if err != nil || cfg.TLSArgs[1] != filepath.Join(dir, "cert.pem") {
		t.Errorf("relative tls files: %+v, %v; want them under the Corefile's root", cfg.TLSArgs, err)
	}
}

func TestParseBlockErrors(t *testing.T) {
	tests := []struct{ input, want string }{
		{"etcd", "at least one endpoint"},
		{"etcd ftp://h:1", `endpoint "ftp://h:1"`},
		{"etcd 127.0.0.1:2379 {\n bogus\n}", "unknown property 'bogus'"},
		{"etcd 127.0.0.1:2379 {\n username u\n}", "username and password go together"},
		{"etcd 127.0.0.1:2379 {\n password p\n}", "username and password go together"},
		{"etcd 127.0.0.1:2379 {\n username\n}", "username needs exactly one value"},
		{"etcd 127.0.0.1:2379 {\n password a b\n}", "password needs exactly one value"},
		{"etcd 127.0.0.1:2379 {\n tls a b c d\n}", "at most CERT KEY CA, got 4"},
		{"etcd 127.0.0.1:2379 {\n tls /no/cert /no/key\n}", "etcd: tls:"},
		{"etcd 127.0.0.1:2379 {\n username u\n", "Unexpected EOF"},
		{"etcd 127.0.0.1:2379 {\n replica\n}", "replica needs exactly one value"},
	}
	for _, tc := range tests {
		_, _, err := parseBlock(t, tc.input, "replica")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.input, err, tc.want)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, ep := range []string{"http://127.0.0.1:2379", "https://etcd.example:2379", "https://etcd.example:2379/", "127.0.0.1:2379", "[::1]:2379"} {
		if err := CheckEndpoint(ep); err != nil {
			t.Errorf("%q refused: %v", ep, err)
		}
	}
	for _, ep := range []string{"ftp://h:1", "http://h", "http://h:1/path", "http://h:1?q=1", "http://u@h:1", "h", ":1", "h:", "http://%zz"} {
		if err := CheckEndpoint(ep); err == nil {
			t.Errorf("%q accepted", ep)
		}
	}
}
