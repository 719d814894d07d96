package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// fileStore keeps the overrides in two JSON files: PATH, a snapshot of the whole table (the
// format the store always had, so an existing file is read as it is), and PATH.log, one line
// per change since the snapshot (the overrides it wrote, the ids it deleted, its audit entry).
// A change appends one line and syncs it: its cost is the size of the change, whatever the
// size of the table, and an acknowledged change is on disk. When the log outgrows the
// snapshot, the snapshot is written again (temporary file, sync, rename, sync the directory)
// and the log emptied, so the log stays shorter than the table and a start reads at most
// about twice the table. Both files are plain JSON an operator can read and back up.
type fileStore struct {
	path string

	mu       sync.Mutex
	loaded   bool
	rev      uint64
	byID     map[string]Override
	last     *AuditEntry // the entry of the last change, kept in the next snapshot
	log      *os.File
	logSize  int64
	snapSize int64
}

// compactMin is the log size below which the snapshot is never rewritten: at a small table
// the log may grow to this before the table is written whole again.
const compactMin = 4 << 20

// logLine is one change in PATH.log.
type logLine struct {
	Revision uint64      `json:"revision"`
	Put      []Override  `json:"put,omitempty"`
	Delete   []string    `json:"delete,omitempty"`
	Audit    *AuditEntry `json:"audit,omitempty"`
}

// newFileStore returns a store for the file at path; nothing is read until Load.
func newFileStore(path string) *fileStore { return &fileStore{path: path} }

// String implements backend.
func (s *fileStore) String() string { return "file " + s.path }

func (s *fileStore) logPath() string { return s.path + ".log" }

// Load implements backend. A missing file is an empty table, but its directory must exist,
// otherwise the first change could not be saved.
func (s *fileStore) Load(_ context.Context) (delta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return delta{}, err
	}
	return s.fullLocked(), nil
}

// Close releases the log file; the next use opens it again.
func (s *fileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = false
	if s.log == nil {
		return nil
	}
	err := s.log.Close()
	s.log = nil
	return err
}

// open reads the snapshot and replays the log; a torn last line (a write that a crash cut
// short, never acknowledged) is cut off, anything else that does not read is an error.
func (s *fileStore) open() error {
	if s.loaded {
		return nil
	}
	s.removeTemps()
	st, size, err := s.readSnapshot()
	if err != nil {
		return err
	}
	s.rev, s.last, s.snapSize = st.Revision, st.Audit, size
	s.byID = make(map[string]Override, len(st.Overrides))
	for _, o := range st.Overrides {
		s.byID[o.ID] = o
	}
	if err := s.replay(); err != nil {
		return err
	}
	if err := s.checkGroups(); err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	f, err := os.OpenFile(s.logPath(), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.logPath(), err)
	}
	// The log's name must be durable before the first change in it is acknowledged.
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		f.Close()
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	s.log, s.loaded = f, true
	return nil
}

// checkGroups refuses a table whose log left two enabled overrides in one group. Each
// override was checked as it was read; this costs one pass, not a second check of each.
func (s *fileStore) checkGroups() error {
	enabled := make(map[string]string)
	for id, o := range s.byID {
		if !o.Enabled {
			continue
		}
		if other, ok := enabled[o.Group]; ok {
			a, b := min(id, other), max(id, other)
			return errors.New("group " + quote(o.Group) + " has two enabled overrides: " + quote(a) + " and " + quote(b))
		}
		enabled[o.Group] = id
	}
	return nil
}

// removeTemps deletes the temporary files that a process killed in the middle of a write left
// beside the store. Nothing else writes them: a write holds s.mu, as Load does.
func (s *fileStore) removeTemps() {
	dir, prefix := filepath.Dir(s.path), tempPrefix(s.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // readSnapshot reports the directory
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			log.Infof("store %s: removed %s, left by an interrupted write", s.path, e.Name())
		}
	}
}

// tempPrefix is how the temporary files of a write to path start.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp" }

