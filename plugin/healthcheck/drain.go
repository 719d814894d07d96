package healthcheck

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// drainKey identifies a drain: an address, for every name ("") or for one.
type drainKey struct{ address, name string }

func keyOf(d healthview.Drain) drainKey { return drainKey{d.Address, d.Name} }

// maxDrainAudit bounds the drain events a replica keeps in memory (and, with etcd, the
// events kept there are trimmed to maxStoredAudit).
const maxDrainAudit = 200

// drainBook is a set of drains and the instances that filter by them: the drains of one
// etcd prefix (held by its cluster) or the process's local drains. Every instance enforces
// an expiry by the clock: a timer set for the next expiry publishes again when it passes, so
// an expired drain leaves the answers within a few milliseconds on every replica, whether or
// not anybody deletes its key.
type drainBook struct {
	store string // the drains_active label: the store's name, or "local"

	mu     sync.Mutex
	drains map[drainKey]healthview.Drain
	audit  []healthview.DrainEvent
	subs   map[*HealthCheck]struct{}
	timer  *time.Timer
	// expired is called, outside mu, with the drains that the timer found expired.
	expired func([]healthview.Drain)
}

func newDrainBook(store string) *drainBook {
	return &drainBook{store: store, drains: map[drainKey]healthview.Drain{}, subs: map[*HealthCheck]struct{}{}}
}

// active returns the drains in force at now.
func (b *drainBook) active(now time.Time) []healthview.Drain {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]healthview.Drain, 0, len(b.drains))
	for _, d := range b.drains {
		if d.Active(now) {
			out = append(out, d)
		}
	}
	return out
}

// room reports whether d may be added: it replaces a drain, or there are fewer than
// healthview.MaxDrains.
func (b *drainBook) room(d healthview.Drain) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, replaces := b.drains[keyOf(d)]
	return replaces || len(b.drains) < healthview.MaxDrains
}

// put records d and republishes.
func (b *drainBook) put(d healthview.Drain) {
	b.mu.Lock()
	b.drains[keyOf(d)] = d
	b.mu.Unlock()
	b.changed()
}

// remove forgets the drain of k and reports whether there was one.
func (b *drainBook) remove(k drainKey) (healthview.Drain, bool) {
	b.mu.Lock()
	d, ok := b.drains[k]
	delete(b.drains, k)
	b.mu.Unlock()
	if ok {
		b.changed()
	}
	return d, ok
}

// record appends events to the audit trail kept in memory.
func (b *drainBook) record(evs ...healthview.DrainEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.audit = append(b.audit, evs...)
	if len(b.audit) > maxDrainAudit { // (>= cuts nothing more at exactly the bound: equivalent)
		b.audit = append(b.audit[:0:0], b.audit[len(b.audit)-maxDrainAudit:]...)
	}
}

// last returns the newest n events of the trail kept in memory, oldest first.
func (b *drainBook) last(n int) []healthview.DrainEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]healthview.DrainEvent(nil), b.audit[max(0, len(b.audit)-n):]...)
}

// subscribe adds hc to the instances republished at every change.
func (b *drainBook) subscribe(hc *HealthCheck) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[hc] = struct{}{}
	b.arm(time.Now()) // the timer stops while nobody subscribes
}

func (b *drainBook) unsubscribe(hc *HealthCheck) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, hc)
	if len(b.subs) == 0 && b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// changed republishes every subscriber at once, arms the timer for the next expiry, counts
// the drains in force and tells the health view.
func (b *drainBook) changed() { b.notify(true) }

// notify republishes every subscriber: at once when urgent (a drain is an operator's
// action, rare, and must take effect at once), otherwise within the throttle window (the
// replicas' verdicts change in waves). It arms the expiry timer, counts the drains in force
// and tells the health view.
func (b *drainBook) notify(urgent bool) {
	now := time.Now()
	b.mu.Lock()
	b.arm(now)
	n := 0
	for _, d := range b.drains {
		if d.Active(now) {
			n++
		}
	}
	drainsActive.WithLabelValues(b.store).Set(float64(n))
	subs := make([]*HealthCheck, 0, len(b.subs))
	for hc := range b.subs {
		subs = append(subs, hc)
	}
	b.mu.Unlock()
	for _, hc := range subs {
		hc.sharedChanged(urgent)
	}
	healthview.Notify()
}

// arm sets the timer for the earliest expiry still to come. b.mu must be held.
func (b *drainBook) arm(now time.Time) {
	var next time.Time
	for _, d := range b.drains {
		if !d.Until.IsZero() && d.Until.After(now) && (next.IsZero() || d.Until.Before(next)) {
			next = d.Until
		}
	}
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if next.IsZero() || len(b.subs) == 0 {
		return
	}
	b.timer = time.AfterFunc(next.Sub(now), b.expire)
}

// expire runs when a drain's time is up: the drains past their time are handed to expired
// (which deletes them where they are kept) and every subscriber republishes without them.
func (b *drainBook) expire() {
	defer recoverLoop("drains")
	now := time.Now()
	var gone []healthview.Drain
	b.mu.Lock()
	for _, d := range b.drains {
		if !d.Active(now) {
			gone = append(gone, d)
		}
	}
	b.mu.Unlock()
	// The answers first: they judge drains by the clock, not by their keys. (expired of no
	// drains does nothing, so len(gone) >= 0 below is an equivalent mutant.)
	b.changed()
	if len(gone) > 0 && b.expired != nil {
		b.expired(gone)
	}
}

// localDrains are the drains of the instances that share no store: they hold for this
// process only and end with it.
var localDrains = newLocalBook()

// localBook is a drainBook that is the whole truth: no store behind it.
type localBook struct{ *drainBook }

func newLocalBook() *localBook {
	l := &localBook{newDrainBook("local")}
	l.expired = func(ds []healthview.Drain) {
		for _, d := range ds {
			l.mu.Lock()
			cur, ok := l.drains[keyOf(d)]
			if ok && cur == d {
				delete(l.drains, keyOf(d))
			}
			l.mu.Unlock()
			if ok && cur == d {
				l.changed()
				e := d
				e.By, e.At = "expiry", d.Until
				l.record(healthview.DrainEvent{Action: "expire", Drain: e})
			}
		}
	}
	return l
}

// Drain implements healthview.Drainer.
func (l *localBook) Drain(_ context.Context, d healthview.Drain) error {
	if !l.room(d) {
		return healthview.ErrTooMany
	}
	l.put(d)
	l.record(healthview.DrainEvent{Action: "drain", Drain: d})
	return nil
}

// Undrain implements healthview.Drainer.
func (l *localBook) Undrain(_ context.Context, address, name, by string) error {
	d, ok := l.remove(drainKey{address, name})
	if !ok {
		return fmt.Errorf("%s: %w", address, healthview.ErrNotDrained)
	}
	d.By, d.At = by, time.Now().UTC()
	l.record(healthview.DrainEvent{Action: "undrain", Drain: d})
	return nil
}

// Drains implements healthview.Drainer.
func (l *localBook) Drains() []healthview.Drain { return l.active(time.Now()) }

// DrainAudit implements healthview.Drainer.
func (l *localBook) DrainAudit(n int) []healthview.DrainEvent { return l.last(n) }

// Store implements healthview.Drainer.
func (l *localBook) Store() string { return l.store }
