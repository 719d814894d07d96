package rrotate

import (
	"fmt"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
)

// rotationFacts is what the console shows of a rotation.
type rotationFacts struct {
	Owner   string `json:"owner"`   // the name whose counter turns (the end of a CNAME chain)
	Counter uint64 `json:"counter"` // answers for the owner and type before this one
	Records int    `json:"records"` // records in the RRset
	Shift   int    `json:"shift"`   // counter mod records: the record that comes first
	TTL     uint32 `json:"ttl,omitempty"`
}

// explain notes the rotation a query would get and returns its shift, leaving the counter
// where it is.
func (r *RRotate) explain(rec *explain.Recorder, set answer.RRset) int {
	n := r.counters.peek(set.Owner, set.Type)
	shift := int(n % uint64(set.Count))
	why := fmt.Sprintf("answer %d for %s %s: %d mod %d records", n+1, set.Owner, dns.TypeToString[set.Type], n, set.Count)
	if r.ttl > 0 {
		why += fmt.Sprintf("; TTLs capped at %d s", r.ttl)
	}
	rec.Note(explain.Step{Plugin: name, Did: fmt.Sprintf("rotated by %d", shift), Why: why,
		Facts: rotationFacts{Owner: set.Owner, Counter: n, Records: set.Count, Shift: shift, TTL: r.ttl}})
	return shift
}

// explainUnrotated notes why an answer passed as it was.
func explainUnrotated(rec *explain.Recorder, set answer.RRset, found bool) {
	why := "the answer has no records of the query type"
	if found {
		why = "a single record: nothing to rotate"
	}
	rec.Note(explain.Step{Plugin: name, Did: "passed", Why: why})
}
