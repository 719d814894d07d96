package weighted

import (
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/explain"
)

const pluginName = "weighted"

// weightFacts is what the console shows of a weighted answer.
type weightFacts struct {
	Name    string         `json:"name"`    // the name whose weights apply
	Weights []targetWeight `json:"weights"` // the answer's records, in the backend's order
	Order   []string       `json:"order"`   // the records given, in the order given
	Leads   string         `json:"leads"`   // the record this answer leads with
	Only    int            `json:"only,omitempty"`
}

type targetWeight struct {
	Target string `json:"target"`
	Weight uint32 `json:"weight"`
}

// explain notes the order a query would get: given is what the rotation, stepped on a copy,
// put first (cut to `only`), rrs the records the backend answered with.
func (wt *Weighted) explain(rec *explain.Recorder, nw *nameWeights, rrs, given []dns.RR, signed bool) {
	f := weightFacts{Name: nw.name, Only: wt.only}
	var total uint32
	for _, rr := range rrs {
		t := targetOf(rr)
		w := nw.weightOf(t)
		total += w
		f.Weights = append(f.Weights, targetWeight{Target: t.String(), Weight: w})
	}
	for _, rr := range given {
		f.Order = append(f.Order, targetOf(rr).String())
	}
	f.Leads = f.Order[0]
	var parts []string
	for _, tw := range f.Weights {
		parts = append(parts, fmt.Sprintf("%s %d", tw.Target, tw.Weight))
	}
	why := fmt.Sprintf("smooth weighted round robin over %s (of %d answers, each leads its weight's share); %s is due next",
		strings.Join(parts, ", "), total, f.Leads)
	did := "leads with " + f.Leads
	if wt.only > 0 && len(given) < len(rrs) {
		did = fmt.Sprintf("kept %d of %d, led by %s", len(given), len(rrs), f.Leads)
	}
	if signed && wt.only > 0 && len(given) == len(rrs) && wt.only < len(rrs) {
		why += "; the RRset is signed, so it is reordered, not cut"
	}
	rec.Note(explain.Step{Plugin: pluginName, Did: did, Why: why, Facts: f})
}
