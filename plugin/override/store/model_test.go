package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// Every way in normalises through one function, and its result is accepted again unchanged:
// otherwise a value accepted by the API makes the next start fail.
func TestNormalizeIdempotent(t *testing.T) {
	for _, o := range []Override{
		{ID: "a", Name: "Cats.Example.TEST", Addresses: []string{"::ffff:10.0.0.1", "2001:DB8::1"}},
		{ID: "b.c", Name: "*.example.test", CNAME: "Dogs.Example.test", Clients: []string{"10.1.2.3/8", "::ffff:10.0.0.0/104", "192.0.2.7", "2001:db8::1/32"}},
		{ID: "d", Name: "x.test.", Group: "g", Addresses: []string{"127.0.0.1"}, Clients: []string{"::ffff:0:0/96"}},
	} {
		once := o.clone()
		if err := once.Normalize(); err != nil {
			t.Fatalf("normalize(%+v): %v", o, err)
		}
		twice := once.clone()
		if err := twice.Normalize(); err != nil {
			t.Fatalf("normalize(normalize(%+v)) = %v, want accepted", o, err)
		}
		if !reflect.DeepEqual(once, twice) {
			t.Errorf("normalize not idempotent:\n once %+v\ntwice %+v", once, twice)
		}
	}
}

// Values that normalisation used to turn into something it refuses later, or that are not
// a path segment of the API, are refused with the field named.
func TestNormalizeRefuses(t *testing.T) {
	base := func() Override { return Override{ID: "a", Name: "a.test.", Addresses: []string{"10.0.0.1"}} }
	for _, tc := range []struct {
		change func(*Override)
		field  string
		msg    string
	}{
		{func(o *Override) { o.Clients = []string{"::ffff:0:0/90"} }, "clients", "IPv4-mapped prefix must be /96 or longer"},
		{func(o *Override) { o.Clients = []string{"::ffff:0:0/0"} }, "clients", "IPv4-mapped"},
		{func(o *Override) { o.Clients = []string{"fe80::1%eth0"} }, "clients", "zone"},
		{func(o *Override) { o.Clients = []string{"invalid Prefix"} }, "clients", "not an address or CIDR prefix"},
		{func(o *Override) { o.ID = "." }, "id", "not allowed"},
		{func(o *Override) { o.ID = ".." }, "id", "not allowed"},
		{func(o *Override) { o.ID = "" }, "id", "is empty"},
		{func(o *Override) { o.Addresses, o.CNAME = nil, "300.1.1.1" }, "addresses", "not a valid IPv4 or IPv6 address"},
		{func(o *Override) { o.Addresses, o.CNAME = nil, "2001:db8::zz" }, "addresses", "not a valid IPv4 or IPv6 address"},
		{func(o *Override) { o.Addresses, o.CNAME = nil, "bad name.test" }, "cname", "not a domain name"},
	} {
		o := base()
		tc.change(&o)
		err := o.Normalize()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
			t.Errorf("%+v: got %v, want a %s error saying %q", o, err, tc.field, tc.msg)
		}
	}
}

// TestNormalizeLimits: each bound on an override's size accepts exactly its limit and refuses
// one more, naming the field.
func TestNormalizeLimits(t *testing.T) {
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	addr := func(i int) string { return fmt.Sprintf("10.0.%d.%d", i/256, i%256) }
	client := func(i int) string { return fmt.Sprintf("10.%d.0.0/16", i) }
	for _, tc := range []struct {
		field string
		set   func(o *Override, n int)
		limit int
	}{
		{"group", func(o *Override, n int) { o.Group = strings.Repeat("g", n) }, maxGroupLen},
		{"addresses", func(o *Override, n int) { o.Addresses = many(n, addr) }, maxTargets},
		{"clients", func(o *Override, n int) { o.Clients = many(n, client) }, maxTargets},
		{"note", func(o *Override, n int) { o.Note = strings.Repeat("n", n) }, maxNoteLen},
		{"id", func(o *Override, n int) { o.ID = strings.Repeat("i", n) }, maxIDLen},
	} {
		o := Override{ID: "a", Name: "a.test.", Addresses: []string{"10.0.0.1"}}
		tc.set(&o, tc.limit)
		if err := o.Normalize(); err != nil {
			t.Errorf("%s at its limit %d: %v, want it accepted", tc.field, tc.limit, err)
		}
		o = Override{ID: "a", Name: "a.test.", Addresses: []string{"10.0.0.1"}}
		tc.set(&o, tc.limit+1)
		if fe, ok := o.Normalize().(*FieldError); !ok || fe.Field != tc.field {
			t.Errorf("%s one over its limit %d: %v, want a %s error", tc.field, tc.limit, o.Normalize(), tc.field)
		}
	}
}

// TestNormalizeCharacters: an id holds ASCII letters, digits, '-', '_' and '.', each range
// to its ends and nothing next to them; a group may hold spaces but no control character.
func TestNormalizeCharacters(t *testing.T) {
	for _, id := range []string{"az", "AZ", "09", "a-b_c.d"} {
		o := Override{ID: id, Name: "a.test.", Addresses: []string{"10.0.0.1"}}
		if err := o.Normalize(); err != nil {
			t.Errorf("id %q: %v, want it accepted", id, err)
		}
	}
	for _, c := range "`{@[/:" {
		o := Override{ID: "a" + string(c), Name: "a.test.", Addresses: []string{"10.0.0.1"}}
		if fe, ok := o.Normalize().(*FieldError); !ok || fe.Field != "id" {
			t.Errorf("id %q: %v, want an id error", o.ID, o.Normalize())
		}
	}
	for group, ok := range map[string]bool{"blue green": true, "~": true, "a\x1fb": false, "a\x7fb": false, "a\x00": false} {
		o := Override{ID: "a", Name: "a.test.", Group: group, Addresses: []string{"10.0.0.1"}}
		err := o.Normalize()
		if fe, isField := err.(*FieldError); ok && err != nil || !ok && (!isField || fe.Field != "group") {
			t.Errorf("group %q: %v, want accepted %v", group, err, ok)
		}
	}
}
