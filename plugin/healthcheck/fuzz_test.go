package healthcheck

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// FuzzParse feeds the body of a healthcheck block to the Corefile parser: it must not panic,
// and what it accepts must be a configuration the plugin can run.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"check web http port 8080 path /health status 200-299 body ok host www.example.test interval 250ms timeout 200ms rise 3 fall 1 jitter 20%",
		"check secure https insecure\nname cats.example.test 127.0.0.2 backup ::1\ndiscover secure expire 30s\nmax_discovered 5",
		"check ns dns query example.test qtype SOA rcode NOERROR\nname ns.example.test check ns 127.0.0.2\nttl 5 changed",
		"check web http jitter NaN", "check web http interval 1ns", "check web http\nname cats.example.test check nosuch 127.0.0.2",
		"check web http\nall_down answer 192.0.2.1 2001:db8::1\nunknown down", "check web tcp port 1\nttl 3600 all\nall_down servfail",
		"check web http\n}\nhealthcheck {\ncheck x tcp port 2", "check web http port 65536", "check web http status 100-599\nname . 127.0.0.1",
		"check web http\netcd 127.0.0.1:2379 http://127.0.0.1:2479 {\nprefix /a\nreplica dns-1\nlease 2500ms\nusername u\npassword p\n}\nquorum 2",
		"check web http\netcd 127.0.0.1:2379\nquorum majority", "check web http\netcd 127.0.0.1:2379 {\n}\n}", "check web http\netcd {\nreplica x\n}",
		"check web http\netcd 127.0.0.1:2379 {\nlease 1ns\n}", "check web http\nquorum 3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cfg, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n"+body+"\n}"))
		if err != nil {
			if !strings.Contains(err.Error(), "Error during parsing") {
				t.Fatalf("error %q does not name its line", err)
			}
			return
		}
		for _, ck := range cfg.checks {
			if ck.Interval < minInterval || ck.Timeout < minTimeout || math.IsNaN(ck.Jitter) || ck.Jitter < 0 || ck.Jitter > 1 ||
				ck.Port < 1 || ck.Port > 65535 || ck.Rise < 1 || ck.Fall < 1 {
				t.Fatalf("accepted an unusable check %+v", ck)
			}
		}
		for name, r := range cfg.names {
			if r.check == nil || len(r.primary) == 0 {
				t.Fatalf("accepted name %s without a check or a primary", name)
			}
		}
		if cfg.ttl < 1 || cfg.maxFound < 1 {
			t.Fatalf("accepted ttl %d, max_discovered %d", cfg.ttl, cfg.maxFound)
		}
		if sc := cfg.shared; sc != nil && (!replicaName.MatchString(sc.replica) || sc.lease < minLease || sc.lease > maxLease ||
			sc.lease%time.Second != 0 || !strings.HasPrefix(sc.prefix, "/") || !strings.HasSuffix(sc.prefix, "/") ||
			sc.quorum < 0 || sc.quorum > maxQuorum || len(sc.etcd.Endpoints) == 0) {
			t.Fatalf("accepted an unusable etcd block %+v", sc)
		}
		newHealthCheck(cfg)
	})
}

// The configurations FuzzFilter runs each message through, picked by a byte of the input.
var fuzzModes = []string{"", "ttl 10 changed", "all_down servfail", "all_down answer 192.0.2.1 2001:db8::1", "discover web", "unknown down\nttl 1"}

// fuzzSeeds are answers of the shapes that broke or nearly broke filters before: CNAME
// chains and loops, mixed case, RRSIGs interleaved, over 64 records, truncated and error
// responses, EDNS.
func fuzzSeeds() []*dns.Msg {
	var out []*dns.Msg
	add := func(name string, qt uint16, rrs ...string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qt)
		m.Response = true
		for _, s := range rrs {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		out = append(out, m)
		return m
	}
	const sig = "300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl"
	add("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3", "cats.example.test. 300 IN A 127.0.0.4")
	add("www.example.test.", dns.TypeA, "www.example.test. 3600 IN CNAME alias.example.test.", "alias.example.test. 60 IN CNAME cats.example.test.",
		"cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.5")
	add("loop.example.test.", dns.TypeA, "loop.example.test. 300 IN CNAME loop2.example.test.", "loop2.example.test. 300 IN CNAME loop.example.test.")
	add("CaTs.Example.TEST.", dns.TypeA, "CATS.example.test. 300 IN A 127.0.0.2", "cats.EXAMPLE.test. 300 IN A 127.0.0.3")
	add("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. "+sig, "cats.example.test. 300 IN A 127.0.0.3")
	add("www.example.test.", dns.TypeA, "www.example.test. 300 IN CNAME cats.example.test.", "www.example.test. "+strings.Replace(sig, "RRSIG A", "RRSIG CNAME", 1),
		"cats.example.test. 300 IN A 127.0.0.3", "cats.example.test. 300 IN A 127.0.0.2")
	add("six.example.test.", dns.TypeAAAA, "six.example.test. 300 IN AAAA ::2", "six.example.test. 300 IN AAAA ::3", "six.example.test. 300 IN A 127.0.0.2")
	big := add("big.example.test.", dns.TypeA)
	for i := range 70 {
		big.Answer = append(big.Answer, test.A(fmt.Sprintf("big.example.test. 300 IN A 127.0.%d.%d", i/250, 2+i%250)))
	}
	big.Answer = append(big.Answer, test.A("big.example.test. 300 IN A 127.0.0.3"))
	tc := add("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.3")
	tc.Truncated = true
	sf := add("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.2")
	sf.Rcode = dns.RcodeServerFailure
	edns := add("cats.example.test.", dns.TypeA, "cats.example.test. 300 IN A 127.0.0.2", "cats.example.test. 300 IN A 127.0.0.3")
	edns.SetEdns0(1232, true)
	add("other.test.", dns.TypeA, "other.test. 300 IN A 127.0.0.2")
	add("cats.example.test.", dns.TypeMX, "cats.example.test. 300 IN MX 10 mail.example.test.")
	return out
}

// FuzzFilter runs a message (in wire form) through ServeDNS, written by the backend, with the
// verdicts and configuration the other inputs pick: it must not panic, must not change the
// message handed up, and must write a message that packs.
func FuzzFilter(f *testing.F) {
	for i, m := range fuzzSeeds() {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint64(0x5a5a5a5a)>>(i%7), uint8(i))
	}
	f.Fuzz(func(t *testing.T, wire []byte, states uint64, mode uint8) {
		res := new(dns.Msg)
		if err := res.Unpack(wire); err != nil {
			return
		}
		before, err := res.Pack()
		if err != nil {
			return
		}
		verdicts := map[string]state{}
		for i, a := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "::2", "::3"} {
			verdicts[a] = state(states>>(2*i)) % 3
		}
		hc := newTestHC(t, fuzzModes[int(mode)%len(fuzzModes)], verdicts)
		out := through(t, hc, res, context.Background())
		after, err := res.Pack()
		if err != nil || !bytes.Equal(before, after) {
			t.Fatalf("the message handed up changed (pack error %v)", err)
		}
		if _, err := out.Pack(); err != nil {
			t.Fatalf("the answer written does not pack: %v\n%s", err, out)
		}
	})
}
