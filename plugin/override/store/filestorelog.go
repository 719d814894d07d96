package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// replay applies the lines of PATH.log newer than the snapshot. A last line without its
// newline, or one that does not parse, is a write that a crash cut short: it was never
// acknowledged, so it is cut off and logged. A bad line before the last is damage, and the
// store does not start.
func (s *fileStore) replay() error {
	path := s.logPath()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	good, n := 0, 0
	for len(data[good:]) > 0 {
		n++
		rest := data[good:]
		end := bytes.IndexByte(rest, '\n')
		if end < 0 {
			return s.cutTorn(path, good, n, errors.New("no newline at its end"))
		}
		line, err := decodeLogLine(rest[:end])
		if err != nil {
			if good+end+1 == len(data) {
				return s.cutTorn(path, good, n, err)
			}
			return fmt.Errorf("store %s: line %d: %w; the store is damaged: restore a backup or an export", path, n, err)
		}
		good += end + 1
		if line.Revision <= s.rev {
			continue // the snapshot holds it already
		}
		if line.Revision != s.rev+1 {
			return fmt.Errorf("store %s: line %d has revision %d after %d: lines are missing; the store is damaged: restore a backup or an export", path, n, line.Revision, s.rev)
		}
		s.fold(line)
		s.rev, s.last = line.Revision, line.Audit
	}
	s.logSize = int64(good)
	return nil
}

// cutTorn truncates the log at good, dropping the torn line n.
func (s *fileStore) cutTorn(path string, good, n int, why error) error {
	log.Warningf("store %s: dropping line %d, a write interrupted before it was acknowledged (%v)", path, n, why)
	if err := os.Truncate(path, int64(good)); err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	s.logSize = int64(good)
	return nil
}

// decodeLogLine reads one change of the log and checks every override it writes with the same
// rules as the API.
func decodeLogLine(data []byte) (logLine, error) {
	var line logLine
	if err := json.Unmarshal(data, &line); err != nil {
		return logLine{}, fmt.Errorf("not a valid change: %w", err)
	}
	if line.Revision == 0 {
		return logLine{}, errors.New("not a valid change: no revision")
	}
	for i := range line.Put {
		if err := line.Put[i].Normalize(); err != nil {
			return logLine{}, errors.Join(errors.New("override "+quote(line.Put[i].ID)), err)
		}
	}
	for _, id := range line.Delete {
		if err := checkID(id); err != nil {
			return logLine{}, err
		}
	}
	return line, nil
}
