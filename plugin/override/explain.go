package override

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// pinFacts names the override that answered.
type pinFacts struct {
	Override string `json:"override"`
	Name     string `json:"name"`            // the pinned name
	Alias    string `json:"alias,omitempty"` // the query name, when the pin was reached through a CNAME chain
}

// notePinned notes that override p answered for name (reached from alias, when not "").
func notePinned(rec *explain.Recorder, p *pin, name, alias string) {
	why := "override " + p.id + " is enabled for " + name + " and applies to this client"
	if alias != "" {
		why = alias + " is an alias of " + name + ", and " + why
	}
	rec.Note(explain.Step{Plugin: pluginName, Did: "pinned by override " + p.id, Why: why,
		Facts: pinFacts{Override: p.id, Name: name, Alias: alias}})
}

// notePassed notes that no override answered the query name itself.
func notePassed(rec *explain.Recorder, name string) {
	rec.Note(explain.Step{Plugin: pluginName, Did: "passed", Why: "no enabled override pins " + name + " for this client"})
}

// Explain runs q through this block's chain from this plugin down, as a dry run: the answer
// q's client would get now, with what each steerdns plugin did. It changes nothing: no
// counter, rotation or metric moves.
// The overrides judged are those of table, the block's whole override table as it stands.
func (h *Handler) Explain(ctx context.Context, q explain.Query, table *store.State) explain.Explanation {
	fqdn := dns.Fqdn(strings.ToLower(q.Name))
	m := new(dns.Msg)
	m.SetQuestion(fqdn, q.Type)
	if q.DO {
		m.SetEdns0(dns.DefaultMsgSize, true)
	}
	rec := explain.NewRecorder(q.Client, q.TCP)
	rcode, err := h.ServeDNS(ctx, rec, m)
	ex := explain.Explanation{Query: explain.QueryJSON{Name: fqdn, Type: dns.TypeToString[q.Type], Client: q.Client.String(), TCP: q.TCP, DO: q.DO},
		Steps: rec.Steps(), Answer: []string{}}
	names := []string{fqdn}
	if res := rec.Msg(); res != nil {
		ex.Rcode = dns.RcodeToString[res.Rcode]
		for _, rr := range res.Answer {
			ex.Answer = append(ex.Answer, rr.String())
		}
		if owner, ok := answer.FinalOwner(res.Answer, fqdn); ok && !answer.SameName(owner, fqdn) {
			names = append(names, strings.ToLower(owner))
		}
	} else {
		// Nothing written: the chain answered with an error code alone, as CoreDNS then
		// writes it for the plugin.
		ex.Rcode = dns.RcodeToString[rcode]
		if err != nil {
			ex.Steps = append(ex.Steps, explain.Step{Plugin: "chain", Did: "failed", Why: err.Error()})
		}
	}
	ex.Overrides = overrideVerdicts(table, names, q.Client, pinnedBy(ex.Steps))
	return ex
}

// pinnedBy returns the id of the override whose pin a step notes, "" for none.
func pinnedBy(steps []explain.Step) string {
	for _, s := range steps {
		if f, ok := s.Facts.(pinFacts); ok {
			return f.Override
		}
	}
	return ""
}

// overrideVerdicts judges every override for one of names (exactly or by wildcard).
func overrideVerdicts(st *store.State, names []string, client netip.Addr, pinned string) []explain.OverrideVerdict {
	now := time.Now()
	enabledIn := map[string]string{}
	for i := range st.Overrides {
		if o := &st.Overrides[i]; o.Enabled {
			enabledIn[o.Group] = o.ID
		}
	}
	out := []explain.OverrideVerdict{}
	for i := range st.Overrides {
		o := &st.Overrides[i]
		if !slices.ContainsFunc(names, func(n string) bool { return overrideCovers(o.Name, n) }) {
			continue
		}
		v := explain.OverrideVerdict{ID: o.ID, Name: o.Name, Group: o.Group}
		switch {
		case o.ID == pinned:
			v.Verdict, v.Why = "answered", "enabled, in force and applies to this client"
		case !o.Enabled && enabledIn[o.Group] != "":
			v.Verdict, v.Why = "disabled", "override "+enabledIn[o.Group]+" is the enabled one of group "+o.Group
		case !o.Enabled:
			v.Verdict, v.Why = "disabled", "not enabled"
		case !o.Active(now):
			v.Verdict, v.Why = "expired", "its enable expired at "+o.Expires.UTC().Format(time.RFC3339)
		case !inScope(o.Clients, client):
			v.Verdict, v.Why = "out of scope", "applies only to clients "+strings.Join(o.Clients, ", ")
		default:
			v.Verdict, v.Why = "not chosen", "the enabled overrides of the closest name decide (an exact name before a wildcard, "+
				"the closest wildcard before a farther one), even those that do not apply to this client; among them, client-scoped ones come first, then the lowest id"
		}
		out = append(out, v)
	}
	return out
}

// overrideCovers reports whether an override for pattern (a name or *.domain) covers name.
func overrideCovers(pattern, name string) bool {
	if domain, ok := strings.CutPrefix(pattern, "*."); ok {
		// A name in the zone as long as domain is domain, which SameName excludes (>= is an
		// equivalent mutant); the length test only saves the comparisons.
		return len(name) > len(domain) && answer.InZone(name, domain) && !answer.SameName(name, domain)
	}
	return answer.SameName(pattern, name)
}

// inScope reports whether client is one of clients (no clients: everyone).
func inScope(clients []string, client netip.Addr) bool {
	if len(clients) == 0 {
		return true
	}
	for _, c := range clients {
		if p, err := store.ParseClient(c); err == nil && p.Contains(client) {
			return true
		}
	}
	return false
}
