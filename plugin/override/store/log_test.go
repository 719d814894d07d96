package store

import (
	"io"
	golog "log"
	"strings"
	"sync"
	"testing"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

func init() { clog.Discard() }

// capturedLog is a log output that tests can read while the store's goroutines write to it.
type capturedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *capturedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *capturedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// captureLog sends the plugin log to a buffer until the test ends (it is discarded
// otherwise). The log is the process's: a test that captures it does not run in parallel.
func captureLog(t *testing.T) *capturedLog {
	l := &capturedLog{}
	golog.SetOutput(l)
	t.Cleanup(func() { golog.SetOutput(io.Discard) })
	return l
}
