// Command mutatereport turns the JSON results gremlins wrote for `make mutate` into
// docs/MUTATION.md: efficacy and mutant coverage per package, and every mutant that lived,
// so that each one gets a test or a reason it is equivalent.
//
// A run may cover only some directories (MUTATE_DIRS): the packages at or below the
// directories it ran on get its figures, and every other package keeps the row the report
// already had, with the date it was measured, unless its directory no longer exists. So one
// plugin can be re-run without losing, or silently aging, the figures of the others.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// resultFile is the name of gremlins' --output JSON in the results directory of one run root:
// RESULTSDIR/plugin/rrotate/gremlins.json holds the run over ./plugin/rrotate.
const (
	resultFile = "gremlins.json"
	commitFile = "commit"
)

// result is the part of gremlins' --output JSON the report uses.
type result struct {
	Files []struct {
		FileName  string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
	Elapsed float64 `json:"elapsed_time"`
}

// pkgStats counts one package's mutants by outcome.
type pkgStats struct {
	killed, lived, timedOut, notCovered int
	measured                            string // when, in the report's date format
	survivors                           []string
}

// dateFormat is how a row says when it was measured.
const dateFormat = "2006-01-02 15:04 MST"

func main() {
	command := flag.String("command", "make mutate", "the command that produced the results, for the report")
	out := flag.String("out", "docs/MUTATION.md", "the report to write, and to take the rows of packages not run from")
	flag.Parse()
	if flag.NArg() != 1 {
		log.Fatal("usage: mutatereport [-command CMD] [-out FILE] RESULTSDIR")
	}
	stats, roots, elapsed, err := load(flag.Arg(0))
	if err != nil {
		log.Fatal(err)
	}
	old, err := os.ReadFile(*out)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Fatal(err)
	}
	keepOld(stats, roots, parse(string(old)), dirExists)
	now := time.Now().UTC().Format(dateFormat)
	report := render(fmt.Sprintf("`%s` on %s (gremlins, %s of mutation testing)", *command, now, elapsed.Round(time.Second)), stats)
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		log.Fatal(err)
	}
}

// load reads every RESULTSDIR/ROOT/gremlins.json; ROOT is the directory gremlins ran on, and
// the mutants' file names, relative to it, place them in its sub-packages. A package was
// measured when gremlins wrote its results.
func load(dir string) (stats map[string]*pkgStats, roots []string, elapsed time.Duration, err error) {
	stats = map[string]*pkgStats{}
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != resultFile {
			return err
		}
		rel, err := filepath.Rel(dir, filepath.Dir(p))
		if err != nil {
			return err
		}
		root := filepath.ToSlash(rel)
		roots = append(roots, root)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var r result
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("%s: %v", p, err)
		}
		elapsed += time.Duration(r.Elapsed * float64(time.Second))
		measured := info.ModTime().UTC().Format(dateFormat)
		// The commit the run mutated (.ci/mutate writes it beside the results): the lines of
		// the mutants that lived are that commit's.
		if commit, err := os.ReadFile(filepath.Join(filepath.Dir(p), commitFile)); err == nil {
			measured += " at " + strings.TrimSpace(string(commit))
		}
		add(stats, root, r, measured)
		return nil
	})
	return stats, roots, elapsed, err
}

// add counts the mutants of one gremlins run over root into stats, per package.
func add(stats map[string]*pkgStats, root string, r result, measured string) {
	for _, file := range r.Files {
		pkg := path.Join(root, path.Dir(file.FileName))
		s := stats[pkg]
		if s == nil {
			s = &pkgStats{measured: measured}
			stats[pkg] = s
		}
		for _, m := range file.Mutations {
			switch m.Status {
			case "KILLED":
				s.killed++
			case "LIVED":
				s.lived++
				s.survivors = append(s.survivors, fmt.Sprintf("%s:%d:%d %s", path.Join(root, file.FileName), m.Line, m.Column, m.Type))
			case "TIMED OUT":
				s.timedOut++
			case "NOT COVERED":
				s.notCovered++
			}
		}
	}
}

