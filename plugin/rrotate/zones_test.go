package rrotate

import "testing"

func TestInZones(t *testing.T) {
	tests := []struct {
		zones []string
		name  string
		want  bool
	}{
		{[]string{"."}, "anything.test.", true},
		{[]string{"."}, ".", true},
		{[]string{"example.test."}, "example.test.", true},
		{[]string{"example.test."}, "www.example.test.", true},
		{[]string{"example.test."}, "WWW.Example.TEST.", true},
		{[]string{"example.test."}, "a.b.c.example.test.", true},
		{[]string{"example.test."}, "wwwexample.test.", false},
		{[]string{"example.test."}, "test.", false},
		{[]string{"example.test."}, "example.org.", false},
		{[]string{"example.test."}, `www\.example.test.`, false},
		{[]string{"example.test."}, `www\\.example.test.`, true},
		{[]string{"example.test."}, `w\\\.example.test.`, false},
		{[]string{"example.test."}, `\.example.test.`, false},
		{[]string{"example.test."}, `\\.example.test.`, true},
		{[]string{"a.test.", "example.test."}, "www.example.test.", true},
		{[]string{"a.test.", "b.test."}, "www.example.test.", false},
		{nil, "www.example.test.", false},
	}
	for _, tc := range tests {
		if got := inZones(tc.zones, tc.name); got != tc.want {
			t.Errorf("inZones(%v, %q) = %v, want %v", tc.zones, tc.name, got, tc.want)
		}
	}
}
