package override

import (
	"context"
	"errors"
	"fmt"
	"io"
	golog "log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// newTestEtcdStore returns a store on etcd under a prefix of its own, closed when the test
// ends, that probes often so that tests of recovery do not wait long.
func newTestEtcdStore(t *testing.T, endpoint string) *EtcdStore {
	t.Helper()
	s := NewEtcdStore(EtcdConfig{Endpoints: []string{endpoint}, Prefix: "/test/" + t.Name()})
	s.probeEvery = 50 * time.Millisecond
	t.Cleanup(func() { s.Close() })
	return s
}

// addOverride is an update that adds a disabled override of group g.
func etcdAddOverride(id, g string) func(State) (State, error) {
	return func(st State) (State, error) {
		st.Overrides = append(st.Overrides, Override{ID: id, Name: id + ".example.test.", Group: g, Addresses: []string{"127.0.0.2"}})
		return st, nil
	}
}

// enableUpdate is the update the table makes to enable an override.
func etcdEnableUpdate(id string) func(State) (State, error) {
	return func(st State) (State, error) {
		idx := st.find(id)
		if idx < 0 {
			return State{}, fmt.Errorf("%w: %s", errNotFound, id)
		}
		enableIn(&st, idx, actor{Who: "test"}, time.Now(), nil)
		return st, nil
	}
}

func TestEtcdStoreLoadUpdateShared(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	ctx := context.Background()

	st, err := a.Load(ctx)
	if err != nil || st.Revision != 0 || len(st.Overrides) != 0 {
		t.Fatalf("empty store: got %+v, %v; want revision 0, no overrides", st, err)
	}
	st, err = a.Update(ctx, etcdAddOverride("one", "g"))
	if err != nil || st.Revision != 1 {
		t.Fatalf("first update: got revision %d, %v; want 1", st.Revision, err)
	}
	got, err := b.Load(ctx)
	if err != nil || got.Revision != 1 || len(got.Overrides) != 1 || got.Overrides[0].ID != "one" {
		t.Fatalf("other replica loads %+v, %v; want override one at revision 1", got, err)
	}

	st, err = b.Update(ctx, func(State) (State, error) { return State{}, ErrUnchanged })
	if err != nil || st.Revision != 1 {
		t.Fatalf("unchanged update: got revision %d, %v; want 1", st.Revision, err)
	}
	if _, err := b.Update(ctx, etcdEnableUpdate("missing")); !errors.Is(err, errNotFound) {
		t.Fatalf("update whose fn fails: got %v, want errNotFound", err)
	}
	if got, _ := a.Load(ctx); got.Revision != 1 {
		t.Fatalf("failed updates wrote revision %d", got.Revision)
	}
}

// Two operators on two replicas enable two overrides of one group at the same moment: etcd
// serialises the transactions, and exactly one override ends enabled.
func TestEtcdStoreConcurrentEnablesLeaveOne(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	replicas := []*EtcdStore{newTestEtcdStore(t, etcd.Endpoint), newTestEtcdStore(t, etcd.Endpoint), newTestEtcdStore(t, etcd.Endpoint)}
	const n = 6
	for i := range n {
		if _, err := replicas[0].Update(ctx, etcdAddOverride(fmt.Sprintf("o%d", i), "cats")); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 5 {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, err := replicas[i%len(replicas)].Update(ctx, etcdEnableUpdate(fmt.Sprintf("o%d", i))); err != nil {
					t.Errorf("round %d: enable o%d: %v", round, i, err)
				}
			})
		}
		wg.Wait()
		st, err := replicas[1].Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if enabled := enabledIDs(&st); len(enabled) != 1 {
			t.Fatalf("round %d: enabled overrides %v, want exactly one", round, enabled)
		}
		if want := uint64(n + (round+1)*n); st.Revision != want {
			t.Fatalf("round %d: revision %d, want %d (one per change, none lost)", round, st.Revision, want)
		}
	}
}

// watchInto runs s.Watch until the test ends and sends every delivered state to the channel.
func etcdWatchInto(t *testing.T, s *EtcdStore) <-chan State {
	t.Helper()
	ch := make(chan State, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Watch(ctx, func(st State) { ch <- st })
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// awaitRevision waits for a delivered state with revision rev, failing after a generous bound.
func etcdAwaitRevision(t *testing.T, ch <-chan State, rev uint64) State {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case st := <-ch:
			if st.Revision == rev {
				return st
			}
			if st.Revision > rev {
				t.Fatalf("got revision %d, skipped %d", st.Revision, rev)
			}
		case <-deadline:
			t.Fatalf("revision %d never arrived", rev)
		}
	}
}

