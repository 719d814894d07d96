package rrotate

import (
	"hash/maphash"
	"sync"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// maxShards spreads the counters over independent locks so concurrent queries for
// different names rarely wait on each other.
const maxShards = 64

// counters counts answers per (name, type) in bounded memory: never more than maxNames
// counters in all. The bound is split over the shards (min(maxNames, 64) of them, each
// holding maxNames/shards, the first maxNames%shards one more); when a name's shard is full,
// an arbitrary name of that shard is forgotten to make room. That name's rotation restarts
// at its first record, which is the only visible effect of the bound. As names spread over
// shards by hash, forgetting may start a little before maxNames names are tracked.
//
// A counter is keyed by a seeded 64-bit hash of the lower-case name and the type, not by the
// name: one hash then picks the shard and finds the counter, where a string key was hashed
// twice. Two names whose hashes collide (odds of about n²/2⁶⁵ for n names) would share a
// counter: each still rotates, just not from its own count.
type counters struct {
	seed   maphash.Seed
	shards []shard
}

type shard struct {
	mu       sync.Mutex
	capacity int
	count    map[uint64]uint64
}

// newCounters returns counters for at most maxNames (name, type) pairs; maxNames >= 1.
func newCounters(maxNames int) *counters {
	n := min(maxNames, maxShards)
	c := &counters{seed: maphash.MakeSeed(), shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i].capacity = maxNames / n
		if i < maxNames%n {
			c.shards[i].capacity++
		}
		c.shards[i].count = make(map[uint64]uint64)
	}
	return c
}

// capacity reports how many counters may be kept in all: the configured max_names.
func (c *counters) capacity() int {
	n := 0
	for i := range c.shards {
		n += c.shards[i].capacity
	}
	return n
}

// next returns how many answers for (name, qtype) came before this one.
func (c *counters) next(name string, qtype uint16) uint64 {
	k := c.key(name, qtype)
	s := &c.shards[k%uint64(len(c.shards))]
	s.mu.Lock()
	n, ok := s.count[k]
	if !ok && len(s.count) >= s.capacity {
		for old := range s.count {
			delete(s.count, old)
			evictions.Inc()
			break
		}
	}
	s.count[k] = n + 1
	s.mu.Unlock()
	return n
}

// peek returns what next would return, without counting an answer.
func (c *counters) peek(name string, qtype uint16) uint64 {
	k := c.key(name, qtype)
	s := &c.shards[k%uint64(len(c.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[k]
}

// key hashes the lower-case form of name, without allocating, and mixes in qtype.
func (c *counters) key(name string, qtype uint16) uint64 {
	var h uint64
	var buf answer.NameBuffer
	if lower := answer.Lower(&buf, name); lower != nil {
		h = maphash.Bytes(c.seed, lower)
	} else {
		h = maphash.String(c.seed, name) // lower case already, as most names arrive
	}
	return h ^ uint64(qtype)*0x9e3779b97f4a7c15
}

// len reports how many names are tracked.
func (c *counters) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += len(s.count)
		s.mu.Unlock()
	}
	return n
}
