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

// TestRecentWindowEdges: AllRecent's window starts recentBuckets-1 buckets before the current
// one; an override whose answers all fell out of the window is not in it, and a sweep keeps an
// override that answered in the oldest bucket of the window and forgets it one bucket later.
func TestRecentWindowEdges(t *testing.T) {
	t0 := time.Unix(1_600_000_000, 0).Truncate(recentBucket)
	recentOf("edge-old").add(t0)
	recentOf("edge-new").add(t0.Add(recentBucket))

	last := t0.Add((recentBuckets-1)*recentBucket + time.Second) // t0's bucket is the oldest shown
	start, bucket, counts := AllRecent(last)
	if !start.Equal(t0) || bucket != recentBucket {
		t.Errorf("window from %v by %s, want from %v by %s", start, bucket, t0, recentBucket)
	}
	if c := counts["edge-old"]; len(c) != recentBuckets || c[0] != 1 || sum(c) != 1 {
		t.Errorf("edge-old in the window: %v, want its answer in the oldest bucket", c)
	}
	if c := counts["edge-new"]; len(c) != recentBuckets || c[1] != 1 {
		t.Errorf("edge-new in the window: %v, want its answer in the second bucket", c)
	}
	_, _, counts = AllRecent(last.Add(recentBucket))
	if c, ok := counts["edge-old"]; ok {
		t.Errorf("edge-old a bucket later: %v, want it out of the window", c)
	}

	sweepRecents(last)
	if _, ok := recents.Load("edge-old"); !ok {
		t.Error("a sweep forgot an override that answered in the window's oldest bucket")
	}
	sweepRecents(last.Add(recentBucket))
	if _, ok := recents.Load("edge-old"); ok {
		t.Error("a sweep kept an override whose answers all fell out of the window")
	}
	if _, ok := recents.Load("edge-new"); !ok {
		t.Error("a sweep forgot an override that answered in the window")
	}
	recents.Delete("edge-new")
}
