package test

import (
	"slices"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// TestHealthcheckDeadAddressLeaves stops one primary web server: its address leaves the
// answer with a capped TTL, the backup stays hidden, and the address returns after rise.
// Every answer for the checked name, healthy ones and the CNAME in front included, carries
// at most the ttl (10 s by default), so a resolver cannot keep a dead address longer.
func TestHealthcheckDeadAddressLeaves(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port,
		"name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 backup 127.0.0.5"))

	ttl, _ := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3", "127.0.0.4")
	if ttl > 10 {
		t.Fatalf("healthy answer TTL %d, want at most 10", ttl)
	}
	if r := srv.Query(t, "www.example.test", dns.TypeA); healthcheckMaxTTL(r) > 10 || len(r.Answer) != 4 {
		t.Fatalf("healthy answer through the CNAME: %v, want a CNAME and 3 addresses, every TTL at most 10", r.Answer)
	}

	web.Stop("127.0.0.3")
	ttl, _ = healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.4")
	if ttl > 10 {
		t.Errorf("filtered answer TTL %d, want at most 10", ttl)
	}
	// The CNAME in front is kept, the filtered set behind it is the same.
	healthcheckWaitFor(t, srv, "www.example.test", "127.0.0.2", "127.0.0.4")
	// Over TCP too.
	r := harness.Exchange(t, "tcp", srv.TCP, "cats.example.test", dns.TypeA)
	if got := healthcheckSorted(r); !slices.Equal(got, []string{"127.0.0.2", "127.0.0.4"}) || healthcheckMinTTL(r) > 10 {
		t.Errorf("over TCP: %v TTL %d, want [127.0.0.2 127.0.0.4] with TTL at most 10", got, healthcheckMinTTL(r))
	}

	if r := srv.Query(t, "www.example.test", dns.TypeA); healthcheckMaxTTL(r) > 10 {
		t.Errorf("filtered answer through the CNAME has a TTL of %d, want at most 10", healthcheckMaxTTL(r))
	}

	web.Start("127.0.0.3")
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3", "127.0.0.4")
}

// TestHealthcheckTTLChanged: with "ttl 10 changed", a healthy answer keeps the zone's TTL
// (today's behaviour before bounded failover became the default); a filtered one is capped.
func TestHealthcheckTTLChanged(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port,
		"name cats.example.test 127.0.0.2 127.0.0.3\n ttl 10 changed"))
	// The zone's 127.0.0.4 and .5 are not listed: without discover they count as up.
	ttl, _ := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	if ttl <= 10 {
		t.Fatalf("healthy answer TTL %d with 'ttl 10 changed', want the zone's (uncapped)", ttl)
	}
	web.Stop("127.0.0.3")
	if ttl, _ = healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.4", "127.0.0.5"); ttl > 10 {
		t.Errorf("filtered answer TTL %d, want at most 10", ttl)
	}
}

// TestHealthcheckBackupTakesOver kills every primary: the backup serves, then the
// primaries return and the backup is hidden again.
func TestHealthcheckBackupTakesOver(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port,
		"name cats.example.test 127.0.0.2 127.0.0.3 backup 127.0.0.4 127.0.0.5"))
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")

	web.Stop("127.0.0.2")
	web.Stop("127.0.0.3")
	ttl, _ := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.4", "127.0.0.5")
	if ttl > 10 {
		t.Errorf("backup answer TTL %d, want at most 10", ttl)
	}
	web.Stop("127.0.0.5")
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.4")

	web.Start("127.0.0.3")
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.3")
}

// TestHealthcheckFailOpen kills everything: by default every address is answered, with the
// TTL capped so that resolvers come back soon.
func TestHealthcheckFailOpen(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port,
		"name cats.example.test 127.0.0.2 127.0.0.3 backup 127.0.0.4 127.0.0.5\n ttl 7"))
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")

	web.StopAll()
	// All down looks like "backups only" for a moment if the primaries fall first; wait for
	// the final state, which must be all four.
	ttl, _ := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	if ttl > 7 {
		t.Errorf("fail-open answer TTL %d, want at most 7", ttl)
	}
}
