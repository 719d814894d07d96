package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Override pins a name to chosen addresses (or a CNAME target) while it is enabled. The JSON
// form is both the store's record and the API's resource, so that what an operator reads is
// exactly what is kept.
type Override struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Group     string     `json:"group"`
	Addresses []string   `json:"addresses,omitempty"`
	CNAME     string     `json:"cname,omitempty"`
	Clients   []string   `json:"clients,omitempty"`
	Enabled   bool       `json:"enabled"`
	Expires   *time.Time `json:"expires,omitempty"`
	Note      string     `json:"note,omitempty"`
	ChangedBy string     `json:"changed_by,omitempty"`
	ChangedAt time.Time  `json:"changed_at"`
}

// Limits on free-form fields keep the store and the audit log small and readable.
const (
	maxIDLen    = 64
	maxNoteLen  = 1024
	maxGroupLen = 255
	maxTargets  = 64
)

// FieldError names the field of an override that is wrong, so that the API can answer 400 with
// a message an operator can act on.
type FieldError struct {
	Field string
	Msg   string
}

// Error implements error: the field, then what is wrong with it.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// Active reports whether o answers queries at time now: enabled and not yet expired.
func (o *Override) Active(now time.Time) bool {
	return o.Enabled && (o.Expires == nil || now.Before(*o.Expires))
}

// Normalize validates o and rewrites it into canonical form (lower-case FQDNs, parsed and
// re-printed addresses and prefixes, group defaulted to the name). It reports the first
// field that is wrong. It is the one gate for every way an override comes in (the API, a
// Corefile declare, a file or etcd load), and it is idempotent: a normalised override
// normalises to itself, so what was accepted once is accepted again at the next start.
func (o *Override) Normalize() error {
	if err := checkID(o.ID); err != nil {
		return err
	}
	name, err := normalizeName(o.Name)
	if err != nil {
		return err
	}
	o.Name = name
	if o.Group == "" {
		o.Group = o.Name
	}
	// No '/': a group is a path segment of the API.
	if len(o.Group) > maxGroupLen || strings.ContainsFunc(o.Group, isControl) || strings.Contains(o.Group, "/") {
		return fieldErr("group", "must be at most %d printable characters, without '/'", maxGroupLen)
	}
	if err := o.normalizeTargets(); err != nil {
		return err
	}
	if err := o.normalizeClients(); err != nil {
		return err
	}
	if len(o.Note) > maxNoteLen {
		return fieldErr("note", "longer than %d characters", maxNoteLen)
	}
	return nil
}

func (o *Override) normalizeTargets() error {
	if len(o.Addresses) == 0 && o.CNAME == "" {
		return fieldErr("addresses", "give at least one address or a cname")
	}
	if len(o.Addresses) > 0 && o.CNAME != "" {
		return fieldErr("cname", "give either addresses or a cname, not both")
	}
	if len(o.Addresses) > maxTargets {
		return fieldErr("addresses", "more than %d addresses", maxTargets)
	}
	var addrs []string
	for _, a := range o.Addresses {
		ip, err := netip.ParseAddr(a)
		if err != nil || ip.Zone() != "" {
			return fieldErr("addresses", "%q is not an IPv4 or IPv6 address", a)
		}
		addrs = append(addrs, ip.Unmap().String())
	}
	o.Addresses = addrs
	if o.CNAME != "" {
		// A mistyped address (300.1.1.1, 2001:db8::zz) reaches here as a would-be cname
		// from a Corefile declare; say what it is meant to be.
		if LooksLikeAddress(o.CNAME) {
			return fieldErr("addresses", "%q is not a valid IPv4 or IPv6 address (nor a domain name for a cname)", o.CNAME)
		}
		target, err := normalizeName(o.CNAME)
		if err != nil || strings.HasPrefix(target, "*.") {
			return fieldErr("cname", "%q is not a domain name", o.CNAME)
		}
		if target == o.Name {
			return fieldErr("cname", "points at the name itself")
		}
		o.CNAME = target
	}
	return nil
}