func TestEtcdStoreWatchDeliversOthersChanges(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	b.probeEvery = time.Hour // only the watch may deliver here
	if _, err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ch := etcdWatchInto(t, b)
	time.Sleep(100 * time.Millisecond) // let the watch start; an earlier change comes via resync anyway
	if _, err := a.Update(ctx, etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	st := etcdAwaitRevision(t, ch, 1)
	if len(st.Overrides) != 1 || st.Overrides[0].ID != "one" {
		t.Fatalf("watch delivered %+v", st)
	}
	// b's own change is not delivered back to it: its table has it already.
	if _, err := b.Update(ctx, etcdEnableUpdate("one")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Update(ctx, etcdAddOverride("two", "g")); err != nil {
		t.Fatal(err)
	}
	if st := etcdAwaitRevision(t, ch, 3); len(st.Overrides) != 2 {
		t.Fatalf("watch delivered %+v", st)
	}
}

// A watch that asks for a revision etcd compacted away ends, and the store reads afresh.
func TestEtcdStoreWatchAfterCompaction(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := newTestEtcdStore(t, etcd.Endpoint)
	b := newTestEtcdStore(t, etcd.Endpoint)
	for i := range 3 {
		if _, err := a.Update(ctx, etcdAddOverride(fmt.Sprintf("o%d", i), "g")); err != nil {
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
		b.watchFrom(ctx, 1, func(State) {})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a watch from a compacted revision did not end")
	}
	ch := etcdWatchInto(t, b) // resyncs first
	if st := etcdAwaitRevision(t, ch, 3); len(st.Overrides) != 3 {
		t.Fatalf("resync delivered %+v", st)
	}
}

func etcdRawClient(t *testing.T, endpoint string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
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
	if _, err := a.Update(ctx, etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx); err != nil {
		t.Fatal(err)
	}
	logs := etcdCaptureLog(t)
	ch := etcdWatchInto(t, b)

	etcd.Stop()
	_, err := a.Update(ctx, etcdEnableUpdate("one"))
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("update with etcd down: got %v, want ErrUnavailable", err)
	}
	if !strings.Contains(err.Error(), etcd.Endpoint) {
		t.Errorf("error %q does not name the endpoint", err)
	}
	if _, err := b.Load(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("load with etcd down: got %v, want ErrUnavailable", err)
	}
	if v := etcdGaugeValue(t, storeReachable.WithLabelValues(b.String())); v != 0 {
		t.Errorf("store_reachable with etcd down = %v, want 0", v)
	}

	etcd.Restart(t)
	// The client reconnects with a backoff: like an operator, retry a 503 for a while.
	var st State
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if st, err = a.Update(ctx, etcdEnableUpdate("one")); err == nil || !errors.Is(err, ErrUnavailable) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("update after etcd returned: %v", err)
	}
	if st.Revision != 2 {
		t.Fatalf("revision after the outage %d, want 2: the failed update must not have written", st.Revision)
	}
	if got := etcdAwaitRevision(t, ch, 2); len(enabledIDs(&got)) != 1 {
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
	if !strings.Contains(text, down+" (revision 1)") {
		t.Errorf("log does not name the revision served during the outage:\n%s", text)
	}
}

// etcdLog is a log output that tests can read while the store's goroutines write to it.
type etcdLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *etcdLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *etcdLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// etcdCaptureLog sends the plugin log to a buffer until the test ends (log_test.go discards it).
func etcdCaptureLog(t *testing.T) *etcdLog {
	l := &etcdLog{}
	golog.SetOutput(l)
	t.Cleanup(func() { golog.SetOutput(io.Discard) })
	return l
}

// A replica that starts while etcd is down gets ErrUnavailable from Load, and works once etcd
// is up, with the same store value.
func TestEtcdStoreStartWhileDown(t *testing.T) {
	etcd := etcdtest.Start(t)
	etcd.Stop()
	s := newTestEtcdStore(t, etcd.Endpoint)
	s.cfg.Username, s.cfg.Password = "", "" // no login: the client is made at once
	if _, err := s.Load(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("load with etcd down: got %v, want ErrUnavailable", err)
	}
	ch := etcdWatchInto(t, s)
	etcd.Restart(t)
	other := newTestEtcdStore(t, etcd.Endpoint)
	if _, err := other.Update(context.Background(), etcdAddOverride("one", "g")); err != nil {
		t.Fatal(err)
	}
	etcdAwaitRevision(t, ch, 1)
}

func TestEtcdStoreRejectsCorruptTable(t *testing.T) {
	etcd := etcdtest.Start(t)
	s := newTestEtcdStore(t, etcd.Endpoint)
	cli := etcdRawClient(t, etcd.Endpoint)
	ctx := context.Background()
	for _, bad := range []string{`{"revision": 3, "overrides": [`, `{"revision":1,"overrides":[{"id":"x","name":"a.test.","addresses":["nope"]}]}`} {
		if _, err := cli.Put(ctx, s.stateKey, bad); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(ctx)
		if err == nil || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), s.stateKey) {
			t.Errorf("load of %q: got %v, want an error naming key %s", bad, err, s.stateKey)
		}
		if _, err := s.Update(ctx, etcdAddOverride("y", "g")); err == nil {
			t.Errorf("update over %q succeeded", bad)
		}
	}
}

func TestEtcdStoreString(t *testing.T) {
	s := NewEtcdStore(EtcdConfig{Endpoints: []string{"http://127.0.0.1:2379", "http://127.0.0.2:2379"}, Prefix: "/dns"})
	if got, want := s.String(), "etcd http://127.0.0.1:2379,http://127.0.0.2:2379 /dns/"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if s.stateKey != "/dns/state" || s.auditKey != "/dns/audit/" {
		t.Errorf("keys %q and %q", s.stateKey, s.auditKey)
	}
	if d := NewEtcdStore(EtcdConfig{Endpoints: []string{"x"}}); d.cfg.Prefix != defaultEtcdPrefix {
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
	s := NewEtcdStore(EtcdConfig{Endpoints: []string{etcd.Endpoint}, Prefix: "/bench/"})
	defer s.Close()
	ctx := context.Background()
	for i := range 4 {
		if _, err := s.Update(ctx, etcdAddOverride(fmt.Sprintf("o%d", i), "cats")); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Update(ctx, etcdEnableUpdate(fmt.Sprintf("o%d", i%4))); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
