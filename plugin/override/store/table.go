package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors the API maps to HTTP status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrLimit refuses a change that would pass a limit: max_overrides, or the last
	// revision number there is. Nothing is changed.
	ErrLimit = errors.New("limit reached")
	// ErrTooLarge refuses a change bigger than the store takes in one request (etcd's
	// --max-request-bytes). Nothing is changed.
	ErrTooLarge = errors.New("change too large for the store")
	// ErrNoSpace says the store's disk or quota is full (ENOSPC, etcd's space quota).
	// Nothing is changed.
	ErrNoSpace = errors.New("the store is out of space")
)

// Bounds of the table. A change costs the size of the change, not of the table (see the
// README for figures); max_overrides bounds memory and the start-up load.
const (
	defaultMaxOverrides = 100000
	MaxMaxOverrides     = 1000000
)

// Table is the live change of one store: the state for the API, the subscribers for queries, and
// the only way to change either. Every server block and every console using the same store
// share one table, so that they can never disagree.
type Table struct {
	key   string
	store backend
	audit auditTrail

	subs []Subscriber // guarded by mu

	// idxMu guards idx, the state per key; whole is the State built from it for readers
	// of the whole table, made on first use after each change.
	idxMu sync.RWMutex
	idx   *index
	gen   uint64 // grows with every publish; guarded by idxMu
	whole atomic.Pointer[wholeState]
	rev   atomic.Uint64

	writeMu sync.Mutex // held by a change from its build to its publish
	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change: a broadcast to waiters
	refs    int           // running plugin instances; guarded by tables.mu
	stop    context.CancelFunc
	workers sync.WaitGroup
	pending []Override   // declared overrides to seed once the store can be reached
	pendGen int          // seedLater calls: tells a seed whether a reload replaced its list
	limit   atomic.Int64 // max_overrides of the last Corefile that opened the table
}

func newTable(key string, store backend, audit auditTrail) *Table {
	t := &Table{key: key, store: store, audit: audit, changed: make(chan struct{}), idx: newIndex()}
	t.limit.Store(defaultMaxOverrides)
	return t
}

// setLimit sets max_overrides; n <= 0 means the default.
func (t *Table) setLimit(n int) {
	if n <= 0 {
		n = defaultMaxOverrides
	}
	t.limit.Store(int64(n))
}

// roomFor refuses a change that would leave more than max_overrides overrides. Replicas
// racing to create can pass it by one create each: the count is this replica's.
func (t *Table) roomFor(v *change) error {
	limit := t.limit.Load()
	if n := v.count(); int64(n) > limit {
		return fmt.Errorf("%w: max_overrides is %d and the store would hold %d; delete some or raise max_overrides", ErrLimit, limit, n)
	}
	return nil
}

// nextRevision is the revision after rev, or errLimit at the largest one: wrapping to 0 would
// make every replica take the change for an old one and ignore it.
func nextRevision(rev uint64) (uint64, error) {
	if rev == math.MaxUint64 {
		return 0, fmt.Errorf("%w: the store is at revision %d, the last there is; nothing can change until it is reset", ErrLimit, rev)
	}
	return rev + 1, nil
}

// load reads the store; an unreadable store is an error, never an empty table.
func (t *Table) load(ctx context.Context) error {
	d, err := t.store.Load(ctx)
	if err != nil {
		return err
	}
	t.publish(d)
	// A crash after the change was saved but before it was audited left the entry only in
	// the store: add it to the trail now. The state is served whether or not this works.
	if d.audit != nil {
		if err := t.audit.ensure(*d.audit); err != nil {
			log.Errorf("audit entry of revision %d saved with the change, not yet in the trail: %v", d.audit.Revision, err)
		}
	}
	return nil
}

