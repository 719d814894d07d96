package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// newTestEtcdStore returns a store on etcd under a prefix of its own, closed when the test
// ends, that probes often so that tests of recovery do not wait long.
func newTestEtcdStore(t *testing.T, endpoint string) *etcdStore {
	t.Helper()
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{endpoint}}, Prefix: "/test/" + t.Name()})
	s.probeEvery = 50 * time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

func TestEtcdStoreLoadUpdateShared(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	ctx := context.Background()

	st, err := loadState(ctx, a)
	if err != nil || len(st.Overrides) != 0 {
		t.Fatalf("empty store: got %+v, %v; want no overrides", st, err)
	}
	rev, err := storeUpdate(ctx, a, etcdAddOverride("one", "g"))
	if err != nil || rev <= st.Revision {
		t.Fatalf("first update: got revision %d, %v; want one after %d", rev, err, st.Revision)
	}
	got, err := loadState(ctx, b)
	if err != nil || got.Revision != rev || len(got.Overrides) != 1 || got.Overrides[0].ID != "one" {
		t.Fatalf("other replica loads %+v, %v; want override one at revision %d", got, err, rev)
	}

	if _, err := storeUpdate(ctx, b, func(*change) error { return nil }); !errors.Is(err, errUnchanged) {
		t.Fatalf("unchanged update: got %v, want ErrUnchanged", err)
	}
	if _, err := storeUpdate(ctx, b, etcdEnableUpdate("missing")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update whose fn fails: got %v, want errNotFound", err)
	}
	if got, _ := loadState(ctx, a); got.Revision != rev {
		t.Fatalf("failed updates wrote revision %d", got.Revision)
	}
	// b's view knows nothing of "one": the store checks what the change read and retries.
	if _, err := storeUpdate(ctx, b, etcdEnableUpdate("one")); err != nil {
		t.Fatalf("enable from a replica whose view lags: %v", err)
	}
	if got, _ := loadState(ctx, a); fmt.Sprint(enabledIDs(&got)) != "[one]" {
		t.Fatalf("after the enable: %+v", got)
	}
}

// Two operators on two replicas enable two overrides of one group at the same moment: etcd
// serialises the transactions, and exactly one override ends enabled; every change is audited.
func TestEtcdStoreConcurrentEnablesLeaveOne(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	replicas := []*etcdStore{newTestEtcdStore(t, etcd.Endpoint), newTestEtcdStore(t, etcd.Endpoint), newTestEtcdStore(t, etcd.Endpoint)}
	const n = 6
	for i := range n {
		if _, err := storeUpdate(ctx, replicas[0], etcdAddOverride(fmt.Sprintf("o%d", i), "cats")); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 5 {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, err := storeUpdate(ctx, replicas[i%len(replicas)], etcdEnableUpdate(fmt.Sprintf("o%d", i))); err != nil {
					t.Errorf("round %d: enable o%d: %v", round, i, err)
				}
			})
		}
		wg.Wait()
		st, err := loadState(ctx, replicas[1])
		if err != nil {
			t.Fatal(err)
		}
		if enabled := enabledIDs(&st); len(enabled) != 1 {
			t.Fatalf("round %d: enabled overrides %v, want exactly one", round, enabled)
		}
	}
}

