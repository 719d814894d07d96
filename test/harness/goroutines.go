package harness

import (
	"runtime"
	"testing"
	"time"
)

// AwaitGoroutines waits up to 5 s for the process to run at most limit goroutines (those of
// a stopped server take a moment to return), and fails the test with every goroutine's stack
// when it never does.
func AwaitGoroutines(t testing.TB, limit int) {
	t.Helper()
	var now int
	for range 50 {
		if now = runtime.NumGoroutine(); now <= limit {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	t.Fatalf("%d goroutines, want at most %d\n%s", now, limit, buf[:n])
}
