package pluginlist

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cfg := "# comment\n\ncache:cache\non:github.com/coredns/caddy/onevent\nrrotate:github.com/steerdns/steerdns/plugin/rrotate\n"
	got, err := Parse(strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	want := []Plugin{
		{"cache", "github.com/coredns/coredns/plugin/cache"},
		{"on", "github.com/coredns/caddy/onevent"},
		{"rrotate", "github.com/steerdns/steerdns/plugin/rrotate"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("plugin %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ cfg, wantErr string }{
		{"cache\n", `line 1: "cache" is not <directive>:<package>`},
		{"cache:\n", `line 1: "cache:" is not`},
		{"a:b:c\n", `line 1: "a:b:c" is not`},
		{"# x\nCache:cache\n", `line 2: directive "Cache"`},
		{"cache:cache\nlog:log\ncache:cache\n", `line 3: directive "cache" is already listed on line 1`},
		{"# only comments\n", "no plugins listed"},
	}
	for _, tc := range tests {
		_, err := Parse(strings.NewReader(tc.cfg))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Parse(%q): error %v, want one containing %q", tc.cfg, err, tc.wantErr)
		}
	}
}

func TestRender(t *testing.T) {
	src, err := Render("chain", []Plugin{
		{"cache", "github.com/coredns/coredns/plugin/cache"},
		{"rrotate", "github.com/steerdns/steerdns/plugin/rrotate"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"package chain",
		`_ "github.com/coredns/coredns/plugin/cache"`,
		"var Directives = []string{\n\t\"cache\",\n\t\"rrotate\",\n}",
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("rendered source lacks %q:\n%s", want, src)
		}
	}
}
