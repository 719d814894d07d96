package weighted

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// aRecords builds A records for owner, one per address.
func aRecords(owner string, addrs ...string) []dns.RR {
	out := make([]dns.RR, len(addrs))
	for i, a := range addrs {
		out[i] = &dns.A{Hdr: dns.RR_Header{Name: owner, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.ParseIP(a)}
	}
	return out
}

// nameWith gives a name the weights w for addresses 10.0.0.1, 10.0.0.2, ...
func nameWith(w ...uint32) (*nameWeights, []dns.RR) {
	ws := make(map[target]uint32)
	addrs := make([]string, len(w))
	for i, v := range w {
		addrs[i] = fmt.Sprintf("10.0.0.%d", i+1)
		ws[addr(addrs[i])] = v
	}
	n := newTable(weightSpec{"a.test.": ws}).names["a.test."]
	return n, aRecords("a.test.", addrs...)
}

// leads runs k answers and returns the index (0-based, by address) of each leader.
func leads(n *nameWeights, rrs []dns.RR, k int) []int {
	out := make([]dns.RR, len(rrs))
	seq := make([]int, k)
	for i := range seq {
		if n.states[0].order(n, rrs, out) == 0 {
			seq[i] = -1
			continue
		}
		seq[i] = int(out[0].(*dns.A).A.To4()[3]) - 1
	}
	return seq
}

func TestSmoothness(t *testing.T) {
	n, rrs := nameWith(5, 1, 1)
	got := fmt.Sprint(leads(n, rrs, 14))
	// a a b a c a a, twice: the heavy address is spread out, not bunched.
	if want := "[0 0 1 0 2 0 0 0 0 1 0 2 0 0]"; got != want {
		t.Errorf("5:1:1 leads %s, want %s", got, want)
	}
}

// Over every window of W consecutive answers (not only aligned ones) each address leads
// exactly its weight's share.
func TestExactOverAnyWindow(t *testing.T) {
	cases := [][]uint32{
		{1}, {1, 1}, {3, 1}, {5, 1, 1}, {2, 3}, {1, 2, 3, 4}, {7, 0, 2}, {10, 1},
		{100, 1, 1}, {1, 1, 1, 1, 1}, {4, 4, 2}, {13, 7, 5, 3, 2},
	}
	for _, w := range cases {
		n, rrs := nameWith(w...)
		var total int
		for _, v := range w {
			total += int(v)
		}
		seq := leads(n, rrs, 5*total)
		for start := 0; start+total <= len(seq); start++ {
			counts := make([]int, len(w))
			for _, l := range seq[start : start+total] {
				counts[l]++
			}
			for i, v := range w {
				if counts[i] != int(v) {
					t.Fatalf("weights %v, window at %d: counts %v", w, start, counts)
				}
			}
		}
	}
}

// Smooth means no address bunches up: in every window of any length, each address leads
// within 1.5 answers of its exact share of that window (a bunched 13:7:5:3:2 would be off by
// up to 10).
func TestSmoothCloseToShare(t *testing.T) {
	for _, w := range [][]uint32{{5, 1, 1}, {3, 1}, {1, 2, 3, 4}, {13, 7, 5, 3, 2}} {
		n, rrs := nameWith(w...)
		var total float64
		for _, v := range w {
			total += float64(v)
		}
		seq := leads(n, rrs, int(total)*3)
		for size := 1; size <= int(total); size++ {
			for start := 0; start+size <= len(seq); start++ {
				counts := make([]int, len(w))
				for _, l := range seq[start : start+size] {
					counts[l]++
				}
				for i, v := range w {
					share := float64(v) * float64(size) / total
					if d := float64(counts[i]) - share; d >= 1.5 || d <= -1.5 {
						t.Fatalf("weights %v, window %d+%d: address %d leads %d times, share %.1f", w, start, size, i, counts[i], share)
					}
				}
			}
		}
	}
}

func TestOrderAfterLeader(t *testing.T) {
	n, rrs := nameWith(5, 0, 1, 1)
	out := make([]dns.RR, len(rrs))
	var got []string
	for range 3 {
		if live := n.states[0].order(n, rrs, out); live != 3 {
			t.Fatalf("live = %d, want 3 (one address is drained)", live)
		}
		got = append(got, addrsOf(out))
	}
	// The drained 10.0.0.2 is always last; after the leader come the others, soonest due first.
	want := []string{
		"10.0.0.1 10.0.0.3 10.0.0.4 10.0.0.2",
		"10.0.0.1 10.0.0.3 10.0.0.4 10.0.0.2",
		"10.0.0.3 10.0.0.1 10.0.0.4 10.0.0.2",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("orders:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func addrsOf(rrs []dns.RR) string {
	s := make([]string, len(rrs))
	for i, rr := range rrs {
		s[i] = rr.(*dns.A).A.String()
	}
	return strings.Join(s, " ")
}

func TestDrainedNeverLeads(t *testing.T) {
	n, rrs := nameWith(0, 3, 0)
	for i, l := range leads(n, rrs, 20) {
		if l != 1 {
			t.Fatalf("answer %d led by %d, want only the undrained address", i, l)
		}
	}
	n, rrs = nameWith(0, 0)
	for _, l := range leads(n, rrs, 3) {
		if l != -1 {
			t.Fatal("an all-drained answer must choose nothing")
		}
	}
}

// The rotation follows the set of addresses present: answer order does not matter, and a
// change of set (an address removed by healthcheck) restarts an exact rotation over the
// survivors, where unlisted addresses weigh 1.
func TestSetChanges(t *testing.T) {
	n, rrs := nameWith(3, 1, 2)
	reversed := []dns.RR{rrs[2], rrs[1], rrs[0]}
	mixed := leads(n, rrs, 3)
	mixed = append(mixed, leads(n, reversed, 3)...)
	if fmt.Sprint(mixed) != "[0 2 0 1 2 0]" {
		t.Errorf("answer order changed the rotation: %v", mixed)
	}

	survivors := append(rrs[:1:1], aRecords("a.test.", "10.0.0.9")...) // 10.0.0.9 is unlisted: weight 1
	seq := leads(n, survivors, 8)
	counts := map[int]int{}
	for _, l := range seq {
		counts[l]++
	}
	if counts[0] != 6 || counts[8] != 2 {
		t.Errorf("3:1 over survivors led %v, want 6 and 2", counts)
	}
}

func TestDuplicateAddressesKept(t *testing.T) {
	n, _ := nameWith(1, 2)
	rrs := aRecords("a.test.", "10.0.0.1", "10.0.0.2", "10.0.0.1")
	out := make([]dns.RR, len(rrs))
	n.states[0].order(n, rrs, out)
	if got := addrsOf(out); got != "10.0.0.2 10.0.0.1 10.0.0.1" {
		t.Errorf("got %s", got)
	}
}

// Many goroutines answering the same name still lead in exact proportion in total.
func TestConcurrentExact(t *testing.T) {
	n, rrs := nameWith(3, 1)
	const workers, each = 8, 400
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			out := make([]dns.RR, len(rrs))
			local := map[string]int{}
			for range each {
				n.states[0].order(n, rrs, out)
				local[out[0].(*dns.A).A.String()]++
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts["10.0.0.1"] != 2400 || counts["10.0.0.2"] != 800 {
		t.Errorf("counts %v, want 2400 and 800", counts)
	}
}

// When some of the addresses remain (healthcheck removed one, none is new), the rotation
// restarts over the survivors: it runs exactly as a fresh rotation over that set would.
func TestRestartWhenSubsetRemains(t *testing.T) {
	n, rrs := nameWith(3, 1, 2)
	leads(n, rrs, 4) // somewhere in the middle of a run over all three
	survivors := []dns.RR{rrs[0], rrs[2]}
	got := leads(n, survivors, 10)

	fresh, freshRRs := nameWith(3, 1, 2)
	want := leads(fresh, []dns.RR{freshRRs[0], freshRRs[2]}, 10)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("over the survivors led %v, want the fresh rotation %v", got, want)
	}
	if fmt.Sprint(want) != "[0 2 0 2 0 0 2 0 2 0]" {
		t.Errorf("a fresh 3:2 rotation led %v", want)
	}
}
