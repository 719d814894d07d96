package weighted

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// These tests pin contracts that make mutate found unguarded (docs/MUTATION.md).

// leaders runs k answers of rrs through the rotation of slot and returns who led each.
func leaders(n *nameWeights, slot int, rrs []dns.RR, k int) map[string]int {
	out := make([]dns.RR, len(rrs))
	counts := map[string]int{}
	for range k {
		if n.states[slot].order(n, rrs, out) == 0 {
			counts["none"]++
			continue
		}
		counts[targetOf(out[0]).String()]++
	}
	return counts
}

// TestNewSetOfTheSameSize: an answer with as many records as the last one but other
// addresses is a new set: its rotation restarts with their own weights (unlisted: 1), not
// the weights of the addresses that stood in the same places before. Addresses come in both
// forms a record can hold them (4 bytes off the wire, 16 from text), and SRV targets too.
func TestNewSetOfTheSameSize(t *testing.T) {
	a := func(ip string, four bool) dns.RR {
		v := net.ParseIP(ip)
		if four {
			v = v.To4()
		}
		return &dns.A{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: v}
	}
	srv := func(target string) dns.RR {
		return &dns.SRV{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeSRV, Class: dns.ClassINET, Ttl: 300}, Target: target, Port: 80}
	}
	aaaa := func(ip string) dns.RR {
		return &dns.AAAA{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeAAAA, Class: dns.ClassINET, Ttl: 300}, AAAA: net.ParseIP(ip)}
	}
	for _, tc := range []struct {
		desc        string
		slot        int
		first, next []dns.RR
		want        string // leads over four answers of next
	}{
		{"A, 16-byte form", 0, []dns.RR{a("10.0.0.1", false), a("10.0.0.2", false)}, []dns.RR{a("10.0.0.7", false), a("10.0.0.8", false)},
			"map[10.0.0.7:2 10.0.0.8:2]"},
		{"A, 4-byte form", 0, []dns.RR{a("10.0.0.1", true), a("10.0.0.2", true)}, []dns.RR{a("10.0.0.7", true), a("10.0.0.8", true)},
			"map[10.0.0.7:2 10.0.0.8:2]"},
		{"AAAA", 1, []dns.RR{aaaa("2001:db8::1"), aaaa("2001:db8::2")}, []dns.RR{aaaa("2001:db8::7"), aaaa("2001:db8::8")},
			"map[2001:db8::7:2 2001:db8::8:2]"},
		{"SRV", 2, []dns.RR{srv("web1.test."), srv("web2.test.")}, []dns.RR{srv("web7.test."), srv("web8.test.")},
			"map[web7.test.:2 web8.test.:2]"},
	} {
		ws := map[target]uint32{}
		for _, rr := range tc.first {
			ws[targetOf(rr)] = 3 // the first of the old set leads 3 of 4...
		}
		ws[targetOf(tc.first[1])] = 1 // ...the second 1 of 4
		n := newTable(weightSpec{"a.test.": ws}).names["a.test."]
		leaders(n, tc.slot, tc.first, 5) // into a run over the old set
		if got := fmt.Sprint(leaders(n, tc.slot, tc.next, 4)); got != tc.want {
			t.Errorf("%s: the new set led %s, want %s", tc.desc, got, tc.want)
		}
	}
}

// TestNoScratchUpToStackTargets: ordering an answer of up to stackTargets records allocates
// nothing of its own; the query costs the shared writer alone.
func TestNoScratchUpToStackTargets(t *testing.T) {
	var rrs []string
	for i := 1; i <= stackTargets; i++ {
		rrs = append(rrs, fmt.Sprintf("big.example.test. 300 IN A 10.0.0.%d", i))
	}
	// 10.0.0.1 leads every answer, the others are drained and keep their order: the answer
	// stays as it is, so no copy of it is made either.
	var weights strings.Builder
	for i := 2; i <= stackTargets; i++ {
		fmt.Fprintf(&weights, " 10.0.0.%d 0", i)
	}
	wt := newWeighted(t, "weighted {\n weight big.example.test 10.0.0.1 1"+weights.String()+"\n}", response("big.example.test.", dns.TypeA, rrs...))
	ctx, w := context.Background(), &test.ResponseWriter{}
	req := new(dns.Msg)
	req.SetQuestion("big.example.test.", dns.TypeA)
	if got := testing.AllocsPerRun(50, func() { wt.ServeDNS(ctx, w, req) }); got != 1 {
		t.Errorf("ordering %d records: %v allocations, want 1", stackTargets, got)
	}
}

