package test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// resolverCats is every address of cats.example.test in the resolver tests' zone.
var resolverCats = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}

// resolverSlack is added to every bound the tests assert: the bounds are exact for the
// resolver (unbound serves a record until the whole second after its TTL runs out, then asks
// again), so what the test observes can pass them by its own polling period (10 ms), a query's
// round trip and a late probe timer on a busy machine. The figures logged are the real ones.
const resolverSlack = 250 * time.Millisecond

// resolverZone writes dir/example.test.zone: cats on 127.0.0.2-5 with catsTTL, www a CNAME to
// cats with the demo zone's 300 s, and extra records. It returns the file's path.
func resolverZone(t *testing.T, dir string, catsTTL int, extra string) string {
	t.Helper()
	var b strings.Builder
	for _, ip := range resolverCats {
		fmt.Fprintf(&b, "cats  %d IN A     %s\n", catsTTL, ip)
	}
	b.WriteString("www   300 IN CNAME cats\n")
	b.WriteString(extra)
	return harness.ZoneFile(t, dir, b.String())
}

// resolverAnswer is what a client of the resolver gets for one question.
type resolverAnswer struct {
	rcode  int
	addrs  []string // sorted
	maxTTL uint32   // the highest TTL of any answer record, CNAMEs included
	msg    *dns.Msg
}

// resolverAsk asks the resolver at addr one question over UDP.
func resolverAsk(t *testing.T, addr, name string, qtype uint16) resolverAnswer {
	t.Helper()
	r := harness.Exchange(t, "udp", addr, name, qtype)
	a := resolverAnswer{rcode: r.Rcode, addrs: harness.Addresses(r), msg: r}
	slices.Sort(a.addrs)
	for _, rr := range r.Answer {
		a.maxTTL = max(a.maxTTL, rr.Header().Ttl)
	}
	return a
}

// resolverAwait asks the resolver at addr for name's A records until the sorted addresses are
// want, for at most limit. It returns when, after it started, the last answer that was not
// want was asked for, and the first answer that was. The question's send time stands for
// the answer: a stall of the test process after it cannot make a fresh answer look late.
func resolverAwait(t *testing.T, addr, name string, limit time.Duration, want ...string) (time.Duration, resolverAnswer) {
	t.Helper()
	slices.Sort(want)
	start := time.Now()
	var lastOld time.Duration
	var a resolverAnswer
	for time.Since(start) < limit {
		sent := time.Since(start)
		if a = resolverAsk(t, addr, name, dns.TypeA); a.rcode == dns.RcodeSuccess && slices.Equal(a.addrs, want) {
			return lastOld, a
		}
		lastOld = sent
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("through %s %s answered %s %v for %s, want %v", addr, name, dns.RcodeToString[a.rcode], a.addrs, limit, want)
	return 0, a
}

// resolverSeconds is d in seconds, rounded to hundredths, for the figures the tests log.
func resolverSeconds(d time.Duration) string {
	return fmt.Sprintf("%.2f s", d.Seconds())
}
