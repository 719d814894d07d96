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
// CNAME chain stays in front; other names and types pass untouched.
func TestWeightedOnlyDrainAndCNAME(t *testing.T) {
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    weighted {
        weight www.example.test 127.0.0.2 2 127.0.0.3 1 127.0.0.4 0
        only 1
    }
    cache 30
    file %s
}`, weightedZoneFile(t)))

	var leaders []string
	for i := range 300 {
		r := srv.Query(t, "www.example.test.", dns.TypeA)
		if len(r.Answer) != 2 {
			t.Fatalf("answer %d: %v, want the CNAME and one address", i, r.Answer)
		}
		if c, ok := r.Answer[0].(*dns.CNAME); !ok || c.Target != "dogs.example.test." {
			t.Fatalf("answer %d does not start with the CNAME: %v", i, r.Answer)
		}
		leaders = append(leaders, harness.Addresses(r)...)
	}
	got := weightedCount(leaders)
	if got["127.0.0.2"] != 200 || got["127.0.0.3"] != 100 || got["127.0.0.4"] != 0 {
		t.Errorf("only 1 at 2:1:0 answered %v", got)
	}

	// dogs itself has no weights: all three addresses, zone order.
	if a := harness.Addresses(srv.Query(t, "dogs.example.test.", dns.TypeA)); fmt.Sprint(a) != "[127.0.0.2 127.0.0.3 127.0.0.4]" {
		t.Errorf("unweighted name answered %v", a)
	}
	if r := srv.Query(t, "www.example.test.", dns.TypeMX); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("MX query: %v", r)
	}
	if r := srv.Query(t, "nope.example.test.", dns.TypeA); r.Rcode != dns.RcodeNameError {
		t.Errorf("NXDOMAIN became %s", dns.RcodeToString[r.Rcode])
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
