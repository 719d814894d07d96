package override

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// A bad table written straight into etcd (an older replica, a hand edit) is refused as a
// whole: the replica keeps serving the last good pins, logs the bad value once and counts it,
// and takes the next good table.
func TestEtcdBadValueKeepsLastGood(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	writer := newTestEtcdStore(t, etcd.Endpoint)
	replica := newTestEtcdStore(t, etcd.Endpoint)
	tab := newTable(replica.String(), replica, &etcdAudit{store: replica})
	if _, err := writer.Update(ctx, func(st State) (State, error) {
		st.Overrides = append(st.Overrides, Override{ID: "one", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.2"}, Enabled: true})
		return st, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := tab.load(ctx); err != nil {
		t.Fatal(err)
	}
	logs := etcdCaptureLog(t)
	rejected := storeRejected.WithLabelValues(replica.String())
	before := counterValue(t, rejected)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); replica.Watch(wctx, tab.publish) }()
	t.Cleanup(func() { cancel(); <-done })
	go func() { tab.reap(wctx, 10*time.Millisecond) }()

	bad := `{"revision":2,"overrides":[{"id":"one","name":"cats.example.test.","group":"g","addresses":["127.0.0.9"],"clients":["::ffff:0:0/90"],"enabled":true}]}`
	cli := etcdRawClient(t, etcd.Endpoint)
	if _, err := cli.Put(ctx, replica.stateKey, bad); err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { return counterValue(t, rejected) >= before+1 })
	// Several probes (every 50 ms) and reaper ticks read the bad table meanwhile.
	time.Sleep(300 * time.Millisecond) // a window for repeats to show; the check below is not timed
	if got := counterValue(t, rejected); got != before+1 {
		t.Errorf("store_rejected_total went up by %v, want 1 for one bad value", got-before)
	}
	if n := strings.Count(logs.String(), "::ffff:0:0/90"); n != 1 {
		t.Errorf("bad value logged %d times, want once:\n%s", n, logs.String())
	}
	if pins := tab.snap.Load().lookup("cats.example.test."); len(pins) != 1 || pins[0].a[0].String() != "127.0.0.2" {
		t.Fatalf("replica answers %+v, want the last good pin 127.0.0.2", pins)
	}
	if tab.current().Revision != 1 {
		t.Fatalf("replica at revision %d, want the last good 1", tab.current().Revision)
	}

	good, _ := json.Marshal(State{Revision: 3, Overrides: []Override{{ID: "one", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.3"}, Enabled: true}}})
	if _, err := cli.Put(ctx, replica.stateKey, string(good)); err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { return tab.current().Revision == 3 })
	if pins := tab.snap.Load().lookup("cats.example.test."); len(pins) != 1 || pins[0].a[0].String() != "127.0.0.3" {
		t.Fatalf("after a good table the replica answers %+v, want 127.0.0.3", pins)
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
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		replica.Watch(wctx, func(st State) {
			if first {
				first = false
				panic("injected")
			}
			ch <- st
		})
	}()
	t.Cleanup(func() { cancel(); <-done })

	if _, err := writer.Update(ctx, etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { return counterValue(t, watchPanics)+counterValue(t, resyncPanics) >= before+1 })
	if _, err := writer.Update(ctx, etcdAddOverride("two", "g")); err != nil {
		t.Fatal(err)
	}
	if st := etcdAwaitRevision(t, ch, 2); len(st.Overrides) != 2 {
		t.Fatalf("after the panic the watch delivered %+v", st)
	}
}

// While etcd is unreachable the audit trail answers what this replica last saw, marked stale
// with the reason, instead of an error.
func TestEtcdAuditStaleDuringOutage(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}
	for rev := uint64(1); rev <= 3; rev++ {
		if err := a.append(AuditEntry{Action: "create", Revision: rev}); err != nil {
			t.Fatal(err)
		}
	}
	if page, err := a.tail(2); err != nil || page.Stale || len(page.Entries) != 2 {
		t.Fatalf("tail with etcd up: %+v, %v", page, err)
	}
	etcd.Stop()
	page, err := a.tail(2)
	if err != nil || !page.Stale || !strings.Contains(page.Reason, "unavailable") {
		t.Fatalf("tail with etcd down: %+v, %v; want stale with the reason", page, err)
	}
	if len(page.Entries) != 2 || page.Entries[0].Revision != 2 || page.Entries[1].Revision != 3 {
		t.Fatalf("stale entries %+v, want revisions 2 and 3", page.Entries)
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
	writer := NewEtcdStore(EtcdConfig{Endpoints: []string{etcd.Endpoint}, Prefix: "/bench-propagation/"})
	defer writer.Close()
	reader := NewEtcdStore(EtcdConfig{Endpoints: []string{etcd.Endpoint}, Prefix: "/bench-propagation/"})
	defer reader.Close()
	for i := range 4 {
		if _, err := writer.Update(ctx, etcdAddOverride(fmt.Sprintf("o%d", i), "cats")); err != nil {
			b.Fatal(err)
		}
	}
	got := make(chan uint64, 1024)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); reader.Watch(wctx, func(st State) { got <- st.Revision }) }()
	defer func() { cancel(); <-done }()
	for rev := range got { // the watch is up once it has delivered the current table
		if rev == 4 {
			break
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		st, err := writer.Update(ctx, etcdEnableUpdate(fmt.Sprintf("o%d", i%4)))
		if err != nil {
			b.Fatal(err)
		}
		for rev := range got {
			if rev >= st.Revision {
				break
			}
		}
		i++
	}
}