// etcdWatchInto runs s.Watch until the test ends and sends the table after every delivered
// change to the channel.
func etcdWatchInto(t *testing.T, s *etcdStore) <-chan State {
	t.Helper()
	ch := make(chan State, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	x := newIndex()
	go func() {
		defer close(done)
		s.Watch(ctx, func(d delta) { x.apply(d); ch <- *x.state() })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// etcdAwait waits for a delivered table for which ok holds, failing after a generous bound.
func etcdAwait(t *testing.T, ch <-chan State, ok func(*State) bool) State {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case st := <-ch:
			if ok(&st) {
				return st
			}
		case <-deadline:
			t.Fatalf("the table never arrived")
		}
	}
}

// etcdAwaitRevision waits for a delivered table at revision rev or later.
func etcdAwaitRevision(t *testing.T, ch <-chan State, rev uint64) State {
	t.Helper()
	return etcdAwait(t, ch, func(st *State) bool { return st.Revision >= rev })
}

func TestEtcdStoreWatchDeliversOthersChanges(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	b.probeEvery = time.Hour // only the watch may deliver here
	if _, err := loadState(ctx, b); err != nil {
		t.Fatal(err)
	}
	ch := etcdWatchInto(t, b)
	time.Sleep(100 * time.Millisecond) // let the watch start; an earlier change comes via resync anyway
	rev, err := storeUpdate(ctx, a, etcdAddOverride("one", "g"))
	if err != nil {
		t.Fatal(err)
	}
	st := etcdAwaitRevision(t, ch, rev)
	if len(st.Overrides) != 1 || st.Overrides[0].ID != "one" {
		t.Fatalf("watch delivered %+v", st)
	}
	if _, err := storeUpdate(ctx, b, etcdEnableUpdate("one")); err != nil {
		t.Fatal(err)
	}
	if rev, err = storeUpdate(ctx, a, etcdAddOverride("two", "g")); err != nil {
		t.Fatal(err)
	}
	if st := etcdAwaitRevision(t, ch, rev); len(st.Overrides) != 2 || fmt.Sprint(enabledIDs(&st)) != "[one]" {
		t.Fatalf("watch delivered %+v", st)
	}
	// A delete travels per key too.
	if rev, err = storeUpdate(ctx, a, func(v *change) error { v.del("one"); return nil }); err != nil {
		t.Fatal(err)
	}
	if st := etcdAwaitRevision(t, ch, rev); len(st.Overrides) != 1 || len(enabledIDs(&st)) != 0 {
		t.Fatalf("watch delivered %+v after the delete", st)
	}
}

// A watch that asks for a revision etcd compacted away ends, and the store reads afresh.
func TestEtcdStoreWatchAfterCompaction(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	var rev uint64
	for i := range 3 {
		var err error
		if rev, err = storeUpdate(ctx, a, etcdAddOverride(fmt.Sprintf("o%d", i), "g")); err != nil {
			t.Fatal(err)
		}
	}
	cli := etcdRawClient(t, etcd.Endpoint)
	resp, err := cli.Get(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.watchFrom(ctx, 1, func(delta) {})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a watch from a compacted revision did not end")
	}
	ch := etcdWatchInto(t, b) // resyncs first
	if st := etcdAwaitRevision(t, ch, rev); len(st.Overrides) != 3 {
		t.Fatalf("resync delivered %+v", st)
	}
}

func etcdRawClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// etcd stops: reads and writes fail as unavailable and change nothing, the store says so in
// its metric; etcd returns: the watching replica catches up without a restart.
func TestEtcdStoreOutageAndRecovery(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	before, err := storeUpdate(ctx, a, etcdAddOverride("one", "g"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(ctx, b); err != nil {
		t.Fatal(err)
	}
	logs := captureLog(t)
	ch := etcdWatchInto(t, b)

	etcd.Stop()
	_, err = storeUpdate(ctx, a, etcdEnableUpdate("one"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("update with etcd down: got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), etcd.Endpoint) {
		t.Errorf("error %q does not name the endpoint", err)
	}
	if _, err := loadState(ctx, b); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("load with etcd down: got %v, want ErrUnavailable", err)
	}
	if v := etcdGaugeValue(t, storeReachable.WithLabelValues(b.String())); v != 0 {
		t.Errorf("store_reachable with etcd down = %v, want 0", v)
	}

	etcd.Restart(t)
	// The client reconnects with a backoff: like an operator, retry a 503 for a while.
	var rev uint64
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if rev, err = storeUpdate(ctx, a, etcdEnableUpdate("one")); err == nil || !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("update after etcd returned: %v", err)
	}
	if got, _ := loadState(ctx, a); got.Revision != rev || len(got.Overrides) != 1 {
		t.Fatalf("after the outage: %+v, want revision %d after %d", got, rev, before)
	}
	if got := etcdAwaitRevision(t, ch, rev); len(enabledIDs(&got)) != 1 {
		t.Fatalf("after recovery the watcher got %+v", got)
	}
	// a and b share the gauge's label (they have the same name): wait for b itself.
	etcdWaitFor(t, func() bool { return b.reachable.Load() == reachUp })
	if v := etcdGaugeValue(t, storeReachable.WithLabelValues(b.String())); v != 1 {
		t.Errorf("store_reachable after etcd returned = %v, want 1", v)
	}

	// One line per transition and store (a and b have the same name), however many requests
	// failed in between (b alone probed every 50 ms through the outage). Each store logs the
	// outage at least once; a request that times out on a loaded machine just after etcd
	// returns is a real second transition, so up to two per store are allowed, but every
	// "unreachable" line must have its "reachable again".
	text := logs.String()
	down := "[WARNING] plugin/override: " + b.String() + " is unreachable, answering from the last known state"
	up := "[INFO] plugin/override: " + b.String() + " is reachable again"
	downs, ups := strings.Count(text, down), strings.Count(text, up)
	if downs < 2 || downs > 4 || ups != downs {
		t.Errorf("log of stores a and b: %d %q and %d %q, want 2 to 4 of each, as many of one as of the other:\n%s", downs, down, ups, up, text)
	}
	if !strings.Contains(text, fmt.Sprintf("%s (revision %d)", down, before)) {
		t.Errorf("log does not name the revision served during the outage:\n%s", text)
	}
}

// The reachability log has one line per transition: errors that mean etcd cannot be reached
// (as the client reports them) mark the store down once however many there are; it is marked
// down again only after it answered in between; a refusal by an etcd that answers (a denied
// permission) is no outage at all.
func TestEtcdReachabilityTransitions(t *testing.T) {
	logs := captureLog(t)
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{"127.0.0.1:2379"}}, Prefix: "/test/" + t.Name()})
	outages := []error{
		status.Error(codes.Unavailable, "connection refused"),
		status.Error(codes.DeadlineExceeded, "context deadline exceeded"),
		context.DeadlineExceeded,
	}
	fail := func(err error) {
		t.Helper()
		if got := s.fail("reading", err); !errors.Is(got, ErrUnavailable) {
			t.Errorf("fail(%v) = %v, want ErrUnavailable", err, got)
		}
	}
	down := "[WARNING] plugin/override: " + s.String() + " is unreachable"
	up := "[INFO] plugin/override: " + s.String() + " is reachable again"
	logged := func(wantDowns, wantUps int) {
		t.Helper()
		if downs, ups := strings.Count(logs.String(), down), strings.Count(logs.String(), up); downs != wantDowns || ups != wantUps {
			t.Errorf("logged %d %q and %d %q, want %d and %d:\n%s", downs, down, ups, up, wantDowns, wantUps, logs)
		}
	}
	for _, err := range outages {
		fail(err)
	}
	logged(1, 0)
	for range 3 {
		s.markReachable()
	}
	logged(1, 1)
	if err := s.fail("writing", rpctypes.ErrGRPCPermissionDenied); errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("a permission refused: %v, want its reason and no ErrUnavailable", err)
	}
	if s.reachable.Load() != reachUp {
		t.Error("a permission refused by a reachable etcd marked it unreachable")
	}
	fail(outages[0])
	logged(2, 1)
}

