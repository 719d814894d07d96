package harness

import (
	"runtime"
	"testing"
	"time"
)

// goroutineWait bounds how long the goroutine count may take to come down or settle: on a
// loaded 2-core machine a stopped server's goroutines can take seconds to be scheduled.
const goroutineWait = 30 * time.Second

// goroutineWindow is how long one sample window lasts. Its minimum count is the count with no
// probe, query or connection in flight, which periodic work (probers every 100 ms) leaves in
// every window of this length.
const goroutineWindow = time.Second

// AwaitGoroutines waits until the process runs at most limit goroutines (those of a stopped
// server take a moment to return), and fails the test with every goroutine's stack when it
// does not within 30 s.
func AwaitGoroutines(t testing.TB, limit int) {
	t.Helper()
	var now int
	for deadline := time.Now().Add(goroutineWait); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if now = runtime.NumGoroutine(); now <= limit {
			return
		}
	}
	t.Fatalf("%d goroutines after %s, want at most %d\n%s", now, goroutineWait, limit, stacks())
}

// SettledGoroutines returns the goroutine count once start-up work has ended: the count is
// sampled in windows of one second, and it returns the lowest count of a window once two
// windows in a row have the same lowest count. The lowest count leaves out what is briefly in
// flight (a probe, a query), which AwaitGoroutines also does by accepting the first sample at
// or under its limit; a fixed sleep would instead guess how long start-up takes. It fails the
// test when the count does not settle within 30 s.
func SettledGoroutines(t testing.TB) int {
	t.Helper()
	prev := -1
	for deadline := time.Now().Add(goroutineWait); time.Now().Before(deadline); {
		low := windowMinimum()
		if low == prev {
			return low
		}
		prev = low
	}
	t.Fatalf("the goroutine count did not settle within %s (last window's lowest: %d)\n%s", goroutineWait, prev, stacks())
	return 0
}

func windowMinimum() int {
	low := runtime.NumGoroutine()
	for end := time.Now().Add(goroutineWindow); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		low = min(low, runtime.NumGoroutine())
	}
	return low
}

func stacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}
