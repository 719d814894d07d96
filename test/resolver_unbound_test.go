package test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
	"github.com/steerdns/steerdns/test/resolver"
)

// TestResolverFailoverThroughUnbound kills a backend of a name whose zone TTL is 300 s and
// measures, through unbound, how long after its death the resolver still hands it out. Every
// answer for the checked name, healthy or not, CNAME in front included, carries at most the
// health check's ttl, so the last answer with the dead address comes within
// interval x fall + ttl + 1 s (unbound counts TTLs in whole seconds; resolverSlack for the
// test's own polling), however long the zone's TTL is.
func TestResolverFailoverThroughUnbound(t *testing.T) {
	const (
		interval = 200 * time.Millisecond
		fall     = 2
		ttl      = 3
		dead     = "127.0.0.3"
		quiet    = time.Second // the dead address must stay away this long to count as gone
	)
	bound := interval*fall + ttl*time.Second + time.Second
	web := harness.StartWeb(t, resolverCats...)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check web http port %d interval %s timeout 500ms rise 1 fall %d jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
        ttl %d
    }
    cache 300
    file %s
}`, web.Port, interval, fall, ttl, resolverZone(t, t.TempDir(), 300, "")))
	u := resolver.StartUnbound(t, "example.test", srv.UDP)
	names := []string{"cats.example.test", "www.example.test"}

	// Healthy: every address, and a TTL a resolver lets go of soon. These answers are the
	// ones unbound holds at the moment of the death.
	for _, name := range names {
		a := resolverAsk(t, u.Addr, name, dns.TypeA)
		if !slices.Equal(a.addrs, resolverCats) {
			t.Fatalf("healthy, through unbound %s answered %v, want %v", name, a.addrs, resolverCats)
		}
		if a.maxTTL > ttl {
			t.Errorf("healthy, through unbound %s carries TTL %d, want at most the health check's %d:\n%v", name, a.maxTTL, ttl, a.msg)
		}
	}

	web.Stop(dead)
	died := time.Now()
	var dropped time.Duration // when CoreDNS itself stopped answering it
	lastSeen := map[string]time.Duration{}
	maxTTL := map[string]uint32{}
	for {
		now := time.Since(died)
		if now > bound+5*time.Second {
			t.Fatalf("through unbound, %s still answered %v after its death (bound %s); CoreDNS dropped it after %s",
				dead, lastSeen, bound, resolverSeconds(dropped))
		}
		if dropped == 0 && !slices.Contains(harness.Addresses(srv.Query(t, "cats.example.test", dns.TypeA)), dead) {
			dropped = time.Since(died)
		}
		settled := dropped > 0
		for _, name := range names {
			sent := time.Since(died) // stands for the answer, however late the test reads it
			a := resolverAsk(t, u.Addr, name, dns.TypeA)
			if a.rcode != dns.RcodeSuccess || len(a.addrs) == 0 {
				t.Fatalf("through unbound %s answered %s %v", name, dns.RcodeToString[a.rcode], a.addrs)
			}
			maxTTL[name] = max(maxTTL[name], a.maxTTL)
			if slices.Contains(a.addrs, dead) {
				lastSeen[name] = sent
			}
			settled = settled && time.Since(died)-lastSeen[name] >= quiet
		}
		if settled {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	t.Logf("failover through unbound, zone TTL 300 s, interval %s x fall %d + ttl %d s: CoreDNS dropped the dead address after %s; "+
		"unbound's last answer with it came %s (cats) and %s (www, a CNAME to cats) after its death; bound %s",
		interval, fall, ttl, resolverSeconds(dropped), resolverSeconds(lastSeen["cats.example.test"]),
		resolverSeconds(lastSeen["www.example.test"]), resolverSeconds(bound))
	for _, name := range names {
		if lastSeen[name] > bound+resolverSlack {
			t.Errorf("through unbound %s answered the dead %s until %s after its death, want at most interval x fall + ttl + 1 s = %s",
				name, dead, resolverSeconds(lastSeen[name]), resolverSeconds(bound))
		}
		if maxTTL[name] > ttl {
			t.Errorf("during the failover, through unbound %s carried TTL %d, want at most %d", name, maxTTL[name], ttl)
		}
	}
}

// TestResolverOverrideThroughUnbound pins cats on server 2, switches to server 3 and unpins,
// each through the console's API, and measures how long unbound takes to answer accordingly:
// at most the TTL of the answer it held before the change, plus the second of unbound's
// whole-second clock.
func TestResolverOverrideThroughUnbound(t *testing.T) {
	// CoreDNS's cache serves no success for less than 5 s (its default MINTTL): a lower zone
	// TTL would reach unbound as 5.
	const zoneTTL, pinTTL = 5, 2
	dir := t.TempDir()
	zone := resolverZone(t, dir, zoneTTL, "")
	port := harness.FreePort(t)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    %s
    cache 30
    file %s
}`, overrideBlock(dir, port, fmt.Sprintf("ttl %d", pinTTL)), zone))
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	u := resolver.StartUnbound(t, "example.test", srv.UDP)
	resolverAwait(t, u.Addr, "cats.example.test", 5*time.Second, resolverCats...)

	steps := []struct {
		what    string
		path    string
		prevTTL int // the TTL of the answer unbound holds when the change is made
		want    []string
		wantTTL int // the TTL the new answer must not exceed
	}{
		{"pin server2", "/api/overrides/server2/enable", zoneTTL, []string{"127.0.0.3"}, pinTTL},
		{"switch to server3", "/api/overrides/server3/enable", pinTTL, []string{"127.0.0.4"}, pinTTL},
		{"unpin", "/api/groups/cats/disable", pinTTL, resolverCats, zoneTTL},
	}
	for _, s := range steps {
		// Unbound holds the previous answer, fetched just now: the slowest case.
		resolverAsk(t, u.Addr, "cats.example.test", dns.TypeA)
		overrideMust(t, "POST", api+s.path, "")
		bound := time.Duration(s.prevTTL+1) * time.Second
		took, a := resolverAwait(t, u.Addr, "cats.example.test", bound+5*time.Second, s.want...)
		t.Logf("%s: unbound's last answer before %v came %s after the API call (previous TTL %d s, bound %s)", s.what, s.want, resolverSeconds(took), s.prevTTL, resolverSeconds(bound))
		if took > bound+resolverSlack {
			t.Errorf("%s: unbound answered the previous state until %s after the API call, want at most the previous TTL + 1 s = %s", s.what, resolverSeconds(took), resolverSeconds(bound))
		}
		if a.maxTTL > uint32(s.wantTTL) {
			t.Errorf("%s: answer TTL %d, want at most %d", s.what, a.maxTTL, s.wantTTL)
		}
	}
}

