package weighted

import (
	"net"
	"net/netip"
	"strings"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// table is one immutable generation of weights. A reload of the weight file builds a new
// table and swaps it in atomically, so the query path reads it without a lock.
type table struct {
	names map[string]*nameWeights
}

// nameWeights holds the weights of one name and the rotation state of each record type.
// Each type has its own mutex: queries for different names or types never wait on each
// other, and memory is bounded by the configured names and the targets they answer with.
type nameWeights struct {
	name    string
	weights map[target]uint32
	states  [3]rotation // indexed by typeSlot
}

// newTable builds a table from spec. Rotation starts afresh: weights changed, so the old
// sequence is no longer the right one.
func newTable(spec weightSpec) *table {
	t := &table{names: make(map[string]*nameWeights, len(spec))}
	for name, w := range spec {
		t.names[name] = &nameWeights{name: name, weights: w}
	}
	return t
}

// lookup finds the weights of name, in any case.
func (t *table) lookup(name string) *nameWeights {
	if t.empty() {
		return nil
	}
	nw, _ := answer.Lookup(t.names, name)
	return nw
}

// empty reports whether there are no weights at all: then no answer is weighted.
func (t *table) empty() bool { return t == nil || len(t.names) == 0 }

// weightOf returns the weight of a target; targets the configuration does not list weigh 1.
func (n *nameWeights) weightOf(t target) uint32 {
	if w, ok := n.weights[t]; ok {
		return w
	}
	return 1
}

// otherLabel is the selections_total address label of every target the configuration does
// not list: a label per unlisted address would grow the series with whatever the backends
// answer, where the configuration alone must bound them.
const otherLabel = "other"

// label returns the selections_total address label for t.
func (n *nameWeights) label(t target) string {
	if _, ok := n.weights[t]; ok {
		return t.String()
	}
	return otherLabel
}

// typeSlot maps a record type to its rotation; -1 for types weighted does not handle.
func typeSlot(qtype uint16) int {
	switch qtype {
	case dns.TypeA:
		return 0
	case dns.TypeAAAA:
		return 1
	case dns.TypeSRV:
		return 2
	}
	return -1
}

// targetOf returns the weighted target of an address or SRV record. A record without a
// valid address gets the zero target: it weighs 1, like any unlisted address.
func targetOf(rr dns.RR) target {
	switch rr := rr.(type) {
	case *dns.A:
		return ipTarget(rr.A)
	case *dns.AAAA:
		return ipTarget(rr.AAAA)
	case *dns.SRV:
		return target{host: strings.ToLower(rr.Target)}
	}
	return target{}
}

func ipTarget(ip net.IP) target {
	a, _ := netip.AddrFromSlice(ip) // the zero Addr when ip is not an address
	return target{addr: a.Unmap()}
}
