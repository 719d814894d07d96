package override

import (
	"strings"
	"testing"

	"github.com/coredns/caddy"

	"github.com/steerdns/steerdns/plugin/override/store"
	"github.com/steerdns/steerdns/test/etcdtest"
)

func TestParseEtcdStore(t *testing.T) {
	c := caddy.NewTestController("dns", `override {
		store etcd http://127.0.0.1:2379 https://etcd.example.test:2379 127.0.0.3:2379 {
			prefix /dns/overrides
			username coredns
			password secret
		}
	}`)
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	ec := cfg.etcd
	if ec == nil {
		t.Fatal("store etcd parsed as the file store")
	}
	if got := strings.Join(ec.Endpoints, " "); got != "http://127.0.0.1:2379 https://etcd.example.test:2379 127.0.0.3:2379" {
		t.Errorf("endpoints %s", got)
	}
	if ec.Prefix != "/dns/overrides" || ec.Username != "coredns" || ec.Password != "secret" || ec.TLS != nil {
		t.Errorf("parsed %+v", ec)
	}

	c = caddy.NewTestController("dns", "override {\n store etcd http://127.0.0.1:2379\n ttl 9\n}")
	cfg, err = parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.etcd == nil || cfg.etcd.Prefix != store.DefaultEtcdPrefix || cfg.ttl != 9 {
		t.Errorf("without a block: %+v, ttl %d", cfg.etcd, cfg.ttl)
	}

	// The block ends where it closes: what follows belongs to override again.
	c = caddy.NewTestController("dns", "override {\n store etcd 127.0.0.1:2379 {\n }\n ttl 7\n store etcd 127.0.0.1:2379 {\n prefix /a\n }\n console 127.0.0.1:8053\n}")
	cfg, err = parse(c)
	if err != nil || cfg.etcd.Prefix != "/a" || cfg.ttl != 7 || cfg.console != "127.0.0.1:8053" {
		t.Errorf("properties around etcd blocks: %+v, %v", cfg, err)
	}

	// A later store line wins, as with every other property.
	c = caddy.NewTestController("dns", "override {\n store etcd http://127.0.0.1:2379\n store /tmp/o.json\n}")
	if cfg, err = parse(c); err != nil || cfg.etcd != nil || cfg.store != "/tmp/o.json" {
		t.Errorf("file store after etcd: %+v, %v", cfg, err)
	}
}

func TestParseEtcdStoreBad(t *testing.T) {
	for _, tc := range []struct{ input, want string }{
		{"store etcd", "at least one endpoint"},
		{"store etcd ftp://127.0.0.1:2379", `endpoint "ftp://127.0.0.1:2379"`},
		{"store etcd http://127.0.0.1", `endpoint "http://127.0.0.1"`},
		{"store etcd http://127.0.0.1:2379/v3", `endpoint "http://127.0.0.1:2379/v3"`},
		{"store etcd 127.0.0.1", `endpoint "127.0.0.1"`},
		{"store etcd http://127.0.0.1:2379 {\n prefix\n }", "Wrong argument count"},
		{"store etcd http://127.0.0.1:2379 {\n prefix dns\n }", "must start with /"},
		{"store etcd http://127.0.0.1:2379 {\n username u\n }", "username and password go together"},
		{"store etcd http://127.0.0.1:2379 {\n password p\n }", "username and password go together"},
		{"store etcd http://127.0.0.1:2379 {\n tls /no/such/cert.pem /no/such/key.pem\n }", "tls"},
		{"store etcd http://127.0.0.1:2379 {\n tls a b c d\n }", "at most CERT KEY CA"},
		{"store etcd http://127.0.0.1:2379 {\n refresh 5s\n }", "unknown property 'refresh'"},
		{"store /tmp/o.json {\n prefix /x\n }", "takes no block"},
		{"store", "Wrong argument count"},
	} {
		c := caddy.NewTestController("dns", "override {\n "+tc.input+"\n}")
		_, err := parse(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want one containing %q", tc.input, err, tc.want)
		}
	}
}

func TestParseEtcdStoreTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := etcdtest.WriteCert(t, dir)
	c := caddy.NewTestController("dns", "override {\n store etcd https://127.0.0.1:2379 {\n tls "+cert+" "+key+" "+cert+"\n }\n}")
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.etcd.TLS == nil || len(cfg.etcd.TLS.Certificates) != 1 || cfg.etcd.TLS.RootCAs == nil {
		t.Errorf("tls with certificate, key and CA: %+v", cfg.etcd.TLS)
	}
	c = caddy.NewTestController("dns", "override {\n store etcd https://127.0.0.1:2379 {\n tls "+cert+"\n }\n}")
	if cfg, err = parse(c); err != nil || cfg.etcd.TLS == nil || len(cfg.etcd.TLS.Certificates) != 0 {
		t.Errorf("tls with a CA only: %+v, %v", cfg, err)
	}
}
