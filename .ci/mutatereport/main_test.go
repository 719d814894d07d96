package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRerunKeepsOtherRows: re-running one directory replaces its packages' rows and keeps the
// rows of the others (with their dates), but not those of a package that no longer exists.
func TestRerunKeepsOtherRows(t *testing.T) {
	first := map[string]*pkgStats{
		"plugin/rrotate":         {killed: 9, lived: 1, measured: "2026-12-01 10:00 UTC", survivors: []string{"plugin/rrotate/rotate.go:1:2 ARITHMETIC_BASE"}},
		"plugin/override/store":  {killed: 5, lived: 5, measured: "2026-12-01 10:00 UTC", survivors: []string{"plugin/override/store/file.go:3:4 INVERT_NEGATIVES"}},
		"plugin/internal/gone":   {killed: 1, measured: "2026-12-01 10:00 UTC"},
		"plugin/override/webui":  {killed: 2, timedOut: 1, notCovered: 3, measured: "2026-12-01 10:00 UTC"},
		"plugin/weighted":        {killed: 7, measured: "2026-12-01 10:00 UTC"},
		"plugin/internal/answer": {killed: 3, lived: 2, measured: "2026-12-01 10:00 UTC", survivors: []string{"plugin/internal/answer/a.go:5:6 X", "plugin/internal/answer/a.go:7:8 Y"}},
	}
	old := parse(render("first", first))
	if len(old) != len(first) {
		t.Fatalf("parsed %d rows back, want %d", len(old), len(first))
	}
	for pkg, want := range first {
		got := old[pkg]
		if got == nil || got.killed != want.killed || got.lived != want.lived || got.timedOut != want.timedOut ||
			got.notCovered != want.notCovered || got.measured != want.measured || strings.Join(got.survivors, ",") != strings.Join(want.survivors, ",") {
			t.Errorf("%s: parsed %+v, want %+v", pkg, got, want)
		}
	}

	stats := map[string]*pkgStats{"plugin/override/store": {killed: 10, measured: "2026-12-01 12:00 UTC"}}
	keepOld(stats, []string{"plugin/override"}, old, func(p string) bool { return p != "plugin/internal/gone" })
	for pkg, want := range map[string]string{
		"plugin/override/store":  "2026-12-01 12:00 UTC", // re-run
		"plugin/rrotate":         "2026-12-01 10:00 UTC", // kept
		"plugin/weighted":        "2026-12-01 10:00 UTC",
		"plugin/internal/answer": "2026-12-01 10:00 UTC",
	} {
		if s := stats[pkg]; s == nil || s.measured != want {
			t.Errorf("%s: %+v, want a row measured %s", pkg, s, want)
		}
	}
	if s := stats["plugin/override/webui"]; s != nil {
		t.Errorf("plugin/override/webui was under the re-run directory but kept its old row %+v", s)
	}
	if s := stats["plugin/internal/gone"]; s != nil {
		t.Errorf("a deleted package kept its row %+v", s)
	}
	if got := stats["plugin/override/store"].survivors; len(got) != 0 {
		t.Errorf("the re-run package kept old survivors %v", got)
	}
}

// TestOldFormatRowsDropped: a row without a Measured column cannot say its age and is left out.
func TestOldFormatRowsDropped(t *testing.T) {
	doc := "| Package | Killed | Lived | Timed out | Not covered | Efficacy | Mutant coverage |\n" +
		"|---|---:|---:|---:|---:|---:|---:|\n| plugin/internal/dnsname | 19 | 3 | 0 | 0 | 86.4% | 100.0% |\n"
	if got := parse(doc); len(got) != 0 {
		t.Errorf("parsed %v from an old-format table, want nothing", got)
	}
}

func TestAddPlacesSubpackages(t *testing.T) {
	var r result
	if err := json.Unmarshal([]byte(`{"files":[{"file_name":"table.go","mutations":[{"type":"A","status":"KILLED","line":1,"column":2}]},
		{"file_name":"store/file.go","mutations":[{"type":"B","status":"LIVED","line":3,"column":4},{"type":"C","status":"TIMED OUT"},{"type":"D","status":"NOT COVERED"}]}]}`), &r); err != nil {
		t.Fatal(err)
	}
	stats := map[string]*pkgStats{}
	add(stats, "plugin/override", r, "now")
	if s := stats["plugin/override"]; s == nil || s.killed != 1 {
		t.Errorf("plugin/override: %+v", s)
	}
	s := stats["plugin/override/store"]
	if s == nil || s.lived != 1 || s.timedOut != 1 || s.notCovered != 1 || len(s.survivors) != 1 || s.survivors[0] != "plugin/override/store/file.go:3:4 B" {
		t.Errorf("plugin/override/store: %+v", s)
	}
}

// TestLoadNamesTheCommit: a run's rows say which commit it mutated, when .ci/mutate wrote it
// beside the results, since the lines of the mutants that lived are that commit's.
func TestLoadNamesTheCommit(t *testing.T) {
	dir := t.TempDir()
	for root, commit := range map[string]string{"plugin/a": "abc1234\n", "plugin/b": ""} {
		if err := os.MkdirAll(filepath.Join(dir, root), 0o755); err != nil {
			t.Fatal(err)
		}
		results := `{"files":[{"file_name":"x.go","mutations":[{"type":"X","status":"LIVED","line":1,"column":2}]}],"elapsed_time":1}`
		if err := os.WriteFile(filepath.Join(dir, root, resultFile), []byte(results), 0o644); err != nil {
			t.Fatal(err)
		}
		if commit != "" {
			if err := os.WriteFile(filepath.Join(dir, root, commitFile), []byte(commit), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	stats, _, _, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a := stats["plugin/a"]; a == nil || !strings.HasSuffix(a.measured, " UTC at abc1234") {
		t.Errorf("plugin/a measured %+v, want the date and the commit", a)
	}
	if b := stats["plugin/b"]; b == nil || !strings.HasSuffix(b.measured, " UTC") {
		t.Errorf("plugin/b measured %+v, want the date alone (no commit written)", b)
	}
}
