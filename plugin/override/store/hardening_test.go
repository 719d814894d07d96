package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// counterValue reads one series of a counter vector, so that a test sees its own delta.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// Temporary files of a write interrupted by a kill are removed at the next start, each with a
// log line; other files in the directory are not, nor a directory named like a temporary file.
func TestFileStoreRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "overrides.json")
	left := []string{".overrides.json.tmp1234", ".overrides.json.tmp98765"}
	keep := []string{"overrides.json.audit.jsonl", ".other.json.tmp1", "notes.txt"}
	for _, n := range append(append([]string{}, left...), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("{"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".overrides.json.tmpdir"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".overrides.json.tmpdir")
	logs := captureLog(t)
	if _, err := loadState(context.Background(), newFileStore(path)); err != nil {
		t.Fatal(err)
	}
	for _, n := range left {
		if _, err := os.Stat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind: %v", n, err)
		}
		if want := "removed " + n + ", left by an interrupted write"; strings.Count(logs.String(), want) != 1 {
			t.Errorf("log %q, want one line that says %q", logs.String(), want)
		}
	}
	for _, n := range keep {
		if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s removed: %v", n, err)
		}
	}
}

// A change saved but not audited (the process died between the two) is audited at the next
// start from the entry stored with the state; a trail that has it is left alone.
func TestAuditReconciledAtStart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := newTable(path, newFileStore(path), &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tab, "g", "a.test", 2)
	if _, err := tab.Enable(ctx, tester, "s2", 0); err != nil {
		t.Fatal(err)
	}
	// The kill: the audit trail loses its last line, the store has the change.
	trail := path + ".audit.jsonl"
	data, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
	if err := os.WriteFile(trail, []byte(strings.Join(lines[:len(lines)-1], "")), 0o600); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second start must not add it again
		again := newTable(path, newFileStore(path), &auditLog{path: trail})
		if err := again.load(ctx); err != nil {
			t.Fatal(err)
		}
		page, err := again.audit.tail(10)
		if err != nil {
			t.Fatal(err)
		}
		var revs []uint64
		for _, e := range page.Entries {
			revs = append(revs, e.Revision)
		}
		last := page.Entries[len(page.Entries)-1]
		if fmt.Sprint(revs) != "[1 2 3]" || last.Action != "enable" || last.ID != "s2" || last.Who != "tester" {
			t.Fatalf("trail after restart: revisions %v, last %+v; want 1 2 3 ending in tester's enable of s2", revs, last)
		}
	}
}

// At the last revision there is, a change is refused (errLimit) and nothing is written,
// instead of wrapping to 0, which every replica would ignore as old.
func TestRevisionDoesNotWrap(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "overrides.json")
	start := fmt.Sprintf(`{"revision": %d, "overrides": []}`, uint64(math.MaxUint64-1))
	if err := os.WriteFile(path, []byte(start), 0o600); err != nil {
		t.Fatal(err)
	}
	tab := newTable(path, newFileStore(path), &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tab, "g", "a.test", 1)
	if got := tab.Current().Revision; got != math.MaxUint64 {
		t.Fatalf("revision %d, want the last one", got)
	}
	_, err := tab.Create(ctx, tester, Override{ID: "s2", Name: "a.test", Group: "g", Addresses: []string{"10.0.0.2"}})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "revision") {
		t.Fatalf("change at the last revision: got %v, want errLimit naming the revision", err)
	}
	st, err := loadState(ctx, newFileStore(path))
	if err != nil || st.Revision != math.MaxUint64 || len(st.Overrides) != 1 {
		t.Fatalf("store after the refused change: %+v, %v; want unchanged", st, err)
	}
	if tab.Current().Revision != math.MaxUint64 || len(tab.Current().Overrides) != 1 {
		t.Fatalf("table after the refused change: %+v", tab.Current())
	}
}

