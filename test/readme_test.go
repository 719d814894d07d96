package test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"

	"github.com/steerdns/steerdns/test/harness"
)

// readmeFiles are present in the working directory of every README example, so examples may
// serve a zone without shipping one.
var readmeFiles = map[string]string{
	"example.test.zone": "examples/demo/example.test.zone",
	"db.example.org":    "test/testdata/db.example.org",
}

// serverBlockPort matches the port of a server block's key, which the test frees up.
var serverBlockPort = regexp.MustCompile(`(?m)^(\S*):\d+(\s*\{)`)

// TestReadmeExamples starts every ~~~ corefile block of every plugin README: a Corefile
// example that does not start is a bug in the docs.
func TestReadmeExamples(t *testing.T) {
	dir := t.TempDir()
	for name, src := range readmeFiles {
		data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	defer func(port string) { dnsserver.Port = port }(dnsserver.Port)
	dnsserver.Port = "0"

	readmes, err := filepath.Glob(filepath.Join(harness.RepoRoot(), "plugin", "*", "README.md"))
	if err != nil || len(readmes) == 0 {
		t.Fatalf("no plugin READMEs found: %v", err)
	}
	for _, readme := range readmes {
		examples := readmeCorefiles(t, readme)
		if len(examples) == 0 {
			t.Errorf("%s has no ~~~ corefile example", readme)
		}
		for i, corefile := range examples {
			corefile = serverBlockPort.ReplaceAllString(corefile, "${1}:0${2}")
			srv, err := harness.StartErr(corefile)
			if err != nil {
				t.Errorf("%s example %d does not start: %v\n%s", filepath.Base(filepath.Dir(readme)), i+1, err, corefile)
				continue
			}
			srv.Stop()
		}
	}
}

func readmeCorefiles(t *testing.T, readme string) []string {
	f, err := os.Open(readme)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	var block *strings.Builder
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		switch {
		case block == nil && (line == "~~~ corefile" || line == "``` corefile"):
			block = &strings.Builder{}
		case block != nil && (line == "~~~" || line == "```"):
			out = append(out, block.String())
			block = nil
		case block != nil:
			block.WriteString(line + "\n")
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