func (s *fileStore) readSnapshot() (State, int64, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(s.path)
		if fi, derr := os.Stat(dir); derr != nil || !fi.IsDir() {
			return State{}, 0, fmt.Errorf("store %s: directory %s does not exist", s.path, dir)
		}
		return State{}, 0, nil
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	st, err := decodeState(data)
	if err != nil {
		return State{}, 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	return st, int64(len(data)), nil
}

// fullLocked returns the whole table as a full delta.
func (s *fileStore) fullLocked() delta {
	st := s.stateLocked()
	d := st.full()
	d.audit = s.last
	return d
}

// stateLocked returns the table as a State ordered by id.
func (s *fileStore) stateLocked() State {
	st := State{Revision: s.rev, Overrides: make([]Override, 0, len(s.byID))}
	for _, o := range s.byID {
		st.Overrides = append(st.Overrides, o)
	}
	slices.SortFunc(st.Overrides, func(a, b Override) int { return strings.Compare(a.ID, b.ID) })
	return st
}

// Update implements backend.
func (s *fileStore) Update(_ context.Context, build func(map[string]*record, map[string]groupKey) (*change, error)) (delta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.open(); err != nil {
		return delta{}, err
	}
	v, err := build(nil, nil)
	if err != nil {
		return delta{}, err
	}
	rev, err := nextRevision(s.rev)
	if err != nil {
		return delta{}, err
	}
	line := logLine{Revision: rev, Put: v.written(), Delete: v.deleted(), Audit: v.audit}
	if line.Audit != nil {
		line.Audit.Revision = rev
	}
	if err := s.append(line); err != nil {
		return delta{}, err
	}
	s.rev, s.last = rev, line.Audit
	s.fold(line)
	// (>= compacts at exactly the bound: an equivalent mutant)
	if s.logSize > max(compactMin, s.snapSize) {
		if err := s.compact(); err != nil {
			// The change is durable in the log; the next change tries again.
			log.Errorf("store %s: rewriting the snapshot: %v", s.path, err)
		}
	}
	return v.result(rev, int64(rev), true), nil
}

func (s *fileStore) fold(line logLine) {
	for _, id := range line.Delete {
		delete(s.byID, id)
	}
	for _, o := range line.Put {
		s.byID[o.ID] = o
	}
}

// append writes line to the log and syncs it. A write that fails is cut off again, so the
// log never keeps half a change in front of the next one.
func (s *fileStore) append(line logLine) error {
	data, err := json.Marshal(line)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	data = append(data, '\n')
	_, err = s.log.Write(data)
	if err == nil { // (== nil → != nil skips the fsync: only a power cut tells, no test here can)
		err = s.log.Sync()
	}
	if err != nil {
		if terr := s.log.Truncate(s.logSize); terr != nil {
			log.Errorf("store %s: cutting off a failed write: %v", s.logPath(), terr)
		}
		return storageErr(s.logPath(), err)
	}
	s.logSize += int64(len(data))
	return nil
}

// storageErr names the file and says whether the disk is full, which the API answers with
// 507 rather than a bare 500.
func storageErr(path string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: store %s: %v", ErrNoSpace, path, err)
	}
	return fmt.Errorf("store %s: %w", path, err)
}

// compact writes the whole table as the new snapshot and empties the log. A crash in between
// leaves the new snapshot and the old log, whose lines the snapshot already holds: replay
// skips them by revision.
func (s *fileStore) compact() error {
	st := s.stateLocked()
	st.Audit = s.last
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.path, append(data, '\n')); err != nil {
		return storageErr(s.path, err)
	}
	if err := s.log.Truncate(0); err != nil {
		return err
	}
	if err := s.log.Sync(); err != nil {
		return err
	}
	s.logSize, s.snapSize = 0, int64(len(data)+1)
	return nil
}

// Watch implements backend: nobody else writes the files.
func (s *fileStore) Watch(_ context.Context, _ func(delta)) {}

// writeFileAtomic replaces path with data so that a crash leaves either the old or the new
// content, never a mix, and the new content is durable when it returns.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	// (negated, it skips the fsync, or reports ErrInvalid for the open error: only a power cut
	// or the error text tells)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
