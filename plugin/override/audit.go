package override

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
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

// auditTrail keeps the audit entries of a store: the file store's lives in a file beside it, a
// shared store keeps its own beside the table.
type auditTrail interface {
	append(e AuditEntry) error
	// tail returns the last n entries, oldest first.
	tail(n int) ([]AuditEntry, error)
}

// auditLog appends JSON lines to a file beside the store and syncs each one, so that the trail
// is as durable as the change it records. It is opened per append: changes are rare, and no
// file handle has to outlive a reload.
type auditLog struct {
	path string
	mu   sync.Mutex
}

func (a *auditLog) append(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
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

// tail returns the last n entries, oldest first. A line that does not parse (a torn write
// after a crash) is skipped rather than hiding the rest of the trail.
func (a *auditLog) tail(n int) ([]AuditEntry, error) {
	a.mu.Lock()
	data, err := os.ReadFile(a.path)
	a.mu.Unlock()
	if errors.Is(err, fs.ErrNotExist) {
		return []AuditEntry{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit log %s: %w", a.path, err)
	}
	entries := []AuditEntry{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		var e AuditEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		entries = append(entries, e)
	}
	if len(entries) > n {
		entries = entries[len(entries)-n:]
	}
	return entries, nil
}