// TestReloadCountsChanges: weight_file_reloads_total counts each change of the file once, as
// ok or error; a tick that finds the file as it was counts nothing.
func TestReloadCountsChanges(t *testing.T) {
	file := filepath.Join(t.TempDir(), "weights")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("dogs.example.test\n127.0.0.2 3\n")
	const reload = 2 * time.Millisecond
	wt := &Weighted{file: file, reload: reload}
	if err := wt.loadWeights(); err != nil {
		t.Fatal(err)
	}
	ok, bad := reloads.WithLabelValues("ok"), reloads.WithLabelValues("error")
	ok0, bad0 := counterValue(ok), counterValue(bad)
	if err := wt.OnStartup(); err != nil {
		t.Fatal(err)
	}
	defer wt.OnShutdown()

	write("dogs.example.test\n127.0.0.2 5\n")
	waitFor(t, "the change counted as ok", func() bool { return counterValue(ok)-ok0 >= 1 })
	if w := weightNow(wt, "dogs.example.test.", "127.0.0.2"); w != 5 {
		t.Errorf("weight %d after the reload, want 5", w)
	}
	// The file stays as it is: the ticks that read it again count nothing. No event marks
	// a tick that changes nothing, so this watches for 50 of them; the code under test
	// passes however few run.
	for end := time.Now().Add(50 * reload); time.Now().Before(end); time.Sleep(reload) {
		if d := counterValue(ok) - ok0; d != 1 {
			t.Fatalf("reloads_total{result=ok} rose by %v for one change", d)
		}
	}
	if d := counterValue(bad) - bad0; d != 0 {
		t.Errorf("reloads_total{result=error} rose by %v, want 0: every reload worked", d)
	}

	write("dogs.example.test\n127.0.0.2 lots\n")
	waitFor(t, "the broken file counted as an error", func() bool { return counterValue(bad)-bad0 == 1 })
	if d := counterValue(ok) - ok0; d != 1 {
		t.Errorf("reloads_total{result=ok} rose by %v, want 1: the broken file is no reload", d)
	}
}

// TestDuplicateLeadsByItsWeight: an address that appears twice in an answer is one target
// with its own weight, whichever of its records comes first: it does not lead twice as often.
func TestDuplicateLeadsByItsWeight(t *testing.T) {
	n, _ := nameWith(1, 2)
	rrs := aRecords("a.test.", "10.0.0.1", "10.0.0.2", "10.0.0.1")
	if got := fmt.Sprint(leaders(n, 0, rrs, 6)); got != "map[10.0.0.1:2 10.0.0.2:4]" {
		t.Errorf("1:2 with 10.0.0.1 twice in the answer led %s, want 2 and 4", got)
	}
}

// TestDrainedAlwaysLast: a drained address goes after every live one in every answer, also
// after a live address that has just led and is the furthest from its next turn.
func TestDrainedAlwaysLast(t *testing.T) {
	n, rrs := nameWith(0, 1, 5)
	out := make([]dns.RR, len(rrs))
	for i := range 12 {
		n.states[0].order(n, rrs, out)
		if got := addrsOf(out); !strings.HasSuffix(got, " 10.0.0.1") {
			t.Fatalf("answer %d: %s, want the drained 10.0.0.1 last", i, got)
		}
	}
}

// TestSecondIsNextLeader: after the leader come the others by how soon they lead (ties in
// entry order, as the rotation breaks them), so the next answer is led by this one's leader
// again or by its second record, never by another.
func TestSecondIsNextLeader(t *testing.T) {
	for _, weights := range [][]uint32{{5, 1, 3, 2}, {1, 1, 1, 1}, {2, 2, 1}} {
		n, rrs := nameWith(weights...)
		out := make([]dns.RR, len(rrs))
		n.states[0].order(n, rrs, out)
		first, second := out[0], out[1]
		for i := range 30 {
			n.states[0].order(n, rrs, out)
			if out[0] != first && out[0] != second {
				t.Fatalf("weights %v: answer %d led by %s, but the answer before had %s first and %s second",
					weights, i+1, out[0].(*dns.A).A, first.(*dns.A).A, second.(*dns.A).A)
			}
			first, second = out[0], out[1]
		}
	}
}

// TestInlineWeightsOverASmallerFile: the Corefile may weight more names than the weight file
// does; all of them are kept, inline weights winning where both set one.
func TestInlineWeightsOverASmallerFile(t *testing.T) {
	file := weightSpec{}
	file.set("a.test.", addr("10.0.0.1"), 4)
	inline := weightSpec{}
	inline.set("a.test.", addr("10.0.0.1"), 2)
	inline.set("b.test.", addr("10.0.0.2"), 3)
	inline.set("c.test.", addr("10.0.0.3"), 0)
	got := file.merge(inline)
	if len(got) != 3 || got["a.test."][addr("10.0.0.1")] != 2 || got["b.test."][addr("10.0.0.2")] != 3 || got["c.test."][addr("10.0.0.3")] != 0 {
		t.Errorf("merged %v", got)
	}
	if got := (weightSpec{}).merge(weightSpec{}); len(got) != 0 {
		t.Errorf("merging nothing gave %v", got)
	}
}

// TestWeightBounds: weights run from 0 to maxWeight, both ends included.
func TestWeightBounds(t *testing.T) {
	for s, want := range map[string]uint32{"0": 0, "1": 1, "65535": maxWeight} {
		if w, err := parseWeight(s); err != nil || w != want {
			t.Errorf("parseWeight(%q) = %d, %v; want %d", s, w, err, want)
		}
	}
	for _, s := range []string{"65536", "-1", "1.5", ""} {
		if _, err := parseWeight(s); err == nil || !strings.Contains(err.Error(), "from 0 to 65535") {
			t.Errorf("parseWeight(%q): error %v, want one giving the range", s, err)
		}
	}
}
