package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestTable returns a table on a file store in a fresh directory.
func newTestTable(t testing.TB) *Table {
	t.Helper()
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := newTable(path, newFileStore(path), &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tab
}

var tester = Actor{Who: "tester", From: "127.0.0.1:1"}

// mustCreate adds servers s1..sn for name in group, all disabled.
func mustCreate(t testing.TB, tab *Table, group, name string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		o := Override{ID: fmt.Sprintf("s%d", i), Name: name, Group: group, Addresses: []string{fmt.Sprintf("127.0.0.%d", i+1)}}
		if _, err := tab.Create(context.Background(), tester, o); err != nil {
			t.Fatal(err)
		}
	}
}

func enabledIDs(st *State) []string {
	var ids []string
	for _, o := range st.Overrides {
		if o.Enabled {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

func TestEnableSwitchesWithinGroup(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	mustCreate(t, tab, "cats", "cats.example.test", 3)

	if _, err := tab.Enable(ctx, tester, "s2", 0); err != nil {
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); fmt.Sprint(got) != "[s2]" {
		t.Fatalf("enabled = %v, want [s2]", got)
	}
	if _, err := tab.Enable(ctx, tester, "s3", 0); err != nil {
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); fmt.Sprint(got) != "[s3]" {
		t.Fatalf("enabled = %v, want [s3]", got)
	}
	page, err := tab.audit.tail(10)
	if err != nil {
		t.Fatal(err)
	}
	last := page.Entries[len(page.Entries)-1]
	if last.Action != "enable" || last.ID != "s3" || fmt.Sprint(last.Disabled) != "[s2]" || last.Who != "tester" {
		t.Errorf("last audit entry = %+v", last)
	}
	if _, err := tab.Disable(ctx, tester, "s3"); err != nil {
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); len(got) != 0 {
		t.Fatalf("enabled = %v, want none", got)
	}
}

func TestTableErrors(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	mustCreate(t, tab, "cats", "cats.example.test", 1)
	rev := tab.Current().Revision

	if _, err := tab.Enable(ctx, tester, "nope", 0); !errors.Is(err, ErrNotFound) {
		t.Errorf("enable unknown: %v", err)
	}
	if _, err := tab.Create(ctx, tester, Override{ID: "s1", Name: "x.test", Addresses: []string{"1.1.1.1"}}); !errors.Is(err, ErrConflict) {
		t.Errorf("create duplicate: %v", err)
	}
	var fe *FieldError
	if _, err := tab.Create(ctx, tester, Override{Name: "x.test", Addresses: []string{"1.1.1"}}); !errors.As(err, &fe) || fe.Field != "addresses" {
		t.Errorf("create bad address: %v", err)
	}
	if _, err := tab.DisableGroup(ctx, tester, "dogs"); !errors.As(err, &fe) || fe.Field != "group" {
		t.Errorf("disable unknown group: %v", err)
	}
	if got := tab.Current().Revision; got != rev {
		t.Errorf("failed changes moved the revision from %d to %d", rev, got)
	}
}

// TestConcurrentEnables races enables within one group: whatever the interleaving, exactly
// one override ends enabled, every reader sees at most one, and each enable is recorded.
func TestConcurrentEnables(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	mustCreate(t, tab, "cats", "cats.example.test", 4)
	rev := tab.Current().Revision

	var (
		wg      sync.WaitGroup
		stop    = make(chan struct{})
		readers sync.WaitGroup
	)
	readers.Add(1)
	go func() {
		defer readers.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := len(enabledIDs(tab.Current())); n > 1 {
				t.Errorf("a reader saw %d enabled overrides", n)
				return
			}
			if pins := servedFor(tab, "cats.example.test."); len(pins) > 1 {
				t.Errorf("the query path saw %d pins", len(pins))
				return
			}
		}
	}()
	const rounds = 5
	for i := 1; i <= 4; i++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			for range rounds {
				if _, err := tab.Enable(ctx, tester, id, 0); err != nil {
					t.Error(err)
				}
			}
		}(fmt.Sprintf("s%d", i))
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	if got := enabledIDs(tab.Current()); len(got) != 1 {
		t.Fatalf("enabled = %v, want exactly one", got)
	}
	if got, want := tab.Current().Revision, rev+4*rounds; got != want {
		t.Errorf("revision = %d, want %d: a change was lost", got, want)
	}
	reloaded := newFileStore(tab.key)
	st, err := loadState(ctx, reloaded)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(enabledIDs(&st)) != fmt.Sprint(enabledIDs(tab.Current())) || st.Revision != tab.Current().Revision {
		t.Errorf("file holds %v rev %d, memory %v rev %d", enabledIDs(&st), st.Revision, enabledIDs(tab.Current()), tab.Current().Revision)
	}
}

func TestExpire(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	mustCreate(t, tab, "cats", "cats.example.test", 1)
	if _, err := tab.Enable(ctx, tester, "s1", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if pins := servedFor(tab, "cats.example.test."); len(pins) != 0 {
		t.Error("an expired override still answers")
	}
	if err := tab.expire(ctx); err != nil {
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); len(got) != 0 {
		t.Errorf("enabled after expiry: %v", got)
	}
	rev := tab.Current().Revision
	if err := tab.expire(ctx); err != nil {
		t.Fatal(err)
	}
	if tab.Current().Revision != rev {
		t.Error("an expiry with nothing to do wrote the store")
	}
}

func TestSeedKeepsStoredState(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	decls := []Override{
		{ID: "s1", Name: "cats.example.test.", Group: "cats", Addresses: []string{"127.0.0.2"}},
		{ID: "s2", Name: "cats.example.test.", Group: "cats", Addresses: []string{"127.0.0.3"}, Enabled: true},
	}
	if err := tab.seed(ctx, decls); err != nil {
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); fmt.Sprint(got) != "[s2]" {
		t.Fatalf("after seeding enabled = %v, want [s2]", got)
	}
	if _, err := tab.Enable(ctx, tester, "s1", 0); err != nil {
		t.Fatal(err)
	}
	rev := tab.Current().Revision
	if err := tab.seed(ctx, decls); err != nil { // a reload with the same Corefile
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); fmt.Sprint(got) != "[s1]" || tab.Current().Revision != rev {
		t.Errorf("a second seeding undid the operator's change: enabled %v", got)
	}
}

// TestRegistryLifecycle shares one table between two instances (a reload), keeps it while
// one runs, and forgets it, with its goroutines stopped, when the last one stops.
func TestRegistryLifecycle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "o.json")
	open := func() *Table {
		tab, unreached, err := tables.open(ctx, path, func() (backend, auditTrail) {
			return newFileStore(path), &auditLog{path: path + ".audit.jsonl"}
		})
		if err != nil || unreached != nil {
			t.Fatal(err, unreached)
		}
		return tab
	}
	old := open()
	tables.acquire(old)
	next := open() // the new instance of a reload, before the old one stops
	if next != old {
		t.Fatal("a reload got a second table for the same store")
	}
	tables.acquire(next)
	tables.release(old)
	if open() != old {
		t.Error("the table was dropped while an instance still runs")
	}
	tables.release(next)
	tables.mu.Lock()
	_, kept := tables.m[path]
	tables.mu.Unlock()
	if kept {
		t.Error("the table outlived its last instance")
	}
}

