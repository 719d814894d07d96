package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/test/harness"
)

// dnssecTool returns the path of a BIND tool (dnssec-keygen, dnssec-signzone, delv). Without
// it the test is skipped, unless CI is set: there a missing tool is a failure.
func dnssecTool(t *testing.T, name string) string {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%v: `./.ci/deps bind9-utils bind9-dnsutils` (or `make deps`) installs it", err)
	}
	t.Fatalf("CI is set but %v: `./.ci/deps bind9-utils bind9-dnsutils` installs it", err)
	return ""
}

func dnssecRun(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %v: %v\n%s%s", bin, args, err, out, stderr)
	}
	return strings.TrimSpace(string(out))
}

// dnssecKey makes a key-signing key of example.test. with dnssec-keygen in dir, as an
// operator would, and returns the base name of its files.
func dnssecKey(t *testing.T, dir string) string {
	t.Helper()
	return dnssecRun(t, dir, dnssecTool(t, "dnssec-keygen"), "-q", "-K", dir, "-a", "ECDSAP256SHA256", "-f", "KSK", "-n", "ZONE", "example.test.")
}

// dnssecAnchor writes a trust anchor file for delv's -a with the public key of base.
func dnssecAnchor(t *testing.T, dir, base string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, base+".key"))
	if err != nil {
		t.Fatal(err)
	}
	var key *dns.DNSKEY
	for _, line := range strings.Split(string(b), "\n") {
		if rr, err := dns.NewRR(line); err == nil && rr != nil {
			key, _ = rr.(*dns.DNSKEY)
		}
	}
	if key == nil {
		t.Fatalf("no DNSKEY in %s.key", base)
	}
	path := filepath.Join(dir, base+".anchor")
	anchor := fmt.Sprintf("trust-anchors {\n  %s static-key %d %d %d \"%s\";\n};\n", key.Hdr.Name, key.Flags, key.Protocol, key.Algorithm, key.PublicKey)
	if err := os.WriteFile(path, []byte(anchor), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// dnssecZone is example.test signed with dnssec-signzone (NSEC): cats has a live and a dead
// web server (health), dogs three addresses that weighted `only 1` cuts to one, pin a name an
// override pins, birds three addresses that only rotate, www an alias of cats.
const dnssecZone = `$ORIGIN example.test.
@     3600 IN SOA ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 300
@     3600 IN NS  ns.example.test.
ns    3600 IN A   127.0.0.1
cats   300 IN A   127.0.0.2
cats   300 IN A   127.0.0.3
www    300 IN CNAME cats
dogs   300 IN A   127.0.0.4
dogs   300 IN A   127.0.0.5
dogs   300 IN A   127.0.0.6
pin    300 IN A   127.0.0.7
pin    300 IN AAAA 2001:db8::7
birds  300 IN A   127.0.0.11
birds  300 IN A   127.0.0.12
birds  300 IN A   127.0.0.13
`

// dnssecSetup is a server that serves a signed example.test behind the whole steerdns chain,
// each plugin given the zone's key.
type dnssecSetup struct {
	srv    *harness.Server
	dir    string
	base   string // the zone key's files
	anchor string // delv's trust anchor for the zone key
	live   string // the web server that answers; 127.0.0.3 does not
}

func dnssecStart(t *testing.T) *dnssecSetup {
	t.Helper()
	dir := t.TempDir()
	base := dnssecKey(t, dir)
	zone := filepath.Join(dir, "example.test.zone")
	if err := os.WriteFile(zone, []byte(dnssecZone+"$INCLUDE "+base+".key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dnssecRun(t, dir, dnssecTool(t, "dnssec-signzone"), "-q", "-z", "-K", dir, "-o", "example.test.", "-f", zone+".signed", zone, base)
	web := harness.StartWeb(t, "127.0.0.2") // 127.0.0.3 has no server: its probes fail
	key := filepath.Join(dir, base)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    override {
        store %[1]s/overrides.json
        declare pin pin.example.test 127.0.0.9 on
        key file %[2]s
    }
    rrotate
    weighted {
        weight dogs.example.test 127.0.0.4 3
        only 1
        key file %[2]s
    }
    healthcheck {
        check web http port %[3]d interval 100ms timeout 3s rise 1 fall 1 jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3
        key file %[2]s
    }
    cache 300
    file %[4]s.signed
}`, dir, key, web.Port, zone))
	return &dnssecSetup{srv: srv, dir: dir, base: base, anchor: dnssecAnchor(t, dir, base), live: "127.0.0.2"}
}

// delvResult is what delv made of an answer.
type delvResult struct {
	validated bool     // "; fully validated", or "; negative response, fully validated"
	addrs     []string // the A and AAAA records it printed
	out       string
}

var delvAddr = regexp.MustCompile(`(?m)^\S+\s+\d+\s+IN\s+(?:A|AAAA)\s+(\S+)$`)

// delv asks the server, through BIND's validating resolver library, with anchor as the only
// trust anchor (at the zone: +root), and returns what it validated.
func delv(t *testing.T, s *dnssecSetup, anchor, name, qtype string) delvResult {
	t.Helper()
	host, port, _ := strings.Cut(s.srv.UDP, ":")
	cmd := exec.Command(dnssecTool(t, "delv"), "@"+host, "-p", port, "-a", anchor, "+root=example.test", "+nomtrace", name, qtype)
	out, _ := cmd.CombinedOutput() // a validation failure exits non-zero: the output says why
	text := string(out)
	r := delvResult{out: text, validated: strings.Contains(text, "; fully validated") || strings.Contains(text, "; negative response, fully validated")}
	for _, m := range delvAddr.FindAllStringSubmatch(r.out, -1) {
		r.addrs = append(r.addrs, m[1])
	}
	slices.Sort(r.addrs)
	return r
}

// resignCount reads the signer's counter name for example.test. (a series only these tests
// produce: no other test signs example.test. with steerdns).
func resignCount(t *testing.T, name string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "zone" && l.GetValue() == "example.test." {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestDNSSECChangedAnswersValidate: the answers steerdns changes in a zone signed with
// dnssec-signzone validate in delv with the zone's key as trust anchor — the health-cut
// answer (without the dead address), its alias, the weighted `only 1` answer, the pinned
// answer and the pin's denial of the other family — and rotation alone leaves the zone's own
// signature. A steady load signs nothing after the first answer of each kind.
func TestDNSSECChangedAnswersValidate(t *testing.T) {
	s := dnssecStart(t)
	// Wait for health to cut the dead server (a query with DO: the signed answer).
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := delv(t, s, s.anchor, "cats.example.test", "A")
		if r.validated && slices.Equal(r.addrs, []string{s.live}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cats never validated with the dead address cut:\n%s", r.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		name, qtype string
		want        []string
	}{
		{"cats.example.test", "A", []string{"127.0.0.2"}},
		{"www.example.test", "A", []string{"127.0.0.2"}},
		{"dogs.example.test", "A", nil}, // one address of the three: checked below
		{"pin.example.test", "A", []string{"127.0.0.9"}},
		{"pin.example.test", "AAAA", []string{}}, // the pin lacks IPv6: a signed NODATA
		{"birds.example.test", "A", []string{"127.0.0.11", "127.0.0.12", "127.0.0.13"}},
	} {
		r := delv(t, s, s.anchor, tc.name, tc.qtype)
		if !r.validated {
			t.Errorf("%s %s did not validate:\n%s", tc.name, tc.qtype, r.out)
			continue
		}
		switch {
		case tc.want == nil:
			if len(r.addrs) != 1 {
				t.Errorf("%s %s: %v, want one address (only 1)", tc.name, tc.qtype, r.addrs)
			}
		case len(tc.want) == 0:
			if len(r.addrs) != 0 || !strings.Contains(r.out, "negative response, fully validated") {
				t.Errorf("%s %s: want a validated NODATA:\n%s", tc.name, tc.qtype, r.out)
			}
		case !slices.Equal(r.addrs, tc.want):
			t.Errorf("%s %s: %v, want %v", tc.name, tc.qtype, r.addrs, tc.want)
		}
	}

	// Steady load: after a warm-up (weighted's five-answer cycle leads with each of dogs'
	// addresses), every answer above again, many times: the signatures come from the cache.
	dnssecLoad(t, s, 5)
	const signed, hits = "coredns_steerdns_resign_signatures_total", "coredns_steerdns_resign_cache_hits_total"
	before, hitsBefore := resignCount(t, signed), resignCount(t, hits)
	if before == 0 {
		t.Fatal("no signatures were made: the answers above validated with the zone's own")
	}
	dnssecLoad(t, s, 50)
	if d := resignCount(t, signed) - before; d != 0 {
		t.Errorf("a steady load of the same answers made %v signatures, want 0", d)
	}
	// cats, www, dogs, pin A and pin AAAA are signed from the cache, 50 times each.
	if d := resignCount(t, hits) - hitsBefore; d != 5*50 {
		t.Errorf("%v signatures from the cache, want %d", d, 5*50)
	}
}

// dnssecLoad asks every name of the zone rounds times, with DO.
func dnssecLoad(t *testing.T, s *dnssecSetup, rounds int) {
	t.Helper()
	for range rounds {
		for _, q := range []struct {
			name  string
			qtype uint16
		}{{"cats", dns.TypeA}, {"www", dns.TypeA}, {"dogs", dns.TypeA}, {"pin", dns.TypeA}, {"pin", dns.TypeAAAA}, {"birds", dns.TypeA}} {
			m := new(dns.Msg)
			m.SetQuestion(q.name+".example.test.", q.qtype)
			m.SetEdns0(4096, true)
			r, err := harness.ExchangeMsg("udp", s.srv.UDP, m)
			if err != nil {
				t.Fatal(err)
			}
			if r.Rcode != dns.RcodeSuccess {
				t.Fatalf("%s %s: %s", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[r.Rcode])
			}
		}
	}
}

// TestDNSSECWrongAnchorFails: with a trust anchor of another key, the same answers do not
// validate, so the test above checks something real.
func TestDNSSECWrongAnchorFails(t *testing.T) {
	s := dnssecStart(t)
	other := dnssecKey(t, s.dir)
	wrong := dnssecAnchor(t, s.dir, other)
	for _, name := range []string{"cats.example.test", "pin.example.test"} {
		if r := delv(t, s, wrong, name, "A"); r.validated || !strings.Contains(r.out, "resolution failed") {
			t.Errorf("%s validated with a wrong trust anchor:\n%s", name, r.out)
		}
		if r := delv(t, s, s.anchor, name, "A"); !r.validated {
			t.Errorf("%s did not validate with the right trust anchor:\n%s", name, r.out)
		}
	}
}
