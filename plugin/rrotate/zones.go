package rrotate

import "strings"

// inZones reports whether name is one of zones or below one of them, case-insensitively and
// without allocating: plugin.Zones.Matches splits names into labels (two allocations per
// query), and rrotate sits in front of every query, most of which it does not rotate.
// zones are FQDNs in presentation form, as plugin.OriginsFromArgsOrServerBlock returns them.
func inZones(zones []string, name string) bool {
	for _, z := range zones {
		if z == "." {
			return true
		}
		if len(name) < len(z) || !strings.EqualFold(name[len(name)-len(z):], z) {
			continue
		}
		if len(name) == len(z) || labelBoundary(name, len(name)-len(z)-1) {
			return true
		}
	}
	return false
}

// labelBoundary reports whether name[i] is a dot that ends a label, not an escaped dot
// inside one ("a\.example.test." is one label "a.example" under test.): a dot preceded by
// an odd number of backslashes is escaped.
func labelBoundary(name string, i int) bool {
	if name[i] != '.' {
		return false
	}
	backslashes := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		backslashes++
	}
	return backslashes%2 == 0
}