// publish folds d into the table and makes the result what the API and the subscribers (the
// query path) see, and wakes the waiters. Subscribers get the enabled overrides only, so their
// cost follows what queries can be answered with, not the size of the table.
func (t *Table) publish(d delta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.idxMu.Lock()
	t.idx.apply(d)
	t.gen++ // (-- changes it on every publish all the same: an equivalent mutant)
	enabled := t.idx.enabledOverrides()
	rev := t.idx.rev
	t.idxMu.Unlock()
	t.rev.Store(rev)
	st := State{Revision: rev, Overrides: enabled}
	for _, s := range t.subs {
		s.Publish(st)
	}
	now := time.Now()
	n := 0
	for i := range enabled {
		if enabled[i].Active(now) {
			n++
		}
	}
	enabledOverrides.WithLabelValues(t.key).Set(float64(n))
	close(t.changed)
	t.changed = make(chan struct{})
}

// Current returns the whole table as last published; callers must not change it. It costs
// the size of the table once per change, so the query path and changes never call it.
func (t *Table) Current() *State {
	t.idxMu.RLock()
	defer t.idxMu.RUnlock()
	if w := t.whole.Load(); w != nil && w.gen == t.gen {
		return w.st
	}
	w := &wholeState{gen: t.gen, st: t.idx.state()}
	t.whole.Store(w)
	return w.st
}

// wholeState is the whole table built for the publish numbered gen.
type wholeState struct {
	gen uint64
	st  *State
}

// String names the table's store in messages, for instance "file /var/lib/coredns/o.json".
func (t *Table) String() string { return t.store.String() }

// Subscriber hears of what a table publishes: the query path of each running server block.
type Subscriber interface {
	// Publish gets the enabled overrides (at most one per group) after every change, the
	// first time when it subscribes. It must not change them, and must not call the table:
	// it runs while the table holds its lock, so that subscribers see changes in order.
	Publish(enabled State)
	// Removed gets the id of an override deleted through this table.
	Removed(id string)
}

// Subscribe makes s hear of every change from now on, starting with the current state, until
// the returned function is called.
func (t *Table) Subscribe(s Subscriber) (cancel func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.idxMu.RLock()
	st := State{Revision: t.idx.rev, Overrides: t.idx.enabledOverrides()}
	t.idxMu.RUnlock()
	s.Publish(st)
	t.subs = append(t.subs, s)
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.subs = slices.DeleteFunc(t.subs, func(x Subscriber) bool { return x == s })
	}
}

// AuditTail returns the last n entries of the table's audit trail, oldest first.
func (t *Table) AuditTail(n int) (AuditPage, error) { return t.audit.tail(n) }

// Revision returns the revision last published, without building the whole table.
func (t *Table) Revision() uint64 { return t.rev.Load() }

// lookup returns the override with id as last published.
func (t *Table) lookup(id string) (Override, bool) {
	t.idxMu.RLock()
	defer t.idxMu.RUnlock()
	r, ok := t.idx.byID[id]
	if !ok {
		return Override{}, false
	}
	o := r.o.clone()
	o.Enabled = o.Enabled && t.idx.enabled[o.Group] == id
	return o, true
}

// Wait returns a channel that is closed at the next change.
func (t *Table) Wait() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// Actor says who asks for a change and from where, for the audit log.
type Actor struct {
	Who  string
	From string
}

// apply runs fn as one atomic change of the store, then publishes and records the result. fn
// fills in the audit entry; it may run more than once, so it must only touch its arguments.
func (t *Table) apply(ctx context.Context, by Actor, action string, fn func(v *change, now time.Time, e *AuditEntry) error) (AuditEntry, error) {
	var entry AuditEntry
	// One change at a time from this table, published before the next is built: a private
	// store relies on the index being current; a shared one would only conflict with itself.
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	d, err := t.store.Update(ctx, func(fresh map[string]*record, freshGroup map[string]groupKey) (*change, error) {
		t.idxMu.RLock()
		defer t.idxMu.RUnlock()
		entry = AuditEntry{Who: by.Who, From: by.From, Action: action, Time: time.Now().UTC()}
		v := newChange(t.idx, fresh, freshGroup)
		if err := fn(v, entry.Time, &entry); err != nil {
			return v, err
		}
		if v.empty() {
			return v, errUnchanged
		}
		stored := entry.clone() // the store gives it the change's revision
		v.audit = &stored
		return v, nil
	})
	if errors.Is(err, errUnchanged) {
		return AuditEntry{}, nil
	}
	if err != nil {
		return AuditEntry{}, err
	}
	t.publish(d)
	changes.WithLabelValues(action).Inc()
	entry.Revision = d.rev
	if err := t.audit.append(entry); err != nil {
		log.Errorf("change %s of %q saved, but not audited: %v", action, entry.ID, err)
	}
	return entry, nil
}