// max_overrides refuses the create that would pass it, naming the limit, and changes nothing.
func TestMaxOverrides(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	tab.setLimit(2)
	mustCreate(t, tab, "g", "a.test", 2)
	rev := tab.Current().Revision
	_, err := tab.Create(ctx, tester, Override{ID: "s3", Name: "a.test", Addresses: []string{"10.0.0.3"}})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "max_overrides is 2") {
		t.Fatalf("third create: got %v, want errLimit naming max_overrides 2", err)
	}
	if tab.Current().Revision != rev || len(tab.Current().Overrides) != 2 {
		t.Fatalf("refused create changed the table: %+v", tab.Current())
	}
	// Declared overrides count too; the ones the store has already do not add.
	err = tab.seed(ctx, []Override{{ID: "d1", Name: "d.test.", Group: "d.test.", Addresses: []string{"10.0.0.9"}}})
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("seed over the limit: got %v, want errLimit", err)
	}
	if err := tab.Remove(ctx, tester, "s1"); err != nil {
		t.Fatal(err)
	}
	mustCreateOne(t, tab, Override{ID: "s4", Name: "a.test", Addresses: []string{"10.0.0.4"}})
	tab.setLimit(0)
	if tab.limit.Load() != defaultMaxOverrides {
		t.Fatalf("default limit %d, want %d", tab.limit.Load(), defaultMaxOverrides)
	}
}

func mustCreateOne(t *testing.T, tab *Table, o Override) {
	t.Helper()
	if _, err := tab.Create(context.Background(), tester, o); err != nil {
		t.Fatal(err)
	}
}

// panicStore is a file store whose updates panic while armed: a seam for a bug in a
// background loop, which the real stores do not have on purpose.
type panicStore struct {
	*fileStore
	armed chan struct{} // closed: panic
}

func (p *panicStore) Update(ctx context.Context, build func(map[string]*record, map[string]groupKey) (*change, error)) (delta, error) {
	select {
	case <-p.armed:
		panic("injected")
	default:
	}
	return p.fileStore.Update(ctx, build)
}

// A panic in the expiry reaper is logged and counted, the table keeps its state, and the
// reaper goes on (it panics again on the next tick and is counted again).
func TestReaperSurvivesPanic(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "overrides.json")
	store := &panicStore{fileStore: newFileStore(path), armed: make(chan struct{})}
	tab := newTable(path, store, &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tab, "g", "a.test", 1)
	before := tab.Current()
	counter := panics.WithLabelValues("reaper")
	start := counterValue(t, counter)
	close(store.armed)

	done := make(chan struct{})
	go func() { defer close(done); tab.reap(ctx, time.Millisecond) }()
	deadline := time.Now().Add(10 * time.Second)
	for counterValue(t, counter) < start+2 {
		if time.Now().After(deadline) {
			t.Fatalf("panics_total{loop=reaper} = %v, want at least %v", counterValue(t, counter), start+2)
		}
		time.Sleep(time.Millisecond)
	}
	if tab.Current() != before {
		t.Fatalf("state changed by a panicking reaper")
	}
	cancel()
	<-done
}

// The file audit trail rotates to FILE.1 at its size and tail reads across both.
func TestAuditLogRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	a := &auditLog{path: path, maxBytes: 1000}
	for rev := uint64(1); rev <= 40; rev++ {
		if err := a.append(AuditEntry{Action: "create", ID: fmt.Sprint("o", rev), Revision: rev}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() > 1000 {
			t.Fatalf("%s: %v, %v; want at most 1000 bytes", p, fi, err)
		}
	}
	if _, err := os.Stat(path + ".2"); err == nil {
		t.Fatal("more than one rotated file")
	}
	page, err := a.tail(15)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 15 || page.Entries[0].Revision != 26 || page.Entries[14].Revision != 40 {
		t.Fatalf("tail(15) across the rotation: %+v", page.Entries)
	}
}

// TestAuditLogRotatesAtTheLimit: a file holds entries (each a line and its newline) up to
// exactly its limit; the entry that would pass it by one byte goes to a fresh file instead.
func TestAuditLogRotatesAtTheLimit(t *testing.T) {
	entry := func(rev uint64) AuditEntry { return AuditEntry{Action: "create", ID: "o", Revision: rev} }
	line, _ := json.Marshal(entry(1))
	size := int64(len(line) + 1) // every entry below has this size: one-digit revisions
	for _, tc := range []struct {
		limit   int64
		rotated bool
	}{{2 * size, false}, {2*size - 1, true}} {
		path := filepath.Join(t.TempDir(), "a.jsonl")
		a := &auditLog{path: path, maxBytes: tc.limit}
		for rev := uint64(1); rev <= 2; rev++ {
			if err := a.append(entry(rev)); err != nil {
				t.Fatal(err)
			}
		}
		_, err := os.Stat(path + ".1")
		if rotated := err == nil; rotated != tc.rotated {
			t.Errorf("two entries of %d bytes with a limit of %d: rotated %v, want %v", size, tc.limit, rotated, tc.rotated)
		}
		if fi, err := os.Stat(path); err != nil {
			t.Error(err)
		} else if fi.Size() > tc.limit {
			t.Errorf("with a limit of %d the file holds %d bytes", tc.limit, fi.Size())
		}
	}
}

