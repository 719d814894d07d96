package store

import (
	"slices"
	"strings"
)

// record is one stored override and the store's revision of its key (etcd's mod revision; 0
// in the file store, where nobody else writes).
type record struct {
	o      Override
	modRev int64
}

// delta is what a store hands the table: a change (its own or one it watched) or, with full
// set, the whole state as of rev (a load or a resync).
type delta struct {
	rev  uint64
	full bool
	// ordered says that no change older than rev can arrive after this delta: true for
	// loads, resyncs, watched events and a private store's changes; false for a shared
	// store's own change, which its watch delivers again later, in order.
	ordered bool
	puts    []record
	dels    []record // only o.ID and modRev are set
	// kept names the keys of a full delta whose values were refused: the table keeps what
	// it had for them rather than dropping them.
	kept []string
	// groups holds the mod revisions of the group keys written (etcd only): the keys that
	// a change enabling or disabling in a group compares.
	groups map[string]int64
	// audit is the entry of the change, stored with it: whoever loads the state appends it
	// to the trail if the trail lacks it.
	audit *AuditEntry
}

// index is the table's state in memory, kept per key so that applying a change costs the
// size of the change, not of the table.
type index struct {
	rev      uint64
	byID     map[string]record
	enabled  map[string]string // group -> the id enabled in it
	members  map[string]int    // group -> how many overrides it has
	groupRev map[string]int64  // group -> mod revision of its etcd group key
	// gone remembers the mod revision of keys deleted by this replica's own changes until
	// the watch passes it, so that an older put delivered late cannot bring them back.
	gone map[string]int64
}

func newIndex() *index {
	return &index{byID: map[string]record{}, enabled: map[string]string{}, members: map[string]int{},
		groupRev: map[string]int64{}, gone: map[string]int64{}}
}

// apply folds d into x. Every key keeps the newest value by mod revision, so that a replica's
// own change and the same change delivered again by the watch, in either order, end the same.
// Records of one change arrive together, so exclusivity holds after each apply; should a
// store hold two enabled overrides of one group anyway (a hand edit), the one written last is
// served and the other is treated as disabled.
func (x *index) apply(d delta) {
	if d.full {
		x.dropMissing(d)
	}
	x.rev = max(x.rev, d.rev)
	for _, r := range d.dels {
		// (>=: no delete has the revision of the put it deletes: equivalent)
		if cur, ok := x.byID[r.o.ID]; ok && cur.modRev > r.modRev {
			continue
		}
		x.remove(r.o.ID)
		if !d.ordered {
			x.gone[r.o.ID] = r.modRev
		}
	}
	for _, r := range d.puts {
		// (>=: skips the same put delivered again: equivalent)
		if cur, ok := x.byID[r.o.ID]; ok && cur.modRev > r.modRev {
			continue
		}
		// (>=: no put has its delete's revision: equivalent)
		if rev, ok := x.gone[r.o.ID]; ok && rev > r.modRev {
			continue
		}
		x.remove(r.o.ID)
		x.byID[r.o.ID] = r
		x.members[r.o.Group]++
		if !r.o.Enabled {
			continue
		}
		// (>=: of two written in one revision by hand, either may win: equivalent)
		if cur, ok := x.enabled[r.o.Group]; ok && x.byID[cur].modRev > r.modRev {
			continue
		}
		x.enabled[r.o.Group] = r.o.ID
	}
	for g, rev := range d.groups {
		x.groupRev[g] = max(x.groupRev[g], rev)
	}
	if d.ordered {
		for id, rev := range x.gone {
			// (<: kept one delta longer; no put has the delete's revision, so equivalent)
			if uint64(rev) <= d.rev {
				delete(x.gone, id)
			}
		}
	}
}

// dropMissing removes what a full state as of d.rev no longer holds; keys written after it
// (by this replica's own change) stay.
func (x *index) dropMissing(d delta) {
	keep := make(map[string]bool, len(d.puts))
	for _, r := range d.puts {
		keep[r.o.ID] = true
	}
	for _, id := range d.kept {
		keep[id] = true
	}
	// What the table served before the store answered (modRev -1) goes whatever d's revision.
	for id, r := range x.byID {
		if !keep[id] && r.modRev <= int64(d.rev) {
			x.remove(id)
		}
	}
	for g, rev := range x.groupRev {
		if _, ok := d.groups[g]; !ok && rev <= int64(d.rev) {
			delete(x.groupRev, g)
		}
	}
}

func (x *index) remove(id string) {
	old, ok := x.byID[id]
	if !ok {
		return
	}
	delete(x.byID, id)
	if x.members[old.o.Group]--; x.members[old.o.Group] <= 0 {
		delete(x.members, old.o.Group)
	}
	if x.enabled[old.o.Group] == id {
		delete(x.enabled, old.o.Group)
	}
}

// enabledOverrides returns the overrides that the query path serves: at most one per group.
func (x *index) enabledOverrides() []Override {
	out := make([]Override, 0, len(x.enabled))
	for _, id := range x.enabled {
		out = append(out, x.byID[id].o)
	}
	return out
}

// state returns the whole table as the API lists it, ordered by id. It costs the size of the
// table, so only readers of the whole table call it, never a change.
func (x *index) state() *State {
	st := &State{Revision: x.rev, Overrides: make([]Override, 0, len(x.byID))}
	for id, r := range x.byID {
		o := r.o
		o.Enabled = o.Enabled && x.enabled[o.Group] == id
		st.Overrides = append(st.Overrides, o)
	}
	slices.SortFunc(st.Overrides, func(a, b Override) int { return strings.Compare(a.ID, b.ID) })
	return st
}

