package override

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
	s.removeTemps()
	st, err := s.read()
	if err != nil {
		return State{}, err
	}
	s.state, s.loaded = st, true
	return st.clone(), nil
}

// removeTemps deletes the temporary files that a process killed in the middle of a write left
// beside the store. Nothing else writes them: a write holds s.mu, as Load does.
func (s *FileStore) removeTemps() {
	dir, prefix := filepath.Dir(s.path), tempPrefix(s.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // read reports the directory
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
	st, err := decodeState(data)
	if err != nil {
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
	if next, err = stamped(s.state, next); err != nil {
		return State{}, err
	}
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
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
