package weighted

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// maxWeight bounds a weight so that W, the sum of a name's weights, stays far from overflow
// and a typo such as 30000000 is caught rather than starving every other address.
const maxWeight = 65535

// target is what a weight is given to: an address (A, AAAA) or an SRV target host. Exactly
// one of the two is set. It is comparable, so it keys maps without allocating.
type target struct {
	addr netip.Addr
	host string
}

// String gives the form an operator wrote, for metrics labels and messages.
func (t target) String() string {
	if t.host != "" {
		return t.host
	}
	return t.addr.String()
}

// weightSpec holds the configured weights: lower-cased FQDN → target → weight.
type weightSpec map[string]map[target]uint32

// set records one weight; a later setting for the same name and target wins.
func (s weightSpec) set(name string, t target, w uint32) {
	m, ok := s[name]
	if !ok {
		m = make(map[target]uint32)
		s[name] = m
	}
	m[t] = w
}

// merge returns the weights of s overlaid with those of over, per name and target, so that
// inline Corefile weights can override single entries of a weight file.
func (s weightSpec) merge(over weightSpec) weightSpec {
	// equivalent mutant: - for + only changes the size hint; a map grows as it needs, and a
	// negative hint is taken as none (TestInlineWeightsOverASmallerFile).
	out := make(weightSpec, len(s)+len(over))
	for _, src := range []weightSpec{s, over} {
		for name, m := range src {
			for t, w := range m {
				out.set(name, t, w)
			}
		}
	}
	return out
}

// parseName checks a name and returns it as a lower-cased FQDN, the form lookups use.
func parseName(s string) (string, error) {
	if _, err := netip.ParseAddr(s); err == nil {
		return "", fmt.Errorf("%q is an address where a domain name was expected (missing weight value?)", s)
	}
	// A trailing backslash escapes the dot that makes the name fully qualified.
	if _, ok := dns.IsDomainName(s); !ok || s == "" || !dns.IsFqdn(dns.Fqdn(s)) {
		return "", fmt.Errorf("invalid domain name %q", s)
	}
	return strings.ToLower(dns.Fqdn(s)), nil
}

// parseTarget reads an IP address, or an SRV target host name. Something made only of
// digits, dots and colons that is not an address is a mistyped address, not a host.
func parseTarget(s string) (target, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return target{addr: a.Unmap()}, nil
	}
	if strings.Trim(s, "0123456789.:") == "" || strings.ContainsAny(s, "/%") {
		return target{}, fmt.Errorf("invalid IP address %q", s)
	}
	if _, ok := dns.IsDomainName(s); !ok || !dns.IsFqdn(dns.Fqdn(s)) {
		return target{}, fmt.Errorf("invalid address or SRV target %q", s)
	}
	return target{host: strings.ToLower(dns.Fqdn(s))}, nil
}

// parseWeight reads a weight: 0 drains, larger numbers get proportionally more answers.
func parseWeight(s string) (uint32, error) {
	w, err := strconv.ParseUint(s, 10, 32)
	if err != nil || w > maxWeight {
		return 0, fmt.Errorf("invalid weight %q: want an integer from 0 to %d", s, maxWeight)
	}
	return uint32(w), nil
}

// parseWeightFile reads the weight file format of CoreDNS's `loadbalance weighted`: a line
// with a domain name starts a section, the "ADDRESS WEIGHT" lines after it give weights,
// blank lines and lines starting with # are ignored. Files written for loadbalance load
// unchanged; weight 0 (drain) and SRV target names are extensions. Errors name the file and
// the line, so a broken reload can be found in the log.
func parseWeightFile(file string, data []byte) (weightSpec, error) {
	spec := make(weightSpec)
	name := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := parseWeightLine(spec, &name, strings.Fields(line)); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", file, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	return spec, nil
}

// parseWeightLine handles one non-empty line; name is the section being filled.
func parseWeightLine(spec weightSpec, name *string, fields []string) error {
	switch len(fields) {
	case 1:
		n, err := parseName(fields[0])
		if err != nil {
			return err
		}
		*name = n
		if _, ok := spec[n]; !ok {
			spec[n] = make(map[target]uint32)
		}
		return nil
	case 2:
		if *name == "" {
			return fmt.Errorf("weight %q before any domain name", strings.Join(fields, " "))
		}
		t, err := parseTarget(fields[0])
		if err != nil {
			return err
		}
		w, err := parseWeight(fields[1])
		if err != nil {
			return err
		}
		spec.set(*name, t, w)
		return nil
	default:
		return fmt.Errorf("cannot parse %q: want a domain name, or an address and a weight", strings.Join(fields, " "))
	}
}