func (o *Override) normalizeClients() error {
	if len(o.Clients) > maxTargets {
		return fieldErr("clients", "more than %d prefixes", maxTargets)
	}
	var clients []string
	for _, c := range o.Clients {
		p, err := ParseClient(c)
		if err != nil {
			return fieldErr("clients", "%q is not an address or CIDR prefix: %v", c, err)
		}
		clients = append(clients, p.String())
	}
	o.Clients = clients
	return nil
}

// ParseClient accepts a CIDR prefix or a single address (a host prefix), and returns it in
// the form the query path compares with: IPv4 unmapped, host bits cleared. Whatever it
// returns is valid, so its String form parses back to itself.
func ParseClient(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if ip.Zone() != "" {
			return netip.Prefix{}, errors.New("a zone is not allowed")
		}
		ip = ip.Unmap()
		return netip.PrefixFrom(ip, ip.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		// Shorter than /96 the prefix reaches beyond the IPv4-mapped range: it has no
		// IPv4 form, and clients are compared in their IPv4 form.
		if p.Bits() < 96 {
			return netip.Prefix{}, errors.New("an IPv4-mapped prefix must be /96 or longer")
		}
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	if !p.IsValid() {
		return netip.Prefix{}, errors.New("not a valid prefix")
	}
	return p, nil
}

// LooksLikeAddress reports a string that was meant as an IP address: it has a ':' (no host
// name has) or only digits and dots (no top-level domain is all digits).
func LooksLikeAddress(s string) bool {
	if strings.Contains(s, ":") {
		return true
	}
	return numericTLD(strings.ToLower(dns.Fqdn(s)))
}

// normalizeName returns the lower-case FQDN form of s. A leading "*." makes a wildcard that
// matches every name below the rest (not the rest itself); no other '*' is allowed.
func normalizeName(s string) (string, error) {
	if s == "" {
		return "", fieldErr("name", "is empty")
	}
	name := strings.ToLower(dns.Fqdn(s))
	rest := strings.TrimPrefix(name, "*.")
	if strings.Contains(rest, "*") || rest == "." {
		return "", fieldErr("name", "%q: '*' is only allowed as the whole first label, above a domain", s)
	}
	if _, ok := dns.IsDomainName(rest); !ok || strings.ContainsFunc(rest, isControl) || strings.Contains(rest, " ") {
		return "", fieldErr("name", "%q is not a domain name", s)
	}
	return name, nil
}

// numericTLD catches a mistyped address such as 10.0.0.300, which would otherwise pass as a
// host name; no top-level domain is all digits.
func numericTLD(name string) bool {
	labels := dns.SplitDomainName(name)
	if len(labels) == 0 {
		return false
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") == ""
}

// checkID refuses an id that cannot be a path segment of the API: empty, "." or "..", too
// long, or with characters other than letters, digits, '-', '_' and '.'.
func checkID(id string) error {
	if id == "" {
		return fieldErr("id", "is empty")
	}
	if id == "." || id == ".." {
		return fieldErr("id", "%q is not allowed", id)
	}
	if len(id) > maxIDLen {
		return fieldErr("id", "longer than %d characters", maxIDLen)
	}
	for _, r := range id {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fieldErr("id", "%q may only hold letters, digits, '-', '_' and '.'", id)
		}
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clone returns a deep copy, so that a state handed out is never changed behind its reader.
func (o Override) clone() Override {
	o.Addresses = append([]string(nil), o.Addresses...)
	o.Clients = append([]string(nil), o.Clients...)
	if len(o.Clients) == 0 {
		o.Clients = nil
	}
	if len(o.Addresses) == 0 {
		o.Addresses = nil
	}
	if o.Expires != nil {
		e := *o.Expires
		o.Expires = &e
	}
	return o
}
