package chain

import (
	"bytes"
	"os"
	"testing"

	"github.com/steerdns/steerdns/coredns-build/internal/pluginlist"
)

// TestGeneratedFileIsCurrent fails when plugin.cfg was edited without `go generate`.
func TestGeneratedFileIsCurrent(t *testing.T) {
	f, err := os.Open("../plugin.cfg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	plugins, err := pluginlist.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pluginlist.Render("chain", plugins)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("zchain.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("chain/zchain.go is out of step with plugin.cfg: run `make generate` (go generate ./coredns-build/...)")
	}
}

// TestOrder checks the order DESIGN.md agrees on: ours after acl and above cache, in the
// order override, rrotate, weighted, healthcheck (those present).
func TestOrder(t *testing.T) {
	pos := map[string]int{}
	for i, d := range Directives {
		pos[d] = i
	}
	prev := pos["acl"]
	for _, d := range []string{"override", "rrotate", "weighted", "healthcheck"} {
		i, ok := pos[d]
		if !ok {
			continue
		}
		if i <= prev {
			t.Errorf("%s at %d must come after %s", d, i, Directives[prev])
		}
		prev = i
	}
	if prev >= pos["cache"] {
		t.Errorf("steerdns plugins must sit above cache")
	}
}
