package weighted

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/fuzzmsg"
)

// FuzzParse feeds the Corefile parser any block: an error, or a plugin with weights to
// serve, never a panic.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"weighted {\n weight a.test 10.0.0.1 3 10.0.0.2 0\n}",
		"weighted {\n weight a.test 10.0.0.1 1 10.0.0.2\n}",
		"weighted {\n file w\n reload 0\n}",
		"weighted {\n file w\n reload -1s\n}",
		"weighted {\n file w\n reload 9999999999999h\n}",
		"weighted {\n weight _s._tcp.a.test web.a.test 2\n types srv a\n only 1\n}",
		"weighted {\n weight a.test web.a.test 2\n}",
		"weighted {\n weight 10.0.0.1 10.0.0.1 1\n}",
		"weighted {\n weight a.test ::ffff:10.0.0.1 65535\n leads\n}",
		"weighted {\n weight a.test 10.0.0.1 65536\n}",
		"weighted {\n only 0\n}",
		"weighted\nweighted",
		"weighted x {\n}",
		"weighted a.test 10.0.0.1 3",
		"weighted a.test b.test {\n weight a.test 10.0.0.1 1\n ttl 5\n}",
		"weighted {\n weight a.test 10.0.0.1 1\n ttl 4294967296\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		wt, err := parse(caddyController(input))
		if err != nil {
			return
		}
		if wt.file == "" && len(wt.inline) == 0 {
			t.Fatalf("parse(%q) accepted a block without weights", input)
		}
		if wt.only < 0 || wt.reload < 0 || wt.types == [3]bool{} || wt.ttl > maxTTL || len(wt.zones) == 0 {
			t.Fatalf("parse(%q): only %d, reload %v, types %v, ttl %d, zones %v", input, wt.only, wt.reload, wt.types, wt.ttl, wt.zones)
		}
		checkSpec(t, wt.inline)
	})
}

// checkSpec checks the invariants the query path relies on: names are lower-case FQDNs,
// weights within bounds, host targets lower-case FQDNs.
func checkSpec(t *testing.T, spec weightSpec) {
	t.Helper()
	for name, ws := range spec {
		if name != strings.ToLower(dns.Fqdn(name)) {
			t.Fatalf("name %q is not a lower-case FQDN", name)
		}
		for tg, w := range ws {
			if w > maxWeight {
				t.Fatalf("%s: weight %d over %d", name, w, maxWeight)
			}
			if (tg.host == "") == !tg.addr.IsValid() || (tg.host != "" && tg.host != strings.ToLower(dns.Fqdn(tg.host))) || tg.addr.Is4In6() {
				t.Fatalf("%s: target %+v", name, tg)
			}
		}
	}
}

// FuzzParseWeightFile feeds the weight-file parser any content: an error naming the file, or
// weights the query path can use.
func FuzzParseWeightFile(f *testing.F) {
	for _, s := range []string{
		"# comment\nwww.example.org\n127.0.0.2 3\n127.0.0.3 1\n\n_http._tcp.example.org\nweb1.example.org 2\n",
		"127.0.0.2 3\n",
		"a.test\n127.0.0.2 3 3\n",
		"a.test\n127.0.0.2 x\n",
		"a.test\n::ffff:127.0.0.2 0\nA.TEST.\n127.0.0.2 65535\n",
		"a.test\n127.0.0.256 1\n",
		"\xff\xfe\n",
		strings.Repeat("x", 70000) + "\n",
		"a.test\r\n10.0.0.1\t2\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		spec, err := parseWeightFile("w.txt", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "w.txt:") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		checkSpec(t, spec)
	})
}

// fuzzBlock weighs some of the addresses fuzzmsg.Msg makes for n0.test., drains others, and
// leaves the rest unlisted; only is 0 for leads mode.
func fuzzBlock(only byte) string {
	mode := "leads"
	if only%4 != 0 {
		mode = fmt.Sprintf("only %d", only%4)
	}
	return fmt.Sprintf(`weighted {
 weight n0.test 10.0.0.0 3 10.0.1.1 0 10.0.2.2 2 10.7.7.0 2 10.7.7.1 0 10.9.9.0 4
 weight n0.test 2001:db8::1:1 5 2001:db8::2:2 0 t1.test 2 t2.test 0
 weight n1.test 10.0.1.1 7
 types A AAAA SRV
 %s
}`, mode)
}

