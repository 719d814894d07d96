package store

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readBackward returns every line backwardLines gives for content, last first, with its
// offset, until io.EOF; a line it skips as too long is shown as "<long>".
func readBackward(t *testing.T, content string) []string {
	t.Helper()
	r := &backwardLines{f: strings.NewReader(content), pos: int64(len(content))}
	var got []string
	for range len(content) + 2 { // a line per byte at the most, then EOF
		line, off, err := r.prev()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		s := string(line)
		if line == nil {
			s = "<long>"
		}
		got = append(got, fmt.Sprintf("%s@%d", s, off))
	}
	t.Fatalf("no io.EOF after %d lines of %q: %q", len(content)+2, content, got)
	return nil
}

// TestBackwardLines: the audit trail is read from its end, a line at a time, with each line's
// offset (for the log line about a damaged one): the final newline ends the last line rather
// than starting an empty one, empty lines in between are lines, a file without a final
// newline has its last line all the same, and an empty file has none.
func TestBackwardLines(t *testing.T) {
	for _, tc := range []struct {
		content string
		want    string
	}{
		{"", ""},
		{"\n", "@0"},
		{"a\n", "a@0"},
		{"a", "a@0"},
		{"a\n\nbb\n", "bb@3 @2 a@0"},
		{"\nb", "b@1 @0"},
		{"ab\ncd", "cd@3 ab@0"},
	} {
		got := strings.Join(readBackward(t, tc.content), " ")
		if got != tc.want {
			t.Errorf("lines of %q, last first: %q, want %q", tc.content, got, tc.want)
		}
	}
}

// TestBackwardLinesLongest: a line of maxAuditLine bytes is read whole, wherever it is; one
// byte more and it is skipped (nil) without the lines around it being lost, across chunks.
func TestBackwardLinesLongest(t *testing.T) {
	longest := strings.Repeat("x", maxAuditLine)
	over := longest + "y"
	for _, tc := range []struct {
		name, content string
		want          []string // nil for a skipped line
	}{
		{"longest first", longest + "\nb\n", []string{"b", longest}},
		{"longest last", "a\n" + longest + "\n", []string{longest, "a"}},
		{"over first", over + "\nb\n", []string{"b", ""}},
		{"over last", "a\n" + over + "\n", []string{"", "a"}},
		// The longest line read whole into the buffer just as a chunk ends at its start.
		{"longest at a chunk's start", "a\n" + longest + "\n" + strings.Repeat("b", auditChunk-2) + "\n", []string{strings.Repeat("b", auditChunk-2), longest, "a"}},
	} {
		r := &backwardLines{f: strings.NewReader(tc.content), pos: int64(len(tc.content))}
		for i, want := range tc.want {
			line, _, err := r.prev()
			if err != nil {
				t.Fatalf("%s: line %d: %v", tc.name, i, err)
			}
			if want == "" && line != nil || want != "" && !bytes.Equal(line, []byte(want)) {
				t.Errorf("%s: line %d is %d bytes (nil %v), want %d bytes (a skipped line when 0)", tc.name, i, len(line), line == nil, len(want))
			}
		}
		if _, _, err := r.prev(); err != io.EOF {
			t.Errorf("%s: after the lines: %v, want io.EOF", tc.name, err)
		}
	}
}

// TestAuditLogRotateFails: when the full file cannot be moved aside, the entry is not
// written past the limit: the change's audit fails with an error that says so.
func TestAuditLogRotateFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.jsonl")
	// A directory that is not empty cannot be replaced by a file.
	if err := os.MkdirAll(filepath.Join(path+".1", "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	a := &auditLog{path: path, maxBytes: 100}
	if err := a.append(AuditEntry{Action: "create", ID: "one", Revision: 1}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	err := a.append(AuditEntry{Action: "create", ID: strings.Repeat("o", 100), Revision: 2})
	if err == nil || !strings.Contains(err.Error(), "rotating") {
		t.Errorf("append when the file cannot be rotated: %v, want an error about rotating", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("the file changed although it could not be rotated:\n%s\nwas\n%s", after, before)
	}
}
