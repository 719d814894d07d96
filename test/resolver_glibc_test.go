package test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/steerdns/steerdns/test/harness"
	"github.com/steerdns/steerdns/test/resolver"
)

// resolverGlibcSetup is a CoreDNS on port 53 of a spare loopback address, with override and
// healthcheck in front of the resolver tests' zone and four real web servers, and glibc
// pointed at it.
type resolverGlibcSetup struct {
	glibc *resolver.Glibc
	web   *harness.Web
	api   string
}

// resolverGlibcInterval and resolverGlibcFall are the health check's: a dead web server
// leaves the answers within their product.
const (
	resolverGlibcInterval = 200 * time.Millisecond
	resolverGlibcFall     = 2
)

func resolverGlibcStart(t *testing.T) *resolverGlibcSetup {
	t.Helper()
	dir := t.TempDir()
	zone := resolverZone(t, dir, 300, "")
	web := harness.StartWeb(t, resolverCats...)
	port := harness.FreePort(t)
	_, ip := resolver.StartCoreDNSOn53(t, func(ip string) string {
		return fmt.Sprintf(`example.test:53 {
    bind %s
    %s
    healthcheck {
        check web http port %d interval %s timeout 500ms rise 1 fall %d jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
    }
    cache 30
    file %s
}`, ip, overrideBlock(dir, port, ""), web.Port, resolverGlibcInterval, resolverGlibcFall, zone)
	})
	s := &resolverGlibcSetup{glibc: resolver.NewGlibc(t, ip), web: web, api: fmt.Sprintf("http://127.0.0.1:%d", port)}
	for _, name := range []string{"cats.example.test", "www.example.test"} {
		if got := s.ahosts(t, name); !slices.Equal(got, resolverCats) {
			t.Fatalf("getent ahosts %s = %v, want %v", name, got, resolverCats)
		}
	}
	return s
}

// ahosts returns what `getent ahosts name` lists, sorted; an error fails the test.
func (s *resolverGlibcSetup) ahosts(t *testing.T, name string) []string {
	t.Helper()
	got, err := s.glibc.AHosts(t, name)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

// TestResolverGlibcPin pins cats on server 2: getaddrinfo, as curl and every libc program call
// it, gets server 2 only, for the name and for its alias www; unpinned, every address again.
func TestResolverGlibcPin(t *testing.T) {
	s := resolverGlibcStart(t)
	overrideMust(t, "POST", s.api+"/api/overrides/server2/enable", "")
	for _, c := range []struct{ test, name string }{{"direct", "cats.example.test"}, {"alias", "www.example.test"}} {
		t.Run(c.test, func(t *testing.T) {
			if got := s.ahosts(t, c.name); !slices.Equal(got, []string{"127.0.0.3"}) {
				t.Errorf("server2 pinned: getent ahosts %s = %v, want [127.0.0.3]", c.name, got)
			}
		})
	}
	overrideMust(t, "POST", s.api+"/api/groups/cats/disable", "")
	for _, name := range []string{"cats.example.test", "www.example.test"} {
		if got := s.ahosts(t, name); !slices.Equal(got, resolverCats) {
			t.Errorf("unpinned: getent ahosts %s = %v, want %v", name, got, resolverCats)
		}
	}
}

// TestResolverGlibcFailover stops a web server: glibc, which caches nothing, stops getting its
// address within interval x fall (plus a second for the probes' scheduling on a busy machine),
// for the name and its alias, and gets it again once the server is back.
func TestResolverGlibcFailover(t *testing.T) {
	const dead = "127.0.0.3"
	s := resolverGlibcStart(t)
	alive := []string{"127.0.0.2", "127.0.0.4", "127.0.0.5"}
	bound := resolverGlibcInterval*resolverGlibcFall + time.Second

	s.web.Stop(dead)
	died := time.Now()
	var got []string
	var took time.Duration // when the last getent that still listed it started
	for {
		started := time.Since(died)
		if got = s.ahosts(t, "cats.example.test"); !slices.Contains(got, dead) {
			break
		}
		took = started
		if started > bound+10*time.Second {
			t.Fatalf("getent ahosts cats.example.test still lists the dead %s after %s: %v", dead, resolverSeconds(started), got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("failover seen by glibc: the last getent that listed the dead address started %s after its death, the first without it ended %s after (interval %s x fall %d)",
		resolverSeconds(took), resolverSeconds(time.Since(died)), resolverGlibcInterval, resolverGlibcFall)
	if took > bound+resolverSlack {
		t.Errorf("getent ahosts listed the dead %s until %s after its death, want at most %s", dead, resolverSeconds(took), resolverSeconds(bound))
	}
	if !slices.Equal(got, alive) {
		t.Errorf("getent ahosts cats.example.test = %v, want %v", got, alive)
	}
	if got := s.ahosts(t, "www.example.test"); !slices.Equal(got, alive) {
		t.Errorf("getent ahosts www.example.test (alias) = %v, want %v", got, alive)
	}

	s.web.Start(dead)
	for start := time.Now(); !slices.Equal(s.ahosts(t, "cats.example.test"), resolverCats); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("%s back for 10 s, getent ahosts still leaves it out", dead)
		}
	}
}
