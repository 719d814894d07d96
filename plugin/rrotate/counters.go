package rrotate

import (
	"hash/maphash"
	"sync"

	"github.com/steerdns/steerdns/plugin/internal/dnsname"
)

// shardCount spreads the counters over independent locks so concurrent queries for
// different names rarely wait on each other.
const shardCount = 64

// counters counts answers per (name, type) in bounded memory. When a shard is full, an
// arbitrary name is forgotten to make room; that name's rotation restarts at its first
// record, which is the only visible effect of the bound.
//
// A counter is keyed by a seeded 64-bit hash of the lower-case name and the type, not by the
// name: one hash then picks the shard and finds the counter, where a string key was hashed
// twice. Two names whose hashes collide (odds of about n²/2⁶⁵ for n names) would share a
// counter: each still rotates, just not from its own count.
type counters struct {
	seed     maphash.Seed
	perShard int
	shards   [shardCount]shard
}

type shard struct {
	mu    sync.Mutex
	count map[uint64]uint64
}

func newCounters(maxNames int) *counters {
	c := &counters{seed: maphash.MakeSeed(), perShard: max(1, maxNames/shardCount)}
	for i := range c.shards {
		c.shards[i].count = make(map[uint64]uint64)
	}
	return c
}

// next returns how many answers for (name, qtype) came before this one.
func (c *counters) next(name string, qtype uint16) uint64 {
	k := c.key(name, qtype)
	s := &c.shards[k%shardCount]
	s.mu.Lock()
	n, ok := s.count[k]
	if !ok && len(s.count) >= c.perShard {
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

// key hashes the lower-case form of name, without allocating, and mixes in qtype.
func (c *counters) key(name string, qtype uint16) uint64 {
	var h uint64
	var buf dnsname.Buffer
	if lower := dnsname.Lower(&buf, name); lower != nil {
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
