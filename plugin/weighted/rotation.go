package weighted

import (
	"cmp"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// rotation is the smooth weighted round robin state of one name and type, over the set of
// targets that the last answer held. An answer with a different set (healthcheck removed a
// dead address, a new address appeared) restarts the rotation for the new set, so every run
// of W answers with the same set is exact from its first answer on.
type rotation struct {
	mu      sync.Mutex
	entries []entry
	index   map[target]int // entries by target, only for answers too large to scan
	gen     uint64         // stamps entries seen in the current answer
}

// entry is one target in a rotation.
type entry struct {
	target  target
	ip16    [16]byte // the address in 16-byte form (v4-mapped for IPv4), to match records fast
	weight  int64
	current int64
	seen    uint64
	picks   prometheus.Counter // resolved once, so counting a pick does not allocate
}

// stackTargets is how many records an answer may have before ordering it allocates
// scratch space; answers with more are rare and still correct.
const stackTargets = 16

// order runs one step of the rotation for the records rrs (all of one type and owner) and
// returns, in out (len(rrs) long), the records in choice order: the chosen one, then the
// others by how soon they are due, drained (weight 0) ones last. It returns the number of
// records that are not drained; 0 means every record is drained and nothing was chosen.
func (r *rotation) order(n *nameWeights, rrs, out []dns.RR) int {
	r.mu.Lock()
	live, chosen := r.step(n, rrs, out)
	var picks prometheus.Counter
	if chosen >= 0 {
		picks = r.entries[chosen].picks
	}
	r.mu.Unlock()
	if picks != nil {
		picks.Inc()
	}
	return live
}

// preview is order on a copy of the rotation: the order the next answer would get, with the
// rotation (and the picks counted) left as they are, for a dry run.
func (r *rotation) preview(n *nameWeights, rrs, out []dns.RR) int {
	r.mu.Lock()
	c := &rotation{entries: slices.Clone(r.entries), index: r.index, gen: r.gen}
	r.mu.Unlock()
	live, _ := c.step(n, rrs, out)
	return live
}

// step is order with r locked (or private); it returns the live count and the index of the
// chosen entry, -1 for none.
func (r *rotation) step(n *nameWeights, rrs, out []dns.RR) (live, chosen int) {
	var idxBuf [stackTargets]int
	var rankBuf [stackTargets]int
	idx, rank := idxBuf[:0], rankBuf[:0]
	if len(rrs) > stackTargets {
		idx = make([]int, 0, len(rrs))
		rank = make([]int, 0, len(rrs))
	}
	idx = r.match(n, rrs, idx)
	chosen = r.pick()
	if chosen < 0 {
		return 0, -1
	}
	rank = r.ranks(chosen, rank)
	for _, j := range idx {
		if r.entries[j].weight > 0 {
			live++
		}
	}
	if len(r.entries) == len(rrs) {
		for i, rr := range rrs {
			out[rank[idx[i]]] = rr
		}
		return live, chosen
	}
	// With duplicates (the same address twice), place by rank, duplicates in answer order.
	pos := make([]int, len(rrs))
	for i := range pos {
		pos[i] = i
	}
	slices.SortStableFunc(pos, func(a, b int) int { return cmp.Compare(rank[idx[a]], rank[idx[b]]) })
	for k, i := range pos {
		out[k] = rrs[i]
	}
	return live, chosen
}

// match maps each record to its entry (appended to idx), rebuilding the entries when the
// answer holds a different set of targets from the last one.
func (r *rotation) match(n *nameWeights, rrs []dns.RR, idx []int) []int {
	if len(rrs) == len(r.entries) {
		// The usual case: the backend answers in the same order as last time.
		for i, rr := range rrs {
			if !r.entries[i].is(rr) {
				break
			}
			idx = append(idx, i)
		}
		if len(idx) == len(rrs) {
			return idx
		}
		idx = idx[:0]
	}
	// equivalent mutant: -- for ++ stamps just as well: counting down also gives a value no
	// entry carries yet (entries start at 0, the first stamp is then the largest uint64).
	r.gen++
	distinct := 0
	for _, rr := range rrs {
		t := targetOf(rr)
		j := r.find(t)
		if j < 0 {
			return r.rebuild(n, rrs, idx[:0])
		}
		if r.entries[j].seen != r.gen {
			r.entries[j].seen = r.gen
			distinct++
		}
		idx = append(idx, j)
	}
	if distinct != len(r.entries) {
		return r.rebuild(n, rrs, idx[:0])
	}
	return idx
}

// is reports whether rr has this entry's target. It is targetOf(rr) == e.target without
// building a target, which matters on the query path: it runs for every record of every
// weighted answer.
func (e *entry) is(rr dns.RR) bool {
	// equivalent mutant: flipping a host == "" or host != "" test below makes is say false
	// for a record of the entry's target, and a false only sends match to its full lookup,
	// which finds the same entries (slower, never different). A true for another target
	// would not be equivalent: TestNewSetOfTheSameSize.
	switch rr := rr.(type) {
	case *dns.A:
		return e.target.host == "" && e.ipIs(rr.A)
	case *dns.AAAA:
		return e.target.host == "" && e.ipIs(rr.AAAA)
	case *dns.SRV:
		return e.target.host != "" && (rr.Target == e.target.host || strings.EqualFold(rr.Target, e.target.host))
	}
	return false
}

// ipIs compares ip, in its 4- or 16-byte form, with the entry's address.
func (e *entry) ipIs(ip net.IP) bool {
	switch len(ip) {
	case net.IPv6len:
		return [16]byte(ip) == e.ip16
	case net.IPv4len:
		return e.target.addr.Is4() && [4]byte(ip) == [4]byte(e.ip16[12:])
	}
	return false
}

// find looks a target up: by a linear scan for the usual handful, where it beats hashing,
// and through the index for large answers.
func (r *rotation) find(t target) int {
	if r.index != nil {
		if j, ok := r.index[t]; ok {
			return j
		}
		return -1
	}
	for j := range r.entries {
		if r.entries[j].target == t {
			return j
		}
	}
	return -1
}

// rebuild starts the rotation afresh for the targets of rrs.
func (r *rotation) rebuild(n *nameWeights, rrs []dns.RR, idx []int) []int {
	r.entries = make([]entry, 0, len(rrs))
	r.index = nil
	// equivalent mutant: >= or <= for > only moves where find uses the index instead of the
	// scan; both find the same entry, so only the time and memory of a rebuild differ.
	if len(rrs) > stackTargets {
		r.index = make(map[target]int, len(rrs))
	}
	for _, rr := range rrs {
		t := targetOf(rr)
		j := r.find(t)
		if j < 0 {
			j = len(r.entries)
			if r.index != nil {
				r.index[t] = j
			}
			r.entries = append(r.entries, entry{
				target: t,
				ip16:   t.addr.As16(),
				weight: int64(n.weightOf(t)),
				picks:  selections.WithLabelValues(n.name, n.label(t)),
			})
		}
		idx = append(idx, j)
	}
	return idx
}

// pick is one step of smooth weighted round robin (as nginx does it): every entry gains its
// weight, the one with the most is chosen and pays back the total. Over W consecutive picks
// each entry is chosen exactly weight times, spread out rather than bunched. Ties go to the
// entry that came first, which makes the sequence deterministic.
func (r *rotation) pick() int {
	var total int64
	best := -1
	for j := range r.entries {
		e := &r.entries[j]
		if e.weight == 0 {
			continue
		}
		e.current += e.weight
		total += e.weight
		if best < 0 || e.current > r.entries[best].current {
			best = j
		}
	}
	if best < 0 {
		return -1
	}
	r.entries[best].current -= total
	return best
}

// ranks gives each entry its place in the answer: the chosen one first, then the others by
// how soon the rotation would choose them (current plus weight, the value the next pick
// compares), drained ones last, ties by entry order. Short answers, the usual, are
// insertion sorted without allocating.
func (r *rotation) ranks(chosen int, rank []int) []int {
	var orderBuf [stackTargets]int
	order := orderBuf[:0]
	if len(r.entries) > stackTargets {
		order = make([]int, 0, len(r.entries))
	}
	for j := range r.entries {
		order = append(order, j)
	}
	// equivalent mutant: >= or <= for > swaps which answers SortFunc sorts and which insertion
	// sort does: before is a strict total order (ties go by entry index), so both give the one
	// same order, only the time differs.
	if len(order) > stackTargets {
		slices.SortFunc(order, func(a, b int) int {
			if a == b {
				return 0
			}
			if r.before(a, b, chosen) {
				return -1
			}
			return 1
		})
	} else {
		for k := 1; k < len(order); k++ {
			for m := k; m > 0 && r.before(order[m], order[m-1], chosen); m-- {
				order[m], order[m-1] = order[m-1], order[m]
			}
		}
	}
	rank = rank[:len(order)]
	for k, j := range order {
		rank[j] = k
	}
	return rank
}

// before reports whether entry a goes before entry b in the answer.
func (r *rotation) before(a, b, chosen int) bool {
	if a == chosen || b == chosen {
		return a == chosen
	}
	ea, eb := &r.entries[a], &r.entries[b]
	if (ea.weight == 0) != (eb.weight == 0) {
		return eb.weight == 0
	}
	if da, db := ea.current+ea.weight, eb.current+eb.weight; da != db {
		// equivalent mutant: >= for > changes nothing: da != db here.
		return da > db
	}
	// equivalent mutant: <= for < differs only for a == b, which no sort asks (ranks answers it
	// itself for SortFunc, and insertion sort compares distinct places).
	return a < b
}
