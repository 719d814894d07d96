package override

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
	errNotFound = errors.New("not found")
	errConflict = errors.New("conflict")
	// errLimit refuses a change that would pass a limit: max_overrides, or the last
	// revision number there is. Nothing is changed.
	errLimit = errors.New("limit reached")
	// errTooLarge refuses a change bigger than the store takes in one request (etcd's
	// --max-request-bytes). Nothing is changed.
	errTooLarge = errors.New("change too large for the store")
	// errNoSpace says the store's disk or quota is full (ENOSPC, etcd's space quota).
	// Nothing is changed.
	errNoSpace = errors.New("the store is out of space")
)

// Bounds of the table. A change costs the size of the change, not of the table (see the
// README for figures); max_overrides bounds memory and the start-up load.
const (
	defaultMaxOverrides = 100000
	maxMaxOverrides     = 1000000
)

// table is the live change of one store: the state for the API, the snapshot for queries, and
// the only way to change either. Every server block and every console using the same store
// share one table, so that they can never disagree.
type table struct {
	key   string
	store Store
	audit auditTrail

	snap atomic.Pointer[snapshot]

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
	limit   atomic.Int64 // max_overrides of the last Corefile that opened the table
}

func newTable(key string, store Store, audit auditTrail) *table {
	t := &table{key: key, store: store, audit: audit, changed: make(chan struct{}), idx: newIndex()}
	t.snap.Store(emptySnapshot)
	t.limit.Store(defaultMaxOverrides)
	return t
}

// setLimit sets max_overrides; n <= 0 means the default.
func (t *table) setLimit(n int) {
	if n <= 0 {
		n = defaultMaxOverrides
	}
	t.limit.Store(int64(n))
}

// roomFor refuses a change that would leave more than max_overrides overrides. Replicas
// racing to create can pass it by one create each: the count is this replica's.
func (t *table) roomFor(v *change) error {
	limit := t.limit.Load()
	if n := v.count(); int64(n) > limit {
		return fmt.Errorf("%w: max_overrides is %d and the store would hold %d; delete some or raise max_overrides", errLimit, limit, n)
	}
	return nil
}

// nextRevision is the revision after rev, or errLimit at the largest one: wrapping to 0 would
// make every replica take the change for an old one and ignore it.
func nextRevision(rev uint64) (uint64, error) {
	if rev == math.MaxUint64 {
		return 0, fmt.Errorf("%w: the store is at revision %d, the last there is; nothing can change until it is reset", errLimit, rev)
	}
	return rev + 1, nil
}

