package store

import (
	"context"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Watch implements backend: it hands every change that another replica writes to changed, key
// by key, until ctx is done. The watch carries changes within milliseconds and costs the size
// of the change. Beside it a probe asks etcd every probeEvery whether it answers: it keeps the
// reachability metric and log true. When a watch ends (etcd compacted the revision it wanted,
// lost its leader, or was gone), the table is read again at one revision and the watch
// resumes from there, so a replica that lost etcd catches up when etcd returns.
func (s *etcdStore) Watch(ctx context.Context, changed func(delta)) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.probe(ctx)
	}()
	s.follow(ctx, changed)
	wg.Wait()
}

// follow watches the keys, starting each time from a fresh read, so that a watch that ends
// resumes from the present rather than from a gap.
func (s *etcdStore) follow(ctx context.Context, changed func(delta)) {
	for ctx.Err() == nil {
		safely("watch", func() {
			d, err := s.readAll(ctx)
			if err != nil {
				return
			}
			s.advance(d.rev)
			changed(d)
			s.watchFrom(ctx, int64(d.rev)+1, changed)
		})
		select {
		case <-ctx.Done():
		case <-time.After(s.probeEvery):
		}
	}
}

// watchFrom follows the keys from etcd revision rev until the watch ends.
func (s *etcdStore) watchFrom(ctx context.Context, rev int64, changed func(delta)) {
	cli, err := s.conn()
	if err != nil {
		return
	}
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	for resp := range cli.Watch(wctx, s.keys, clientv3.WithPrefix(), clientv3.WithRev(rev)) {
		if resp.CompactRevision != 0 {
			log.Infof("%s compacted past revision %d; reading the table afresh", s, rev)
			return
		}
		if err := resp.Err(); err != nil {
			return
		}
		s.markReachable()
		for _, ev := range resp.Events {
			s.watchBytes.Add(int64(len(ev.Kv.Key) + len(ev.Kv.Value)))
		}
		for _, d := range s.deltas(resp.Events) {
			s.advance(d.rev)
			changed(d)
		}
	}
}

// deltas turns watched events into one delta per etcd revision: the keys of one change
// arrive together, so a reader never sees half of it.
func (s *etcdStore) deltas(events []*clientv3.Event) []delta {
	var out []delta
	for _, ev := range events {
		rev := ev.Kv.ModRevision
		if len(out) == 0 || out[len(out)-1].rev != uint64(rev) {
			out = append(out, delta{rev: uint64(rev), ordered: true, groups: map[string]int64{}})
		}
		s.addEvent(&out[len(out)-1], ev)
	}
	return out
}

func (s *etcdStore) addEvent(d *delta, ev *clientv3.Event) {
	key := string(ev.Kv.Key)
	switch {
	case strings.HasPrefix(key, s.groupPrefix()):
		d.groups[strings.TrimPrefix(key, s.groupPrefix())] = ev.Kv.ModRevision
	case strings.HasPrefix(key, s.overridePrefix()):
		id := strings.TrimPrefix(key, s.overridePrefix())
		if ev.Type == mvccpb.DELETE {
			d.dels = append(d.dels, record{o: Override{ID: id}, modRev: ev.Kv.ModRevision})
			return
		}
		if r, err := s.parseOverride(ev.Kv); err == nil {
			d.puts = append(d.puts, r)
		}
	}
}

// probe asks etcd every probeEvery whether it answers, until ctx is done. It reads one small
// key, so its cost does not grow with the table.
func (s *etcdStore) probe(ctx context.Context) {
	tick := time.NewTicker(s.probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			safely("resync", func() {
				cli, err := s.conn()
				if err != nil {
					return
				}
				rctx, cancel := context.WithTimeout(ctx, requestTimeout)
				defer cancel()
				if _, err := cli.Get(rctx, s.stateKey, clientv3.WithCountOnly()); err != nil {
					s.fail("reading", err)
					return
				}
				s.markReachable()
			})
		}
	}
}
