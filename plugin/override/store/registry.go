package store

import (
	"context"
	"errors"
	"io"
	"runtime/debug"
	"sync"
	"time"
)

// tables holds one table per store for the whole process. Server blocks that name the same
// store share its table, and a reload finds the table the old instance used, so that no
// change can fall between two copies of the state.
var tables = &registry{m: map[string]*Table{}}

type registry struct {
	mu sync.Mutex
	m  map[string]*Table
}

// open returns the table for key, loading it through newStore the first time. A load error
// (unreadable or corrupt store) is returned with no table, and nothing is kept. A shared store
// that cannot be reached (ErrUnavailable) is no error: its table is kept, empty, with
// unreached saying why, and its watch reads the store later.
func (r *registry) open(ctx context.Context, key string, newStore func() (backend, auditTrail)) (t *Table, unreached, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.m[key]; ok {
		return t, nil, nil
	}
	store, audit := newStore()
	t = newTable(key, store, audit)
	if err := t.load(ctx); err != nil {
		if !errors.Is(err, ErrUnavailable) {
			return nil, nil, err
		}
		unreached = err
	}
	r.m[key] = t
	return t, unreached, nil
}

// Acquire counts a running plugin instance (call it from OnStartup); Release undoes it.
func (t *Table) Acquire() { tables.acquire(t) }

// Release undoes Acquire (call it from OnShutdown).
func (t *Table) Release() { tables.release(t) }

// acquire counts a running plugin instance. The first one starts the table's background
// work: the expiry reaper and, for a shared store, the watch for changes made elsewhere.
func (r *registry) acquire(t *Table) {
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
func (r *registry) release(t *Table) {
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
func (t *Table) reap(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last string // the error last logged
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			safely("reaper", func() {
				// While a shared store is unreachable, or holds a bad table, the store
				// logs that once. Repeating it, or any error, every tick would bury it.
				err := t.expire(ctx)
				quiet := errors.Is(err, ErrUnavailable) || errors.Is(err, errBadTable)
				if err != nil && !quiet && err.Error() != last {
					log.Errorf("expiring overrides in %s: %v", t.store, err)
				}
				last = ""
				if err != nil {
					last = err.Error()
				}
				t.seedPending(ctx)
			})
		}
	}
}

// safely runs one round of a background loop. A panic is logged with its stack and counted,
// and the loop goes on with the last good state: a control-plane bug must never take down the
// DNS server.
func safely(loop string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			panics.WithLabelValues(loop).Inc()
			log.Errorf("%s: recovered from a panic, keeping the last good state: %v\n%s", loop, r, debug.Stack())
		}
	}()
	fn()
}
