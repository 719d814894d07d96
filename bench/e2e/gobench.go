package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// goBenchTable renders the output of `go test -bench -benchmem` as a markdown table, one row
// per benchmark, with the package it belongs to and any metric a benchmark reports itself.
func goBenchTable(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	b.WriteString("| package | benchmark | ns/op | B/op | allocs/op | other |\n|---|---|---:|---:|---:|---|\n")
	pkg, rows := "", 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/steerdns/steerdns/")
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		cols := map[string]string{}
		var other []string
		for i := 2; i+1 < len(fields); i += 2 {
			switch unit := fields[i+1]; unit {
			case "ns/op", "B/op", "allocs/op":
				cols[unit] = fields[i]
			default:
				other = append(other, fields[i]+" "+unit)
			}
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 && strings.Trim(name[i+1:], "0123456789") == "" {
			name = name[:i] // the GOMAXPROCS suffix
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", pkg, name, cols["ns/op"], cols["B/op"], cols["allocs/op"], strings.Join(other, ", "))
		rows++
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	if rows == 0 {
		return "", fmt.Errorf("%s: no benchmark results", path)
	}
	return b.String(), nil
}