// TestResolverPinFollowsAlias pins cats on server 2 and asks two caching resolvers, each fresh,
// for www (a CNAME to cats), then for cats, then for www again: every answer ends in the pinned
// address only, and a dual-stack client finds no IPv6 address behind the alias. Unpinned, the
// alias answers every address again within the pin's TTL + 1 s.
//
// The two resolvers take an alias's answer differently. Unbound keeps only the CNAME and asks
// for its target itself (so a pin on the target alone would hold through it); a CoreDNS
// forwarder with a cache, the node-local-dns shape, keeps the whole answer, the records behind
// the CNAME included, as glibc and most forwarders do.
func TestResolverPinFollowsAlias(t *testing.T) {
	const pinTTL = 2
	dir := t.TempDir()
	zone := resolverZone(t, dir, 300, "cats  300 IN AAAA  ::2\ncats  300 IN AAAA  ::3\n")
	port := harness.FreePort(t)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    %s
    cache 30
    file %s
}`, overrideBlock(dir, port, fmt.Sprintf("ttl %d", pinTTL)), zone))
	api := fmt.Sprintf("http://127.0.0.1:%d", port)

	resolvers := []struct {
		name  string
		start func(t *testing.T) string // starts the resolver and returns its address
	}{
		{"unbound", func(t *testing.T) string { return resolver.StartUnbound(t, "example.test", srv.UDP).Addr }},
		{"coredns-forwarder", func(t *testing.T) string {
			// MINTTL 0: CoreDNS's cache would otherwise hold every answer for at least 5 s.
			return harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    cache 300 {
        success 9984 300 0
        denial 9984 300 0
    }
    forward . %s
}`, srv.UDP)).UDP
		}},
	}
	for _, r := range resolvers {
		t.Run(r.name, func(t *testing.T) {
			overrideMust(t, "POST", api+"/api/overrides/server2/enable", "")
			addr := r.start(t)
			for _, name := range []string{"www.example.test", "cats.example.test", "www.example.test"} {
				a := resolverAsk(t, addr, name, dns.TypeA)
				if a.rcode != dns.RcodeSuccess || !slices.Equal(a.addrs, []string{"127.0.0.3"}) {
					t.Errorf("server2 pinned, through %s %s answered %s %v, want [127.0.0.3] only:\n%v",
						r.name, name, dns.RcodeToString[a.rcode], a.addrs, a.msg)
				}
			}
			a := resolverAsk(t, addr, "www.example.test", dns.TypeA)
			if len(a.msg.Answer) == 0 || a.msg.Answer[0].Header().Rrtype != dns.TypeCNAME {
				t.Errorf("through %s www lost its CNAME:\n%v", r.name, a.msg)
			}
			if a = resolverAsk(t, addr, "www.example.test", dns.TypeAAAA); a.rcode != dns.RcodeSuccess || len(a.addrs) != 0 {
				t.Errorf("server2 (IPv4 only) pinned, through %s www AAAA answered %s %v, want no address",
					r.name, dns.RcodeToString[a.rcode], a.addrs)
			}

			overrideMust(t, "POST", api+"/api/overrides/server2/disable", "")
			bound := time.Duration(pinTTL+1) * time.Second
			took, _ := resolverAwait(t, addr, "www.example.test", bound+5*time.Second, resolverCats...)
			t.Logf("unpinned: through %s the alias's last pinned answer came %s after the API call (pin TTL %d s)", r.name, resolverSeconds(took), pinTTL)
			if took > bound+resolverSlack {
				t.Errorf("unpinned: through %s www answered the pin until %s after the API call, want at most %s", r.name, resolverSeconds(took), resolverSeconds(bound))
			}
		})
	}
}
