package test

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// healthcheckZone writes a zone with cats on 127.0.0.2-5 (TTL 300) and www as a CNAME to cats.
func healthcheckZone(t *testing.T) string {
	t.Helper()
	return harness.ZoneFile(t, t.TempDir(), `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
www   300 IN CNAME cats
dogs  300 IN A    127.0.0.6
dogs  300 IN A    127.0.0.7
`)
}

// healthcheckCorefile is a server with healthcheck, cache and file, probing web's port fast.
// The timeout is wide: a stopped server refuses at once, so it does not slow failover, and a
// live one answering late on a loaded machine must not be judged down.
func healthcheckCorefile(zone string, port int, extra string) string {
	return fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check web http port %d interval 100ms timeout 3s rise 2 fall 2 jitter 0%%
        %s
    }
    cache 300
    file %s
}`, port, extra, zone)
}

// healthcheckSorted returns r's addresses, sorted.
func healthcheckSorted(r *dns.Msg) []string {
	addrs := harness.Addresses(r)
	slices.Sort(addrs)
	return addrs
}

// healthcheckMaxTTL returns the highest TTL of r's answer records (CNAMEs included).
func healthcheckMaxTTL(r *dns.Msg) uint32 {
	var ttl uint32
	for _, rr := range r.Answer {
		ttl = max(ttl, rr.Header().Ttl)
	}
	return ttl
}

// healthcheckMinTTL returns the lowest TTL of r's A and AAAA records.
func healthcheckMinTTL(r *dns.Msg) uint32 {
	ttl := uint32(1 << 31)
	for _, rr := range r.Answer {
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			ttl = min(ttl, rr.Header().Ttl)
		}
	}
	return ttl
}

// healthcheckWaitFor queries name until it answers NOERROR with exactly the addresses want, for at most 10 s,
// and returns the TTL of that answer and how long it took.
func healthcheckWaitFor(t *testing.T, srv *harness.Server, name string, want ...string) (uint32, time.Duration) {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	var got []string
	var ttl uint32
	for time.Since(start) < 10*time.Second {
		r := srv.Query(t, name, dns.TypeA)
		got, ttl = healthcheckSorted(r), healthcheckMinTTL(r)
		if r.Rcode == dns.RcodeSuccess && slices.Equal(got, want) {
			return ttl, time.Since(start)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s answered %v for 10s, want %v", name, got, want)
	return 0, 0
}

// healthcheckSettledGoroutines returns the number of goroutines once it has not moved for
// five samples 50 ms apart (the first probes' HTTP goroutines come and go), or after 5 s.
func healthcheckSettledGoroutines() int {
	last, same := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(5 * time.Second); same < 5 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		if n := runtime.NumGoroutine(); n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	return last
}
