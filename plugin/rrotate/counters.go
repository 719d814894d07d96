package rrotate

import (
	"hash/maphash"
	"strings"
	"sync"
)

// shardCount spreads the counters over independent locks so concurrent queries for
// different names rarely wait on each other.
const shardCount = 64

// counters counts answers per (name, type) in bounded memory. When a shard is full, an
// arbitrary name is forgotten to make room; that name's rotation restarts at its first
// record, which is the only visible effect of the bound.
type counters struct {
	seed     maphash.Seed
	perShard int
	shards   [shardCount]shard
}

type shard struct {
	mu    sync.Mutex
	count map[counterKey]uint64
}

type counterKey struct {
	name  string
	qtype uint16
}

func newCounters(maxNames int) *counters {
	c := &counters{seed: maphash.MakeSeed(), perShard: max(1, maxNames/shardCount)}
	for i := range c.shards {
		c.shards[i].count = make(map[counterKey]uint64)
	}
	return c
}

// next returns how many answers for (name, qtype) came before this one.
func (c *counters) next(name string, qtype uint16) uint64 {
	if hasUpper(name) { // names are case-insensitive; most queries are lower case already
		name = strings.ToLower(name)
	}
	k := counterKey{name, qtype}
	s := &c.shards[maphash.String(c.seed, name)%shardCount]
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

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