// A replica that starts while etcd is down gets ErrUnavailable from Load, and works once etcd
// is up, with the same store value.
func TestEtcdStoreStartWhileDown(t *testing.T) {
	t.Parallel() // its own etcd; seconds of dial timeouts while etcd is down
	etcd := etcdtest.Start(t)
	etcd.Stop()
	s := newTestEtcdStore(t, etcd.Endpoint)
	s.cfg.Username, s.cfg.Password = "", "" // no login: the client is made at once
	if _, err := loadState(context.Background(), s); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("load with etcd down: got %v, want ErrUnavailable", err)
	}
	ch := etcdWatchInto(t, s)
	etcd.Restart(t)
	other := newTestEtcdStore(t, etcd.Endpoint)
	rev, err := storeUpdate(context.Background(), other, etcdAddOverride("one", "g"))
	if err != nil {
		t.Fatal(err)
	}
	etcdAwaitRevision(t, ch, rev)
}

// An old single-value table that cannot be read stops the start with an error naming its key:
// migrating it would lose the table.
func TestEtcdStoreRejectsCorruptTable(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newTestEtcdStore(t, etcd.Endpoint)
	cli := etcdRawClient(t, etcd.Endpoint)
	ctx := context.Background()
	for _, bad := range []string{`{"revision": 3, "overrides": [`, `{"revision":1,"overrides":[{"id":"x","name":"a.test.","addresses":["nope"]}]}`} {
		if _, err := cli.Put(ctx, s.stateKey, bad); err != nil {
			t.Fatal(err)
		}
		_, err := loadState(ctx, s)
		if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), s.stateKey) {
			t.Errorf("load of %q: got %v, want an error naming key %s", bad, err, s.stateKey)
		}
		if resp, _ := cli.Get(ctx, s.overridePrefix(), clientv3.WithPrefix(), clientv3.WithCountOnly()); resp.Count != 0 {
			t.Errorf("a refused table was migrated: %d keys", resp.Count)
		}
	}
}

