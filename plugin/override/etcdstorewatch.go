package override

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watch implements Store: it hands every table that another replica writes to changed, until
// ctx is done. A watch on the table's key carries changes within milliseconds. Beside it a
// probe reads the key every probeEvery: it keeps the reachability metric and log true, and
// catches anything the watch could have missed, so a replica that lost etcd catches up when
// etcd returns, without a restart.
func (s *EtcdStore) Watch(ctx context.Context, changed func(State)) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.probe(ctx, changed)
	}()
	s.follow(ctx, changed)
	wg.Wait()
}

// follow watches the table's key, starting each time from a fresh read, so that a watch that
// ends (etcd compacted the revision it wanted, or lost its leader) resumes from the present
// rather than from a gap.
func (s *EtcdStore) follow(ctx context.Context, changed func(State)) {
	for ctx.Err() == nil {
		safely("watch", func() {
			rev, err := s.resync(ctx, changed)
			if err == nil {
				s.watchFrom(ctx, rev+1, changed)
			}
		})
		select {
		case <-ctx.Done():
		case <-time.After(s.probeEvery):
		}
	}
}

// resync reads the table, delivers it if it is news, and returns the etcd revision it was
// read at, from which a watch misses nothing.
func (s *EtcdStore) resync(ctx context.Context, changed func(State)) (int64, error) {
	cli, err := s.conn()
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, s.stateKey)
	if err != nil {
		return 0, s.fail("reading", err)
	}
	s.markReachable()
	st, modRev, err := s.decode(resp.Kvs)
	if err != nil {
		s.reject(modRev, err)
		return resp.Header.Revision, nil
	}
	s.deliver(st, changed)
	return resp.Header.Revision, nil
}

// watchFrom follows the key from etcd revision rev until the watch ends.
func (s *EtcdStore) watchFrom(ctx context.Context, rev int64, changed func(State)) {
	cli, err := s.conn()
	if err != nil {
		return
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range cli.Watch(wctx, s.stateKey, clientv3.WithRev(rev)) {
		if resp.CompactRevision != 0 {
			log.Infof("%s compacted past revision %d; reading the table afresh", s, rev)
			return
		}
		if err := resp.Err(); err != nil {
			return
		}
		for _, ev := range resp.Events {
			rev = ev.Kv.ModRevision + 1
			if ev.Type != clientv3.EventTypePut {
				log.Warningf("%s: key %s was deleted; keeping revision %d", s, s.stateKey, s.seen.Load())
				continue
			}
			st, err := s.parse(ev.Kv.Value, ev.Kv.ModRevision)
			if err != nil {
				s.reject(ev.Kv.ModRevision, err)
				continue
			}
			s.deliver(st, changed)
		}
	}
}

// probe reads the table every probeEvery until ctx is done.
func (s *EtcdStore) probe(ctx context.Context, changed func(State)) {
	tick := time.NewTicker(s.probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			safely("resync", func() {
				if st, _, err := s.get(ctx); err == nil { // get reports a bad table
					s.deliver(st, changed)
				}
			})
		}
	}
}

// deliver hands st to changed unless this replica knows it already.
func (s *EtcdStore) deliver(st State, changed func(State)) {
	if s.advance(st.Revision) {
		changed(st)
	}
}
