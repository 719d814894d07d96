package healthcheck

import (
	"errors"
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
