package answer

import (
	"strings"
	"testing"
)

func TestLower(t *testing.T) {
	var buf NameBuffer
	for _, tc := range []struct{ name, want string }{
		{"cats.example.test.", ""}, // its own lower-case form: nil
		{"@[`{.example.", ""},      // the bytes around A-Z and a-z are not letters
		{"A.example.", "a.example."},
		{"Z.example.", "z.example."},
		{"cats.EXAMPLE.Test.", "cats.example.test."},
		{"x.AZ.", "x.az."},
		{"x.@Z[.", "x.@z[."},
		{"x.A@", "x.a@"},
	} {
		got := Lower(&buf, tc.name)
		if tc.want == "" {
			if got != nil {
				t.Errorf("Lower(%q) = %q, want nil", tc.name, got)
			}
			continue
		}
		if string(got) != tc.want {
			t.Errorf("Lower(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	// A name longer than the buffer (escapes in presentation form) is folded all the same.
	long := strings.Repeat(`\065`, 100) + "B."
	if got := Lower(&buf, long); string(got) != strings.ToLower(long) {
		t.Errorf("a long name: %q", got)
	}
}
