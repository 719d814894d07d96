package test

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// weightedWaitAddresses queries until the answer holds exactly n addresses.
func weightedWaitAddresses(t *testing.T, srv *harness.Server, name string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if a := harness.Addresses(srv.Query(t, name, dns.TypeA)); len(a) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered with %d addresses", name, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// When healthcheck removes a dead server, weighted splits among the survivors in the
// proportion of their own weights; when it returns, the full split comes back.
func TestWeightedAmongHealthySurvivors(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    weighted {
        weight dogs.example.test 127.0.0.2 3 127.0.0.3 2 127.0.0.4 1
    }
    healthcheck {
        check web http port %d interval 100ms timeout 500ms rise 2 fall 2 jitter 0%%
        name dogs.example.test 127.0.0.2 127.0.0.3 127.0.0.4
    }
    cache 30
    file %s
}`, web.Port, weightedZoneFile(t)))

	weightedWaitAddresses(t, srv, "dogs.example.test.", 3)
	if c := weightedCount(weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", 60, 3)); c["127.0.0.2"] != 30 || c["127.0.0.3"] != 20 || c["127.0.0.4"] != 10 {
		t.Errorf("all healthy: %v, want 30:20:10", c)
	}

	web.Stop("127.0.0.2")
	weightedWaitAddresses(t, srv, "dogs.example.test.", 2)
	// W is now 2 + 1: each run of 3 answers has 127.0.0.3 lead twice, 127.0.0.4 once.
	leaders := weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", 30, 2)
	for start := 0; start+3 <= len(leaders); start++ {
		if c := weightedCount(leaders[start : start+3]); c["127.0.0.3"] != 2 || c["127.0.0.4"] != 1 {
			t.Fatalf("survivors, answers %d-%d: %v, want 2:1", start, start+2, c)
		}
	}

	web.Start("127.0.0.2")
	weightedWaitAddresses(t, srv, "dogs.example.test.", 3)
	if c := weightedCount(weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", 60, 3)); c["127.0.0.2"] != 30 {
		t.Errorf("after recovery: %v, want 127.0.0.2 to lead 30 of 60", c)
	}
}
