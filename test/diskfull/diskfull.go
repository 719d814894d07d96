// Package diskfull gives tests a disk that really fills: a small tmpfs mounted on a temporary
// directory, and a way to fill it. Only tests import it.
package diskfull

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Dir mounts a tmpfs of size bytes on a fresh directory until the test ends. Mounting needs
// root (CAP_SYS_ADMIN); without it the test is skipped, saying so.
func Dir(t testing.TB, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", size)); err != nil {
		t.Skipf("a full disk is tested on a small tmpfs, which needs root (CAP_SYS_ADMIN): mount: %v", err)
	}
	// Registered after TempDir's removal, so it runs before it. A file still open (a server
	// not yet stopped) would make the unmount fail: lazily detaching lets it finish.
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// Fill writes a file in dir until the disk is full, and returns its path: removing it makes
// room again.
func Fill(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "fill")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("f"), 512)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}