// stamp records who changed o and when.
func stamp(o *Override, by Actor, now time.Time) {
	o.ChangedBy, o.ChangedAt = by.Who, now
}

// enableIn switches o on, and off the override enabled in its group, in the same change, so
// that no reader can ever see two enabled.
func enableIn(v *change, o Override, by Actor, now time.Time, expires *time.Time) []string {
	var disabled []string
	if other := v.enabledIn(o.Group); other != "" && other != o.ID {
		if x, ok := v.get(other); ok {
			x.Enabled, x.Expires = false, nil
			stamp(&x, by, now)
			v.put(x)
			disabled = append(disabled, other)
		}
	}
	o.Enabled, o.Expires = true, expires
	stamp(&o, by, now)
	v.put(o)
	return disabled
}

// Create adds o (with a new id if it has none), enabled at once if o says so.
func (t *Table) Create(ctx context.Context, by Actor, o Override) (Override, error) {
	if o.ID == "" {
		o.ID = newID() // the API lets the server choose; a stored override always has one
	}
	if err := o.Normalize(); err != nil {
		return Override{}, err
	}
	e, err := t.apply(ctx, by, "create", func(v *change, now time.Time, e *AuditEntry) error {
		if _, ok := v.get(o.ID); ok {
			return fmt.Errorf("%w: override %q already exists", ErrConflict, o.ID)
		}
		n := o.clone()
		expires := n.Expires
		n.Enabled, n.Expires = false, nil
		stamp(&n, by, now)
		if o.Enabled {
			e.Disabled = enableIn(v, n, by, now, expires)
		} else {
			v.put(n)
		}
		if err := t.roomFor(v); err != nil {
			return err
		}
		recordIn(e, v, o.ID)
		return nil
	})
	return derefOverride(e.Override), err
}

// Update replaces the definition of an override; whether it is enabled, and until when, stays
// as it was. If it is enabled and moves to another group, it wins that group.
func (t *Table) Update(ctx context.Context, by Actor, id string, o Override) (Override, error) {
	o.ID = id
	if err := o.Normalize(); err != nil {
		return Override{}, err
	}
	e, err := t.apply(ctx, by, "update", func(v *change, now time.Time, e *AuditEntry) error {
		old, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: override %q", ErrNotFound, id)
		}
		n := o.clone()
		n.Enabled, n.Expires = old.Enabled, old.Expires
		stamp(&n, by, now)
		if n.Enabled && n.Group != old.Group {
			e.Disabled = enableIn(v, n, by, now, n.Expires)
		} else {
			v.put(n)
		}
		recordIn(e, v, id)
		return nil
	})
	return derefOverride(e.Override), err
}

// Remove deletes the override with id.
func (t *Table) Remove(ctx context.Context, by Actor, id string) error {
	_, err := t.apply(ctx, by, "delete", func(v *change, _ time.Time, e *AuditEntry) error {
		if _, ok := v.get(id); !ok {
			return fmt.Errorf("%w: override %q", ErrNotFound, id)
		}
		recordIn(e, v, id)
		v.del(id)
		return nil
	})
	if err == nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		for _, s := range t.subs {
			s.Removed(id)
		}
	}
	return err
}

// Enable switches an override on, and off every other of its group; d > 0 limits it.
func (t *Table) Enable(ctx context.Context, by Actor, id string, d time.Duration) (Override, error) {
	e, err := t.apply(ctx, by, "enable", func(v *change, now time.Time, e *AuditEntry) error {
		o, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: override %q", ErrNotFound, id)
		}
		var expires *time.Time
		if d > 0 {
			x := now.Add(d)
			expires = &x
		}
		e.Disabled = enableIn(v, o, by, now, expires)
		recordIn(e, v, id)
		return nil
	})
	return derefOverride(e.Override), err
}