// A store that cannot be read opens no table and leaves nothing in the registry: a caller
// must never get a usable table together with an error.
func TestRegistryOpenRefusesBadStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.json")
	if err := os.WriteFile(path, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	tab, unreached, err := tables.open(context.Background(), path, func() (backend, auditTrail) {
		return newFileStore(path), &auditLog{path: path + ".audit.jsonl"}
	})
	if err == nil || tab != nil || unreached != nil {
		t.Fatalf("corrupt store: table %v, unreached %v, error %v; want only an error", tab, unreached, err)
	}
	tables.mu.Lock()
	_, kept := tables.m[path]
	tables.mu.Unlock()
	if kept {
		t.Error("the registry kept the table of a store it could not read")
	}
}

// A subscriber gets the enabled overrides at once and after every change, hears of a
// delete, and hears nothing once it has cancelled.
func TestSubscribe(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	mustCreate(t, tab, "cats", "cats.example.test", 2)
	sub := &recording{}
	cancel := tab.Subscribe(sub)
	if got := sub.enabled(); len(got) != 0 {
		t.Fatalf("first publication: %v enabled, want none", got)
	}
	if _, err := tab.Enable(ctx, tester, "s1", 0); err != nil {
		t.Fatal(err)
	}
	if got := sub.enabled(); len(got) != 1 || got[0] != "s1" {
		t.Fatalf("after enabling s1 the subscriber has %v", got)
	}
	if err := tab.Remove(ctx, tester, "s2"); err != nil {
		t.Fatal(err)
	}
	if got := sub.removedIDs(); len(got) != 1 || got[0] != "s2" {
		t.Fatalf("after removing s2 the subscriber heard %v", got)
	}
	cancel()
	n := sub.count()
	if _, err := tab.Disable(ctx, tester, "s1"); err != nil {
		t.Fatal(err)
	}
	if sub.count() != n {
		t.Error("a cancelled subscriber still hears of changes")
	}
}

