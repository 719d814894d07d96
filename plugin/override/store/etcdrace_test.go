package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// etcdReplica is a table on its own EtcdStore following the others through its watch, as a
// replica runs it.
func etcdReplica(t *testing.T, endpoint, prefix string) *Table {
	t.Helper()
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{endpoint}}, Prefix: prefix})
	s.probeEvery = 50 * time.Millisecond
	tab := newTable(s.String(), s, &etcdAudit{store: s})
	tab.setLimit(MaxMaxOverrides)
	if err := tab.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Watch(ctx, tab.publish) }()
	t.Cleanup(func() { cancel(); <-done; s.Close() })
	return tab
}

// Three replicas sharing a table of 10,000 overrides take enables of overrides of the same
// groups at the same moment, round after round: every request succeeds, and every replica
// ends with exactly one enabled per group, the same one as etcd holds.
func TestEtcdReplicasRaceAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 overrides in etcd")
	}
	etcd := etcdtest.Start(t)
	prefix := "/test/" + t.Name() + "/"
	seeder := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: prefix})
	t.Cleanup(func() { seeder.Close() })
	cli, err := seeder.conn()
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	seedEtcd(t, cli, seeder, n)
	replicas := []*Table{etcdReplica(t, etcd.Endpoint, prefix), etcdReplica(t, etcd.Endpoint, prefix), etcdReplica(t, etcd.Endpoint, prefix)}
	for _, r := range replicas {
		if got := len(r.Current().Overrides); got != n {
			t.Fatalf("replica loaded %d overrides, want %d", got, n)
		}
	}
	const groups = 5 // groups g0..g4 hold o000000..o000019, four each
	for round := range 10 {
		var wg sync.WaitGroup
		for i := range 4 * groups {
			wg.Go(func() {
				r := replicas[(i+round)%len(replicas)]
				if _, err := r.Enable(context.Background(), tester, benchOverride(i).ID, 0); err != nil {
					t.Errorf("round %d: enable %s: %v", round, benchOverride(i).ID, err)
				}
			})
		}
		wg.Wait()
	}
	st, err := loadState(context.Background(), newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: prefix}))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(enabledIDs(&st))
	if len(enabledIDs(&st)) != groups {
		t.Fatalf("etcd holds %s enabled, want one in each of %d groups", want, groups)
	}
	for i, r := range replicas {
		etcdWaitFor(t, func() bool { return r.Revision() >= st.Revision })
		if got := fmt.Sprint(enabledIDs(r.Current())); got != want {
			t.Errorf("replica %d has %s enabled, etcd %s", i, got, want)
		}
		for g := range groups {
			pins := servedFor(r, fmt.Sprintf("svc%d.example.test.", g))
			if len(pins) != 1 {
				t.Errorf("replica %d serves %d pins for group g%d, want 1", i, len(pins), g)
			}
		}
	}
}
