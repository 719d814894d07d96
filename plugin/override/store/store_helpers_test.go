package store

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// loadState reads s whole, as a table would show it.
func loadState(ctx context.Context, s backend) (State, error) {
	d, err := s.Load(ctx)
	if err != nil {
		return State{}, err
	}
	x := newIndex()
	x.apply(d)
	return *x.state(), nil
}

// storeUpdate makes the change fn builds directly on s, from an empty view as a replica that
// knows nothing yet: a shared store must bring in what fn reads. It returns the change's
// revision.
func storeUpdate(ctx context.Context, s backend, fn func(v *change) error) (uint64, error) {
	d, err := s.Update(ctx, func(fresh map[string]*record, freshGroup map[string]groupKey) (*change, error) {
		v := newChange(newIndex(), fresh, freshGroup)
		if err := fn(v); err != nil {
			return v, err
		}
		if v.empty() {
			return v, errUnchanged
		}
		v.audit = &AuditEntry{Who: "test", Action: "test"}
		return v, nil
	})
	return d.rev, err
}

// etcdAddOverride is a change that adds a disabled override of group g.
func etcdAddOverride(id, g string) func(v *change) error {
	return func(v *change) error {
		if _, ok := v.get(id); ok {
			return fmt.Errorf("%w: %s exists", ErrConflict, id)
		}
		v.put(Override{ID: id, Name: id + ".example.test.", Group: g, Addresses: []string{"127.0.0.2"}})
		return nil
	}
}

// etcdEnableUpdate is the change the table makes to enable an override.
func etcdEnableUpdate(id string) func(v *change) error {
	return func(v *change) error {
		o, ok := v.get(id)
		if !ok {
			return fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		enableIn(v, o, Actor{Who: "test"}, time.Now(), nil)
		return nil
	}
}

// published is a subscriber that keeps what a table published last: what the query path serves.
type published struct {
	mu   sync.Mutex
	last State
}

func (p *published) Publish(st State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = st
}

func (p *published) Removed(string) {}

// servedFor returns the overrides that tab publishes to the query path for name, active now.
func servedFor(tab *Table, name string) []Override {
	var p published
	tab.Subscribe(&p)()
	var out []Override
	now := time.Now()
	for _, o := range p.last.Overrides {
		if o.Name == name && o.Active(now) {
			out = append(out, o)
		}
	}
	return out
}
