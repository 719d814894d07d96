package healthcheck

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// expiryHC starts an instance that discovers with check name (tcp to a port nobody listens
// on, probed once: interval 1h, jitter 0) and forgets after an hour, so that nothing but the
// test's own expire calls forgets a target.
func expiryHC(t *testing.T, name string, maxFound int) *HealthCheck {
	t.Helper()
	l, port := listen(t, "127.0.0.2")
	l.Close() // nothing listens: every probe is refused at once
	return startHC(t, fmt.Sprintf("healthcheck example.test {\n check %s tcp port %d interval 1h jitter 0\n discover %s expire 1h\n max_discovered %d\n}",
		name, port, name, maxFound))
}

// discoverNow has hc take in a report of addr in the answer for cats.example.test., as the
// discovery loop does, and returns whether it started probing it.
func discoverNow(hc *HealthCheck, addr string) bool {
	return hc.discover(discovery{key: targetKey{mustAddr(addr), hc.cfg.discover}, owner: "cats.example.test."})
}

// TestExpireForgetsAtCutoff: a discovered target last carried by an answer exactly the
// expire time ago is still probed; one carried a second earlier is forgotten: its prober
// stops, its verdict leaves the answers' snapshot, and the health view is told. A sweep that
// forgets nothing publishes nothing and tells nobody.
func TestExpireForgetsAtCutoff(t *testing.T) {
	hc := expiryHC(t, "expiry", 10)
	kept, gone := targetKey{mustAddr("127.0.0.2"), hc.cfg.discover}, targetKey{mustAddr("127.0.0.3"), hc.cfg.discover}
	for _, a := range []string{"127.0.0.2", "127.0.0.3"} {
		if !discoverNow(hc, a) {
			t.Fatalf("%s not discovered", a)
		}
	}
	// From the moment both first verdicts are published and the throttle window has closed,
	// nothing but expire changes the snapshot (the next probes are an hour away).
	waitUntil(t, "both verdicts published", func() bool {
		hc.mu.Lock()
		defer hc.mu.Unlock()
		s := hc.snap.Load()
		for _, k := range []targetKey{kept, gone} {
			if v, ok := s.get(k); !ok || v.state == stateUnknown {
				return false
			}
		}
		return hc.republish == nil
	})

	now := time.Now()
	cutoff := now.Add(-hc.cfg.expire).Unix()
	hc.mu.Lock()
	hc.discovered[kept].Store(cutoff)
	hc.discovered[gone].Store(cutoff - 1)
	p := hc.probers[gone]
	hc.mu.Unlock()
	published := hc.published.Load()
	_, told := healthview.Changed()
	hc.expire(now)

	hc.mu.Lock()
	_, keptProbed := hc.probers[kept]
	_, goneProbed := hc.probers[gone]
	hc.mu.Unlock()
	if !keptProbed || goneProbed {
		t.Errorf("after the sweep: seen at the cutoff probed %t (want true), seen before it probed %t (want false)", keptProbed, goneProbed)
	}
	s := hc.snap.Load()
	if _, ok := s.get(kept); !ok {
		t.Error("the target seen at the cutoff left the snapshot")
	}
	if _, ok := s.get(gone); ok {
		t.Error("the forgotten target is still in the snapshot")
	}
	if p.ctx.Err() == nil {
		t.Error("the forgotten target's prober still runs")
	}
	if n := hc.published.Load() - published; n != 1 {
		t.Errorf("%d snapshots published for one forgotten target, want 1", n)
	}
	select {
	case <-told:
	default:
		t.Error("the health view was not told that a target went away")
	}

	// (Whether a sweep that forgot nothing also leaves the health view alone is not checked:
	// the view is process-wide, so any other instance's change would fail the test.)
	published, last := hc.published.Load(), hc.snap.Load()
	hc.expire(now)
	if hc.published.Load() != published || hc.snap.Load() != last {
		t.Error("a sweep that forgot nothing published a snapshot")
	}
}

// lockedBuffer collects log output written from any goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDiscoveryCapLoggedAgainAfterExpiry: the max_discovered warning is logged once each
// time the cap is reached: not for every address dropped, but again once a target has been
// forgotten and the cap is reached anew.
func TestDiscoveryCapLoggedAgainAfterExpiry(t *testing.T) {
	hc := expiryHC(t, "relog", 1)
	var out lockedBuffer
	clog.SetOutput(&out)
	t.Cleanup(clog.Discard)
	warnings := func() int {
		return strings.Count(out.String(), "(in the answer for cats.example.test.) nor other new addresses: max_discovered 1 targets")
	}

	if !discoverNow(hc, "127.0.0.2") || discoverNow(hc, "127.0.0.3") || discoverNow(hc, "127.0.0.4") {
		t.Fatal("with max_discovered 1, want the first address probed and the next two dropped")
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d cap warnings for two dropped addresses, want 1:\n%s", n, out.String())
	}

	hc.mu.Lock()
	hc.discovered[targetKey{mustAddr("127.0.0.2"), hc.cfg.discover}].Store(0) // long unseen
	hc.mu.Unlock()
	hc.expire(time.Now())
	if !discoverNow(hc, "127.0.0.3") || discoverNow(hc, "127.0.0.4") {
		t.Fatal("after the expiry, want the next address probed and the one after dropped")
	}
	if n := warnings(); n != 2 {
		t.Errorf("%d cap warnings after the cap was reached a second time, want 2:\n%s", n, out.String())
	}
}
