package healthcheck

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// startHC parses corefile, starts the plugin and stops it when the test ends.
func startHC(t *testing.T, corefile string) *HealthCheck {
	t.Helper()
	cfg, err := parse(caddy.NewTestController("dns", corefile))
	if err != nil {
		t.Fatal(err)
	}
	hc := newHealthCheck(cfg)
	if err := hc.OnStartup(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hc.OnShutdown() })
	return hc
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReadyAndView(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	hc := newHealthCheck(&config{})
	if hc.Ready() {
		t.Fatal("ready before OnStartup")
	}
	hc = startHC(t, fmt.Sprintf(`healthcheck example.test {
        check web http port %d interval 100ms
        name cats.example.test 127.0.0.2 backup 127.0.0.3
    }`, port))
	waitUntil(t, "ready", hc.Ready)

	var got []healthview.Target
	waitUntil(t, "the view to show both verdicts", func() bool {
		got = nil
		for _, tg := range healthview.Snapshot() {
			if tg.Check == "web" && tg.Endpoint == fmt.Sprintf("http://%s:%d/", tg.Address, port) {
				got = append(got, tg)
			}
		}
		return len(got) == 2 && got[0].State == healthview.Up && got[1].State == healthview.Down
	})
	if got[0].Address != "127.0.0.2" || len(got[0].Names) != 1 || got[0].Names[0] != "cats.example.test." ||
		got[0].LastCheck.IsZero() || got[1].LastError == "" || len(got[1].Transitions) != 1 {
		t.Errorf("view = %+v", got)
	}
	if up, down := metricValue(targetUp.WithLabelValues("127.0.0.2", "web")),
		metricValue(targetUp.WithLabelValues("127.0.0.3", "web")); up != 1 || down != 0 {
		t.Errorf("target_up = %g for the live server, %g for the dead one; want 1 and 0", up, down)
	}
	if n := metricValue(transitions.WithLabelValues("127.0.0.3", "web", "down")); n < 1 {
		t.Errorf("transitions_total to down = %g, want at least 1", n)
	}
}

// TestProbersShared starts two instances probing the same targets the same way: they share
// the probers, the second sees the first's verdicts at once, and the probers stop only when
// both are gone.
func TestProbersShared(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	corefile := fmt.Sprintf("healthcheck example.test {\n check ping tcp port %d interval 100ms\n name cats.example.test 127.0.0.2\n}", port)
	before := runtime.NumGoroutine()
	a := startHC(t, corefile)
	waitUntil(t, "first verdict", a.Ready)
	b := startHC(t, corefile)
	if !b.Ready() {
		t.Fatal("second instance does not share the first one's verdicts")
	}
	pa, pb := a.probers[a.listed[0]], b.probers[b.listed[0]]
	if pa != pb {
		t.Fatal("two instances run two probers for the same target and check")
	}
	a.OnShutdown()
	if pb.ctx.Err() != nil {
		t.Fatal("prober stopped while an instance still uses it")
	}
	last := pb.view().LastCheck
	waitUntil(t, "a probe after the first instance left", func() bool { return pb.view().LastCheck.After(last) })
	b.OnShutdown()
	if pb.ctx.Err() == nil {
		t.Fatal("prober still running after both instances left")
	}
	waitUntil(t, "goroutines to return", func() bool { return runtime.NumGoroutine() <= before+1 })
}

// TestDiscoveryExpires: a discovered target that no answer carries any more stops being
// probed after the expire time.
func TestDiscoveryExpires(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check ping tcp port %d interval 100ms\n discover ping expire 300ms\n}", port))
	serve(t, hc, catsAnswer(dns.TypeA))
	waitUntil(t, "four discovered probers", func() bool {
		hc.mu.Lock()
		defer hc.mu.Unlock()
		return len(hc.probers) == 4
	})
	waitUntil(t, "discovered probers to expire", func() bool {
		hc.mu.Lock()
		defer hc.mu.Unlock()
		return len(hc.probers) == 0
	})
}

// TestSweepEvery: the discovery loop sweeps four times per expire time, so that a target
// is forgotten at most a quarter late, but not more often than every 100ms (a sweep walks
// every discovered target) nor less often than every 30s (the coarse clock it advances
// dates the targets answers carry).
func TestSweepEvery(t *testing.T) {
	for _, c := range []struct{ expire, want time.Duration }{
		{time.Second, 250 * time.Millisecond},
		{2 * time.Minute, 30 * time.Second},
		{100 * time.Millisecond, 100 * time.Millisecond},
		{400 * time.Millisecond, 100 * time.Millisecond},
		{time.Hour, 30 * time.Second},
	} {
		hc := newHealthCheck(&config{expire: c.expire})
		if got := hc.sweepEvery(); got != c.want {
			t.Errorf("expire %s: sweep every %s, want %s", c.expire, got, c.want)
		}
	}
}

// TestDiscoverBatchBounded: one batch takes in at most maxBatch reports (the one that woke
// the loop and those waiting behind it) before it publishes, so that a flood of reports
// cannot hold up a stop or a sweep; the rest wait for the next batch.
func TestDiscoverBatchBounded(t *testing.T) {
	hc := newHealthCheck(&config{})
	if cap(hc.found) < maxBatch {
		t.Fatalf("the report queue holds %d, fewer than a batch (%d)", cap(hc.found), maxBatch)
	}
	d := discovery{key: targetKey{mustAddr("127.0.0.2"), &checkSpec{Name: "batch"}}, owner: "cats.example.test."}
	for range cap(hc.found) {
		hc.found <- d
	}
	hc.discoverBatch(d)
	if left, want := len(hc.found), cap(hc.found)-(maxBatch-1); left != want {
		t.Errorf("%d reports left after one batch of %d queued ones and one in hand, want %d", left, cap(hc.found), want)
	}
}
