package override

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The console plots each override's answers over the last minutes: recentBuckets buckets of
// recentBucket each.
const (
	recentBucket  = 10 * time.Second
	recentBuckets = 30 // five minutes
)

// recent counts one override's answers per time bucket. A pinned answer adds to the bucket
// of its time with two atomic operations; a bucket left from an earlier lap of the ring is
// reset by the first answer that finds it stale (an answer racing that reset may be lost:
// the plot is a picture, the answers_total metric is the count).
type recent struct {
	buckets [recentBuckets]struct {
		epoch atomic.Int64 // the bucket's number since the Unix epoch
		n     atomic.Uint64
	}
}

func (r *recent) add(now time.Time) {
	e := now.UnixNano() / int64(recentBucket)
	b := &r.buckets[e%recentBuckets]
	if old := b.epoch.Load(); old != e && b.epoch.CompareAndSwap(old, e) {
		b.n.Store(0)
	}
	b.n.Add(1)
}

// counts returns the answers of the last recentBuckets buckets, oldest first, the current
// (partial) bucket last, and the start of the oldest.
func (r *recent) counts(now time.Time) ([]uint64, time.Time) {
	e := now.UnixNano() / int64(recentBucket)
	out := make([]uint64, recentBuckets)
	for i := range out {
		want := e - recentBuckets + 1 + int64(i)
		if b := &r.buckets[want%recentBuckets]; b.epoch.Load() == want {
			out[i] = b.n.Load()
		}
	}
	return out, time.Unix(0, (e-recentBuckets+1)*int64(recentBucket))
}

// recents holds the counts of the overrides that answered since the process started (by
// id): a pin is rebuilt on every change, its counts must outlive it. An override that never
// answers costs nothing here.
var recents sync.Map // id → *recent

func recentOf(id string) *recent {
	if r, ok := recents.Load(id); ok {
		return r.(*recent)
	}
	r, _ := recents.LoadOrStore(id, new(recent))
	return r.(*recent)
}

// sweepRecents forgets the overrides that gave no answer in the plotted window, so that the
// counts kept follow the overrides in use, not every id that ever answered.
func sweepRecents(now time.Time) {
	oldest := now.UnixNano()/int64(recentBucket) - recentBuckets + 1
	recents.Range(func(id, r any) bool {
		idle := true
		for i := range r.(*recent).buckets {
			if r.(*recent).buckets[i].epoch.Load() >= oldest {
				idle = false
				break
			}
		}
		if idle {
			recents.Delete(id)
		}
		return true
	})
}

// AllRecent returns the answers of every override that answered in the last minutes, per
// recentBucket, oldest first, from start (the console's plot).
func AllRecent(now time.Time) (start time.Time, bucket time.Duration, counts map[string][]uint64) {
	counts = map[string][]uint64{}
	recents.Range(func(id, r any) bool {
		c, _ := r.(*recent).counts(now)
		if slices.ContainsFunc(c, func(n uint64) bool { return n > 0 }) {
			counts[id.(string)] = c
		}
		return true
	})
	// Every ring's window starts at the same bucket: that of now, recentBuckets-1 back.
	e := now.UnixNano()/int64(recentBucket) - recentBuckets + 1
	return time.Unix(0, e*int64(recentBucket)), recentBucket, counts
}