// A bad value under one override's key costs that override alone: the others load, the bad
// one is skipped and counted.
func TestEtcdStoreSkipsBadKey(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newTestEtcdStore(t, etcd.Endpoint)
	cli := etcdRawClient(t, etcd.Endpoint)
	ctx := context.Background()
	if _, err := storeUpdate(ctx, s, etcdAddOverride("good", "g")); err != nil {
		t.Fatal(err)
	}
	rejected := storeRejected.WithLabelValues(s.String())
	before := etcdCounterValue(t, rejected)
	for key, bad := range map[string]string{"bad": `{"id":"bad","name":"a.test.","addresses":["nope"]}`, "torn": `{"id":`, "other": `{"id":"elsewhere","name":"a.test.","addresses":["127.0.0.1"]}`} {
		if _, err := cli.Put(ctx, s.overrideKey(key), bad); err != nil {
			t.Fatal(err)
		}
	}
	st, err := loadState(ctx, s)
	if err != nil || len(st.Overrides) != 1 || st.Overrides[0].ID != "good" {
		t.Fatalf("load with bad keys: %+v, %v; want override good alone", st, err)
	}
	if got := etcdCounterValue(t, rejected) - before; got != 3 {
		t.Errorf("store_rejected_total grew by %v, want 3", got)
	}
	// A bad one cannot be enabled (it reads as missing), but a create replaces it.
	if _, err := storeUpdate(ctx, s, etcdEnableUpdate("bad")); !errors.Is(err, ErrNotFound) {
		t.Errorf("enabling a bad key: %v, want errNotFound", err)
	}
	if _, err := storeUpdate(ctx, s, etcdAddOverride("bad", "g")); err != nil {
		t.Errorf("creating over a bad key: %v", err)
	}
	if st, _ := loadState(ctx, s); len(st.Overrides) != 2 {
		t.Errorf("after replacing the bad key: %+v", st)
	}
}

func etcdCounterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestEtcdStoreString(t *testing.T) {
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{"http://127.0.0.1:2379", "http://127.0.0.2:2379"}}, Prefix: "/dns"})
	if got, want := s.String(), "etcd http://127.0.0.1:2379,http://127.0.0.2:2379 /dns/"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s.stateKey != "/dns/state" || s.auditKey != "/dns/audit/" {
		t.Errorf("keys %q and %q", s.stateKey, s.auditKey)
	}
	if d := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{"x"}}}); d.cfg.Prefix != DefaultEtcdPrefix {
		t.Errorf("default prefix %q", d.cfg.Prefix)
	}
}

func etcdGaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}

