package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// State is the whole table of overrides plus a revision that grows by one with every change,
// so that a console can tell whether what it shows is current.
type State struct {
	Revision  uint64     `json:"revision"`
	Overrides []Override `json:"overrides"`
	// Audit is the audit entry of the change that made this revision, stored with it, so that
	// a crash between saving the change and appending to the audit trail cannot lose the
	// entry: whoever loads the state appends it if the trail lacks it (auditTrail.ensure).
	Audit *AuditEntry `json:"audit,omitempty"`
}

// backend keeps the overrides, one record per override, so that a change costs the size of the
// change whatever the size of the table: one full read at start, one atomic write of the keys
// a change touches, and a way to hear of changes that other replicas made.
type backend interface {
	// Load returns the stored state as a full delta. A store that exists but cannot be
	// read is an error; a store that does not exist yet is an empty state.
	Load(ctx context.Context) (delta, error)
	// Update builds a change with build and stores it as one atomic step. build gets the
	// values a shared store read afresh after losing a race (empty the first time); it may
	// be called more than once, so it must have no side effects beyond its change. If
	// build fails (ErrUnchanged included) nothing is written and Update returns the error,
	// once a shared store has checked that what the change read was current: a replica
	// whose view lags must not answer "not found" for an override another just created.
	Update(ctx context.Context, build func(fresh map[string]*record, freshGroup map[string]groupKey) (*change, error)) (delta, error)
	// Watch calls changed with each change that someone else stored, until ctx is done.
	// A store that is private to this process returns at once.
	Watch(ctx context.Context, changed func(delta))
	// String names the store in messages, for instance "file /var/lib/coredns/o.json".
	String() string
}

// errUnchanged tells backend.Update that there is nothing to write.
var errUnchanged = errors.New("unchanged")

// clone returns a deep copy of s.
func (s State) clone() State {
	out := State{Revision: s.Revision, Overrides: make([]Override, len(s.Overrides))}
	for i, o := range s.Overrides {
		out.Overrides[i] = o.clone()
	}
	if s.Audit != nil {
		e := s.Audit.clone()
		out.Audit = &e
	}
	return out
}

// decodeState reads a stored table (the file's content or etcd's value) and checks it with
// the same rules as every change. What it returns is normalised; an error says what is wrong.
func decodeState(data []byte) (State, error) {
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("not a valid override table: %w", err)
	}
	if err := st.Check(); err != nil {
		return State{}, err
	}
	return st, nil
}

// full returns st as a full delta, every record at the revision that st has.
func (st State) full() delta {
	d := delta{rev: st.Revision, full: true, ordered: true, audit: st.Audit}
	for _, o := range st.Overrides {
		d.puts = append(d.puts, record{o: o, modRev: int64(st.Revision)})
	}
	return d
}

// Find returns the index of the override with id, or -1.
func (s *State) Find(id string) int {
	for i := range s.Overrides {
		if s.Overrides[i].ID == id {
			return i
		}
	}
	return -1
}

// Check reports a state that breaks the table's rules: a bad override, a duplicate id, or two
// enabled overrides in one group. A store that fails it is corrupt, not something to repair.
func (s *State) Check() error {
	ids := make(map[string]bool, len(s.Overrides))
	enabled := make(map[string]string)
	for i := range s.Overrides {
		o := &s.Overrides[i]
		if err := o.Normalize(); err != nil {
			return errors.Join(errors.New("override "+quote(o.ID)), err)
		}
		if ids[o.ID] {
			return errors.New("duplicate override id " + quote(o.ID))
		}
		ids[o.ID] = true
		if !o.Enabled {
			continue
		}
		if other, ok := enabled[o.Group]; ok {
			return errors.New("group " + quote(o.Group) + " has two enabled overrides: " + quote(other) + " and " + quote(o.ID))
		}
		enabled[o.Group] = o.ID
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }
