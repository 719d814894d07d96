package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fileTable opens a table on the file store at path.
func fileTable(t testing.TB, path string) *Table {
	t.Helper()
	tab := newTable(path, newFileStore(path), &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.store.(*fileStore).Close() })
	return tab
}

// A change appends one line to PATH.log and leaves the snapshot alone; a restart replays the
// log over the snapshot and ends with the same table.
func TestFileStoreChangeAppendsOneLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := fileTable(t, path)
	mustCreate(t, tab, "cats", "cats.example.test", 3)
	if _, err := tab.Enable(context.Background(), tester, "s2", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a small change rewrote the snapshot: %v", err)
	}
	data, err := os.ReadFile(path + ".log")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 4 {
		t.Fatalf("log has %d lines, want 4 (3 creates, 1 enable):\n%s", len(lines), data)
	}
	if !strings.Contains(lines[3], `"revision":4`) || !strings.Contains(lines[3], `"action":"enable"`) || strings.Contains(lines[3], `"s1"`) {
		t.Errorf("the enable's line holds more than the change: %s", lines[3])
	}
	logs := captureLog(t)
	again := fileTable(t, path)
	if got := enabledIDs(again.Current()); fmt.Sprint(got) != "[s2]" || again.Current().Revision != 4 || len(again.Current().Overrides) != 3 {
		t.Fatalf("after restart: %+v", again.Current())
	}
	if logs.String() != "" {
		t.Errorf("replaying a sound log logged %q, want nothing", logs.String())
	}
}

// When the log outgrows the snapshot, the snapshot is written again and the log emptied; a
// crash between the two (old log, new snapshot) replays nothing twice.
func TestFileStoreCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := fileTable(t, path)
	s := tab.store.(*fileStore)
	mustCreate(t, tab, "cats", "cats.example.test", 3)
	s.mu.Lock()
	oldLog, _ := os.ReadFile(path + ".log")
	err := s.compact()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + ".log"); err != nil || fi.Size() != 0 {
		t.Fatalf("log after compaction: %v, %v", fi, err)
	}
	st, err := decodeState(mustRead(t, path))
	if err != nil || st.Revision != 3 || len(st.Overrides) != 3 || st.Audit == nil || st.Audit.Revision != 3 {
		t.Fatalf("snapshot after compaction: %+v, %v", st, err)
	}
	// The crash: the old log is back beside the new snapshot.
	if err := os.WriteFile(path+".log", oldLog, 0o600); err != nil {
		t.Fatal(err)
	}
	again := fileTable(t, path)
	if again.Current().Revision != 3 || len(again.Current().Overrides) != 3 {
		t.Fatalf("after a crash mid-compaction: %+v", again.Current())
	}
	if _, err := again.Enable(context.Background(), tester, "s1", 0); err != nil {
		t.Fatal(err)
	}
	if got := fileTable(t, path).Current(); got.Revision != 4 || fmt.Sprint(enabledIDs(got)) != "[s1]" {
		t.Fatalf("after the next change and a restart: %+v", got)
	}
}

// Compaction runs on its own once the log is larger than the snapshot and compactMin.
func TestFileStoreCompactsOnSize(t *testing.T) {
	t.Parallel() // its own directory
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := fileTable(t, path)
	mustCreate(t, tab, "cats", "cats.example.test", 2)
	note := strings.Repeat("n", maxNoteLen)
	for i := 0; ; i++ {
		o := Override{ID: "s1", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.2"}, Note: fmt.Sprint(i, note)[:maxNoteLen]}
		if _, err := tab.Update(context.Background(), tester, "s1", o); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); err == nil {
			break
		}
		if i > 2*compactMin/maxNoteLen {
			t.Fatal("the log grew past compactMin without a snapshot")
		}
	}
	if fi, _ := os.Stat(path + ".log"); fi.Size() != 0 {
		t.Errorf("log after compaction: %d bytes", fi.Size())
	}
	// The store counts from the new snapshot: the next change goes to the log, and the
	// snapshot stays until the log has grown past it again.
	snap := mustRead(t, path)
	if fs := tab.store.(*fileStore); fs.logSize != 0 || fs.snapSize != int64(len(snap)) {
		t.Errorf("after compaction the store counts a log of %d bytes and a snapshot of %d, want 0 and %d", fs.logSize, fs.snapSize, len(snap))
	}
	o := Override{ID: "s1", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.3"}}
	if _, err := tab.Update(context.Background(), tester, "s1", o); err != nil {
		t.Fatal(err)
	}
	if again := mustRead(t, path); string(again) != string(snap) {
		t.Error("the change after a compaction compacted again")
	}
	if fi, _ := os.Stat(path + ".log"); fi.Size() == 0 {
		t.Error("the change after a compaction is not in the log")
	}
}

// A compaction that fails (here the snapshot cannot replace what is at its path) is logged and
// loses nothing: the change is already durable in the log, and a restart reads it from there.
func TestFileStoreCompactionFailureLosesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := fileTable(t, path)
	mustCreate(t, tab, "cats", "cats.example.test", 2)
	if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	tab.store.(*fileStore).logSize = compactMin + 1 // as if the log had grown past its bound
	logs := captureLog(t)
	if _, err := tab.Enable(context.Background(), tester, "s1", 0); err != nil {
		t.Fatalf("a change whose compaction fails: %v, want it saved", err)
	}
	if n := strings.Count(logs.String(), "rewriting the snapshot"); n != 1 {
		t.Errorf("log %q, want one line about the failed compaction", logs.String())
	}
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	again := fileTable(t, path)
	if st := again.Current(); len(st.Overrides) != 2 || fmt.Sprint(enabledIDs(st)) != "[s1]" {
		t.Errorf("after a restart the table is %+v, want both overrides and s1 enabled", st.Overrides)
	}
}

