package dnsname

import (
	"strings"
	"testing"
)

func TestLower(t *testing.T) {
	long := strings.Repeat("Ab.", 100)
	for _, tc := range []struct{ in, want string }{
		{"cats.example.test.", ""}, // no upper case: nil
		{"", ""},
		{"Cats.Example.TEST.", "cats.example.test."},
		{"cats.example.tesT.", "cats.example.test."},
		{"ÄB.", "Äb."}, // ASCII only, as DNS compares names
		{long, strings.ToLower(long)},
	} {
		var buf Buffer
		got := Lower(&buf, tc.in)
		if tc.want == "" {
			if got != nil {
				t.Errorf("Lower(%q) = %q, want nil", tc.in, got)
			}
			continue
		}
		if string(got) != tc.want {
			t.Errorf("Lower(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLowerDoesNotAllocate(t *testing.T) {
	m := map[string]int{"cats.example.test.": 1}
	allocs := testing.AllocsPerRun(100, func() {
		var buf Buffer
		if m[string(Lower(&buf, "CaTs.ExAmPlE.tEsT."))] != 1 {
			t.Fatal("lookup missed")
		}
	})
	if allocs != 0 {
		t.Errorf("a mixed-case lookup allocated %v times", allocs)
	}
}
