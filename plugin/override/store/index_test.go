package store

import (
	"fmt"
	"slices"
	"testing"
)

func rec(id, group string, enabled bool, modRev int64) record {
	return record{o: Override{ID: id, Name: id + ".example.test.", Group: group, Addresses: []string{"127.0.0.2"}, Enabled: enabled}, modRev: modRev}
}

func ids(x *index) []string {
	var out []string
	for id := range x.byID {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// TestIndexDeleteAheadOfWatch: a delete this replica made itself (a delta not in the watch's
// order) keeps older puts of the same key, delivered late, from bringing it back; a newer
// put (the key written again) applies; once the watch passes the delete, it is forgotten.
func TestIndexDeleteAheadOfWatch(t *testing.T) {
	x := newIndex()
	puts := []record{rec("a", "g", false, 3), rec("a", "g", true, 4)}
	for _, r := range puts {
		x.apply(delta{rev: uint64(r.modRev), ordered: true, puts: []record{r}})
	}
	x.apply(delta{rev: 5, dels: []record{{o: Override{ID: "a"}, modRev: 5}}})
	// The watch, behind, delivers both puts, one at a time.
	for _, r := range puts {
		x.apply(delta{rev: uint64(r.modRev), ordered: true, puts: []record{r}})
		if _, ok := x.byID["a"]; ok {
			t.Fatalf("a put of revision %d, older than the replica's own delete, brought the override back", r.modRev)
		}
	}
	x.apply(delta{rev: 6, ordered: true, puts: []record{rec("a", "g", false, 6)}})
	if r, ok := x.byID["a"]; !ok || r.modRev != 6 {
		t.Fatalf("a put newer than the delete: %+v, %v; want it applied", r, ok)
	}
	if len(x.gone) != 0 {
		t.Errorf("the delete is still remembered after the watch passed it: %v", x.gone)
	}
}

// TestIndexMembers: a group exists while it has overrides, whatever moves between groups.
func TestIndexMembers(t *testing.T) {
	x := newIndex()
	x.apply(delta{rev: 3, ordered: true, puts: []record{rec("a", "g", false, 3), rec("b", "g", false, 3)}})
	x.apply(delta{rev: 4, ordered: true, puts: []record{rec("b", "h", false, 4)}}) // b moves to h
	if fmt.Sprint(x.members) != "map[g:1 h:1]" {
		t.Errorf("members after a move: %v, want g:1 h:1", x.members)
	}
	x.apply(delta{rev: 5, ordered: true, dels: []record{{o: Override{ID: "a"}, modRev: 5}}})
	if fmt.Sprint(x.members) != "map[h:1]" {
		t.Errorf("members after g's last override went: %v, want only h:1", x.members)
	}
	v := newChange(x, nil, nil)
	if v.hasGroup("g") || !v.hasGroup("h") {
		t.Errorf("hasGroup: g %v, h %v; want false, true", v.hasGroup("g"), v.hasGroup("h"))
	}
}

// TestIndexTwoEnabledInAGroup: should a store hold two enabled overrides of one group (a hand
// edit), the one written last is served, in whichever order they arrive.
func TestIndexTwoEnabledInAGroup(t *testing.T) {
	for _, order := range [][]record{
		{rec("a", "g", true, 3), rec("b", "g", true, 7)},
		{rec("b", "g", true, 7), rec("a", "g", true, 3)},
	} {
		x := newIndex()
		x.apply(delta{rev: 7, full: true, ordered: true, puts: order})
		if got := x.enabled["g"]; got != "b" {
			t.Errorf("arriving as %s then %s: %q served, want b (written last)", order[0].o.ID, order[1].o.ID, got)
		}
	}
}

// TestIndexFullReadDropsWhatItLacks: a full read as of revision R removes what it does not
// hold and was written at or before R (gone from the store); what this replica wrote after R
// stays, overrides and group keys alike.
func TestIndexFullReadDropsWhatItLacks(t *testing.T) {
	x := newIndex()
	x.apply(delta{rev: 7, ordered: true,
		puts:   []record{rec("old", "g", false, 3), rec("at", "g", false, 5), rec("new", "g", false, 7), rec("read", "g", false, 2)},
		groups: map[string]int64{"g-old": 3, "g-at": 5, "g-new": 7, "g-read": 2}})
	x.apply(delta{rev: 5, full: true, ordered: true, puts: []record{rec("read", "g", false, 2)}, groups: map[string]int64{"g-read": 2}})
	if got := fmt.Sprint(ids(x)); got != "[new read]" {
		t.Errorf("overrides after a full read as of 5: %s, want [new read]", got)
	}
	var groups []string
	for g := range x.groupRev {
		groups = append(groups, g)
	}
	slices.Sort(groups)
	if got := fmt.Sprint(groups); got != "[g-new g-read]" {
		t.Errorf("group keys after a full read as of 5: %s, want [g-new g-read]", got)
	}
}
