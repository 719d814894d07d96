package healthcheck

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestNextWaitJitter: the wait between two probes is the interval moved at random by up to
// ±jitter of itself, to both sides, and exactly the interval without jitter.
func TestNextWaitJitter(t *testing.T) {
	ck := newCheck("jittery", kindTCP)
	ck.Interval, ck.Jitter = time.Second, 0.2
	p := &prober{check: ck}
	lo, hi := 800*time.Millisecond, 1200*time.Millisecond
	shorter, longer := 0, 0
	for range 1000 {
		w := p.nextWait()
		if w < lo || w > hi {
			t.Fatalf("wait %s with interval 1s and jitter 20%%, want it within [%s, %s]", w, lo, hi)
		}
		if w < ck.Interval {
			shorter++
		} else if w > ck.Interval {
			longer++
		}
	}
	if shorter == 0 || longer == 0 {
		t.Errorf("of 1000 waits %d were shorter than the interval and %d longer, want both sides", shorter, longer)
	}
	ck.Jitter = 0
	if w := p.nextWait(); w != ck.Interval {
		t.Errorf("wait %s without jitter, want the interval (1s)", w)
	}
}

// TestFirstProbesSpread: targets started together are first probed at random moments of
// the jitter window, not in one burst.
func TestFirstProbesSpread(t *testing.T) {
	ck := newCheck("spread", kindTCP)
	ck.Port, ck.Interval, ck.Jitter = 1, minInterval, 1
	const n = 50
	var mu sync.Mutex
	first := map[int]time.Time{}
	start := time.Now()
	var ps []*prober
	for i := range n {
		ctx, cancel := context.WithCancel(context.Background())
		p := &prober{addr: netip.MustParseAddr(fmt.Sprintf("127.0.1.%d", i+1)), check: ck, ctx: ctx, cancel: cancel, release: func() {},
			probe: func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if _, ok := first[i]; !ok {
					first[i] = time.Now()
				}
				return nil
			}}
		p.st.state = stateUp // probes that pass change nothing: no verdict, no notification
		ps = append(ps, p)
		p.start()
	}
	waitUntil(t, "every target's first probe", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(first) == n
	})
	for _, p := range ps {
		p.stop()
	}
	earliest, latest := time.Duration(1<<62), time.Duration(0)
	for _, at := range first {
		d := at.Sub(start)
		earliest, latest = min(earliest, d), max(latest, d)
	}
	// Spread at random over 100ms, 50 first probes fall within 20ms of each other with a
	// chance of about 50*0.2^49: never. In one burst they all come at once.
	if latest-earliest < 20*time.Millisecond {
		t.Errorf("%d first probes came within %s of each other, want them spread over the jitter window (100ms)", n, latest-earliest)
	}
}
