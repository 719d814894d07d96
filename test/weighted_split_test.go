package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// weightedZoneFile writes the zone the weighted tests serve, and returns its path: dogs has
// three web servers, www is an alias of it.
func weightedZoneFile(t *testing.T) string {
	return harness.ZoneFile(t, t.TempDir(), `$TTL 30
dogs IN A   127.0.0.2
dogs IN A   127.0.0.3
dogs IN A   127.0.0.4
www  IN CNAME dogs
`)
}

// weightedLeaders asks n times over network and returns the first address of each answer,
// checking that every answer holds want addresses.
func weightedLeaders(t *testing.T, network, addr, name string, n, want int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		r := harness.Exchange(t, network, addr, name, dns.TypeA)
		addrs := harness.Addresses(r)
		if r.Rcode != dns.RcodeSuccess || len(addrs) != want {
			t.Fatalf("answer %d: rcode %s, addresses %v, want %d of them", i, dns.RcodeToString[r.Rcode], addrs, want)
		}
		out[i] = addrs[0]
	}
	return out
}

// weightedCount tallies leaders.
func weightedCount(leaders []string) map[string]int {
	c := map[string]int{}
	for _, l := range leaders {
		c[l]++
	}
	return c
}

// Through file and cache, thousands of answers lead in exactly the configured proportion,
// in every window of W answers, and every answer still holds every address (the cache's
// copy is not cut or reordered under it).
func TestWeightedSplitThroughFileAndCache(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    weighted {
        weight dogs.example.test 127.0.0.2 3 127.0.0.3 1
    }
    cache 30
    file %s
}`, weightedZoneFile(t)))

	// 127.0.0.4 is not listed, so it weighs 1: W = 3 + 1 + 1 = 5.
	const w, windows = 5, 600
	leaders := weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", w*windows, 3)
	got := weightedCount(leaders)
	want := map[string]int{"127.0.0.2": 3 * windows, "127.0.0.3": windows, "127.0.0.4": windows}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("over %d answers: %v, want %v", len(leaders), got, want)
	}
	for start := 0; start+w <= len(leaders); start++ {
		c := weightedCount(leaders[start : start+w])
		if c["127.0.0.2"] != 3 || c["127.0.0.3"] != 1 || c["127.0.0.4"] != 1 {
			t.Fatalf("answers %d to %d: %v, want 3:1:1", start, start+w-1, c)
		}
	}
	// Smooth: 127.0.0.2 never leads more than twice in a row at 3:1:1.
	for i := 2; i < len(leaders); i++ {
		if leaders[i] == "127.0.0.2" && leaders[i-1] == "127.0.0.2" && leaders[i-2] == "127.0.0.2" {
			t.Fatalf("answers %d to %d all lead with 127.0.0.2", i-2, i)
		}
	}

	// TCP answers take part in the same rotation.
	tcp := weightedCount(weightedLeaders(t, "tcp", srv.TCP, "dogs.example.test.", w*20, 3))
	if tcp["127.0.0.2"] != 60 || tcp["127.0.0.3"] != 20 || tcp["127.0.0.4"] != 20 {
		t.Errorf("over TCP: %v", tcp)
	}
}

// In only mode an answer holds just the chosen address; weight 0 is never returned; a
// CNAME chain stays in front; weights are keyed by the final owner, so the alias www gets
// dogs's weights and shares its rotation, and weights given to www itself never apply; other
// types and NXDOMAIN pass untouched.
func TestWeightedOnlyDrainAndCNAME(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    weighted {
        weight dogs.example.test 127.0.0.2 2 127.0.0.3 1 127.0.0.4 0
        weight www.example.test 127.0.0.2 0 127.0.0.3 0
        only 1
    }
    cache 30
    file %s
}`, weightedZoneFile(t)))

	var leaders []string
	for i := range 300 {
		name := "www.example.test."
		if i%3 == 2 {
			name = "DOGS.example.test."
		}
		r := srv.Query(t, name, dns.TypeA)
		addrs := harness.Addresses(r)
		if len(addrs) != 1 {
			t.Fatalf("answer %d for %s: %v, want one address", i, name, r.Answer)
		}
		if name == "www.example.test." {
			if c, ok := r.Answer[0].(*dns.CNAME); !ok || c.Target != "dogs.example.test." || len(r.Answer) != 2 {
				t.Fatalf("answer %d does not start with the CNAME: %v", i, r.Answer)
			}
		}
		leaders = append(leaders, addrs...)
	}
	got := weightedCount(leaders)
	if got["127.0.0.2"] != 200 || got["127.0.0.3"] != 100 || got["127.0.0.4"] != 0 {
		t.Errorf("only 1 at 2:1:0 over www and dogs answered %v", got)
	}
	if r := srv.Query(t, "www.example.test.", dns.TypeMX); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("MX query: %v", r)
	}
	if r := srv.Query(t, "nope.example.test.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN became %s", dns.RcodeToString[r.Rcode])
	}
}

