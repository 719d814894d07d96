package override

import (
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// TestRecentCounts: answers land in the bucket of their time, a lap of the ring later a
// bucket starts from zero, and the window ends with the current bucket.
func TestRecentCounts(t *testing.T) {
	var r recent
	t0 := time.Unix(1_700_000_000, 0).Truncate(recentBucket)
	for range 3 {
		r.add(t0)
	}
	r.add(t0.Add(recentBucket))
	got, start := r.counts(t0.Add(recentBucket + time.Second))
	if len(got) != recentBuckets || got[recentBuckets-1] != 1 || got[recentBuckets-2] != 3 || !start.Equal(t0.Add(-(recentBuckets-2)*recentBucket)) {
		t.Errorf("counts %v from %v", got, start)
	}
	lap := t0.Add(recentBuckets * recentBucket) // the same slot as t0, one lap later
	r.add(lap)
	got, _ = r.counts(lap)
	if got[recentBuckets-1] != 1 {
		t.Errorf("a bucket a lap later holds %d, want 1 (restarted)", got[recentBuckets-1])
	}
	// The window is now t0+10s .. lap: its oldest bucket holds the answer at t0+10s, and t0's
	// three answers are gone.
	if got[0] != 1 || sum(got) != 2 {
		t.Errorf("a lap later: %v, want 1 first and 1 last", got)
	}
}

// TestRecentThroughQueries: pinned answers reach Recent by the override's id, and an idle
// override is forgotten by the next sweep.
func TestRecentThroughQueries(t *testing.T) {
	h := newTestHandler(t, store.Override{ID: "r-cats", Name: "cats.example.test", Addresses: []string{"127.0.0.3"}, Enabled: true})
	for range 4 {
		serve(t, h, "192.0.2.1", "cats.example.test.", 1)
	}
	_, _, counts := AllRecent(time.Now())
	if got := counts["r-cats"]; sum(got) != 4 {
		t.Errorf("AllRecent = %v, want 4 answers", counts)
	}
	sweepRecents(time.Now().Add(recentBuckets * recentBucket))
	if _, _, counts := AllRecent(time.Now()); counts["r-cats"] != nil {
		t.Errorf("after a sweep a window later: %v", counts)
	}
}

func sum(ns []uint64) (s uint64) {
	for _, n := range ns {
		s += n
	}
	return s
}
