package weighted

import (
	"net/netip"
	"strings"
	"testing"
)

func addr(s string) target { return target{addr: netip.MustParseAddr(s)} }

// A weight file written for `loadbalance weighted` must load unchanged.
func TestParseWeightFileLoadbalanceFormat(t *testing.T) {
	data := `# Comment lines are ignored

www.example.com
100.64.1.1 3
100.64.1.2 1
  100.64.1.3   2

Other.Example.Com.
2001:db8::1 7
`
	spec, err := parseWeightFile("w", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[target]uint32{
		"www.example.com.":   {addr("100.64.1.1"): 3, addr("100.64.1.2"): 1, addr("100.64.1.3"): 2},
		"other.example.com.": {addr("2001:db8::1"): 7},
	}
	if len(spec) != len(want) {
		t.Fatalf("got %d names, want %d: %v", len(spec), len(want), spec)
	}
	for name, ws := range want {
		for tg, w := range ws {
			if got := spec[name][tg]; got != w {
				t.Errorf("%s %s: weight %d, want %d", name, tg, got, w)
			}
		}
	}
}

func TestParseWeightFileExtensions(t *testing.T) {
	spec, err := parseWeightFile("w", []byte("_http._tcp.example.test\nWeb1.Example.Test 3\n10.0.0.1 0\n::ffff:10.0.0.2 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := spec["_http._tcp.example.test."]
	if ws[target{host: "web1.example.test."}] != 3 {
		t.Errorf("SRV target weight: %v", ws)
	}
	if w, ok := ws[addr("10.0.0.1")]; !ok || w != 0 {
		t.Errorf("weight 0 must be kept (drain): %v", ws)
	}
	if ws[addr("10.0.0.2")] != 2 {
		t.Errorf("a v4-mapped address must match the plain v4 one: %v", ws)
	}
}

func TestParseWeightFileErrors(t *testing.T) {
	tests := []struct {
		data string
		want string
	}{
		{"10.0.0.1 3\n", "w:1: weight \"10.0.0.1 3\" before any domain name"},
		{"a.test\n10.0.0.1\n", "w:2: \"10.0.0.1\" is an address where a domain name was expected"},
		{"a.test\n\n# c\n10.0.0.1 x\n", "w:4: invalid weight \"x\""},
		{"a.test\n10.0.0.1 -1\n", "w:2: invalid weight \"-1\""},
		{"a.test\n10.0.0.1 70000\n", "w:2: invalid weight \"70000\""},
		{"a.test\n10.0.0.300 1\n", "w:2: invalid IP address \"10.0.0.300\""},
		{"a.test\n10.0.0.1 1 2\n", "w:2: cannot parse \"10.0.0.1 1 2\""},
		{"a..test\n", "w:1: invalid domain name \"a..test\""},
		{"a.test\\0\\\n", "w:1: invalid domain name \"a.test\\\\0\\\\\""}, // the backslash escapes the final dot
		{"a.test\nweb\\0\\ 1\n", "w:2: invalid address or SRV target"},
	}
	for _, tc := range tests {
		_, err := parseWeightFile("w", []byte(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got error %v, want one containing %q", tc.data, err, tc.want)
		}
	}
}

func TestMergeInlineOverFile(t *testing.T) {
	file := weightSpec{"a.test.": {addr("10.0.0.1"): 5, addr("10.0.0.2"): 5}}
	inline := weightSpec{"a.test.": {addr("10.0.0.2"): 1}, "b.test.": {addr("10.0.0.3"): 2}}
	got := file.merge(inline)
	if got["a.test."][addr("10.0.0.1")] != 5 || got["a.test."][addr("10.0.0.2")] != 1 || got["b.test."][addr("10.0.0.3")] != 2 {
		t.Errorf("merge: %v", got)
	}
	if file["a.test."][addr("10.0.0.2")] != 5 {
		t.Error("merge changed its input")
	}
}
