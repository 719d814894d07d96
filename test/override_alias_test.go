package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// aliasAnswer queries name over network and renders the answer as "CNAME target" for each
// CNAME, then the addresses sorted, with the TTL of the first address.
func aliasAnswer(t *testing.T, network, addr, name string, qtype uint16) string {
	t.Helper()
	m := harness.Exchange(t, network, addr, name, qtype)
	if m.Rcode != dns.RcodeSuccess {
		t.Fatalf("%s %s over %s: rcode %s", name, dns.TypeToString[qtype], network, dns.RcodeToString[m.Rcode])
	}
	var parts []string
	ttl := uint32(0)
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.CNAME:
			parts = append(parts, fmt.Sprintf("%s CNAME %s", rr.Hdr.Name, rr.Target))
		case *dns.A, *dns.AAAA:
			if ttl == 0 {
				ttl = rr.Header().Ttl
			}
		}
	}
	addrs := overrideSorted(harness.Addresses(m))
	if len(addrs) == 0 {
		return strings.Join(append(parts, "NODATA"), "; ")
	}
	return strings.Join(append(parts, strings.Join(addrs, " ")+fmt.Sprintf(" ttl %d", ttl)), "; ")
}

// TestOverrideFollowsAlias: with cats pinned, a query for www (CNAME cats) gets the CNAME and
// the pinned address only, over UDP and TCP, through file and cache as they ship; the other
// family gets the CNAME and no address; unpinning gives the zone's answer on the next query,
// although cache holds it for 30 s.
func TestOverrideFollowsAlias(t *testing.T) {
	dir := t.TempDir()
	harness.ZoneFile(t, dir, `www   300 IN CNAME cats
cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
cats  300 IN AAAA ::2
`)
	port := harness.FreePort(t)
	srv := harness.Start(t, overrideCorefile(dir, port, ""))
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	const (
		alias  = "www.example.test. CNAME cats.example.test."
		normal = alias + "; 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5 ttl "
		pinned = alias + "; 127.0.0.3 ttl 5"
	)

	// The normal answer first: cache keeps it, and must still hold it unchanged at the end.
	if got := aliasAnswer(t, "udp", srv.UDP, "www.example.test.", dns.TypeA); !strings.HasPrefix(got, normal) {
		t.Fatalf("before the pin: %s, want %s…", got, normal)
	}

	overrideMust(t, "POST", api+"/api/overrides/server2/enable", "")
	for network, addr := range map[string]string{"udp": srv.UDP, "tcp": srv.TCP} {
		if got := aliasAnswer(t, network, addr, "www.example.test.", dns.TypeA); got != pinned {
			t.Errorf("pinned, www over %s: %s, want %s", network, got, pinned)
		}
		if got := aliasAnswer(t, network, addr, "WwW.Example.TEST.", dns.TypeA); got != pinned {
			t.Errorf("pinned, www in mixed case over %s: %s, want %s", network, got, pinned)
		}
		if got := aliasAnswer(t, network, addr, "www.example.test.", dns.TypeAAAA); got != alias+"; NODATA" {
			t.Errorf("pinned, www AAAA over %s: %s, want the CNAME and no address", network, got)
		}
	}
	if got := aliasAnswer(t, "udp", srv.UDP, "cats.example.test.", dns.TypeA); got != "127.0.0.3 ttl 5" {
		t.Errorf("pinned, cats itself: %s", got)
	}

	overrideMust(t, "POST", api+"/api/overrides/server2/disable", "")
	for network, addr := range map[string]string{"udp": srv.UDP, "tcp": srv.TCP} {
		if got := aliasAnswer(t, network, addr, "www.example.test.", dns.TypeA); !strings.HasPrefix(got, normal) {
			t.Errorf("after unpinning, www over %s: %s, want %s…", network, got, normal)
		}
		if got := aliasAnswer(t, network, addr, "www.example.test.", dns.TypeAAAA); !strings.HasPrefix(got, alias+"; ::2 ttl ") {
			t.Errorf("after unpinning, www AAAA over %s: %s", network, got)
		}
	}
}

// TestOverrideCNAMEPinFollowsAlias: a cname override on cats (maintenance page) reached
// through www answers www's CNAME, the override's CNAME and the target's address.
func TestOverrideCNAMEPinFollowsAlias(t *testing.T) {
	dir := t.TempDir()
	harness.ZoneFile(t, dir, `www   300 IN CNAME cats
cats  300 IN A    127.0.0.2
maint 300 IN A    127.0.0.99
`)
	port := harness.FreePort(t)
	srv := harness.Start(t, overrideCorefile(dir, port, "declare maint cats.example.test maint.example.test group cats on"))
	want := "www.example.test. CNAME cats.example.test.; cats.example.test. CNAME maint.example.test.; 127.0.0.99 ttl "
	for network, addr := range map[string]string{"udp": srv.UDP, "tcp": srv.TCP} {
		if got := aliasAnswer(t, network, addr, "www.example.test.", dns.TypeA); !strings.HasPrefix(got, want) {
			t.Errorf("over %s: %s, want %s…", network, got, want)
		}
	}
}
