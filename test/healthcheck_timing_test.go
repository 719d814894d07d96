package test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/steerdns/steerdns/test/harness"
)

// TestHealthcheckFailoverTime measures, with interval 250ms and fall 2 (rise 2), the time
// from the moment a web server stops to the first answer without it, and from the moment it
// starts again to the first answer with it. The figures are logged (go test -v); only a
// generous bound is asserted, because shared machines are noisy.
func TestHealthcheckFailoverTime(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3")
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check web http port %d interval 250ms timeout 2s rise 2 fall 2 jitter 10%%
        name cats.example.test 127.0.0.2 127.0.0.3 backup 127.0.0.4 127.0.0.5
        unknown down
    }
    cache 300
    file %s
}`, web.Port, healthcheckZone(t)))
	// With "unknown down" this answer means both have their first verdict, up.
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")

	var down, up []time.Duration
	for range 5 {
		web.Stop("127.0.0.3")
		_, d := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2")
		down = append(down, d)
		web.Start("127.0.0.3")
		_, u := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")
		up = append(up, u)
	}
	t.Logf("failover (stop -> first answer without it), interval 250ms fall 2: %s", healthcheckStats(down))
	t.Logf("recovery (start -> first answer with it), interval 250ms rise 2: %s", healthcheckStats(up))
	for _, d := range append(down, up...) {
		if d > 3*time.Second {
			t.Errorf("a failover or recovery took %s; want well under 3s", d)
		}
	}
}

func healthcheckStats(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return fmt.Sprintf("min %s, mean %s, max %s over %d runs",
		s[0].Round(time.Millisecond), (sum / time.Duration(len(s))).Round(time.Millisecond),
		s[len(s)-1].Round(time.Millisecond), len(s))
}