// under reports whether pkg is root or one of its sub-packages.
func under(pkg, root string) bool {
	return pkg == root || strings.HasPrefix(pkg, root+"/")
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// keepOld adds to stats the rows of old for the packages this run did not cover, as long as
// their directory still exists (a deleted package's figures would only mislead).
func keepOld(stats map[string]*pkgStats, roots []string, old map[string]*pkgStats, exists func(string) bool) {
next:
	for pkg, s := range old {
		for _, root := range roots {
			if under(pkg, root) {
				continue next
			}
		}
		if _, ok := stats[pkg]; !ok && exists(pkg) {
			stats[pkg] = s
		}
	}
}

// parse reads back the rows and survivors of a report that render wrote. Rows without a
// Measured column (an older format) are left out: nobody can tell how old they are.
func parse(doc string) map[string]*pkgStats {
	stats := map[string]*pkgStats{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(doc))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "| plugin/"):
			if pkg, s, ok := parseRow(line); ok {
				stats[pkg] = s
			}
		case strings.HasPrefix(line, "### "):
			section = strings.TrimPrefix(line, "### ")
		case strings.HasPrefix(line, "- `") && strings.HasSuffix(line, "`"):
			if s := stats[section]; s != nil {
				s.survivors = append(s.survivors, strings.TrimSuffix(strings.TrimPrefix(line, "- `"), "`"))
			}
		}
	}
	return stats
}

// parseRow reads "| pkg | killed | lived | timed out | not covered | efficacy | coverage | measured |".
func parseRow(line string) (string, *pkgStats, bool) {
	cells := strings.Split(strings.Trim(line, "|"), "|")
	if len(cells) != 8 {
		return "", nil, false
	}
	for i := range cells {
		cells[i] = strings.TrimSpace(cells[i])
	}
	var n [4]int
	for i := range n {
		v, err := strconv.Atoi(cells[1+i])
		if err != nil {
			return "", nil, false
		}
		n[i] = v
	}
	return cells[0], &pkgStats{killed: n[0], lived: n[1], timedOut: n[2], notCovered: n[3], measured: cells[7]}, true
}

// render writes the report; lastRun says what produced the newest figures.
func render(lastRun string, stats map[string]*pkgStats) string {
	pkgs := make([]string, 0, len(stats))
	for p := range stats {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	var b strings.Builder
	fmt.Fprintf(&b, "# Mutation testing\n\n")
	fmt.Fprintf(&b, "Generated by `make mutate` (`MUTATE_DIRS=... make mutate` re-runs some directories and\n"+
		"keeps the other rows, each with the date it was measured); do not edit by hand. Last run:\n%s.\n\n", lastRun)
	b.WriteString("Each mutant is one small change to a package's code (a flipped comparison, an\n" +
		"operator swapped, a boundary moved); the package's own unit tests run against it. A\n" +
		"mutant is *killed* when a test fails, *lived* when every test still passes. Efficacy is\n" +
		"killed / (killed + lived), over the mutants some test covers; the target is 90% or more\n" +
		"per plugin package, and every mutant listed below as lived either gets a test that\n" +
		"kills it or is equivalent (no behaviour tells it apart), which a comment at that line\n" +
		"says. A row measured at a commit lists its mutants by that commit's lines; tests\n" +
		"written since kill some of them. Timed-out mutants (the tests hung) count as neither.\n" +
		"Not covered are the mutants no test runs; they include the conditions of `case`\n" +
		"clauses, which Go's coverage profile leaves out of every block, so gremlins never\n" +
		"tries them whatever the tests do.\n\n")
	b.WriteString("| Package | Killed | Lived | Timed out | Not covered | Efficacy | Mutant coverage | Measured |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, p := range pkgs {
		s := stats[p]
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s | %s |\n", p, s.killed, s.lived, s.timedOut, s.notCovered,
			percent(s.killed, s.killed+s.lived), percent(s.killed+s.lived+s.timedOut, s.killed+s.lived+s.timedOut+s.notCovered), s.measured)
	}
	b.WriteString("\n## Mutants that lived\n")
	for _, p := range pkgs {
		s := stats[p]
		if len(s.survivors) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n### %s\n\n", p)
		for _, m := range s.survivors {
			fmt.Fprintf(&b, "- `%s`\n", m)
		}
	}
	return b.String()
}

func percent(n, of int) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
