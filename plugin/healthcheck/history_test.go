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
