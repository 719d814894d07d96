package answer

import (
	"strings"

	"github.com/miekg/dns"
)

// Zones is a list of zones in lower-case, fully qualified form. Its Match, unlike
// plugin.Zones.Matches, allocates nothing and ignores the case of the name: it runs for every
// query, including the many a plugin does not act on.
type Zones []string

// NewZones returns zones in the form Match expects.
func NewZones(zones []string) Zones {
	z := make(Zones, len(zones))
	for i, zone := range zones {
		z[i] = strings.ToLower(dns.Fqdn(zone))
	}
	return z
}

// Match returns the longest zone that name is in (equal to it, or below it at a label
// boundary), or "" when there is none.
func (z Zones) Match(name string) string {
	best := ""
	for _, zone := range z {
		// equivalent mutant: >= for > picks the same zone: two zones of one length that both hold
		// the name are both its suffix of that length, the same string (NewZones lower-cases).
		if len(zone) > len(best) && InZone(name, zone) {
			best = zone
		}
	}
	return best
}

// InZone reports whether name is zone or below it; zone is lower case and fully qualified,
// name may have any case.
func InZone(name, zone string) bool {
	if zone == "." {
		return true
	}
	if len(name) < len(zone) || !strings.EqualFold(name[len(name)-len(zone):], zone) {
		return false
	}
	if len(name) == len(zone) {
		return true
	}
	// A label boundary: the byte before the suffix is a dot that is not escaped.
	i := len(name) - len(zone) - 1
	if name[i] != '.' {
		return false
	}
	backslashes := 0
	for j := i - 1; j >= 0 && name[j] == '\\'; j-- {
		// equivalent mutant: -- for ++ gives the same parity, and parity is all that is read.
		backslashes++
	}
	return backslashes%2 == 0
}
