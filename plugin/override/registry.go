package override

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"
)

// tables holds one table per store for the whole process. Server blocks that name the same
// store share its table, and a reload finds the table the old instance used, so that no
// change can fall between two copies of the state.
var tables = &registry{m: map[string]*table{}}

type registry struct {
	mu sync.Mutex
	m  map[string]*table
}

// open returns the table for key, loading it through newStore the first time. A load error
// (unreadable or corrupt store) is returned and nothing is kept, except that a shared store
// that cannot be reached (ErrUnavailable) is kept with the error: its watch reads it later.
func (r *registry) open(ctx context.Context, key string, newStore func() (Store, auditTrail)) (*table, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.m[key]; ok {
		return t, nil
	}
	store, audit := newStore()
	t := newTable(key, store, audit)
	if err := t.load(ctx); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			return nil, err
		}
		r.m[key] = t
		return t, err
	}
	r.m[key] = t
	return t, nil
}

// acquire counts a running plugin instance. The first one starts the table's background
// work: the expiry reaper and, for a shared store, the watch for changes made elsewhere.
func (r *registry) acquire(t *table) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.refs++
	if t.refs > 1 {
		return
	}
	r.m[t.key] = t // back in the registry if a final shutdown had dropped it
	ctx, cancel := context.WithCancel(context.Background())
	t.stop = cancel
	t.workers.Add(2)
	go func() { defer t.workers.Done(); t.store.Watch(ctx, t.publish) }()
	go func() { defer t.workers.Done(); t.reap(ctx, time.Second) }()
}

// release undoes acquire. The last one stops the background work and forgets the table, so
// that a fresh start reads the store again.
func (r *registry) release(t *table) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t.refs--
	if t.refs > 0 {
		return
	}
	t.stop()
	t.workers.Wait()
	delete(r.m, t.key)
	if c, ok := t.store.(io.Closer); ok {
		c.Close() // the connection to etcd; it is made again if the table is used again
	}
}

// reap switches off expired overrides every interval. Queries never wait for it: the query
// path checks expiry itself, so an override stops answering at its expiry on the dot.
func (t *table) reap(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			// While a shared store is unreachable the store logs that once; repeating it
			// every tick would bury it.
			if err := t.expire(ctx); err != nil && !errors.Is(err, ErrUnavailable) {
				log.Errorf("expiring overrides in %s: %v", t.store, err)
			}
			t.seedPending(ctx)
		}
	}
}
