package rrotate

import (
	"strings"
	"testing"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

func TestParse(t *testing.T) {
	tests := []struct {
		input    string
		types    []uint16
		zones    []string
		maxNames int
	}{
		{"rrotate", []uint16{dns.TypeA, dns.TypeAAAA}, []string{"example.org."}, defaultMaxNames},
		{"rrotate example.test", []uint16{dns.TypeA, dns.TypeAAAA}, []string{"example.test."}, defaultMaxNames},
		{"rrotate {\n types A SRV MX\n max_names 128\n}", []uint16{dns.TypeA, dns.TypeSRV, dns.TypeMX}, []string{"example.org."}, 128},
		{"rrotate a.test b.test {\n max_names 10\n}", []uint16{dns.TypeA, dns.TypeAAAA}, []string{"a.test.", "b.test."}, 10},
		{"rrotate {\n types txt a a\n max_names 1\n}", []uint16{dns.TypeTXT, dns.TypeA}, []string{"example.org."}, 1},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		c.ServerBlockKeys = []string{"example.org."}
		r, err := parse(c)
		if err != nil {
			t.Fatalf("parse(%q): %v", tc.input, err)
		}
		if len(r.types) != len(tc.types) {
			t.Errorf("parse(%q): types %v, want %v", tc.input, r.types, tc.types)
		}
		for _, typ := range tc.types {
			if !r.types.has(typ) {
				t.Errorf("parse(%q): type %s not rotated", tc.input, dns.TypeToString[typ])
			}
		}
		if strings.Join(r.zones, ",") != strings.Join(tc.zones, ",") {
			t.Errorf("parse(%q): zones %v, want %v", tc.input, r.zones, tc.zones)
		}
		if got := r.counters.capacity(); got != tc.maxNames {
			t.Errorf("parse(%q): capacity %d for max_names %d", tc.input, got, tc.maxNames)
		}
	}
}

// ttl is off unless given; given, it is the cap in seconds.
func TestParseTTL(t *testing.T) {
	for input, want := range map[string]uint32{
		"rrotate":                 0,
		"rrotate {\n ttl 5\n}":    5,
		"rrotate {\n ttl 1\n}":    1,
		"rrotate {\n ttl 3600\n}": 3600,
	} {
		r, err := parse(caddy.NewTestController("dns", input))
		if err != nil {
			t.Fatalf("parse(%q): %v", input, err)
		}
		if r.ttl != want {
			t.Errorf("parse(%q): ttl %d, want %d", input, r.ttl, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ input, wantErr string }{
		{"rrotate {\n types\n}", "Wrong argument count"},
		{"rrotate {\n types A BOGUS\n}", "unknown record type 'BOGUS'"},
		{"rrotate {\n types CNAME\n}", "record type 'CNAME' cannot be rotated"},
		{"rrotate {\n types A DNAME\n}", "record type 'DNAME' cannot be rotated"},
		{"rrotate {\n types RRSIG\n}", "record type 'RRSIG' cannot be rotated"},
		{"rrotate {\n types NSEC\n}", "record type 'NSEC' cannot be rotated"},
		{"rrotate {\n types NSEC3\n}", "record type 'NSEC3' cannot be rotated"},
		{"rrotate {\n types SOA\n}", "record type 'SOA' cannot be rotated"},
		{"rrotate {\n types OPT\n}", "record type 'OPT' cannot be rotated"},
		{"rrotate {\n types ANY\n}", "record type 'ANY' cannot be rotated"},
		{"rrotate {\n types AXFR\n}", "record type 'AXFR' cannot be rotated"},
		{"rrotate {\n types IXFR\n}", "record type 'IXFR' cannot be rotated"},
		{"rrotate {\n types None\n}", "record type 'None' cannot be rotated"},
		{"rrotate {\n types TYPE65280\n}", "unknown record type 'TYPE65280'"},
		{"rrotate {\n max_names 1 2\n}", "Wrong argument count"},
		{"rrotate {\n max_names -5\n}", "max_names must be a positive integer, not '-5'"},
		{"rrotate {\n max_names\n}", "Wrong argument count"},
		{"rrotate {\n max_names 0\n}", "max_names must be a positive integer, not '0'"},
		{"rrotate {\n max_names lots\n}", "max_names must be a positive integer, not 'lots'"},
		{"rrotate {\n shuffle\n}", "unknown property 'shuffle'"},
		{"rrotate\nrrotate", "only be used once"},
		{"rrotate \"\" {\n}", "'' is not a zone"},
		{"rrotate example.test :53 {\n}", "':53' is not a zone"},
		{"rrotate {\n ttl\n}", "ttl wants one value: seconds"},
		{"rrotate {\n ttl 5 6\n}", "ttl wants one value: seconds"},
		{"rrotate {\n ttl 0\n}", "invalid ttl '0': want seconds from 1 to 3600"},
		{"rrotate {\n ttl 3601\n}", "invalid ttl '3601'"},
		{"rrotate {\n ttl 5s\n}", "invalid ttl '5s'"},
		{"rrotate {\n ttl -1\n}", "invalid ttl '-1'"},
	}
	for _, tc := range tests {
		c := caddy.NewTestController("dns", tc.input)
		_, err := parse(c)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parse(%q): error %v, want one containing %q", tc.input, err, tc.wantErr)
		}
	}
}
