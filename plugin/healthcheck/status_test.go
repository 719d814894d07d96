package healthcheck

import (
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestStatusThresholds(t *testing.T) {
	fail := errors.New("connection refused")
	// Each step is one probe result; want is the state after it.
	steps := []struct {
		err  error
		want state
	}{
		{nil, stateUp},    // the first result decides
		{fail, stateUp},   // one failure is not enough with fall 3
		{nil, stateUp},    // and a success resets the count
		{fail, stateUp},   //
		{fail, stateUp},   //
		{fail, stateDown}, // third consecutive failure
		{nil, stateDown},  // rise 2: one success is not enough
		{fail, stateDown}, // and a failure resets the count
		{nil, stateDown},  //
		{nil, stateUp},    // second consecutive success
		{fail, stateUp},   //
		{nil, stateUp},    //
	}
	var s status
	now := time.Unix(1000, 0)
	changes := 0
	for i, step := range steps {
		before := s.state
		from, changed := s.record(step.err, time.Millisecond, now, 2, 3)
		if s.state != step.want {
			t.Fatalf("step %d: state %s, want %s", i, s.state, step.want)
		}
		if changed != (before != s.state) || (changed && from != before) {
			t.Fatalf("step %d: changed %t from %s, state went %s -> %s", i, changed, from, before, s.state)
		}
		if changed {
			changes++
		}
		if (step.err == nil) != (s.lastErr == "") || s.lastCheck != now {
			t.Fatalf("step %d: lastErr %q lastCheck %v", i, s.lastErr, s.lastCheck)
		}
	}
	if len(s.transitions) != changes || changes != 3 {
		t.Fatalf("%d transitions recorded, %d changes; want 3", len(s.transitions), changes)
	}
}

func TestStatusFirstFailureIsDown(t *testing.T) {
	var s status
	if _, changed := s.record(errors.New("timeout"), 0, time.Now(), 2, 2); !changed || s.state != stateDown {
		t.Fatalf("state %s after a first failure, want down", s.state)
	}
}

func TestStatusTransitionsBounded(t *testing.T) {
	var s status
	for i := range 100 {
		var err error
		if i%2 == 1 {
			err = errors.New("x")
		}
		s.record(err, 0, time.Unix(int64(i), 0), 1, 1)
	}
	if len(s.transitions) != maxTransitions {
		t.Fatalf("%d transitions kept, want %d", len(s.transitions), maxTransitions)
	}
	if last := s.transitions[maxTransitions-1]; last.At != time.Unix(99, 0) {
		t.Fatalf("last transition at %v, want the newest", last.At)
	}
}

// TestReadyNeedsEveryListedVerdict: ready only once every target a name line lists has its
// own verdict, whichever it is; an effective state learnt from other replicas, or a drain,
// does not stand in for the replica's own first probe.
func TestReadyNeedsEveryListedVerdict(t *testing.T) {
	all := map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateUp, "127.0.0.5": stateUp, "::2": stateDown, "::3": stateUp}
	if hc := readyHC(t, all); !hc.Ready() {
		t.Error("not ready with a verdict for every listed target")
	}
	delete(all, "::3")
	hc := readyHC(t, all)
	if hc.Ready() {
		t.Error("ready while a listed target has no verdict")
	}
	s := newSnapshot()
	for _, k := range hc.listed {
		s.set(k, verdict{state: stateDrained})
	}
	hc.snap.Store(hc.withListed(s, drainSet{}))
	if hc.Ready() {
		t.Error("ready while a listed target has no own verdict, only an effective one")
	}
	hc.running = false
	all["::3"] = stateUp
	hc = readyHC(t, all)
	s = newSnapshot()
	for _, k := range hc.listed {
		s.set(k, verdict{state: stateUnknown})
	}
	hc.snap.Store(hc.withListed(s, drainSet{}))
	if hc.Ready() {
		t.Error("ready before the verdicts are published")
	}
	if hc := readyHC(t, all); !hc.Ready() {
		t.Error("not ready once every verdict is in")
	} else if hc.running = false; hc.Ready() {
		t.Error("ready while not running")
	}
}

// readyHC is a running test instance whose listed targets have probers with the given own
// verdicts (none for an address not in states).
func readyHC(t *testing.T, states map[string]state) *HealthCheck {
	hc := newTestHC(t, "", states)
	hc.running = true
	hc.probers = map[targetKey]*prober{}
	for _, k := range hc.listed {
		p := &prober{addr: k.addr, check: k.check}
		p.st.state = states[k.addr.String()]
		hc.probers[k] = p
	}
	return hc
}

// TestViewOrder: the health view lists targets by address, then by check, and marks the
// discovered ones.
func TestViewOrder(t *testing.T) {
	hc := newTestHC(t, "check ping tcp port 1", nil)
	web, ping := hc.cfg.checks["web"], hc.cfg.checks["ping"]
	hc.probers = map[targetKey]*prober{}
	for _, k := range []targetKey{{mustAddr("127.0.0.9"), web}, {mustAddr("127.0.0.10"), web}, {mustAddr("127.0.0.10"), ping}} {
		hc.probers[k] = &prober{addr: k.addr, check: k.check}
	}
	hc.discovered = map[targetKey]*atomic.Int64{{mustAddr("127.0.0.9"), web}: new(atomic.Int64)}
	var got []string
	for _, tg := range hc.view() {
		got = append(got, fmt.Sprintf("%s %s %t", tg.Address, tg.Check, tg.Discovered))
	}
	if want := []string{"127.0.0.10 ping false", "127.0.0.10 web false", "127.0.0.9 web true"}; !slices.Equal(got, want) {
		t.Errorf("view order %v, want %v", got, want)
	}
}