// tail reads from the end: a damaged line and a line over 1 MiB are skipped (and logged), the
// entries after them are not hidden, and the order is kept.
func TestAuditLogTailSkipsDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	var b strings.Builder
	b.WriteString(`{"action":"create","revision":1}` + "\n")
	b.WriteString(`{"action":"crea` + "\n") // torn write
	b.WriteString(`{"action":"create","revision":2,"id":"` + strings.Repeat("x", maxAuditLine+10) + `"}` + "\n")
	b.WriteString("\n")
	b.WriteString(`{"action":"enable","revision":3}` + "\n")
	b.WriteString(`{"action":"disable","revision":4}`) // no final newline
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &auditLog{path: path}
	for n, want := range map[int]string{1: "[4]", 2: "[3 4]", 3: "[1 3 4]", 10: "[1 3 4]"} {
		page, err := a.tail(n)
		if err != nil {
			t.Fatal(err)
		}
		var revs []uint64
		for _, e := range page.Entries {
			revs = append(revs, e.Revision)
		}
		if fmt.Sprint(revs) != want {
			t.Errorf("tail(%d) = %v, want %s", n, revs, want)
		}
	}
}

// The empty file and the missing file have no entries, and the entries list is never null.
func TestAuditLogTailEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.jsonl")
	a := &auditLog{path: path}
	page, err := a.tail(5)
	if err != nil || page.Entries == nil || len(page.Entries) != 0 {
		t.Fatalf("missing file: %+v, %v", page, err)
	}
	os.WriteFile(path, []byte("\n"), 0o600)
	page, err = a.tail(5)
	if err != nil || len(page.Entries) != 0 {
		t.Fatalf("blank file: %+v, %v", page, err)
	}
}

// update moving an enabled override into another group switches that group's enabled member
// off in the same change; the stored table passes the load check (a restart comes back).
func TestUpdateMoveEnabledIntoGroup(t *testing.T) {
	ctx := context.Background()
	tab := newTestTable(t)
	mustCreate(t, tab, "cats", "cats.test", 2)
	if _, err := tab.Enable(ctx, tester, "s2", 0); err != nil {
		t.Fatal(err)
	}
	mustCreateOne(t, tab, Override{ID: "mover", Name: "dogs.test", Group: "elsewhere", Addresses: []string{"10.0.0.9"}, Enabled: true})
	if _, err := tab.Update(ctx, tester, "mover", Override{Name: "cats.test", Group: "cats", Addresses: []string{"10.0.0.9"}}); err != nil {
		t.Fatal(err)
	}
	if got := enabledIDs(tab.Current()); fmt.Sprint(got) != "[mover]" {
		t.Fatalf("enabled after the move: %v, want [mover]", got)
	}
	path := tab.key
	if _, err := loadState(ctx, newFileStore(path)); err != nil {
		t.Fatalf("store after the move does not load: %v", err)
	}
}

// failStore is a file store whose updates fail with err: a store that keeps refusing.
type failStore struct {
	*fileStore
	err error
}

func (f *failStore) Update(context.Context, func(map[string]*record, map[string]groupKey) (*change, error)) (delta, error) {
	return delta{}, f.err
}

// An expiry the store keeps refusing is logged once, not at every tick of the reaper.
func TestReaperLogsALastingErrorOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	path := filepath.Join(t.TempDir(), "overrides.json")
	fs := newFileStore(path)
	tab := newTable(path, fs, &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, tab, "g", "a.test", 1)
	if _, err := tab.Enable(ctx, tester, "s1", time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // past the expiry, which the store will refuse to record
	tab.store = &failStore{fileStore: fs, err: errors.New("disk on fire")}
	logs := captureLog(t)
	done := make(chan struct{})
	go func() { defer close(done); tab.reap(ctx, time.Millisecond) }()
	etcdWaitFor(t, func() bool { return strings.Contains(logs.String(), "disk on fire") })
	time.Sleep(50 * time.Millisecond) // dozens of ticks more, each refused the same way
	cancel()
	<-done
	if n := strings.Count(logs.String(), "disk on fire"); n != 1 {
		t.Errorf("the lasting error was logged %d times, want once:\n%s", n, logs.String())
	}
}
