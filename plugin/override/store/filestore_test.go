package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileStoreRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "o.json")
	s := newFileStore(path)
	if st, err := loadState(ctx, s); err != nil || len(st.Overrides) != 0 {
		t.Fatalf("missing file: %v, %+v", err, st)
	}
	_, err := storeUpdate(ctx, s, func(v *change) error {
		v.put(Override{ID: "a", Name: "a.test.", Group: "a.test.", Addresses: []string{"10.0.0.1"}, Enabled: true})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := loadState(ctx, newFileStore(path))
	if err != nil {
		t.Fatal(err)
	}
	if st.Revision != 1 || len(st.Overrides) != 1 || !st.Overrides[0].Enabled {
		t.Errorf("reloaded %+v", st)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "o.json.log" { // the change's log, no snapshot yet
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestFileStoreBadFiles(t *testing.T) {
	dir := t.TempDir()
	tests := map[string]string{
		"garbage":   "{not json",
		"bad addr":  `{"overrides":[{"id":"a","name":"a.test.","addresses":["10.0.0.300"]}]}`,
		"duplicate": `{"overrides":[{"id":"a","name":"a.test.","addresses":["10.0.0.1"]},{"id":"a","name":"b.test.","addresses":["10.0.0.1"]}]}`,
		"two on":    `{"overrides":[{"id":"a","name":"a.test.","addresses":["10.0.0.1"],"enabled":true},{"id":"b","name":"a.test.","addresses":["10.0.0.2"],"enabled":true}]}`,
	}
	for name, content := range tests {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadState(context.Background(), newFileStore(path))
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v does not name %s", name, err, path)
		}
	}
	_, err := loadState(context.Background(), newFileStore(filepath.Join(dir, "nodir", "o.json")))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing directory: %v", err)
	}
	unreadable := filepath.Join(dir, "dir.json")
	os.Mkdir(unreadable, 0o700)
	if _, err := loadState(context.Background(), newFileStore(unreadable)); err == nil || !strings.Contains(err.Error(), unreadable) {
		t.Errorf("unreadable: %v", err)
	}
}

// Close releases the store's open log file, and a second Close, or one of a store never
// used, is harmless; the store opens its files again when next used.
func TestFileStoreClose(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(filepath.Join(t.TempDir(), "o.json"))
	if err := s.Close(); err != nil {
		t.Errorf("Close of a store never used: %v", err)
	}
	if _, err := storeUpdate(ctx, s, etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	if s.log == nil {
		t.Fatal("no log file open after a change")
	}
	for i := range 2 {
		if err := s.Close(); err != nil || s.log != nil {
			t.Errorf("Close %d: %v, log file still open: %v", i+1, err, s.log != nil)
		}
	}
	if _, err := storeUpdate(ctx, s, etcdAddOverride("two", "g")); err != nil {
		t.Fatalf("a change after Close: %v", err)
	}
	if st, err := loadState(ctx, newFileStore(s.path)); err != nil || len(st.Overrides) != 2 {
		t.Errorf("after Close and another change the file holds %+v, %v; want both overrides", st.Overrides, err)
	}
}
