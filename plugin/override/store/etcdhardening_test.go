package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// A bad value written straight into an override's key (an older replica, a hand edit) is
// refused: the replica keeps serving the last good pin, logs the bad value once and counts it,
// and takes the next good value.
func TestEtcdBadValueKeepsLastGood(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	writer := newTestEtcdStore(t, etcd.Endpoint)
	replica := newTestEtcdStore(t, etcd.Endpoint)
	tab := newTable(replica.String(), replica, &etcdAudit{store: replica})
	if _, err := storeUpdate(ctx, writer, func(v *change) error {
		v.put(Override{ID: "one", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.2"}, Enabled: true})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := tab.load(ctx); err != nil {
		t.Fatal(err)
	}
	goodRev := tab.Current().Revision
	logs := captureLog(t)
	rejected := storeRejected.WithLabelValues(replica.String())
	before := counterValue(t, rejected)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); replica.Watch(wctx, tab.publish) }()
	t.Cleanup(func() { cancel(); <-done })
	go func() { tab.reap(wctx, 10*time.Millisecond) }()

	bad := `{"id":"one","name":"cats.example.test.","group":"g","addresses":["127.0.0.9"],"clients":["::ffff:0:0/90"],"enabled":true}`
	cli := etcdRawClient(t, etcd.Endpoint)
	if _, err := cli.Put(ctx, replica.overrideKey("one"), bad); err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { return counterValue(t, rejected) >= before+1 })
	// Several probes (every 50 ms) and reaper ticks pass meanwhile.
	time.Sleep(300 * time.Millisecond) // a window for repeats to show; the check below is not timed
	if got := counterValue(t, rejected); got != before+1 {
		t.Errorf("store_rejected_total went up by %v, want 1 for one bad value", got-before)
	}
	if n := strings.Count(logs.String(), "::ffff:0:0/90"); n != 1 {
		t.Errorf("bad value logged %d times, want once:\n%s", n, logs.String())
	}
	if pins := servedFor(tab, "cats.example.test."); len(pins) != 1 || pins[0].Addresses[0] != "127.0.0.2" {
		t.Fatalf("replica answers %+v, want the last good pin 127.0.0.2", pins)
	}
	if o, ok := tab.lookup("one"); !ok || o.Addresses[0] != "127.0.0.2" {
		t.Fatalf("replica holds %+v, want the last good one", o)
	}

	// The operator repairs it with a create, as the API would (an update finds nothing).
	rev, err := storeUpdate(ctx, writer, func(v *change) error {
		v.put(Override{ID: "one", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.3"}, Enabled: true})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { return tab.Revision() >= rev })
	if pins := servedFor(tab, "cats.example.test."); len(pins) != 1 || pins[0].Addresses[0] != "127.0.0.3" {
		t.Fatalf("after a good value the replica answers %+v, want 127.0.0.3 (revision %d after %d)", pins, rev, goodRev)
	}
}

// A panic in the watch's callback is recovered, counted under its loop, and the watch goes on
// delivering the next changes.
func TestEtcdWatchSurvivesPanic(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	writer := newTestEtcdStore(t, etcd.Endpoint)
	replica := newTestEtcdStore(t, etcd.Endpoint)
	watchPanics, resyncPanics := panics.WithLabelValues("watch"), panics.WithLabelValues("resync")
	before := counterValue(t, watchPanics) + counterValue(t, resyncPanics)

	ch := make(chan State, 10)
	first := true
	x := newIndex()
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		replica.Watch(wctx, func(d delta) {
			if first {
				first = false
				panic("injected")
			}
			x.apply(d)
			ch <- *x.state()
		})
	}()
	t.Cleanup(func() { cancel(); <-done })

	if _, err := storeUpdate(ctx, writer, etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { return counterValue(t, watchPanics)+counterValue(t, resyncPanics) >= before+1 })
	rev, err := storeUpdate(ctx, writer, etcdAddOverride("two", "g"))
	if err != nil {
		t.Fatal(err)
	}
	if st := etcdAwaitRevision(t, ch, rev); len(st.Overrides) != 2 {
		t.Fatalf("after the panic the watch delivered %+v", st)
	}
}

// While etcd is unreachable the audit trail answers what this replica last saw, marked stale
// with the reason, instead of an error.
func TestEtcdAuditStaleDuringOutage(t *testing.T) {
	t.Parallel() // its own etcd; seconds of request timeouts while etcd is down
	etcd := etcdtest.Start(t)
	s := newTestEtcdStore(t, etcd.Endpoint)
	a := &etcdAudit{store: s}
	var revs []uint64
	for i := range 3 {
		rev, err := storeUpdate(context.Background(), s, etcdAddOverride(fmt.Sprint("o", i), "g"))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	if page, err := a.tail(2); err != nil || page.Stale || len(page.Entries) != 2 {
		t.Fatalf("tail with etcd up: %+v, %v", page, err)
	}
	etcd.Stop()
	page, err := a.tail(2)
	if err != nil || !page.Stale || !strings.Contains(page.Reason, "unavailable") {
		t.Fatalf("tail with etcd down: %+v, %v; want stale with the reason", page, err)
	}
	if len(page.Entries) != 2 || page.Entries[0].Revision != revs[1] || page.Entries[1].Revision != revs[2] {
		t.Fatalf("stale entries %+v, want revisions %v", page.Entries, revs[1:])
	}
	data, _ := json.Marshal(page)
	if !strings.Contains(string(data), `"stale":true`) || !strings.Contains(string(data), `"reason":`) {
		t.Fatalf("JSON %s lacks stale and reason", data)
	}
}

// BenchmarkEtcdPropagation measures what the README promises: the time from a change written
// by one replica to the moment another replica's watch hands it over, real etcd on loopback.
// Each iteration is one enable on the writer plus the wait for the reader to see it.
func BenchmarkEtcdPropagation(b *testing.B) {
	etcd := etcdtest.Start(b)
	ctx := context.Background()
	writer := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: "/bench-propagation/"})
	defer writer.Close()
	reader := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: "/bench-propagation/"})
	defer reader.Close()
	for i := range 4 {
		if _, err := storeUpdate(ctx, writer, etcdAddOverride(fmt.Sprintf("o%d", i), "cats")); err != nil {
			b.Fatal(err)
		}
	}
	got := make(chan uint64, 1024)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); reader.Watch(wctx, func(d delta) { got <- d.rev }) }()
	defer func() { cancel(); <-done }()
	<-got // the watch is up once it has delivered the current table
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		want, err := storeUpdate(ctx, writer, etcdEnableUpdate(fmt.Sprintf("o%d", i%4)))
		if err != nil {
			b.Fatal(err)
		}
		for rev := range got {
			if rev >= want {
				break
			}
		}
		i++
	}
}
