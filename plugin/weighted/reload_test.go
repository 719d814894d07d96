package weighted

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// waitFor polls cond, so the test does not depend on how fast the machine is.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func weightNow(wt *Weighted, name, a string) uint32 {
	n := wt.weights.Load().lookup(name)
	if n == nil {
		return 999
	}
	return n.weightOf(addr(a))
}

func TestReloadOnChange(t *testing.T) {
	file := filepath.Join(t.TempDir(), "weights")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("dogs.example.test\n127.0.0.2 3\n")
	wt, err := parse(caddyController("weighted {\n file " + file + "\n reload 10ms\n weight cats.example.test 127.0.0.5 7\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.loadWeights(); err != nil {
		t.Fatal(err)
	}
	if err := wt.OnStartup(); err != nil {
		t.Fatal(err)
	}
	defer wt.OnShutdown()

	write("dogs.example.test\n127.0.0.2 5\n")
	waitFor(t, "the new weight", func() bool { return weightNow(wt, "dogs.example.test.", "127.0.0.2") == 5 })
	if w := weightNow(wt, "cats.example.test.", "127.0.0.5"); w != 7 {
		t.Errorf("inline weight lost on reload: %d", w)
	}

	errorsBefore := counterValue(reloads.WithLabelValues("error"))
	write("dogs.example.test\n127.0.0.2 5\n127.0.0.3 lots\n")
	waitFor(t, "the broken file to be reported", func() bool {
		return counterValue(reloads.WithLabelValues("error")) > errorsBefore
	})
	if w := weightNow(wt, "dogs.example.test.", "127.0.0.2"); w != 5 {
		t.Errorf("a broken file replaced the weights: %d", w)
	}

	write("dogs.example.test\n127.0.0.2 1\n")
	waitFor(t, "recovery from the broken file", func() bool { return weightNow(wt, "dogs.example.test.", "127.0.0.2") == 1 })
}

func TestBrokenFileNamesTheLine(t *testing.T) {
	file := filepath.Join(t.TempDir(), "weights")
	if err := os.WriteFile(file, []byte("dogs.example.test\n127.0.0.2 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wt := &Weighted{file: file}
	if err := wt.loadWeights(); err != nil {
		t.Fatal(err)
	}
	old := wt.weights.Load()
	if err := os.WriteFile(file, []byte("dogs.example.test\n127.0.0.2 3\n\n127.0.0.3 3 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := wt.loadWeights()
	if err == nil || !strings.Contains(err.Error(), file+":4:") {
		t.Errorf("got %v, want an error naming line 4", err)
	}
	if wt.weights.Load() != old {
		t.Error("the weights were replaced")
	}
	if err := wt.loadWeights(); err != nil {
		t.Errorf("the same broken content was reported twice: %v", err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := wt.loadWeights(); err == nil || wt.weights.Load() != old {
		t.Errorf("a vanished file: error %v; the weights must stay", err)
	}
}

// The watcher is gone once OnShutdown returns: nothing outlives a Corefile reload.
func TestShutdownStopsWatcher(t *testing.T) {
	file := filepath.Join(t.TempDir(), "weights")
	if err := os.WriteFile(file, []byte("a.test\n10.0.0.1 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := settledGoroutines()
	wt := &Weighted{file: file, reload: time.Millisecond}
	if err := wt.loadWeights(); err != nil {
		t.Fatal(err)
	}
	if err := wt.OnStartup(); err != nil {
		t.Fatal(err)
	}
	if runtime.NumGoroutine() != before+1 {
		t.Errorf("goroutines %d after startup, want %d", runtime.NumGoroutine(), before+1)
	}
	if err := wt.OnShutdown(); err != nil {
		t.Fatal(err)
	}
	// OnShutdown returns once the watcher said it is done; the runtime counts the goroutine
	// until it has really returned, a moment later: wait for that, not for a fixed time.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() != before; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines %d after shutdown, want %d", runtime.NumGoroutine(), before)
		}
	}
}

// settledGoroutines counts the goroutines once the count has held still for 20 ms, so that
// goroutines an earlier test ended are not counted half-gone.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for still := 0; still < 20; time.Sleep(time.Millisecond) {
		if m := runtime.NumGoroutine(); m != n {
			n, still = m, 0
			continue
		}
		still++
	}
	return n
}

func TestShutdownWithoutFile(t *testing.T) {
	wt := &Weighted{}
	if err := wt.OnStartup(); err != nil {
		t.Fatal(err)
	}
	if err := wt.OnShutdown(); err != nil {
		t.Fatal(err)
	}
}

// `reload 0` means never: no watcher starts (a ticker of 0 would panic and take the server
// down), and a changed file is not read.
func TestReloadZeroNeverReloads(t *testing.T) {
	file := filepath.Join(t.TempDir(), "weights")
	if err := os.WriteFile(file, []byte("a.test\n10.0.0.1 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wt, err := parse(caddyController("weighted {\n file " + file + "\n reload 0\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.loadWeights(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	if err := wt.OnStartup(); err != nil {
		t.Fatal(err)
	}
	defer wt.OnShutdown()
	if wt.stop != nil || runtime.NumGoroutine() != before {
		t.Fatalf("reload 0 started a watcher (goroutines %d, were %d)", runtime.NumGoroutine(), before)
	}
	if err := os.WriteFile(file, []byte("a.test\n10.0.0.1 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if w := weightNow(wt, "a.test.", "10.0.0.1"); w != 3 {
		t.Errorf("weight %d, want the 3 read at start", w)
	}
}