// recording is a subscriber that keeps everything it hears.
type recording struct {
	mu        sync.Mutex
	last      State
	published int
	removed   []string
}

func (r *recording) Publish(st State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last, r.published = st, r.published+1
}

func (r *recording) Removed(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed = append(r.removed, id)
}

func (r *recording) enabled() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return enabledIDs(&r.last)
}

func (r *recording) removedIDs() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.removed)
}

func (r *recording) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.published
}

// TestTableEnabledGaugeAndLookup: the enabled gauge counts the overrides in force, and a
// lookup says whether the override is the one its group serves.
func TestTableEnabledGaugeAndLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := fileTable(t, path)
	mustCreate(t, tab, "cats", "cats.example.test", 2)
	gauge := enabledOverrides.WithLabelValues(tab.key)
	for _, step := range []struct {
		enable, want string
		n            float64
	}{{"s1", "s1", 1}, {"s2", "s2", 1}} {
		if _, err := tab.Enable(context.Background(), tester, step.enable, 0); err != nil {
			t.Fatal(err)
		}
		if got := gaugeValue(t, gauge); got != step.n {
			t.Errorf("after enabling %s the enabled gauge is %v, want %v", step.enable, got, step.n)
		}
		for _, id := range []string{"s1", "s2"} {
			if o, ok := tab.lookup(id); !ok || o.Enabled != (id == step.want) {
				t.Errorf("after enabling %s, lookup(%s) says enabled %v (found %v)", step.enable, id, o.Enabled, ok)
			}
		}
	}
	if _, err := tab.Disable(context.Background(), tester, "s2"); err != nil {
		t.Fatal(err)
	}
	if got := gaugeValue(t, gauge); got != 0 {
		t.Errorf("after disabling the enabled gauge is %v, want 0", got)
	}
}

// TestTableAuditFailureLogged: a change saved but not audited (the trail cannot be written)
// stands, and the log says so; a change audited says nothing.
func TestTableAuditFailureLogged(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "overrides.json")
	tab := newTable(path, newFileStore(path), &auditLog{path: filepath.Join(dir, "audit")})
	if err := tab.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.store.(*fileStore).Close() })
	logs := captureLog(t)
	mustCreate(t, tab, "cats", "cats.example.test", 1)
	if logs.String() != "" {
		t.Errorf("an audited change logged %q", logs.String())
	}
	if err := os.Mkdir(filepath.Join(dir, "audit"+".1"), 0o700); err != nil { // keeps rotation from helping
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "audit")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "audit"), 0o700); err != nil { // the trail is now a directory
		t.Fatal(err)
	}
	if _, err := tab.Enable(context.Background(), tester, "s1", 0); err != nil {
		t.Fatalf("a change whose audit fails: %v, want it saved", err)
	}
	if !strings.Contains(logs.String(), `change enable of "s1" saved, but not audited`) {
		t.Errorf("log %q, want a line saying the enable was saved but not audited", logs.String())
	}
	if o, ok := tab.lookup("s1"); !ok || !o.Enabled {
		t.Error("the change whose audit failed did not stand")
	}
	// A restart finds the entry saved with the change and not in the trail; it still cannot
	// add it, says so, and serves the state all the same.
	tab.store.(*fileStore).Close()
	again := newTable(path, newFileStore(path), &auditLog{path: filepath.Join(dir, "audit")})
	if err := again.load(context.Background()); err != nil {
		t.Fatalf("a restart with an audit trail that cannot be written: %v, want it to start", err)
	}
	t.Cleanup(func() { again.store.(*fileStore).Close() })
	if !strings.Contains(logs.String(), "saved with the change, not yet in the trail") {
		t.Errorf("log %q, want a line saying the entry is not yet in the trail", logs.String())
	}
	if o, ok := again.lookup("s1"); !ok || !o.Enabled {
		t.Error("after the restart s1 is not served enabled")
	}
}
