package healthcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
)

// TestCheckOptionBounds: each numeric option of a check accepts the ends of its documented
// range and refuses one past them (README: port 1-65535, rise and fall 1-100, jitter 0-100%,
// interval at least 100ms, timeout at least 10ms, status codes 100-599, one code or a range).
func TestCheckOptionBounds(t *testing.T) {
	accepted := []struct {
		opts  string
		check func(c *checkSpec) bool
	}{
		{"port 1", func(c *checkSpec) bool { return c.Port == 1 }},
		{"port 65535", func(c *checkSpec) bool { return c.Port == 65535 }},
		{"rise 1 fall 1", func(c *checkSpec) bool { return c.Rise == 1 && c.Fall == 1 }},
		{"rise 100 fall 100", func(c *checkSpec) bool { return c.Rise == 100 && c.Fall == 100 }},
		{"jitter 0%", func(c *checkSpec) bool { return c.Jitter == 0 }},
		{"jitter 100%", func(c *checkSpec) bool { return c.Jitter == 1 }},
		{"jitter 1", func(c *checkSpec) bool { return c.Jitter == 1 }},
		{"status 100-599", func(c *checkSpec) bool { return c.StatusLo == 100 && c.StatusHi == 599 }},
		{"status 204", func(c *checkSpec) bool { return c.StatusLo == 204 && c.StatusHi == 204 }},
		{"interval 100ms timeout 10ms", func(c *checkSpec) bool {
			return c.Interval == 100*time.Millisecond && c.Timeout == 10*time.Millisecond
		}},
	}
	for _, tc := range accepted {
		cfg, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http "+tc.opts+"\n}"))
		if err != nil {
			t.Errorf("%s: %v", tc.opts, err)
			continue
		}
		if c := cfg.checks["web"]; !tc.check(c) {
			t.Errorf("%s: parsed as %+v", tc.opts, c)
		}
	}
	refused := map[string]string{
		"port 65536":     "want a whole number from 1 to 65535",
		"rise 101":       "want a whole number from 1 to 100",
		"fall 101":       "want a whole number from 1 to 100",
		"jitter 100.1%":  "want a percentage from 0% to 100%",
		"jitter -1%":     "want a percentage from 0% to 100%",
		"status 200-600": "invalid status '200-600'",
		"interval 99ms":  "want a duration of at least 100ms",
		"timeout 9ms":    "want a duration of at least 10ms",
	}
	for opts, want := range refused {
		_, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http "+opts+"\n}"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", opts, err, want)
		}
	}
}

// TestDiscoverExpireMustBePositive: `expire` refuses zero and says what it wants.
func TestDiscoverExpireMustBePositive(t *testing.T) {
	_, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n discover web expire 0s\n}"))
	if err == nil || !strings.Contains(err.Error(), "invalid expire '0s': want a positive duration such as 500ms") {
		t.Errorf("expire 0s: %v", err)
	}
	cfg, err := parse(caddy.NewTestController("dns", "healthcheck example.test {\n check web http\n discover web expire 1ns\n}"))
	if err != nil || cfg.expire != time.Nanosecond {
		t.Errorf("expire 1ns: %v, %v", cfg, err)
	}
}
