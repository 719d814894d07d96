package healthcheck

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
)

// healthFacts is what the console shows of the health filter for one answer.
type healthFacts struct {
	Name      string         `json:"name"` // the name judged: the end of the CNAME chain
	Check     string         `json:"check"`
	Addresses []addressFacts `json:"addresses"`
	Outcome   string         `json:"outcome"` // healthy, filtered, backup, all_down_*, dnssec
	TTLCap    uint32         `json:"ttl_cap"`
	TTLCapAll bool           `json:"ttl_cap_all"` // every answer capped, not only changed ones
}

// addressFacts is one address of the answer as the filter judged it.
type addressFacts struct {
	Address   string     `json:"address"`
	Tier      string     `json:"tier"`  // primary or backup
	State     string     `json:"state"` // up, down, drained, unknown, or unchecked (not probed: up)
	LastCheck *time.Time `json:"last_check,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Kept      bool       `json:"kept"`
}

// explain filters r as a query would, in a dry run, and notes every address's state and
// tier, what was kept and which policy applied.
func (hc *HealthCheck) explain(rec *explain.Recorder, r *answer.Response) {
	before := r.Msg().Answer
	set, ok := r.RRset()
	snap := hc.snap.Load()
	var check *checkSpec
	var rule *nameRule
	if ok {
		if rule = hc.rule(set.Owner); rule != nil {
			check = rule.check
		} else {
			check = hc.cfg.discover
		}
	}
	o := hc.filter(r, true)
	if check == nil || snap == nil {
		why := "no health rule for this answer's name, and discovery is off"
		if !ok {
			why = "the answer has no address records"
		}
		rec.Note(explain.Step{Plugin: pluginName, Did: "passed", Why: why})
		return
	}
	kept := map[[16]byte]bool{}
	for _, rr := range r.Msg().Answer {
		if set.Member(rr) {
			kept[addr16(rr)] = true
		}
	}
	f := healthFacts{Name: set.Owner, Check: check.Name, Outcome: o.String(), TTLCap: hc.cfg.ttl, TTLCapAll: hc.cfg.ttlAll}
	if o == unchanged {
		f.Outcome = "healthy"
	}
	for i, rr := range before {
		if i < set.First || !set.Member(rr) {
			continue
		}
		f.Addresses = append(f.Addresses, hc.addressFacts(snap, rule, check, addr16(rr), kept))
	}
	rec.Note(explain.Step{Plugin: pluginName, Did: outcomeDid[o], Why: hc.outcomeWhy(o, f), Facts: f})
}

var outcomeDid = [numOutcomes]string{
	unchanged:              "kept the healthy primaries",
	outcomeFiltered:        "removed addresses that are down",
	outcomeBackup:          "answered with the backups",
	outcomeAllDownOpen:     "answered every address (all down)",
	outcomeAllDownServfail: "answered SERVFAIL (all down)",
	outcomeAllDownAnswer:   "answered the all_down addresses",
	outcomeSigned:          "passed the signed answer whole",
}

func (hc *HealthCheck) outcomeWhy(o outcome, f healthFacts) string {
	ttl := fmt.Sprintf("; TTLs capped at %d s", hc.cfg.ttl)
	if !hc.cfg.ttlAll && o == unchanged {
		ttl = "; TTLs kept (ttl ... changed)"
	}
	switch o {
	case outcomeFiltered:
		return "some primaries of " + f.Name + " are down: only the primaries that are up are answered" + ttl
	case outcomeBackup:
		return "every primary of " + f.Name + " is down and a backup is up" + ttl
	case outcomeAllDownOpen, outcomeAllDownServfail, outcomeAllDownAnswer:
		return "no address of " + f.Name + " is up: the all_down policy applies" + ttl
	case outcomeSigned:
		return "the RRset is signed and no keys are configured: cutting it would fail validation; TTLs may still be lowered"
	}
	return "no primary of " + f.Name + " is down" + ttl
}

// addressFacts reads one address's verdict and last probe, changing nothing.
func (hc *HealthCheck) addressFacts(snap *snapshot, rule *nameRule, check *checkSpec, a [16]byte, kept map[[16]byte]bool) addressFacts {
	addr := netip.AddrFrom16(a).Unmap()
	f := addressFacts{Address: addr.String(), Tier: "primary", Kept: kept[a]}
	var st state
	found := false
	if rule != nil {
		if v, ok := find(snap.listed[rule.index], a); ok {
			st, found = v.state, true
			if v.backup {
				f.Tier = "backup"
			}
		}
	}
	if !found {
		if v, ok := snap.verdicts[check][a]; ok {
			st, found = v.state, true
		}
	}
	switch {
	case !found:
		f.State = "unchecked"
	case st == stateUp:
		f.State = "up"
	case st == stateDown:
		f.State = "down"
	case st == stateDrained:
		f.State = "drained"
	default:
		f.State = "unknown"
	}
	hc.mu.Lock()
	p := hc.probers[targetKey{addr, check}]
	hc.mu.Unlock()
	if p != nil {
		if v := p.view(); !v.LastCheck.IsZero() {
			at := v.LastCheck.UTC()
			f.LastCheck, f.LastError = &at, v.LastError
		}
	}
	return f
}
