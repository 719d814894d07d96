package sign

import (
	"bytes"
	"fmt"
	golog "log"
	"strings"
	"testing"

	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// captureLog returns the buffer the log writes to until the test ends.
func captureLog(t *testing.T) *bytes.Buffer {
	var buf bytes.Buffer
	golog.SetOutput(&buf)
	t.Cleanup(clog.Discard)
	return &buf
}

func signedSet(owner, signer string) ([]dns.RR, answer.RRset) {
	ans := []dns.RR{
		test.CNAME("www." + owner + " 300 IN CNAME " + owner),
		test.RRSIG("www." + owner + " 300 IN RRSIG CNAME 13 3 300 20300101000000 20200101000000 1 other.example. AAAA"),
		test.A(owner + " 300 IN A 192.0.2.1"),
		test.RRSIG(owner + " 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 1 " + signer + " AAAA"),
	}
	set, _ := answer.Find(ans, "www."+owner, dns.TypeA)
	return ans, set
}

// The warning names the zone that signed the set (the RRSIG's signer), once per zone.
func TestUnsignedWarnsOncePerZone(t *testing.T) {
	buf := captureLog(t)
	u := NewUnsigned(clog.NewWithPlugin("testplugin"), "failover is off")
	for range 3 {
		u.Note(signedSet("cats.example.test.", "example.test."))
	}
	u.Note(signedSet("dogs.example.org.", "example.org."))
	out := buf.String()
	if n := strings.Count(out, "[WARNING]"); n != 2 {
		t.Fatalf("%d warnings, want one per zone:\n%s", n, out)
	}
	for _, want := range []string{"plugin/testplugin", "zone example.test. is signed", "zone example.org. is signed", "failover is off", "key file"} {
		if !strings.Contains(out, want) {
			t.Errorf("warnings lack %q:\n%s", want, out)
		}
	}
}

// The zones remembered are bounded: answers from anywhere cannot grow the set.
func TestUnsignedBounded(t *testing.T) {
	buf := captureLog(t)
	u := NewUnsigned(clog.NewWithPlugin("testplugin"), "failover is off")
	for i := range 2 * maxWarned {
		zone := fmt.Sprintf("z%d.test.", i)
		u.Note(signedSet("a."+zone, zone))
	}
	if n := len(*u.seen.Load()); n != maxWarned {
		t.Errorf("%d zones remembered, want %d", n, maxWarned)
	}
	if n := strings.Count(buf.String(), "[WARNING]"); n != maxWarned {
		t.Errorf("%d warnings, want %d", n, maxWarned)
	}
}
