package webui

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// health serves the health view; done ends its event streams when the console shuts down.
type health struct {
	done <-chan struct{}
}

// healthTarget is a healthview.Target in the JSON form the page reads.
type healthTarget struct {
	Address     string             `json:"address"`
	Check       string             `json:"check"`
	Kind        string             `json:"kind"`
	Endpoint    string             `json:"endpoint"`
	Names       []string           `json:"names"`
	Discovered  bool               `json:"discovered"`
	State       string             `json:"state"`
	LastCheck   *time.Time         `json:"last_check,omitempty"`
	LatencyMS   float64            `json:"latency_ms"`
	Probes      []probe            `json:"probes"` // the last results, oldest first
	LastError   string             `json:"last_error,omitempty"`
	Transitions []healthTransition `json:"transitions"`
	Effective   string             `json:"effective"`          // what the answers follow
	Shared      string             `json:"shared,omitempty"`   // the store the verdicts are shared through
	Fallback    bool               `json:"fallback,omitempty"` // that store is out of reach: own verdict
	Replicas    []replicaVerdict   `json:"replicas"`
	Drains      []healthview.Drain `json:"drains"`
}

type replicaVerdict struct {
	Replica string     `json:"replica"`
	Self    bool       `json:"self,omitempty"`
	State   string     `json:"state"`
	Since   *time.Time `json:"since,omitempty"`
	Reason  string     `json:"reason,omitempty"`
}

// probe is one probe result in the listing, written as an array, [unix ms, latency ms, ok,
// state], because a target carries dozens of them.
type probe healthview.Probe

// MarshalJSON implements json.Marshaler.
func (p probe) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 48)
	b = append(b, '[')
	b = strconv.AppendInt(b, p.At.UnixMilli(), 10)
	b = append(b, ',')
	b = strconv.AppendFloat(b, float64(p.Latency.Microseconds())/1000, 'f', -1, 64)
	b = append(b, ',')
	b = strconv.AppendBool(b, p.OK)
	b = append(b, ',', '"')
	b = append(b, p.State...)
	return append(b, '"', ']'), nil
}

type healthTransition struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	To   string    `json:"to"`
}

// healthListing is the answer of GET /api/health. Now lets the page measure time left and
// time since against the server's clock rather than the browser's.
type healthListing struct {
	Version uint64         `json:"version"`
	Now     time.Time      `json:"now"`
	Targets []healthTarget `json:"targets"`
}

func (h *health) list(w http.ResponseWriter, _ *http.Request) {
	version, _ := healthview.Changed()
	out := healthListing{Version: version, Now: time.Now().UTC(), Targets: targets(healthview.Snapshot())}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(out)
}

// targets converts and sorts the snapshot, so that rows keep their places between refreshes.
func targets(snap []healthview.Target) []healthTarget {
	out := make([]healthTarget, 0, len(snap))
	for _, t := range snap {
		ht := healthTarget{
			Address: t.Address, Check: t.Check, Kind: t.Kind, Endpoint: t.Endpoint,
			Names: append([]string{}, t.Names...), Discovered: t.Discovered, State: string(t.State),
			LatencyMS: float64(t.LastLatency.Microseconds()) / 1000, LastError: t.LastError,
			Transitions: make([]healthTransition, 0, len(t.Transitions)),
			Effective:   string(cmp.Or(t.Effective, t.State)), Shared: t.Shared, Fallback: t.Fallback,
			Replicas: make([]replicaVerdict, 0, len(t.Replicas)), Drains: append([]healthview.Drain{}, t.Drains...),
		}
		for _, r := range t.Replicas {
			rv := replicaVerdict{Replica: r.Replica, Self: r.Self, State: string(r.State), Reason: r.Reason}
			if !r.Since.IsZero() {
				at := r.Since.UTC()
				rv.Since = &at
			}
			ht.Replicas = append(ht.Replicas, rv)
		}
		if !t.LastCheck.IsZero() {
			at := t.LastCheck.UTC()
			ht.LastCheck = &at
		}
		for _, tr := range t.Transitions {
			ht.Transitions = append(ht.Transitions, healthTransition{At: tr.At.UTC(), From: string(tr.From), To: string(tr.To)})
		}
		ht.Probes = make([]probe, 0, len(t.Probes))
		for _, p := range t.Probes {
			ht.Probes = append(ht.Probes, probe(p))
		}
		out = append(out, ht)
	}
	slices.SortFunc(out, func(a, b healthTarget) int {
		return cmp.Or(cmp.Compare(a.Address, b.Address), cmp.Compare(a.Check, b.Check))
	})
	return out
}

// events streams the health view's version as Server-Sent Events: one at once, then one at
// every change of state, so that the page redraws the moment a target goes down.
func (h *health) events(w http.ResponseWriter, r *http.Request) {
	Stream(w, r, h.done, "health", func() (string, <-chan struct{}) {
		version, changed := healthview.Changed()
		return fmt.Sprintf(`{"version":%d}`, version), changed
	})
}
