package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// AuditEntry records one change: who made it, from where, what it was, and the override as it
// stood afterwards.
type AuditEntry struct {
	Time     time.Time `json:"time"`
	Who      string    `json:"who"`
	From     string    `json:"from"`
	Action   string    `json:"action"`
	ID       string    `json:"id,omitempty"`
	Group    string    `json:"group,omitempty"`
	Disabled []string  `json:"disabled,omitempty"` // overrides that this change switched off
	Revision uint64    `json:"revision"`
	Override *Override `json:"override,omitempty"`
}

// clone returns a deep copy of e.
func (e AuditEntry) clone() AuditEntry {
	e.Disabled = slices.Clone(e.Disabled)
	if e.Override != nil {
		o := e.Override.clone()
		e.Override = &o
	}
	return e
}

// AuditPage is what GET /api/audit answers: the entries, oldest first, and whether they may
// be out of date because the shared store cannot be reached (then reason says why).
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	Stale   bool         `json:"stale,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// MaxAuditTail is the most entries a caller of AuditTail may ask for: a replica of a shared
// store remembers that many, to show while the store cannot be reached.
const MaxAuditTail = 1000

// auditTrail keeps the audit entries of a store: the file store's lives in a file beside it, a
// shared store keeps its own beside the table.
type auditTrail interface {
	append(e AuditEntry) error
	// ensure appends e unless the trail holds its revision already: the entry stored with
	// the state, after a crash between saving a change and auditing it.
	ensure(e AuditEntry) error
	// tail returns the last n entries, oldest first.
	tail(n int) (AuditPage, error)
}

// Bounds of the file audit trail. At auditMaxBytes the file is renamed to FILE.1 (replacing
// the previous one) and a new file is started, so the trail on disk stays under twice that
// while the last few thousand changes stay readable. maxAuditLine is far beyond any entry
// the table writes (an override is at most a few KiB); a longer line is damage.
const (
	auditMaxBytes = 8 << 20
	maxAuditLine  = 1 << 20
	auditChunk    = 64 << 10
)

// auditLog appends JSON lines to a file beside the store and syncs each one, so that the trail
// is as durable as the change it records. It is opened per append: changes are rare, and no
// file handle has to outlive a reload.
type auditLog struct {
	path     string
	maxBytes int64 // auditMaxBytes when 0

	mu sync.Mutex
}

func (a *auditLog) append(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.rotate(int64(len(line) + 1)); err != nil {
		return fmt.Errorf("audit log %s: rotating: %w", a.path, err)
	}
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", a.path, err)
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("audit log %s: %w", a.path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("audit log %s: %w", a.path, err)
	}
	return f.Close()
}

// rotate moves the file to FILE.1 when adding n bytes would take it over its size. A new entry
// always goes to the fresh file, so the current file is never empty after an append.
func (a *auditLog) rotate(n int64) error {
	limit := a.maxBytes
	if limit <= 0 {
		limit = auditMaxBytes
	}
	fi, err := os.Stat(a.path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && fi.Size()+n <= limit {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.Rename(a.path, a.path+".1"); err != nil {
		return err
	}
	return syncDir(filepath.Dir(a.path))
}

func (a *auditLog) ensure(e AuditEntry) error {
	page, err := a.tail(1)
	if err != nil {
		return err
	}
	if len(page.Entries) > 0 && page.Entries[0].Revision >= e.Revision {
		return nil
	}
	log.Warningf("audit log %s: adding the entry of revision %d, saved with the change but not yet audited (interrupted)", a.path, e.Revision)
	return a.append(e)
}

// tail returns the last n entries, oldest first, reading the file from its end so that the
// cost follows n, not the length of the trail; FILE.1 supplies the rest when the current file
// holds fewer than n. A line that does not parse (a torn write after a crash) or is longer
// than any entry is skipped and logged, and the entries around it are still returned.
func (a *auditLog) tail(n int) (AuditPage, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	entries, err := tailFile(a.path, n)
	if err != nil {
		return AuditPage{}, err
	}
	if len(entries) < n { // (<= reads FILE.1 for none more: an equivalent mutant)
		older, err := tailFile(a.path+".1", n-len(entries))
		if err != nil {
			return AuditPage{}, err
		}
		entries = append(older, entries...)
	}
	return AuditPage{Entries: entries}, nil
}

// tailFile returns the last n entries of the JSON-lines file at path, oldest first; a missing
// file has none.
func tailFile(path string, n int) ([]AuditEntry, error) {
	entries := []AuditEntry{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return entries, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	r := &backwardLines{f: f, pos: fi.Size()}
	for len(entries) < n {
		line, off, err := r.prev()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("audit log %s: %w", path, err)
		}
		if line == nil {
			log.Warningf("audit log %s: skipping a line longer than %d bytes ending at offset %d", path, maxAuditLine, off)
			continue
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e AuditEntry
		if err := json.Unmarshal(line, &e); err != nil {
			log.Warningf("audit log %s: skipping a damaged line at offset %d: %v", path, off, err)
			continue
		}
		entries = append(entries, e)
	}
	slices.Reverse(entries)
	return entries, nil
}

// backwardLines reads a file's lines from the last to the first, in chunks.
type backwardLines struct {
	f   io.ReaderAt
	pos int64  // the file before pos is unread
	buf []byte // read but not yet returned: the end of a line that starts before pos
}

// prev returns the line before the ones already returned (without its '\n') and its offset;
// a nil line for one over maxAuditLine, which is skipped without being held in memory;
// io.EOF at the start of the file.
func (r *backwardLines) prev() ([]byte, int64, error) {
	// The newline that ends the file is not the end of an empty last line.
	if r.buf == nil && r.pos > 0 {
		if err := r.fill(); err != nil {
			return nil, 0, err
		}
		// (fill read pos > 0 bytes, so n > 0 here: >= is an equivalent mutant)
		if n := len(r.buf); n > 0 && r.buf[n-1] == '\n' {
			r.buf = r.buf[:n-1]
		}
	}
	tooLong := false
	for {
		if i := bytes.LastIndexByte(r.buf, '\n'); i >= 0 {
			line := r.buf[i+1:]
			r.buf = r.buf[:i]
			if tooLong || len(line) > maxAuditLine {
				line = nil
			}
			return line, r.pos + int64(i) + 1, nil
		}
		if r.pos == 0 {
			if r.buf == nil {
				return nil, 0, io.EOF
			}
			line := r.buf
			r.buf = nil
			r.pos = -1 // nothing left, not even an empty first line
			if tooLong || len(line) > maxAuditLine {
				line = nil
			}
			return line, 0, nil
		}
		if r.pos < 0 { // (pos is not 0 here, so <= is an equivalent mutant)
			return nil, 0, io.EOF
		}
		if len(r.buf) > maxAuditLine {
			tooLong, r.buf = true, r.buf[:0]
		}
		if err := r.fill(); err != nil {
			return nil, 0, err
		}
	}
}

// fill prepends the chunk before pos to buf.
func (r *backwardLines) fill() error {
	n := min(int64(auditChunk), r.pos)
	chunk := make([]byte, n, n+int64(len(r.buf)))
	// (a file gives no io.EOF for a whole chunk: == is an equivalent mutant)
	if _, err := r.f.ReadAt(chunk, r.pos-n); err != nil && err != io.EOF {
		return err
	}
	r.pos -= n
	r.buf = append(chunk, r.buf...)
	return nil
}