// FuzzWeighted serves structured responses through the plugin and checks: no panic, the
// message and records handed in unchanged, and an answer made of the records handed in (all
// of them in leads mode), with the other sections as they were, that packs.
func FuzzWeighted(f *testing.F) {
	const a, aaaa, cname, sig, srv, other = 0x00, 0x01, 0x02, 0x03, 0x04, 0x08 // other: A of n1
	f.Add(byte(0), byte(0), []byte{a, a, a, a})
	f.Add(byte(0), byte(1), []byte{a, a, a})
	f.Add(byte(0), byte(2), []byte{cname, 0x08 | a, 0x08 | a, 0x08 | sig, 0x08 | a})
	f.Add(byte(0), byte(0), []byte{cname, 0x0a, 0x12, 0x1a, 0x00, 0x00}) // n0→n1→n2→n3→n0: a loop
	f.Add(byte(0x80), byte(1), []byte{a, a | 0x20, sig, a, 0x20 | a, 0x40 | a})
	f.Add(byte(0), byte(0), fuzzmsg.SeedOps(100, a))
	f.Add(byte(0), byte(3), fuzzmsg.SeedOps(130, a, sig, a, other))
	f.Add(byte(1), byte(1), fuzzmsg.SeedOps(70, aaaa, aaaa, sig))
	f.Add(byte(2), byte(1), []byte{srv, srv, 0x44, 0x03 | 0x80})
	f.Add(byte(0x04), byte(1), []byte{a, a, a})
	f.Add(byte(0x08), byte(1), []byte{a, a})
	f.Add(byte(0x10), byte(0), []byte{})
	f.Add(byte(0x20), byte(2), []byte{a, a, 0x06, a})
	f.Add(byte(0x40), byte(1), []byte{a, a})
	f.Add(byte(0), byte(1), []byte{})
	f.Add(byte(0), byte(1), []byte{0x07, 0x07, 0x47, 0x07})
	f.Add(byte(0), byte(1), []byte{0x06, 0x46, 0x86})
	f.Add(byte(0x21), byte(2), fuzzmsg.SeedOps(80, 0x01, 0x21, 0x03, 0x0a))
	f.Fuzz(func(t *testing.T, flags, only byte, ops []byte) {
		if len(ops) > 400 {
			return
		}
		wt, err := parse(caddyController(fuzzBlock(only)))
		if err != nil {
			t.Fatal(err)
		}
		if err := wt.loadWeights(); err != nil {
			t.Fatal(err)
		}
		h := fuzzmsg.Keep(t, fuzzmsg.Msg(flags, ops))
		wt.Next = backend(h.Msg)
		req := fuzzmsg.Query(h.Msg)
		for range 3 {
			reply, err := fuzzmsg.Serve(wt, req)
			if err != nil {
				t.Fatal(err)
			}
			h.Unchanged(t)
			checkArranged(t, h.Msg, h.Answer, reply, only%4 == 0)
		}
	})
}

// checkArranged checks that out is in itself or a copy whose answer holds only records of
// in's answer (every one in leads mode), with the other sections the same.
func checkArranged(t *testing.T, in *dns.Msg, answer []dns.RR, out *dns.Msg, leads bool) {
	t.Helper()
	if out == in {
		return
	}
	if out == nil || len(out.Answer) == 0 || len(out.Question) != 1 || in.Rcode != dns.RcodeSuccess {
		t.Fatalf("weighted rewrote a response it must pass: %v\nto %v", in, out)
	}
	if len(answer) > 0 && &out.Answer[0] == &in.Answer[0] {
		t.Fatal("the reply shares the answer slice handed in")
	}
	qtype := in.Question[0].Qtype
	for rr, n := range fuzzmsg.Missing(answer, out.Answer) {
		if n < 0 {
			t.Fatalf("record %s is not (or not that often) in the answer handed in", rr)
		}
		if n != 0 && (leads || rr.Header().Rrtype != qtype) {
			t.Fatalf("record %s was dropped", rr)
		}
	}
	if !slices.Equal(out.Ns, in.Ns) || !slices.Equal(out.Extra, in.Extra) || out.Id != in.Id || out.Truncated != in.Truncated {
		t.Fatal("weighted changed the header or a section other than the answer")
	}
	if _, err := out.Pack(); err != nil {
		t.Fatalf("the weighted message does not pack: %v", err)
	}
}