// A last line cut short by a crash was never acknowledged: it is dropped and the store starts.
// A bad line before the last is damage: the start fails naming the file and the line.
func TestFileStoreLogDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab := fileTable(t, path)
	mustCreate(t, tab, "cats", "cats.example.test", 2)
	tab.store.(*fileStore).Close()
	good := mustRead(t, path+".log")

	for name, tail := range map[string]string{"torn": `{"revision":3,"put":[{"id":"s3"`, "garbage": "\x00\x00\x00\n"} {
		if err := os.WriteFile(path+".log", append(append([]byte{}, good...), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		again := fileTable(t, path)
		if again.Current().Revision != 2 || len(again.Current().Overrides) != 2 {
			t.Fatalf("%s last line: %+v", name, again.Current())
		}
		again.store.(*fileStore).Close()
		if got := mustRead(t, path+".log"); string(got) != string(good) {
			t.Errorf("%s last line not cut off: %q", name, got)
		}
	}

	lines := strings.SplitAfter(string(good), "\n")
	for name, bad := range map[string]string{
		"not json": "{nope\n",
		"bad addr": `{"revision":2,"put":[{"id":"s9","name":"a.test.","addresses":["10.0.0.300"]}]}` + "\n",
		"gap":      `{"revision":7,"put":[{"id":"s9","name":"a.test.","addresses":["10.0.0.3"]}]}` + "\n",
		"two on":   `{"revision":2,"put":[{"id":"s1","name":"cats.example.test.","group":"cats","addresses":["10.0.0.3"],"enabled":true},{"id":"s2","name":"cats.example.test.","group":"cats","addresses":["10.0.0.3"],"enabled":true}]}` + "\n",
		"empty id": `{"revision":2,"delete":[""]}` + "\n",
		"empty":    "\n",
	} {
		damaged := lines[0] + bad + `{"revision":3,"delete":["s1"]}` + "\n"
		if name == "two on" {
			damaged = lines[0] + bad
		}
		if err := os.WriteFile(path+".log", []byte(damaged), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadState(context.Background(), newFileStore(path))
		if err == nil || !strings.Contains(err.Error(), path) || name != "two on" && !strings.Contains(err.Error(), "line 2") {
			t.Errorf("%s: start with a damaged log: %v, want an error naming the file and line 2", name, err)
		}
	}
}

// A JSON file written by an earlier version (the whole table, with the last change's audit
// entry) is read as the snapshot: nothing to migrate, and its entry is audited if missing.
func TestFileStoreReadsEarlierFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overrides.json")
	old := `{"revision": 7, "overrides": [{"id":"a","name":"a.test.","group":"g","addresses":["10.0.0.1"],"enabled":true}],
	"audit": {"who":"alice","action":"enable","id":"a","revision":7}}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	tab := fileTable(t, path)
	if got := tab.Current(); got.Revision != 7 || fmt.Sprint(enabledIDs(got)) != "[a]" {
		t.Fatalf("earlier file loads as %+v", got)
	}
	page, err := tab.audit.tail(5)
	if err != nil || len(page.Entries) != 1 || page.Entries[0].Who != "alice" {
		t.Fatalf("audit after loading an earlier file: %+v, %v", page, err)
	}
	if _, err := tab.Disable(context.Background(), tester, "a"); err != nil {
		t.Fatal(err)
	}
	if got := fileTable(t, path).Current(); got.Revision != 8 || len(enabledIDs(got)) != 0 {
		t.Fatalf("after a change and a restart: %+v", got)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
