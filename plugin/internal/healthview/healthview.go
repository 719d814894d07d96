// Package healthview is the process-wide window onto what the healthcheck plugin probes. A
// web console (or any other plugin) reads it to show targets and their state without
// importing healthcheck, so that plugins stay independent of each other.
//
// A healthcheck instance registers a Provider in OnStartup and unregisters it in OnShutdown;
// Snapshot concatenates what every registered provider returns at that moment. Providers
// call Notify when something a viewer would want to redraw changes (a target appears or
// goes away, a state changes); a viewer blocks on Changed to learn about that without
// polling. The per-probe fields (last check, latency, error) change without a notification:
// a viewer that shows them refreshes on its own clock.
//
// Drains go the other way: a healthcheck instance registers the Drainer that keeps its drains
// (shared through etcd, or local to the replica), and a console calls DrainAddress,
// UndrainAddress, Drains and DrainAudit without knowing which plugin, or which store, is
// behind them.
package healthview

import (
	"sync"
	"time"
)

// State is a target's health verdict.
type State string

// The states a target can be in. Unknown lasts until its first probe result. Drained is an
// effective state only: an operator took the address out of the answers.
const (
	Unknown State = "unknown"
	Up      State = "up"
	Down    State = "down"
	Drained State = "drained"
)

// Transition is one change of state, kept so a viewer can show recent flapping.
type Transition struct {
	At       time.Time
	From, To State
}

// Target is one (address, check) pair as the prober sees it.
type Target struct {
	Address     string        // the probed IP address
	Check       string        // the check's name in the Corefile
	Kind        string        // tcp, http, https or dns
	Endpoint    string        // what is probed, for example "http://127.0.0.2:8080/health"
	Names       []string      // the DNS names whose answers this target's verdict filters
	Discovered  bool          // found in an answer rather than listed in the Corefile
	State       State         // current verdict
	LastCheck   time.Time     // when the last probe finished; zero before the first
	LastLatency time.Duration // how long the last probe took
	Probes      []Probe       // the last probe results, oldest first (bounded), for plots
	LastError   string        // why the last probe failed; empty when it succeeded
	Transitions []Transition  // recent state changes, oldest first

	// Effective is what the answers follow: the replicas' quorum over their verdicts when
	// verdicts are shared, this replica's own State otherwise, Drained while drained.
	Effective State
	Replicas  []ReplicaVerdict // every live replica's verdict, this one's included; nil when not shared
	Shared    string           // where verdicts are shared ("etcd ... /prefix/"), "" when they are not
	Fallback  bool             // shared, but the store is unreachable: Effective is this replica's own verdict
	Drains    []Drain          // the drains that cover this address (everywhere, or for one of its names)
}

// ReplicaVerdict is one replica's verdict on a target, as it shared it.
type ReplicaVerdict struct {
	Replica string
	Self    bool // this replica
	State   State
	Since   time.Time // when the replica came to this verdict
	Reason  string    // why the last probe failed, for a down verdict
}

// Probe is one probe result.
type Probe struct {
	At      time.Time
	Latency time.Duration
	OK      bool
	State   State // the verdict after this result
}

// Provider returns the current targets of one healthcheck instance. It must be safe to call
// from any goroutine and must return a slice the caller may keep.
type Provider func() []Target

var (
	mu        sync.Mutex
	providers = map[*registration]Provider{} // keyed by a pointer: unique without a counter
	version   uint64
	changed   = make(chan struct{})
)

// registration identifies one Register call.
type registration struct{ _ byte } // not zero-sized: distinct allocations get distinct addresses

// Register adds p to the registry and returns the function that removes it again. Calling
// the returned function more than once is harmless.
func Register(p Provider) (unregister func()) {
	id := new(registration)
	mu.Lock()
	providers[id] = p
	mu.Unlock()
	Notify()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			delete(providers, id)
			mu.Unlock()
			Notify()
		})
	}
}

// Snapshot returns the targets of every registered provider.
func Snapshot() []Target {
	mu.Lock()
	ps := make([]Provider, 0, len(providers))
	for _, p := range providers {
		ps = append(ps, p)
	}
	mu.Unlock()
	var out []Target
	for _, p := range ps {
		out = append(out, p()...)
	}
	return out
}

// Notify records a change: the version Changed returns advances and every channel handed
// out by Changed closes.
func Notify() {
	mu.Lock()
	version++
	close(changed)
	changed = make(chan struct{})
	mu.Unlock()
}

// Changed returns the current version and a channel that is closed at the next Notify. A
// viewer reads Snapshot after taking the channel, so that it cannot miss a change.
func Changed() (uint64, <-chan struct{}) {
	mu.Lock()
	defer mu.Unlock()
	return version, changed
}