// etcdWaitFor polls cond until it holds, failing after a generous bound.
func etcdWaitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkEtcdStoreEnable measures one enable as the API makes it: a linearizable read and a
// compare-and-put transaction against a real etcd on loopback.
func BenchmarkEtcdStoreEnable(b *testing.B) {
	etcd := etcdtest.Start(b)
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: "/bench/"})
	defer s.Close()
	ctx := context.Background()
	for i := range 4 {
		if _, err := storeUpdate(ctx, s, etcdAddOverride(fmt.Sprintf("o%d", i), "cats")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := storeUpdate(ctx, s, etcdEnableUpdate(fmt.Sprintf("o%d", i%4))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// A change that conflicts every time (another writer changes what it read before each of its
// transactions) is tried maxTxnAttempts times, each conflict counted, then refused with an
// error that says so: it never spins for ever.
func TestEtcdUpdateGivesUpOnEndlessConflicts(t *testing.T) {
	t.Parallel() // its own etcd and metric label
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	s := newTestEtcdStore(t, etcd.Endpoint)
	cli := etcdRawClient(t, etcd.Endpoint)
	conflicts := storeConflicts.WithLabelValues(s.String())
	before := counterValue(t, conflicts)
	runs := 0
	_, err := storeUpdate(ctx, s, func(v *change) error {
		runs++
		if runs <= 3*maxTxnAttempts { // bounded, so that a store that never gives up still ends
			if _, err := cli.Put(ctx, s.groupKey("g"), fmt.Sprint("other-", runs)); err != nil {
				return err
			}
		}
		// Enabling reads the group's key, which the other writer just changed.
		v.put(Override{ID: "one", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.2"}, Enabled: true})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("gave up after %d conflicting concurrent changes", maxTxnAttempts)) {
		t.Errorf("endless conflicts: %v, want the store to give up after %d", err, maxTxnAttempts)
	}
	if runs != maxTxnAttempts {
		t.Errorf("the change ran %d times, want %d", runs, maxTxnAttempts)
	}
	if got := counterValue(t, conflicts) - before; got != maxTxnAttempts {
		t.Errorf("store_conflicts_total went up by %v, want %d", got, maxTxnAttempts)
	}
}

// A full read in pages reads every page at the first page's revision: a key written and one
// deleted meanwhile do not mix a later state into the earlier one.
func TestEtcdReadRangeAtOneRevision(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	s := newTestEtcdStore(t, etcd.Endpoint)
	cli := etcdRawClient(t, etcd.Endpoint)
	prefix := "/test/" + t.Name() + "/keys/"
	var ops []clientv3.Op
	for i := range loadPage + 1 { // two pages
		ops = append(ops, clientv3.OpPut(fmt.Sprintf("%sk%05d", prefix, i), "v"))
		if len(ops) == 100 || i == loadPage {
			if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
				t.Fatal(err)
			}
			ops = nil
		}
	}
	conn, err := s.conn()
	if err != nil {
		t.Fatal(err)
	}
	var rev int64
	seen := map[string]bool{}
	last := fmt.Sprintf("%sk%05d", prefix, loadPage)
	err = s.readRange(ctx, conn, prefix, &rev, func(kv *mvccpb.KeyValue) {
		if len(seen) == 0 { // meanwhile, on the first key: the last key goes, a new one comes
			if _, err := cli.Txn(ctx).Then(clientv3.OpDelete(last), clientv3.OpPut(prefix+"z", "v")).Commit(); err != nil {
				t.Error(err)
			}
		}
		seen[string(kv.Key)] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != loadPage+1 || !seen[last] || seen[prefix+"z"] {
		t.Errorf("read %d keys (the deleted last one: %v, the new one: %v), want the %d there were at the first page's revision %d",
			len(seen), seen[last], seen[prefix+"z"], loadPage+1, rev)
	}
}

// twoReplicas are two tables on one etcd prefix that follow each other only when loaded again
// (no watch runs): each one's view is as stale as a test needs it.
func twoReplicas(t *testing.T, endpoint string) (a, b *Table) {
	t.Helper()
	return etcdTable(t, endpoint), etcdTable(t, endpoint)
}

// A change refused on a replica's stale view (it still sees an override another replica has
// removed) is checked against etcd before the refusal stands: the create goes through.
func TestEtcdStaleRefusalIsChecked(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a, b := twoReplicas(t, etcd.Endpoint)
	x := Override{ID: "x", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.2"}, Enabled: true}
	if _, err := a.Create(ctx, Actor{Who: "alice"}, x); err != nil {
		t.Fatal(err)
	}
	if err := b.load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Remove(ctx, Actor{Who: "alice"}, "x"); err != nil {
		t.Fatal(err)
	}
	// b still sees x, enabled (its check reads x and its group).
	if _, err := b.Create(ctx, Actor{Who: "bob"}, x); err != nil {
		t.Fatalf("create on a replica that has not yet seen the removal: %v, want it created", err)
	}
	if st, _ := loadState(ctx, a.store); len(st.Overrides) != 1 || !st.Overrides[0].Enabled || st.Overrides[0].ChangedBy != "bob" {
		t.Errorf("etcd holds %+v, want bob's x, enabled", st.Overrides)
	}
}

// A change that conflicts on two groups at once (moving an enabled override to another group
// from a stale view) reads both groups back into their own places and succeeds on the retry.
func TestEtcdConflictOnTwoGroupsRetries(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a, b := twoReplicas(t, etcd.Endpoint)
	for _, o := range []Override{
		{ID: "x", Name: "cats.example.test.", Group: "g1", Addresses: []string{"127.0.0.2"}, Enabled: true},
		{ID: "y", Name: "dogs.example.test.", Group: "g2", Addresses: []string{"127.0.0.3"}, Enabled: true},
	} {
		if _, err := a.Create(ctx, Actor{Who: "alice"}, o); err != nil {
			t.Fatal(err)
		}
	}
	// b saw none of it: x's move reads x, g1 and g2 stale, and every one of them conflicts.
	moved := Override{ID: "x", Name: "cats.example.test.", Group: "g2", Addresses: []string{"127.0.0.2"}}
	if _, err := b.Update(ctx, Actor{Who: "bob"}, "x", moved); err != nil {
		t.Fatalf("moving x to g2 from a stale view: %v", err)
	}
	st, _ := loadState(ctx, a.store)
	if got := enabledIDs(&st); fmt.Sprint(got) != "[x]" {
		t.Errorf("enabled after the move: %v, want only x (it won g2 from y)", got)
	}
	cli := etcdRawClient(t, etcd.Endpoint)
	for g, want := range map[string]string{"g1": "", "g2": "x"} {
		if resp, err := cli.Get(ctx, b.store.(*etcdStore).groupKey(g)); err != nil || len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != want {
			t.Errorf("group key %s: %v %v, want %q", g, resp.Kvs, err, want)
		}
	}
}

// advance tells a replica whether a revision is news: the watch delivering the change the
// replica made itself (the revision it already knows) does not rebuild its table.
func TestEtcdAdvanceOnlyOnNews(t *testing.T) {
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{"127.0.0.1:2379"}}})
	for _, step := range []struct {
		rev  uint64
		news bool
	}{{5, true}, {5, false}, {4, false}, {6, true}} {
		if got := s.advance(step.rev); got != step.news {
			t.Errorf("advance(%d) after %d: %v, want %v", step.rev, s.seen.Load(), got, step.news)
		}
	}
}

// The bytes a change writes (what the benchmarks report per change) are its keys and values.
func TestEtcdWriteBytesCounted(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	s := newTestEtcdStore(t, etcd.Endpoint)
	if _, err := storeUpdate(ctx, s, etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	resp, err := etcdRawClient(t, etcd.Endpoint).Get(ctx, "/test/"+t.Name(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, kv := range resp.Kvs { // the override and its audit entry
		want += int64(len(kv.Key) + len(kv.Value))
	}
	if got := s.writeBytes.Load(); got != want || len(resp.Kvs) != 2 {
		t.Errorf("a create wrote %d bytes by the store's count, %d by etcd's (%d keys)", got, want, len(resp.Kvs))
	}
}

// With nothing asked of it, a replica still notices etcd going and coming back: its probe
// marks it unreachable while etcd is down, and only then, and reachable again after.
func TestEtcdProbeNoticesOutage(t *testing.T) {
	t.Parallel() // its own etcd and metric label
	etcd := etcdtest.Start(t)
	s := newTestEtcdStore(t, etcd.Endpoint)
	etcdWatchInto(t, s)
	etcdWaitFor(t, func() bool { return s.reachable.Load() == reachUp })
	start := time.Now()
	etcd.Stop()
	etcdWaitFor(t, func() bool { return s.reachable.Load() == reachDown })
	t.Logf("unreachable %s after etcd stopped", time.Since(start))
	// It stays down while etcd is: six probes' time, looked at every 10 ms.
	for range 30 {
		if s.reachable.Load() != reachDown {
			t.Fatal("the store read as reachable again while etcd was down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v := etcdGaugeValue(t, storeReachable.WithLabelValues(s.String())); v != 0 {
		t.Errorf("store_reachable with etcd down = %v, want 0", v)
	}
	start = time.Now()
	etcd.Restart(t)
	etcdWaitFor(t, func() bool { return s.reachable.Load() == reachUp })
	t.Logf("reachable %s after etcd restarted", time.Since(start))
}

// The watch groups the keys of one change (one etcd revision) into one delta, so that a reader
// never sees half of a change, and counts the bytes it received (the benchmarks' figure).
func TestEtcdWatchDeltaPerChange(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a, b := newTestEtcdStore(t, etcd.Endpoint), newTestEtcdStore(t, etcd.Endpoint)
	if _, err := storeUpdate(ctx, a, etcdAddOverride("x", "g")); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var deltas []delta
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Watch(wctx, func(d delta) { mu.Lock(); deltas = append(deltas, d); mu.Unlock() })
	}()
	t.Cleanup(func() { cancel(); <-done })
	etcdWaitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(deltas) == 1 }) // the first full read
	start := b.watchBytes.Load()
	// Two overrides enabled in one change: two override keys and two group keys, one revision.
	rev, err := storeUpdate(ctx, a, func(v *change) error {
		v.put(Override{ID: "y", Name: "cats.example.test.", Group: "g1", Addresses: []string{"127.0.0.2"}, Enabled: true})
		v.put(Override{ID: "z", Name: "dogs.example.test.", Group: "g2", Addresses: []string{"127.0.0.3"}, Enabled: true})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	etcdWaitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(deltas) >= 2 })
	mu.Lock()
	got := deltas[1]
	n := len(deltas)
	mu.Unlock()
	if got.rev != rev || len(got.puts) != 2 || len(got.groups) != 2 || n != 2 {
		t.Errorf("the change of revision %d arrived as %d deltas, the first of revision %d with %d overrides and %d groups; want one with 2 and 2",
			rev, n-1, got.rev, len(got.puts), len(got.groups))
	}
	resp, err := etcdRawClient(t, etcd.Endpoint).Get(ctx, b.keys, clientv3.WithPrefix(), clientv3.WithMinModRev(int64(rev)))
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, kv := range resp.Kvs {
		want += int64(len(kv.Key) + len(kv.Value))
	}
	if got := b.watchBytes.Load() - start; got != want || len(resp.Kvs) != 4 {
		t.Errorf("the watch counted %d bytes for the change, etcd holds %d in its %d keys", got, want, len(resp.Kvs))
	}
}

// A group's key holds the id enabled in it, or nothing: disabling, moving and removing the
// enabled override each leave it empty in the same change (README: the key layout).
func TestEtcdGroupKeyFollowsEnabled(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a, _ := twoReplicas(t, etcd.Endpoint)
	s := a.store.(*etcdStore)
	cli := etcdRawClient(t, etcd.Endpoint)
	groupKeys := func() string {
		resp, err := cli.Get(ctx, s.groupPrefix(), clientv3.WithPrefix())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, kv := range resp.Kvs {
			out = append(out, strings.TrimPrefix(string(kv.Key), s.groupPrefix())+"="+string(kv.Value))
		}
		return strings.Join(out, " ")
	}
	by := Actor{Who: "alice"}
	x := Override{ID: "x", Name: "cats.example.test.", Group: "g", Addresses: []string{"127.0.0.2"}, Enabled: true}
	steps := []struct {
		what string
		do   func() error
		want string
	}{
		{"create x enabled", func() error { _, err := a.Create(ctx, by, x); return err }, "g=x"},
		{"disable x", func() error { _, err := a.Disable(ctx, by, "x"); return err }, "g="},
		{"enable x", func() error { _, err := a.Enable(ctx, by, "x", 0); return err }, "g=x"},
		{"move x to h", func() error { m := x; m.Group = "h"; _, err := a.Update(ctx, by, "x", m); return err }, "g= h=x"},
		{"remove x", func() error { return a.Remove(ctx, by, "x") }, "g= h="},
	}
	for _, step := range steps {
		if err := step.do(); err != nil {
			t.Fatalf("%s: %v", step.what, err)
		}
		if got := groupKeys(); got != step.want {
			t.Errorf("after %s the group keys are %q, want %q", step.what, got, step.want)
		}
	}
}