// With ttl, every record of a weighted answer, the CNAME in front included, carries at most
// ttl seconds, whether the answer comes from file or from the cache; without weights for the
// final owner the zone's TTL stays.
func TestWeightedTTLCap(t *testing.T) {
	zone := harness.ZoneFile(t, t.TempDir(), `$TTL 300
dogs IN A   127.0.0.2
dogs IN A   127.0.0.3
www  IN CNAME dogs
cats IN A   127.0.0.5
`)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    weighted {
        weight dogs.example.test 127.0.0.2 3 127.0.0.3 1
        ttl 5
    }
    cache 30
    file %s
}`, zone))
	for i := range 4 {
		r := srv.Query(t, "www.example.test.", dns.TypeA)
		if len(r.Answer) != 3 {
			t.Fatalf("answer %d: %v", i, r.Answer)
		}
		for _, rr := range r.Answer {
			if rr.Header().Ttl > 5 {
				t.Errorf("answer %d: %s has TTL %d, want at most 5", i, rr, rr.Header().Ttl)
			}
		}
	}
	if r := srv.Query(t, "cats.example.test.", dns.TypeA); len(r.Answer) != 1 || r.Answer[0].Header().Ttl <= 5 {
		t.Errorf("a name without weights got its TTL capped: %v", r.Answer)
	}
}

// A Corefile error in the weighted block stops the server from starting, with the reason.
func TestWeightedBadCorefile(t *testing.T) {
	srv, err := harness.StartErr(`example.test:0 {
    weighted {
        weight dogs.example.test 127.0.0.2 heavy
    }
}`)
	if err == nil {
		srv.Stop()
		t.Fatal("a bad weight started")
	}
	if want := `invalid weight "heavy"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// The demo's setup: rrotate on the whole zone, weighted with only 1 on dogs. rrotate leaves
// single-address answers alone, so the split is the weighted one, in the README's order.
func TestWeightedDemoWithRrotate(t *testing.T) {
	zone := harness.ZoneFile(t, t.TempDir(), `cats 30 IN A   127.0.0.2
cats 30 IN A   127.0.0.3
dogs 30 IN A   127.0.0.2
dogs 30 IN A   127.0.0.3
`)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    rrotate
    weighted {
        weight dogs.example.test 127.0.0.2 3 127.0.0.3 1
        only 1
    }
    cache 30
    file %s
}`, zone))
	got := strings.Join(weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", 8, 1), " ")
	if want := "127.0.0.2 127.0.0.2 127.0.0.3 127.0.0.2 127.0.0.2 127.0.0.2 127.0.0.3 127.0.0.2"; got != want {
		t.Errorf("dogs answered %s, want %s", got, want)
	}
	// cats still rotates strictly.
	if got := strings.Join(weightedLeaders(t, "udp", srv.UDP, "cats.example.test.", 4, 2), " "); got != "127.0.0.2 127.0.0.3 127.0.0.2 127.0.0.3" {
		t.Errorf("cats answered %s", got)
	}
}