// Disable switches the override with id off; its group returns to the normal answer.
func (t *Table) Disable(ctx context.Context, by Actor, id string) (Override, error) {
	e, err := t.apply(ctx, by, "disable", func(v *change, now time.Time, e *AuditEntry) error {
		o, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: override %q", ErrNotFound, id)
		}
		o.Enabled, o.Expires = false, nil
		stamp(&o, by, now)
		v.put(o)
		recordIn(e, v, id)
		return nil
	})
	return derefOverride(e.Override), err
}

// DisableGroup returns a group to the normal answer; an unknown group is the caller's error.
func (t *Table) DisableGroup(ctx context.Context, by Actor, group string) ([]string, error) {
	e, err := t.apply(ctx, by, "disable-group", func(v *change, now time.Time, e *AuditEntry) error {
		if !v.hasGroup(group) {
			return fieldErr("group", "unknown group %q", group)
		}
		e.Group = group
		id := v.enabledIn(group)
		o, ok := v.get(id)
		if id == "" || !ok {
			// Nothing to switch off; still a change of its own in the trail, as before.
			v.groups[group] = ""
			return nil
		}
		o.Enabled, o.Expires = false, nil
		stamp(&o, by, now)
		v.put(o)
		e.Disabled = append(e.Disabled, id)
		return nil
	})
	return e.Disabled, err
}

// maxPerChange bounds the overrides one background change (expiry, seeding) writes: etcd
// refuses a transaction of more than 128 operations by default. The rest follow in the next.
const maxPerChange = 30

// expire switches off the overrides whose time is up, so that the stored state and the
// console agree with what queries already get.
func (t *Table) expire(ctx context.Context) error {
	by := Actor{Who: "expiry", From: "coredns"}
	_, err := t.apply(ctx, by, "expire", func(v *change, now time.Time, e *AuditEntry) error {
		for _, id := range v.x.enabled {
			if len(e.Disabled) == maxPerChange {
				break
			}
			o, ok := v.get(id)
			if !ok || !o.Enabled || o.Active(now) {
				continue
			}
			o.Enabled, o.Expires = false, nil
			stamp(&o, by, now)
			v.put(o)
			e.Disabled = append(e.Disabled, id)
		}
		if len(e.Disabled) == 0 {
			return errUnchanged
		}
		slices.Sort(e.Disabled)
		return nil
	})
	return err
}

// seed adds the overrides declared in the Corefile that the store does not hold yet. What the
// store holds wins: an operator's change made at run time is not undone by a reload.
func (t *Table) seed(ctx context.Context, decls []Override) error {
	for len(decls) > 0 {
		n := min(len(decls), maxPerChange)
		if err := t.seedSome(ctx, decls[:n]); err != nil {
			return err
		}
		decls = decls[n:]
	}
	return nil
}

func (t *Table) seedSome(ctx context.Context, decls []Override) error {
	by := Actor{Who: "corefile", From: "coredns"}
	_, err := t.apply(ctx, by, "seed", func(v *change, now time.Time, e *AuditEntry) error {
		var added []string
		for _, d := range decls {
			if _, ok := v.get(d.ID); ok {
				continue
			}
			n := d.clone()
			n.Enabled = false
			stamp(&n, by, now)
			if d.Enabled {
				e.Disabled = append(e.Disabled, enableIn(v, n, by, now, nil)...)
			} else {
				v.put(n)
			}
			added = append(added, d.ID)
		}
		if len(added) == 0 {
			return errUnchanged
		}
		if err := t.roomFor(v); err != nil {
			return fmt.Errorf("declared overrides: %w", err)
		}
		e.ID = strings.Join(added, ",")
		return nil
	})
	return err
}

// recordIn puts the override id as the change leaves it into the audit entry.
func recordIn(e *AuditEntry, v *change, id string) {
	o, _ := v.get(id)
	e.ID, e.Group, e.Override = o.ID, o.Group, &o
}

func derefOverride(o *Override) Override {
	if o == nil {
		return Override{}
	}
	return *o
}