// change is one change in the making: it reads the table through the index (and, after a lost
// race, through fresher values the store read), remembers what it read so that a shared store
// can check that nobody changed it meanwhile, and collects what the change writes.
type change struct {
	x *index
	// fresh holds values read from the store after a conflict, newer than the index's.
	fresh      map[string]*record // nil: the key does not exist
	freshGroup map[string]groupKey

	readIDs    map[string]int64
	readGroups map[string]int64

	puts   map[string]Override
	dels   map[string]bool
	groups map[string]string // group -> id now enabled in it ("" for none)
	order  []string          // ids in the order written, for a stable log
	audit  *AuditEntry       // stored with the change
}

// groupKey is an etcd group key: the id enabled in the group and the key's mod revision.
type groupKey struct {
	id     string
	modRev int64
}

func newChange(x *index, fresh map[string]*record, freshGroup map[string]groupKey) *change {
	return &change{x: x, fresh: fresh, freshGroup: freshGroup,
		readIDs: map[string]int64{}, readGroups: map[string]int64{},
		puts: map[string]Override{}, dels: map[string]bool{}, groups: map[string]string{}}
}

// get returns the override with id as this change sees it.
func (v *change) get(id string) (Override, bool) {
	if o, ok := v.puts[id]; ok {
		return o.clone(), true
	}
	if v.dels[id] {
		return Override{}, false
	}
	r, ok := v.stored(id)
	if _, seen := v.readIDs[id]; !seen {
		v.readIDs[id] = r.modRev
	}
	if !ok {
		return Override{}, false
	}
	o := r.o.clone()
	o.Enabled = o.Enabled && v.enabledIn(o.Group) == id
	if !o.Enabled {
		o.Expires = nil
	}
	return o, true
}

// stored returns the stored record of id. A missing one comes with the mod revision a
// change must compare (0, or that of a bad value it may replace).
func (v *change) stored(id string) (record, bool) {
	if r, ok := v.fresh[id]; ok {
		if r == nil {
			return record{}, false
		}
		return *r, r.o.ID != ""
	}
	r, ok := v.x.byID[id]
	// Served while the store was unreachable, not stored. (No stored key has revision 0: <= is
	// an equivalent mutant.)
	if r.modRev < 0 {
		return record{}, false
	}
	return r, ok
}

// enabledIn returns the id enabled in group, or "".
func (v *change) enabledIn(group string) string {
	if id, ok := v.groups[group]; ok {
		return id
	}
	id, rev := v.x.enabled[group], v.x.groupRev[group]
	if g, ok := v.freshGroup[group]; ok {
		id, rev = g.id, g.modRev
	}
	if _, seen := v.readGroups[group]; !seen {
		v.readGroups[group] = rev
	}
	return id
}

// put writes o; enabling or disabling it updates its group.
func (v *change) put(o Override) {
	old, existed := v.get(o.ID)
	if existed && old.Enabled && (!o.Enabled || old.Group != o.Group) && v.enabledIn(old.Group) == o.ID {
		v.groups[old.Group] = ""
	}
	if o.Enabled {
		v.enabledIn(o.Group)
		v.groups[o.Group] = o.ID
	}
	if _, ok := v.puts[o.ID]; !ok {
		v.order = append(v.order, o.ID)
	}
	delete(v.dels, o.ID)
	v.puts[o.ID] = o.clone()
}

// del removes the override with id.
func (v *change) del(id string) {
	old, ok := v.get(id)
	if !ok {
		return
	}
	if old.Enabled && v.enabledIn(old.Group) == id {
		v.groups[old.Group] = ""
	}
	delete(v.puts, id)
	v.dels[id] = true
}

// count is the number of overrides after this change.
func (v *change) count() int {
	n := len(v.x.byID)
	for id := range v.puts {
		if _, ok := v.x.byID[id]; !ok {
			n++
		}
	}
	for id := range v.dels {
		if _, ok := v.x.byID[id]; ok {
			n--
		}
	}
	return n
}

// hasGroup reports whether any override belongs to group. It is a check for the caller's
// sake, not a read the change depends on.
func (v *change) hasGroup(group string) bool {
	if v.x.members[group] > 0 {
		return true
	}
	for _, o := range v.puts {
		if o.Group == group {
			return true
		}
	}
	return false
}

// empty reports a change that writes nothing.
func (v *change) empty() bool { return len(v.puts) == 0 && len(v.dels) == 0 }

// written returns the overrides the change writes, in the order it wrote them.
func (v *change) written() []Override {
	out := make([]Override, 0, len(v.puts))
	for _, id := range v.order {
		if o, ok := v.puts[id]; ok {
			out = append(out, o)
		}
	}
	return out
}

// deleted returns the ids the change deletes, sorted.
func (v *change) deleted() []string {
	out := make([]string, 0, len(v.dels))
	for id := range v.dels {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// result is the delta of the change once the store gave it revision rev (and, in etcd, that
// mod revision to every key it wrote).
func (v *change) result(rev uint64, modRev int64, ordered bool) delta {
	d := delta{rev: rev, ordered: ordered, groups: map[string]int64{}, audit: v.audit}
	for _, id := range v.deleted() {
		d.dels = append(d.dels, record{o: Override{ID: id}, modRev: modRev})
	}
	for _, o := range v.written() {
		d.puts = append(d.puts, record{o: o, modRev: modRev})
	}
	for g := range v.groups {
		d.groups[g] = modRev
	}
	return d
}
