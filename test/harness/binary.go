package harness

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
	buildOut  []byte
)

// Binary builds the coredns command from coredns-build once per test process and returns
// its path. Tests that need a real process (signals, kill -9, flags) use it.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "steerdns-coredns-")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "coredns")
		cmd := exec.Command("go", "build", "-o", binary, "./coredns-build")
		cmd.Dir = RepoRoot()
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("building coredns: %v\n%s", buildErr, buildOut)
	}
	return binary
}

// RepoRoot returns the directory that holds go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// RemoveBinary deletes what Binary built; TestMain calls it when every test is done.
func RemoveBinary() {
	if binary != "" {
		os.RemoveAll(filepath.Dir(binary))
	}
}
