package override

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// FileStore keeps the overrides in one JSON file. Every update is written to a temporary file
// in the same directory, synced, renamed over the old file and the directory synced, so that
// a crash at any moment leaves either the old or the new table, and an acknowledged change is
// on disk.
type FileStore struct {
	path string

	mu     sync.Mutex
	state  State
	loaded bool
}

// NewFileStore returns a store for the file at path; nothing is read until Load.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// String implements Store.
func (s *FileStore) String() string { return "file " + s.path }

// Load implements Store. A missing file is an empty table, but its directory must exist,
// otherwise the first change could not be saved.
func (s *FileStore) Load(_ context.Context) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.read()
	if err != nil {
		return State{}, err
	}
	s.state, s.loaded = st, true
	return st.clone(), nil
}

func (s *FileStore) read() (State, error) {
	data, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(s.path)
		if fi, derr := os.Stat(dir); derr != nil || !fi.IsDir() {
			return State{}, fmt.Errorf("store %s: directory %s does not exist", s.path, dir)
		}
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("store %s: %w", s.path, err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("store %s: not a valid override table: %w", s.path, err)
	}
	if err := st.check(); err != nil {
		return State{}, fmt.Errorf("store %s: %w", s.path, err)
	}
	return st, nil
}

// Update implements Store.
func (s *FileStore) Update(ctx context.Context, fn func(State) (State, error)) (State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.loaded {
		st, err := s.read()
		if err != nil {
			return State{}, err
		}
		s.state, s.loaded = st, true
	}
	next, err := fn(s.state.clone())
	if errors.Is(err, ErrUnchanged) {
		return s.state.clone(), nil
	}
	if err != nil {
		return State{}, err
	}
	next.Revision = s.state.Revision + 1
	if err := s.write(next); err != nil {
		return State{}, err
	}
	s.state = next
	return next.clone(), nil
}

// Watch implements Store: nobody else writes the file.
func (s *FileStore) Watch(_ context.Context, _ func(State)) {}

func (s *FileStore) write(st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	if err := writeFileAtomic(s.path, append(data, '\n')); err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	return nil
}

// writeFileAtomic replaces path with data so that a crash leaves either the old or the new
// content, never a mix, and the new content is durable when it returns.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
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
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
