package test

import (
	"fmt"
	"testing"

	"github.com/steerdns/steerdns/test/harness"
)

// TestHealthcheckReloadLeaksNothing reloads a probing server 20 times, alternating between
// two intervals so that every reload really stops old probers and starts new ones, and
// checks that the goroutine count comes back to where it was.
func TestHealthcheckReloadLeaksNothing(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	zone := healthcheckZone(t)
	corefile := func(interval string) string {
		return fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check web http port %d interval %s timeout 3s
        check ping tcp port %d interval %s
        name cats.example.test 127.0.0.2 127.0.0.3 backup 127.0.0.4
        name dogs.example.test check ping 127.0.0.6 127.0.0.7
        discover web
    }
    file %s
}`, web.Port, interval, web.Port, interval, zone)
	}
	srv := harness.Start(t, corefile("100ms"))
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")
	healthcheckWaitFor(t, srv, "dogs.example.test", "127.0.0.6", "127.0.0.7") // all down: fail open
	before := healthcheckSettledGoroutines()

	for i := range 20 {
		interval := []string{"110ms", "100ms"}[i%2]
		if err := srv.Reload(corefile(interval)); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		srv.Query(t, "cats.example.test", 1)
	}
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")

	// A few goroutines of the runtime and the HTTP client come and go.
	const tolerance = 3
	harness.AwaitGoroutines(t, before+tolerance)
}
