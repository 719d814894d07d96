package override

import (
	"context"
	"errors"
	"fmt"
	"math"
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
)

// Bounds of the table. Every change rewrites the whole store (see the README for the cost
// per change), so the number of overrides is capped; max_overrides changes the cap.
const (
	defaultMaxOverrides = 10000
	maxMaxOverrides     = 1000000
)

// table is the live view of one store: the state for the API, the snapshot for queries, and
// the only way to change either. Every server block and every console using the same store
// share one table, so that they can never disagree.
type table struct {
	key   string
	store Store
	audit auditTrail

	state atomic.Pointer[State]
	snap  atomic.Pointer[snapshot]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every change: a broadcast to waiters
	refs    int           // running plugin instances; guarded by tables.mu
	stop    context.CancelFunc
	workers sync.WaitGroup
	pending []Override   // declared overrides to seed once the store can be reached
	limit   atomic.Int64 // max_overrides of the last Corefile that opened the table
}

func newTable(key string, store Store, audit auditTrail) *table {
	t := &table{key: key, store: store, audit: audit, changed: make(chan struct{})}
	t.state.Store(&State{})
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

// roomFor refuses a change that would leave st with more than max_overrides overrides after
// adding n.
func (t *table) roomFor(st *State, n int) error {
	limit := t.limit.Load()
	if int64(len(st.Overrides)+n) > limit {
		return fmt.Errorf("%w: max_overrides is %d and the store holds %d; delete some or raise max_overrides", errLimit, limit, len(st.Overrides))
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
	st, err := t.store.Load(ctx)
	if err != nil {
		return err
	}
	t.publish(st)
	// A crash after the change was saved but before it was audited left the entry only in
	// the state: add it to the trail now. The state is served whether or not this works.
	if st.Audit != nil {
		if err := t.audit.ensure(*st.Audit); err != nil {
			log.Errorf("audit entry of revision %d saved with the change, not yet in the trail: %v", st.Revision, err)
		}
	}
	return nil
}

// publish makes st the state that the API and the query path see, and wakes the waiters.
// Changes that finish out of order never move the table back to an older revision.
func (t *table) publish(st State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st.Revision < t.state.Load().Revision {
		return
	}
	// The snapshot first: should building it fail, nothing of st is published.
	snap := newSnapshot(st)
	t.state.Store(&st)
	t.snap.Store(snap)
	now := time.Now()
	n := 0
	for i := range st.Overrides {
		if st.Overrides[i].Active(now) {
			n++
		}
	}
	enabledOverrides.WithLabelValues(t.key).Set(float64(n))
	close(t.changed)
	t.changed = make(chan struct{})
}

// current returns the state as last published; callers must not change it.
func (t *table) current() *State { return t.state.Load() }

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

// apply runs fn as one atomic update of the store, then publishes and records the result. fn
// fills in the audit entry; it may run more than once, so it must only touch its arguments.
func (t *table) apply(ctx context.Context, by actor, action string, fn func(st *State, now time.Time, e *AuditEntry) error) (State, AuditEntry, error) {
	var (
		entry   AuditEntry
		changed bool // false when fn found nothing to do (ErrUnchanged)
	)
	st, err := t.store.Update(ctx, func(st State) (State, error) {
		entry = AuditEntry{Who: by.Who, From: by.From, Action: action, Time: time.Now().UTC()}
		changed = false
		if err := fn(&st, entry.Time, &entry); err != nil {
			return State{}, err
		}
		changed = true
		stored := entry.clone() // the store gives it the change's revision
		st.Audit = &stored
		return st, nil
	})
	if err != nil {
		return State{}, AuditEntry{}, err
	}
	if !changed {
		return st, AuditEntry{}, nil
	}
	t.publish(st)
	changes.WithLabelValues(action).Inc()
	entry.Revision = st.Revision
	if err := t.audit.append(entry); err != nil {
		log.Errorf("change %s of %q saved, but not audited: %v", action, entry.ID, err)
	}
	return st, entry, nil
}

// stamp records who changed o and when.
func stamp(o *Override, by actor, now time.Time) {
	o.ChangedBy, o.ChangedAt = by.Who, now
}

// enableIn switches on st.Overrides[idx] and off every other override of its group, in the
// same state, so that no reader can ever see two enabled.
func enableIn(st *State, idx int, by actor, now time.Time, expires *time.Time) []string {
	o := &st.Overrides[idx]
	var disabled []string
	for i := range st.Overrides {
		other := &st.Overrides[i]
		if i == idx || other.Group != o.Group || !other.Enabled {
			continue
		}
		other.Enabled, other.Expires = false, nil
		stamp(other, by, now)
		disabled = append(disabled, other.ID)
	}
	o.Enabled, o.Expires = true, expires
	stamp(o, by, now)
	return disabled
}

func (t *table) create(ctx context.Context, by actor, o Override) (Override, error) {
	if o.ID == "" {
		o.ID = newID() // the API lets the server choose; a stored override always has one
	}
	if err := o.normalize(); err != nil {
		return Override{}, err
	}
	_, e, err := t.apply(ctx, by, "create", func(st *State, now time.Time, e *AuditEntry) error {
		if st.find(o.ID) >= 0 {
			return fmt.Errorf("%w: override %q already exists", errConflict, o.ID)
		}
		if err := t.roomFor(st, 1); err != nil {
			return err
		}
		n := o.clone()
		expires := n.Expires
		n.Enabled, n.Expires = false, nil
		st.Overrides = append(st.Overrides, n)
		stamp(&st.Overrides[len(st.Overrides)-1], by, now)
		if o.Enabled {
			e.Disabled = enableIn(st, len(st.Overrides)-1, by, now, expires)
		}
		record(e, &st.Overrides[len(st.Overrides)-1])
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
	_, e, err := t.apply(ctx, by, "update", func(st *State, now time.Time, e *AuditEntry) error {
		idx := st.find(id)
		if idx < 0 {
			return fmt.Errorf("%w: override %q", errNotFound, id)
		}
		old := st.Overrides[idx]
		n := o.clone()
		n.Enabled, n.Expires = old.Enabled, old.Expires
		stamp(&n, by, now)
		st.Overrides[idx] = n
		if n.Enabled && n.Group != old.Group {
			e.Disabled = enableIn(st, idx, by, now, n.Expires)
		}
		record(e, &st.Overrides[idx])
		return nil
	})
	return derefOverride(e.Override), err
}

func (t *table) remove(ctx context.Context, by actor, id string) error {
	_, _, err := t.apply(ctx, by, "delete", func(st *State, _ time.Time, e *AuditEntry) error {
		idx := st.find(id)
		if idx < 0 {
			return fmt.Errorf("%w: override %q", errNotFound, id)
		}
		record(e, &st.Overrides[idx])
		st.Overrides = append(st.Overrides[:idx], st.Overrides[idx+1:]...)
		return nil
	})
	if err == nil {
		answersServed.DeleteLabelValues(id)
	}
	return err
}

// enable switches an override on, and off every other of its group; d > 0 limits it.
func (t *table) enable(ctx context.Context, by actor, id string, d time.Duration) (Override, error) {
	_, e, err := t.apply(ctx, by, "enable", func(st *State, now time.Time, e *AuditEntry) error {
		idx := st.find(id)
		if idx < 0 {
			return fmt.Errorf("%w: override %q", errNotFound, id)
		}
		var expires *time.Time
		if d > 0 {
			x := now.Add(d)
			expires = &x
		}
		e.Disabled = enableIn(st, idx, by, now, expires)
		record(e, &st.Overrides[idx])
		return nil
	})
	return derefOverride(e.Override), err
}

func (t *table) disable(ctx context.Context, by actor, id string) (Override, error) {
	_, e, err := t.apply(ctx, by, "disable", func(st *State, now time.Time, e *AuditEntry) error {
		idx := st.find(id)
		if idx < 0 {
			return fmt.Errorf("%w: override %q", errNotFound, id)
		}
		o := &st.Overrides[idx]
		o.Enabled, o.Expires = false, nil
		stamp(o, by, now)
		record(e, o)
		return nil
	})
	return derefOverride(e.Override), err
}

// disableGroup returns a group to the normal answer; an unknown group is the caller's error.
func (t *table) disableGroup(ctx context.Context, by actor, group string) ([]string, error) {
	_, e, err := t.apply(ctx, by, "disable-group", func(st *State, now time.Time, e *AuditEntry) error {
		known := false
		for i := range st.Overrides {
			o := &st.Overrides[i]
			if o.Group != group {
				continue
			}
			known = true
			if o.Enabled {
				o.Enabled, o.Expires = false, nil
				stamp(o, by, now)
				e.Disabled = append(e.Disabled, o.ID)
			}
		}
		if !known {
			return fieldErr("group", "unknown group %q", group)
		}
		e.Group = group
		return nil
	})
	return e.Disabled, err
}

// expire switches off the overrides whose time is up, so that the stored state and the
// console agree with what queries already get.
func (t *table) expire(ctx context.Context) error {
	by := actor{Who: "expiry", From: "coredns"}
	_, _, err := t.apply(ctx, by, "expire", func(st *State, now time.Time, e *AuditEntry) error {
		for i := range st.Overrides {
			o := &st.Overrides[i]
			if o.Enabled && !o.Active(now) {
				o.Enabled, o.Expires = false, nil
				stamp(o, by, now)
				e.Disabled = append(e.Disabled, o.ID)
			}
		}
		if len(e.Disabled) == 0 {
			return ErrUnchanged
		}
		return nil
	})
	return err
}

// seed adds the overrides declared in the Corefile that the store does not hold yet. What the
// store holds wins: an operator's change made at run time is not undone by a reload.
func (t *table) seed(ctx context.Context, decls []Override) error {
	if len(decls) == 0 {
		return nil
	}
	by := actor{Who: "corefile", From: "coredns"}
	_, _, err := t.apply(ctx, by, "seed", func(st *State, now time.Time, e *AuditEntry) error {
		var added []string
		for _, d := range decls {
			if st.find(d.ID) >= 0 {
				continue
			}
			n := d.clone()
			n.Enabled = false
			stamp(&n, by, now)
			st.Overrides = append(st.Overrides, n)
			if d.Enabled {
				e.Disabled = append(e.Disabled, enableIn(st, len(st.Overrides)-1, by, now, nil)...)
			}
			added = append(added, d.ID)
		}
		if len(added) == 0 {
			return ErrUnchanged
		}
		if err := t.roomFor(st, 0); err != nil {
			return fmt.Errorf("declared overrides: %w", err)
		}
		e.ID = strings.Join(added, ",")
		return nil
	})
	return err
}

func record(e *AuditEntry, o *Override) {
	c := o.clone()
	e.ID, e.Group, e.Override = o.ID, o.Group, &c
}

func derefOverride(o *Override) Override {
	if o == nil {
		return Override{}
	}
	return *o
}
