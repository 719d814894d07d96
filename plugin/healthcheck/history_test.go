package healthcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// TestHistoryKeepsTheLastProbes: the plot data is the last historyLen results, oldest first,
// each with its latency, success and the verdict it left.
func TestHistoryKeepsTheLastProbes(t *testing.T) {
	var s status
	start := time.Unix(1_700_000_000, 0)
	total := historyLen + 10
	for i := range total {
		var err error
		if i%3 == 0 {
			err = errors.New("refused")
		}
		s.record(err, time.Duration(i)*time.Millisecond, start.Add(time.Duration(i)*time.Second), 1, 1)
	}
	got := s.probes.view()
	if len(got) != historyLen {
		t.Fatalf("%d samples, want %d", len(got), historyLen)
	}
	for k, p := range got {
		i := total - historyLen + k
		wantState := healthview.Up
		if i%3 == 0 {
			wantState = healthview.Down
		}
		if !p.At.Equal(start.Add(time.Duration(i)*time.Second)) || p.Latency != time.Duration(i)*time.Millisecond || p.OK != (i%3 != 0) || p.State != wantState {
			t.Fatalf("sample %d = %+v, want probe %d", k, p, i)
		}
	}
}

// TestHistoryClampsLatency: a probe slower than the sample can hold (2³²−1 µs, about 71
// minutes, which only an absurd timeout allows) is kept as that most, not wrapped around.
func TestHistoryClampsLatency(t *testing.T) {
	var h history
	now := time.Now()
	h.add(now, 100*time.Minute, false, stateDown)
	h.add(now, -time.Second, true, stateUp) // a clock step backwards: no negative latency
	got := h.view()
	if want := time.Duration(1<<32-1) * time.Microsecond; got[0].Latency != want {
		t.Errorf("latency %s, want it clamped to %s", got[0].Latency, want)
	}
	if got[1].Latency != 0 {
		t.Errorf("negative latency kept as %s, want 0", got[1].Latency)
	}
}
