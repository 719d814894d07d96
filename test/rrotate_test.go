package test

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// rrotateZone writes a zone with a four-address name, a CNAME to it, an IPv6 pair and a
// single-address name, and returns its path.
func rrotateZone(t *testing.T) string {
	t.Helper()
	return harness.ZoneFile(t, t.TempDir(), `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
www   300 IN CNAME cats
cats  300 IN AAAA ::2
cats  300 IN AAAA ::3
solo  300 IN A    127.0.0.9
`)
}

// TestRRotateBehindCache checks the strict order of answers through file and cache, over
// UDP and TCP alternately. Every answer after the first comes from the cache: if rrotate
// changed the cache's copy, the rotations would compound and the sequence would break.
func TestRRotateBehindCache(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    rrotate
    cache 300
    file %s
}`, rrotateZone(t)))

	for i := range 12 {
		network, addr := "udp", srv.UDP
		if i%2 == 1 {
			network, addr = "tcp", srv.TCP
		}
		m := harness.Exchange(t, network, addr, "cats.example.test.", dns.TypeA)
		got := harness.Addresses(m)
		if len(got) != 4 {
			t.Fatalf("answer %d: %v, want 4 addresses", i+1, got)
		}
		for j, ip := range got {
			if want := fmt.Sprintf("127.0.0.%d", 2+(i+j)%4); ip != want {
				t.Fatalf("answer %d over %s: %v, want it to lead with 127.0.0.%d and go round in order", i+1, network, got, 2+i%4)
			}
		}
	}
}

func TestRRotateCNAMEAndAAAA(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    rrotate
    cache
    file %s
}`, rrotateZone(t)))

	for i := range 6 {
		m := srv.Query(t, "www.example.test.", dns.TypeA)
		if len(m.Answer) != 5 {
			t.Fatalf("www answer %d has %d records, want CNAME + 4 A:\n%v", i+1, len(m.Answer), m)
		}
		if _, ok := m.Answer[0].(*dns.CNAME); !ok {
			t.Fatalf("www answer %d does not start with its CNAME:\n%v", i+1, m)
		}
		if got, want := harness.Addresses(m)[0], fmt.Sprintf("127.0.0.%d", 2+i%4); got != want {
			t.Fatalf("www answer %d leads with %s, want %s", i+1, got, want)
		}
	}
	for i := range 4 {
		m := srv.Query(t, "cats.example.test.", dns.TypeAAAA)
		if got, want := harness.Addresses(m)[0], fmt.Sprintf("::%d", 2+i%2); got != want {
			t.Fatalf("AAAA answer %d leads with %s, want %s", i+1, got, want)
		}
	}
}

// TestRRotatePassesOtherAnswers checks that answers rrotate must not touch arrive as the
// backend made them.
func TestRRotatePassesOtherAnswers(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    rrotate
    file %s
}`, rrotateZone(t)))

	if m := srv.Query(t, "nope.example.test.", dns.TypeA); m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 {
		t.Errorf("NXDOMAIN changed: %v", m)
	}
	if m := srv.Query(t, "solo.example.test.", dns.TypeA); len(m.Answer) != 1 {
		t.Errorf("single address changed: %v", m)
	}
	if m := srv.Query(t, "example.test.", dns.TypeNS); len(m.Answer) != 1 || len(m.Extra) != 1 {
		t.Errorf("NS answer changed: %v", m)
	}
	// A query with EDNS0 keeps its OPT record in the response.
	q := new(dns.Msg)
	q.SetQuestion("cats.example.test.", dns.TypeA)
	q.SetEdns0(1232, true)
	m, err := harness.ExchangeMsg("udp", srv.UDP, q)
	if err != nil {
		t.Fatal(err)
	}
	if m.IsEdns0() == nil || len(m.Answer) != 4 {
		t.Errorf("EDNS0 answer lost its OPT or records: %v", m)
	}
}

// With ttl, every record of a rotated answer, the CNAME in front included, carries at most
// ttl seconds, fresh or cached; a single-address answer (nothing to rotate) keeps its TTL.
// The alias www and cats share one rotation: it is keyed by the final owner.
func TestRRotateTTLCapAndAlias(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    rrotate {
        ttl 5
    }
    cache
    file %s
}`, rrotateZone(t)))
	for i := range 8 {
		name := "www.example.test."
		if i%2 == 1 {
			name = "cats.example.test."
		}
		m := srv.Query(t, name, dns.TypeA)
		for _, rr := range m.Answer {
			if rr.Header().Ttl > 5 {
				t.Errorf("answer %d for %s: %s has TTL %d, want at most 5", i+1, name, rr, rr.Header().Ttl)
			}
		}
		if got, want := harness.Addresses(m)[0], fmt.Sprintf("127.0.0.%d", 2+i%4); got != want {
			t.Fatalf("answer %d (%s) leads with %s, want %s: www and cats share one rotation", i+1, name, got, want)
		}
	}
	if m := srv.Query(t, "solo.example.test.", dns.TypeA); len(m.Answer) != 1 || m.Answer[0].Header().Ttl <= 5 {
		t.Errorf("a single-address answer got its TTL capped: %v", m.Answer)
	}
}
