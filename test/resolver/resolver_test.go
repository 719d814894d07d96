package resolver

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

func init() { clog.Discard() }

// zone has cats with two addresses and a TTL of 300, and www as an alias of cats.
const zone = `cats  300 IN A     127.0.0.2
cats  300 IN A     127.0.0.3
www   300 IN CNAME cats
`

func startCoreDNS(t *testing.T, listen string) *harness.Server {
	t.Helper()
	path := harness.ZoneFile(t, t.TempDir(), zone)
	return harness.Start(t, fmt.Sprintf("example.test:0 {\n bind %s\n file %s\n}", listen, path))
}

// TestUnboundCaches: unbound answers from the stub zone, then from its cache once the
// upstream is gone, with the upstream's TTL counting down.
func TestUnboundCaches(t *testing.T) {
	srv := startCoreDNS(t, "127.0.0.1")
	u := StartUnbound(t, "example.test", srv.UDP)

	r := u.Query(t, "www.example.test", dns.TypeA)
	got := harness.Addresses(r)
	slices.Sort(got)
	if r.Rcode != dns.RcodeSuccess || !slices.Equal(got, []string{"127.0.0.2", "127.0.0.3"}) {
		t.Fatalf("www through unbound: %s %v, want NOERROR [127.0.0.2 127.0.0.3]", dns.RcodeToString[r.Rcode], got)
	}
	if ttl := r.Answer[0].Header().Ttl; ttl > 300 || ttl < 295 {
		t.Errorf("first answer TTL %d, want the zone's 300 (give or take a second)", ttl)
	}

	// Once the upstream is gone, only the cache can answer, and it does, for cats too.
	srv.Stop()
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		r = u.Query(t, "cats.example.test", dns.TypeA)
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 2 {
			t.Fatalf("cats from the cache: %s %v", dns.RcodeToString[r.Rcode], r.Answer)
		}
		if r.Answer[0].Header().Ttl < 300 {
			break // the cache counts down
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("cached TTL still %d after 5 s, want it to count down", r.Answer[0].Header().Ttl)
		}
	}
}

// TestLookUnbound: where Debian installed unbound, it is found, as a path to run.
func TestLookUnbound(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/unbound"); err != nil {
		t.Skip("unbound is not installed where Debian puts it")
	}
	bin, err := lookUnbound()
	if err != nil || !strings.HasSuffix(bin, "/unbound") {
		t.Errorf("lookUnbound() = %q, %v; want a path to unbound", bin, err)
	}
}

// TestUnboundConfigBadUpstream: an upstream that is not host:port is an error that names it.
func TestUnboundConfigBadUpstream(t *testing.T) {
	if _, err := unboundConfig(t.TempDir(), 5353, "example.test", "127.0.0.1"); err == nil {
		t.Fatal("upstream without a port accepted")
	}
}

func TestAHostsAddresses(t *testing.T) {
	out := "127.0.0.3       STREAM cats.example.test\n127.0.0.3       DGRAM  \n127.0.0.3       RAW    \n" +
		"::3             STREAM \n::3             DGRAM  \n::3             RAW    \n"
	if got := ahostsAddresses(out); !slices.Equal(got, []string{"127.0.0.3", "::3"}) {
		t.Errorf("ahostsAddresses = %v", got)
	}
	if got := ahostsAddresses(""); len(got) != 0 {
		t.Errorf("no output: %v", got)
	}
}

// TestGlibcAsksCoreDNSOn53: getent, in its own mount namespace, resolves through the test's
// CoreDNS on port 53, alias included; the machine's /etc/resolv.conf is left as it was.
func TestGlibcAsksCoreDNSOn53(t *testing.T) {
	path := harness.ZoneFile(t, t.TempDir(), zone)
	_, ip := StartCoreDNSOn53(t, func(ip string) string {
		return fmt.Sprintf("example.test:53 {\n bind %s\n file %s\n}", ip, path)
	})
	g := NewGlibc(t, ip)
	got, err := g.AHosts(t, "www.example.test")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"127.0.0.2", "127.0.0.3"}) {
		t.Errorf("getent ahosts www.example.test = %v, want [127.0.0.2 127.0.0.3]", got)
	}
	if _, err := g.AHosts(t, "nosuch.example.test"); err == nil {
		t.Error("getent resolved a name the zone does not have")
	}
}