// load reads the store; an unreadable store is an error, never an empty table.
func (t *table) load(ctx context.Context) error {
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

// publish folds d into the table and makes the result what the API and the query path see,
// and wakes the waiters. The snapshot is built from the enabled overrides only, so its cost
// follows what queries can be answered with, not the size of the table.
func (t *table) publish(d delta) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.idxMu.Lock()
	t.idx.apply(d)
	t.gen++
	enabled := t.idx.enabledOverrides()
	rev := t.idx.rev
	t.idxMu.Unlock()
	t.rev.Store(rev)
	t.snap.Store(newSnapshot(State{Revision: rev, Overrides: enabled}))
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

// current returns the whole table as last published; callers must not change it. It costs
// the size of the table once per change, so the query path and changes never call it.
func (t *table) current() *State {
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

// revision returns the revision last published, without building the whole table.
func (t *table) revision() uint64 { return t.rev.Load() }

// lookup returns the override with id as last published.
func (t *table) lookup(id string) (Override, bool) {
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

// wait returns a channel that is closed at the next change.
func (t *table) wait() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// actor says who asks for a change and from where, for the audit log.
type actor struct {
	Who  string
	From string
}

// apply runs fn as one atomic change of the store, then publishes and records the result. fn
// fills in the audit entry; it may run more than once, so it must only touch its arguments.
func (t *table) apply(ctx context.Context, by actor, action string, fn func(v *change, now time.Time, e *AuditEntry) error) (AuditEntry, error) {
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
			return v, ErrUnchanged
		}
		stored := entry.clone() // the store gives it the change's revision
		v.audit = &stored
		return v, nil
	})
	if errors.Is(err, ErrUnchanged) {
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
func stamp(o *Override, by actor, now time.Time) {
	o.ChangedBy, o.ChangedAt = by.Who, now
}

// enableIn switches o on, and off the override enabled in its group, in the same change, so
// that no reader can ever see two enabled.
func enableIn(v *change, o Override, by actor, now time.Time, expires *time.Time) []string {
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

func (t *table) create(ctx context.Context, by actor, o Override) (Override, error) {
	if o.ID == "" {
		o.ID = newID() // the API lets the server choose; a stored override always has one
	}
	if err := o.normalize(); err != nil {
		return Override{}, err
	}
	e, err := t.apply(ctx, by, "create", func(v *change, now time.Time, e *AuditEntry) error {
		if _, ok := v.get(o.ID); ok {
			return fmt.Errorf("%w: override %q already exists", errConflict, o.ID)
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

// update replaces the definition of an override; whether it is enabled, and until when, stays
// as it was. If it is enabled and moves to another group, it wins that group.
func (t *table) update(ctx context.Context, by actor, id string, o Override) (Override, error) {
	o.ID = id
	if err := o.normalize(); err != nil {
		return Override{}, err
	}
	e, err := t.apply(ctx, by, "update", func(v *change, now time.Time, e *AuditEntry) error {
		old, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: override %q", errNotFound, id)
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

func (t *table) remove(ctx context.Context, by actor, id string) error {
	_, err := t.apply(ctx, by, "delete", func(v *change, _ time.Time, e *AuditEntry) error {
		if _, ok := v.get(id); !ok {
			return fmt.Errorf("%w: override %q", errNotFound, id)
		}
		recordIn(e, v, id)
		v.del(id)
		return nil
	})
	if err == nil {
		answersServed.DeleteLabelValues(id)
	}
	return err
}

// enable switches an override on, and off every other of its group; d > 0 limits it.
func (t *table) enable(ctx context.Context, by actor, id string, d time.Duration) (Override, error) {
	e, err := t.apply(ctx, by, "enable", func(v *change, now time.Time, e *AuditEntry) error {
		o, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: override %q", errNotFound, id)
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

func (t *table) disable(ctx context.Context, by actor, id string) (Override, error) {
	e, err := t.apply(ctx, by, "disable", func(v *change, now time.Time, e *AuditEntry) error {
		o, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: override %q", errNotFound, id)
		}
		o.Enabled, o.Expires = false, nil
		stamp(&o, by, now)
		v.put(o)
		recordIn(e, v, id)
		return nil
	})
	return derefOverride(e.Override), err
}

// disableGroup returns a group to the normal answer; an unknown group is the caller's error.
func (t *table) disableGroup(ctx context.Context, by actor, group string) ([]string, error) {
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
func (t *table) expire(ctx context.Context) error {
	by := actor{Who: "expiry", From: "coredns"}
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
			return ErrUnchanged
		}
		slices.Sort(e.Disabled)
		return nil
	})
	return err
}

// seed adds the overrides declared in the Corefile that the store does not hold yet. What the
// store holds wins: an operator's change made at run time is not undone by a reload.
func (t *table) seed(ctx context.Context, decls []Override) error {
	for len(decls) > 0 {
		n := min(len(decls), maxPerChange)
		if err := t.seedSome(ctx, decls[:n]); err != nil {
			return err
		}
		decls = decls[n:]
	}
	return nil
}

func (t *table) seedSome(ctx context.Context, decls []Override) error {
	by := actor{Who: "corefile", From: "coredns"}
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
			return ErrUnchanged
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
