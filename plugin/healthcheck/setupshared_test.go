package healthcheck

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
)

func TestParseShared(t *testing.T) {
	c := caddy.NewTestController("dns", `healthcheck example.test {
        check web http port 8080
        name cats.example.test 127.0.0.2 127.0.0.3
        etcd http://127.0.0.1:2379 127.0.0.1:2479 {
            prefix /dc1/health
            replica dns-1.example
            lease 2500ms
            username steer
            password secret
        }
        quorum 2
    }`)
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.shared
	if sc == nil || sc.prefix != "/dc1/health/" || sc.replica != "dns-1.example" || sc.lease != 3*time.Second ||
		sc.quorum != 2 || len(sc.etcd.Endpoints) != 2 || sc.etcd.Username != "steer" || sc.etcd.Password != "secret" {
		t.Fatalf("shared = %+v", sc)
	}
	if got := sc.String(); got != "etcd http://127.0.0.1:2379,127.0.0.1:2479 /dc1/health/" || strings.Contains(sc.key(), "secret") && strings.Contains(got, "secret") {
		t.Errorf("String() = %q", got)
	}
}

func TestParseSharedDefaults(t *testing.T) {
	c := caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n etcd 127.0.0.1:2379\n name cats.example.test 127.0.0.2\n}")
	cfg, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.shared
	host, _ := os.Hostname()
	if sc == nil || sc.prefix != defaultPrefix || sc.lease != defaultLease || sc.quorum != majority || (host != "" && sc.replica == "") {
		t.Fatalf("shared = %+v, want the defaults and the host's name %q", sc, host)
	}
	if cfg.names["cats.example.test."] == nil {
		t.Error("the name line after an etcd line without a block was lost")
	}
	// Without etcd nothing is shared.
	cfg, err = parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n}"))
	if err != nil || cfg.shared != nil {
		t.Fatalf("without etcd: shared %+v, err %v", cfg.shared, err)
	}
}

func TestParseSharedErrors(t *testing.T) {
	const head = "healthcheck example.test {\n check web http\n"
	tests := []struct{ input, want string }{
		{head + " etcd\n}", "at least one endpoint"},
		{head + " etcd ftp://x:1\n}", `endpoint "ftp://x:1"`},
		{head + " etcd 127.0.0.1\n}", `endpoint "127.0.0.1"`},
		{head + " etcd 127.0.0.1:2379\n etcd 127.0.0.1:2379\n}", "etcd is given twice"},
		{head + " etcd 127.0.0.1:2379 {\n prefix nope\n }\n}", `prefix "nope" must start with /`},
		{head + " etcd 127.0.0.1:2379 {\n replica a/b\n }\n}", `invalid replica name "a/b"`},
		{head + " etcd 127.0.0.1:2379 {\n replica -a\n }\n}", `invalid replica name "-a"`},
		{head + " etcd 127.0.0.1:2379 {\n replica " + strings.Repeat("a", 64) + "\n }\n}", "invalid replica name"},
		{head + " etcd 127.0.0.1:2379 {\n lease 1s\n }\n}", `invalid lease "1s"`},
		{head + " etcd 127.0.0.1:2379 {\n lease 2h\n }\n}", `invalid lease "2h"`},
		{head + " etcd 127.0.0.1:2379 {\n lease soon\n }\n}", `invalid lease "soon"`},
		{head + " etcd 127.0.0.1:2379 {\n replica\n }\n}", "replica needs exactly one value"},
		{head + " etcd 127.0.0.1:2379 {\n bogus 1\n }\n}", "unknown property 'bogus'"},
		{head + " etcd 127.0.0.1:2379 {\n username u\n }\n}", "username and password go together"},
		{head + " etcd 127.0.0.1:2379 {\n tls a b c d\n }\n}", "tls takes at most"},
		{head + " etcd 127.0.0.1:2379 {\n tls /no/such/cert.pem /no/such/key.pem\n }\n}", "etcd: tls"},
		{head + " etcd 127.0.0.1:2379 {\n prefix /x\n", "Unexpected EOF"},
		{head + " etcd 127.0.0.1:2379 {\n prefix /a /b\n }\n}", "prefix needs exactly one value"},
		{head + " quorum 2\n}", "quorum needs an etcd line"},
		{head + " etcd 127.0.0.1:2379\n quorum 0\n}", "invalid quorum '0'"},
		{head + " etcd 127.0.0.1:2379\n quorum 101\n}", "invalid quorum '101'"},
		{head + " etcd 127.0.0.1:2379\n quorum most\n}", "invalid quorum 'most'"},
		{head + " etcd 127.0.0.1:2379\n quorum\n}", "quorum needs one value"},
		{head + " etcd 127.0.0.1:2379\n quorum 1 2\n}", "quorum needs one value"},
	}
	for _, tc := range tests {
		_, err := parse(caddy.NewTestController("dns", tc.input))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.input, err, tc.want)
		}
	}
}

// TestParseQuorumBounds: the bounds themselves are accepted.
func TestParseQuorumBounds(t *testing.T) {
	for _, n := range []string{"1", "100"} {
		if q, err := parseQuorum([]string{n}); err != nil || q.String() != n {
			t.Errorf("quorum %s: %v, %v", n, q, err)
		}
	}
}

// TestParseLeaseBounds: the bounds themselves are accepted.
func TestParseLeaseBounds(t *testing.T) {
	for lease, want := range map[string]time.Duration{"2s": minLease, "1h": maxLease} {
		cfg, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n etcd 127.0.0.1:2379 {\n lease "+lease+"\n }\n}"))
		if err != nil || cfg.shared.lease != want {
			t.Errorf("lease %s: %v", lease, err)
		}
	}
}

func TestParseQuorumLineNamed(t *testing.T) {
	_, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n quorum 2\n}"))
	if err == nil || !strings.Contains(err.Error(), ":3 -") {
		t.Errorf("error %v, want it to name line 3", err)
	}
}

func TestDefaultReplica(t *testing.T) {
	name, err := defaultReplica()
	if err != nil {
		t.Skipf("no usable host name here: %v", err)
	}
	if !replicaName.MatchString(name) {
		t.Errorf("default replica %q is not a valid name", name)
	}
}

func TestReplicaFromHost(t *testing.T) {
	long := strings.Repeat("a", 63)
	tests := []struct{ host, want string }{
		{"dns-1.example.test", "dns-1.example.test"},
		{"Pod_09.AZ.az", "Pod_09.AZ.az"},
		{"a/b:c@d[e`f{g h", "a-b-c-d-e-f-g-h"},
		{"höst", "h-st"},
		{long, long},
		{long + "b", long},
	}
	for _, tc := range tests {
		if got, err := replicaFromHost(tc.host); err != nil || got != tc.want {
			t.Errorf("replicaFromHost(%q) = %q, %v; want %q", tc.host, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-pod", "/x"} {
		if got, err := replicaFromHost(bad); err == nil {
			t.Errorf("replicaFromHost(%q) = %q, want an error", bad, got)
		}
	}
}
