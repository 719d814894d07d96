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

// TestFirstWait: the first probe waits a random part of the jitter window, anywhere in it.
func TestFirstWait(t *testing.T) {
	ck := newCheck("jittery", kindTCP)
	ck.Interval, ck.Jitter = time.Second, 0.2
	p := &prober{check: ck}
	shortest, longest := time.Hour, time.Duration(0)
	for range 1000 {
		w := p.firstWait()
		if w < 0 || w >= 200*time.Millisecond {
			t.Fatalf("first wait %s with interval 1s and jitter 20%%, want it within [0, 200ms)", w)
		}
		shortest, longest = min(shortest, w), max(longest, w)
	}
	// Of 1000 draws, none under 50ms or none over 150ms has a chance of 0.75^1000: never.
	if shortest > 50*time.Millisecond || longest < 150*time.Millisecond {
		t.Errorf("1000 first waits from %s to %s, want them over the whole window [0, 200ms)", shortest, longest)
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
	started := make([]time.Time, n)
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
		mu.Lock()
		started[i] = time.Now()
		mu.Unlock()
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
	// Each prober's wait before its first probe: drawn from the jitter window (100ms), the
	// longest of 50 is under 20ms with a chance of 0.2^50, never; a busy machine only makes
	// waits longer. Without the jitter every probe would go at once.
	longest := time.Duration(0)
	for i, at := range first {
		longest = max(longest, at.Sub(started[i]))
	}
	if longest < 20*time.Millisecond {
		t.Errorf("the longest wait before a first probe was %s, want waits spread over the jitter window (100ms)", longest)
	}
}
