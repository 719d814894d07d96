package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// sharedHC is a running instance that shares its verdicts through endpoint as replica, with
// quorum 2 and a lease of 2s. Its targets, 127.0.0.2 and 127.0.0.3 with check web, have
// probers that probe nothing: the test sets their verdicts with setOwn.
func sharedHC(t *testing.T, endpoint, prefix, replica string) *HealthCheck {
	t.Helper()
	return idleHC(t, fmt.Sprintf(`healthcheck example.test {
        check web http port 8080
        name cats.example.test 127.0.0.2 127.0.0.3
        etcd %s {
            prefix %s
            replica %s
            lease 2s
        }
        quorum 2
    }`, endpoint, prefix, replica), func(p *prober) []string { return []string{"cats.example.test."} })
}

// idleHC is a running instance of corefile whose probers probe nothing: the test sets their
// verdicts. prepare readies each listed target's prober and returns its names, if any.
func idleHC(t *testing.T, corefile string, prepare func(p *prober) []string) *HealthCheck {
	t.Helper()
	cfg, err := parse(caddy.NewTestController("dns", corefile))
	if err != nil {
		t.Fatal(err)
	}
	hc := newHealthCheck(cfg)
	hc.mu.Lock()
	hc.running = true
	hc.probers, hc.names = map[targetKey]*prober{}, map[targetKey][]string{}
	for _, k := range hc.listed {
		p := &prober{addr: k.addr, check: k.check}
		if names := prepare(p); names != nil {
			hc.names[k] = names
		}
		hc.probers[k] = p
	}
	hc.joinShared()
	hc.publish()
	hc.mu.Unlock()
	t.Cleanup(func() { stopShared(hc) })
	return hc
}

// stopShared stops what sharedHC started, as OnShutdown would.
func stopShared(hc *HealthCheck) {
	hc.mu.Lock()
	if !hc.running {
		hc.mu.Unlock()
		return
	}
	hc.running = false
	hc.stopWindow()
	hc.mu.Unlock()
	hc.leaveShared()
}

// setOwn gives the replica's own verdict on addr, as a probe would.
func setOwn(hc *HealthCheck, addr string, st state) {
	p := hc.probers[targetKey{mustAddr(addr), hc.cfg.checks["web"]}]
	p.mu.Lock()
	p.st.state = st
	p.st.transitions = append(p.st.transitions, healthview.Transition{At: time.Now(), To: st.view()})
	p.st.lastErr = ""
	if st == stateDown {
		p.st.lastErr = "connection refused"
	}
	p.mu.Unlock()
	hc.verdictChanged()
}

// effectiveOf returns the state the instance's answers follow for addr.
func effectiveOf(hc *HealthCheck, addr string) state {
	v, _ := hc.snap.Load().get(targetKey{mustAddr(addr), hc.cfg.checks["web"]})
	return v.state
}

// awaitEffective polls every instance until its answers follow want for addr.
func awaitEffective(t *testing.T, addr string, want state, hcs ...*HealthCheck) time.Duration {
	t.Helper()
	start := time.Now()
	for i, hc := range hcs {
		waitUntil(t, fmt.Sprintf("replica %d to see %s %s", i, addr, want), func() bool { return effectiveOf(hc, addr) == want })
	}
	return time.Since(start)
}

// awaitPeers polls until hc knows n verdicts of other replicas on addr.
func awaitPeers(t *testing.T, hc *HealthCheck, addr string, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d peer verdicts on %s", n, addr), func() bool {
		hc.cl.mu.Lock()
		defer hc.cl.mu.Unlock()
		return len(hc.cl.peers[targetID{mustAddr(addr), "web"}]) == n
	})
}

func etcdPrefix(t *testing.T) string { return "/test/" + t.Name() + "/" }

// TestSharedQuorum: one replica of three sees a target down and is outvoted; when a second
// does, every replica drops it; when one of those comes back, every replica keeps it again.
func TestSharedQuorum(t *testing.T) {
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	a, b, c := sharedHC(t, etcd.Endpoint, prefix, "a"), sharedHC(t, etcd.Endpoint, prefix, "b"), sharedHC(t, etcd.Endpoint, prefix, "c")
	for _, hc := range []*HealthCheck{a, b, c} {
		setOwn(hc, "127.0.0.2", stateUp)
		setOwn(hc, "127.0.0.3", stateUp)
	}
	for _, hc := range []*HealthCheck{a, b, c} {
		awaitPeers(t, hc, "127.0.0.2", 2)
	}
	setOwn(c, "127.0.0.2", stateDown)
	awaitPeers(t, a, "127.0.0.2", 2)
	waitUntil(t, "a to see c's down verdict", func() bool {
		for _, r := range viewOf(a, "127.0.0.2").Replicas {
			if r.Replica == "c" && r.State == healthview.Down {
				return true
			}
		}
		return false
	})
	for i, hc := range []*HealthCheck{a, b, c} {
		if got := effectiveOf(hc, "127.0.0.2"); got != stateUp {
			t.Fatalf("replica %d: 127.0.0.2 is %s with one down verdict of three and quorum 2, want up", i, got)
		}
	}
	// The three replicas of this test share one process, and so its metric series: read
	// what each would export.
	for i, hc := range []*HealthCheck{a, b, c} {
		k := targetKey{mustAddr("127.0.0.2"), hc.cfg.checks["web"]}
		want := hc == c
		waitUntil(t, fmt.Sprintf("replica %d's gauges: outvoted %t with 1 down of 3 live", i, want), func() bool {
			hc.mu.Lock()
			defer hc.mu.Unlock()
			g := hc.gauges[k]
			return g.outvoted() == want && g.live == 3 && g.downs == 1
		})
	}
	// What every replica exports the same: two live replicas see it up, one down.
	if up, down := metricValue(replicaVerdicts.WithLabelValues("127.0.0.2", "web", "up")),
		metricValue(replicaVerdicts.WithLabelValues("127.0.0.2", "web", "down")); up != 2 || down != 1 {
		t.Errorf("replica_verdicts up %g down %g with one down verdict of three, want 2 and 1", up, down)
	}
	v := viewOf(c, "127.0.0.2")
	if v.State != healthview.Down || v.Effective != healthview.Up || len(v.Replicas) != 3 || !v.Replicas[0].Self || v.Replicas[0].Replica != "c" ||
		v.Replicas[0].Reason != "connection refused" {
		t.Errorf("c's view: own %s effective %s replicas %+v", v.State, v.Effective, v.Replicas)
	}
	// Why c sees it down is shared with its verdict.
	for _, r := range viewOf(a, "127.0.0.2").Replicas {
		if r.Replica == "c" && r.Reason != "connection refused" {
			t.Errorf("a's view of c's down verdict: reason %q, want c's (connection refused)", r.Reason)
		}
	}

	start := time.Now()
	setOwn(b, "127.0.0.2", stateDown)
	awaitEffective(t, "127.0.0.2", stateDown, a, b, c)
	t.Logf("two down verdicts of three: every replica dropped the target %s after the second verdict", time.Since(start))
	if got := effectiveOf(a, "127.0.0.3"); got != stateUp {
		t.Errorf("127.0.0.3 is %s, want up: nobody sees it down", got)
	}
	setOwn(c, "127.0.0.2", stateUp)
	awaitEffective(t, "127.0.0.2", stateUp, a, b, c)
}

func viewOf(hc *HealthCheck, addr string) healthview.Target {
	for _, t := range hc.view() {
		if t.Address == addr {
			return t
		}
	}
	return healthview.Target{}
}

// TestSharedDeadReplicaExpires: a replica whose path to etcd is cut (as good as dead to the
// others) stops counting once its lease expires, and a replica that shuts down stops counting
// at once (its lease is revoked).
func TestSharedDeadReplicaExpires(t *testing.T) {
	t.Parallel() // its own etcd, prefix and metric labels; seconds of lease and drain timing
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	pc := etcd.Proxy(t)
	a, b := sharedHC(t, etcd.Endpoint, prefix, "a"), sharedHC(t, etcd.Endpoint, prefix, "b")
	c := sharedHC(t, pc.Endpoint, prefix, "c")
	setOwn(a, "127.0.0.2", stateUp)
	setOwn(b, "127.0.0.2", stateDown)
	setOwn(c, "127.0.0.2", stateDown)
	awaitEffective(t, "127.0.0.2", stateDown, a, b, c)

	pc.Cut()
	start := time.Now()
	awaitEffective(t, "127.0.0.2", stateUp, a)
	took := time.Since(start)
	t.Logf("a replica cut off from etcd stopped counting after %s (lease 2s)", took)
	if took < time.Second {
		t.Errorf("the cut replica stopped counting after %s, before its lease could expire", took)
	}
	// Cut off, c answers by its own verdict.
	awaitEffective(t, "127.0.0.2", stateDown, c)
	waitUntil(t, "c to fall back", func() bool { return viewOf(c, "127.0.0.2").Fallback })

	pc.Restore()
	awaitEffective(t, "127.0.0.2", stateDown, a, b, c)
	start = time.Now()
	stopShared(b)
	awaitEffective(t, "127.0.0.2", stateUp, a)
	t.Logf("a replica that shut down stopped counting after %s", time.Since(start))
}

// TestSharedFallbackKeepsDrains: etcd stopped, every replica answers by its own verdict and
// keeps the drains it knew; etcd back, the quorum and the drains are shared again.
func TestSharedFallbackKeepsDrains(t *testing.T) {
	t.Parallel() // its own etcd, prefix and metric labels; seconds of lease and drain timing
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	a, b, c := sharedHC(t, etcd.Endpoint, prefix, "a"), sharedHC(t, etcd.Endpoint, prefix, "b"), sharedHC(t, etcd.Endpoint, prefix, "c")
	setOwn(a, "127.0.0.2", stateDown)
	for _, hc := range []*HealthCheck{b, c} {
		setOwn(hc, "127.0.0.2", stateUp)
	}
	for _, hc := range []*HealthCheck{a, b, c} {
		setOwn(hc, "127.0.0.3", stateUp)
		awaitPeers(t, hc, "127.0.0.2", 2)
	}
	awaitEffective(t, "127.0.0.2", stateUp, a, b, c)
	if err := a.cl.Drain(context.Background(), drainOf("127.0.0.3", "")); err != nil {
		t.Fatal(err)
	}
	awaitEffective(t, "127.0.0.3", stateDrained, a, b, c)

	fallbacks := metricValue(sharedFallbacks.WithLabelValues(a.cl.cfg.String()))
	etcd.Stop()
	awaitEffective(t, "127.0.0.2", stateDown, a) // its own verdict
	awaitEffective(t, "127.0.0.2", stateUp, b, c)
	for i, hc := range []*HealthCheck{a, b, c} {
		if got := effectiveOf(hc, "127.0.0.3"); got != stateDrained {
			t.Errorf("replica %d forgot the drain while etcd was down: 127.0.0.3 is %s", i, got)
		}
	}
	if got := metricValue(sharedReachable.WithLabelValues(a.cl.cfg.String())); got != 0 {
		t.Errorf("shared_reachable = %v with etcd stopped, want 0", got)
	}
	if got := metricValue(sharedFallbacks.WithLabelValues(a.cl.cfg.String())) - fallbacks; got < 1 {
		t.Errorf("shared_fallbacks_total grew by %v, want at least 1", got)
	}
	if err := b.cl.Drain(context.Background(), drainOf("127.0.0.2", "")); !errors.Is(err, healthview.ErrUnavailable) {
		t.Errorf("a drain with etcd stopped: %v, want ErrUnavailable", err)
	}

	etcd.Restart(t)
	awaitEffective(t, "127.0.0.2", stateUp, a, b, c)
	awaitEffective(t, "127.0.0.3", stateDrained, a, b, c)
}

func drainOf(addr, name string) healthview.Drain {
	d := healthview.Drain{Address: addr, Name: name, By: "alice", At: time.Now().UTC(), Note: "disk swap"}
	if err := d.Normalize(); err != nil {
		panic(err)
	}
	return d
}

// TestSharedUndrainAheadOfWatch: a replica applies its own undrain at once, ahead of its
// watch, and the watch then delivers the undrain and whatever comes after: the replica stays
// undrained, forgets the undrain once its watch has passed it, and a later drain applies.
// (TestSharedStaleDrainEvents replays the watch lagging behind, which real timing cannot
// produce on demand.)
func TestSharedUndrainAheadOfWatch(t *testing.T) {
	t.Parallel() // its own etcd and prefix
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	a, b := sharedHC(t, etcd.Endpoint, prefix, "a"), sharedHC(t, etcd.Endpoint, prefix, "b")
	for _, hc := range []*HealthCheck{a, b} {
		setOwn(hc, "127.0.0.2", stateUp)
		setOwn(hc, "127.0.0.3", stateUp)
	}
	awaitEffective(t, "127.0.0.3", stateUp, a, b)
	if err := a.cl.Drain(context.Background(), drainOf("127.0.0.3", "")); err != nil {
		t.Fatal(err)
	}
	awaitEffective(t, "127.0.0.3", stateDrained, b)
	if err := b.cl.Undrain(context.Background(), "127.0.0.3", "", "bob"); err != nil {
		t.Fatal(err)
	}
	if got := effectiveOf(b, "127.0.0.3"); got != stateUp {
		t.Errorf("right after its own undrain 127.0.0.3 is %s on b, want up", got)
	}
	// Once its watch has passed the undrain (it delivers a later drain of another address),
	// b forgets it.
	if err := a.cl.Drain(context.Background(), drainOf("127.0.0.2", "")); err != nil {
		t.Fatal(err)
	}
	awaitEffective(t, "127.0.0.2", stateDrained, b)
	b.cl.mu.Lock()
	left := len(b.cl.undrained)
	b.cl.mu.Unlock()
	if left != 0 || effectiveOf(b, "127.0.0.3") != stateUp {
		t.Errorf("b keeps %d undrains its watch has passed, and answers 127.0.0.3 %s (want 0, up)", left, effectiveOf(b, "127.0.0.3"))
	}
	// A drain made after the undrain is newer news, and applies on b through its watch.
	if err := a.cl.Drain(context.Background(), drainOf("127.0.0.3", "")); err != nil {
		t.Fatal(err)
	}
	awaitEffective(t, "127.0.0.3", stateDrained, b)
}

// TestSharedStaleDrainEvents: the watch of a replica that undrained an address itself may
// still deliver the drain it undid (it runs behind the replica's own writes). Such older news
// is ignored, however often it comes, until the watch delivers the undrain itself; then the
// replica forgets it, and a newer drain applies.
func TestSharedStaleDrainEvents(t *testing.T) {
	c := newCluster(sharedConfig{prefix: "/test/"})
	d := drainOf("127.0.0.3", "")
	k := keyOf(d)
	val, _ := json.Marshal(d)
	put := func(rev int64) *clientv3.Event {
		return &clientv3.Event{Type: mvccpb.PUT, Kv: &mvccpb.KeyValue{Key: []byte(c.drainKeyOf(k)), Value: val, ModRevision: rev}}
	}
	drained := func() bool { _, ok := c.book.drains[k]; return ok }
	c.apply([]*clientv3.Event{put(5)})
	if !drained() {
		t.Fatal("a watched drain did not apply")
	}
	// The replica's own undrain, written at revision 7, as Undrain applies it.
	c.mu.Lock()
	c.setDrain(k, nil, 0)
	c.undrained[k] = 7
	c.mu.Unlock()
	c.apply([]*clientv3.Event{put(5)}) // the watch, behind, delivers the drain again
	c.apply([]*clientv3.Event{put(5)}) // and once more: older news does not wear the undrain out
	c.apply(nil)                       // a response without events (a progress notice)
	if drained() || len(c.undrained) != 1 {
		t.Fatalf("after older news: drained %v, undrains kept %v; want undrained, the undrain kept", drained(), c.undrained)
	}
	del := &clientv3.Event{Type: mvccpb.DELETE, Kv: &mvccpb.KeyValue{Key: []byte(c.drainKeyOf(k)), ModRevision: 7}}
	c.apply([]*clientv3.Event{del})
	if drained() || len(c.undrained) != 0 {
		t.Fatalf("after the watch delivered the undrain: drained %v, undrains kept %v; want undrained, none kept", drained(), c.undrained)
	}
	c.apply([]*clientv3.Event{put(9)})
	if !drained() {
		t.Error("a drain newer than the undrain did not apply")
	}
}

// TestSharedReadKeepsNewerOwnChanges: a fresh read of the store replaces the drains, except
// those this replica drained or undrained itself after the read's revision (its watch will
// confirm them); an undrain the read has passed is forgotten.
func TestSharedReadKeepsNewerOwnChanges(t *testing.T) {
	c := newCluster(sharedConfig{prefix: "/test/"})
	own, gone, old, read := drainOf("127.0.0.2", ""), drainOf("127.0.0.3", ""), drainOf("127.0.0.4", ""), drainOf("127.0.0.5", "")
	c.setDrain(keyOf(own), &own, 12)  // drained here after the read (at 10)
	c.undrained[keyOf(gone)] = 11     // undrained here after the read
	c.undrained[keyOf(old)] = 7       // undrained here before the read, drained again since
	c.setDrain(keyOf(read), &read, 6) // read again below
	drains := map[drainKey]healthview.Drain{keyOf(gone): gone, keyOf(old): old, keyOf(read): read}
	revs := map[drainKey]int64{keyOf(gone): 5, keyOf(old): 9, keyOf(read): 6}
	c.adoptDrains(drains, revs, 10)

	want := map[drainKey]int64{keyOf(own): 12, keyOf(old): 9, keyOf(read): 6}
	if fmt.Sprint(c.drainRevs) != fmt.Sprint(want) {
		t.Errorf("revisions after the read: %v, want %v", c.drainRevs, want)
	}
	for k := range want {
		if _, ok := c.book.drains[k]; !ok {
			t.Errorf("%v is not drained after the read, want drained", k)
		}
	}
	if _, ok := c.book.drains[keyOf(gone)]; ok || len(c.book.drains) != len(want) {
		t.Errorf("drains after the read: %v, want %v (not %v, undrained after the read)", c.book.drains, want, keyOf(gone))
	}
	if fmt.Sprint(c.undrained) != fmt.Sprint(map[drainKey]int64{keyOf(gone): 11}) {
		t.Errorf("undrains kept after the read: %v, want only %v's (the read passed the other)", c.undrained, keyOf(gone))
	}
}

// TestSharedDrain: a drain made on one replica takes the address out on every replica, its
// expiry brings it back everywhere (one replica deletes the key and audits the expiry), an
// undrain made on another replica brings it back at once, and every step is in the audit.
func TestSharedDrain(t *testing.T) {
	t.Parallel() // its own etcd, prefix and metric labels; seconds of lease and drain timing
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	a, b, c := sharedHC(t, etcd.Endpoint, prefix, "a"), sharedHC(t, etcd.Endpoint, prefix, "b"), sharedHC(t, etcd.Endpoint, prefix, "c")
	for _, hc := range []*HealthCheck{a, b, c} {
		setOwn(hc, "127.0.0.2", stateUp)
		setOwn(hc, "127.0.0.3", stateUp)
	}
	awaitEffective(t, "127.0.0.3", stateUp, a, b, c)

	d := drainOf("127.0.0.3", "")
	d.Until = time.Now().Add(1500 * time.Millisecond)
	start := time.Now()
	if err := a.cl.Drain(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	if got := effectiveOf(a, "127.0.0.3"); got != stateDrained {
		t.Errorf("on the replica that drained it, 127.0.0.3 is %s right after the drain, want drained", got)
	}
	t.Logf("drain written in %s", time.Since(start))
	for i, hc := range []*HealthCheck{a, b, c} {
		awaitEffective(t, "127.0.0.3", stateDrained, hc)
		t.Logf("replica %d drained after %s", i, time.Since(start))
	}
	t.Logf("drain propagated to all three replicas in %s (including the write)", time.Since(start))
	if got := effectiveOf(b, "127.0.0.2"); got != stateUp {
		t.Errorf("127.0.0.2 is %s, want up: only 127.0.0.3 was drained", got)
	}
	if got := metricValue(drainsActive.WithLabelValues(b.cl.cfg.String())); got != 1 {
		t.Errorf("drains_active = %v, want 1", got)
	}
	awaitEffective(t, "127.0.0.3", stateUp, a, b, c)
	if late := time.Since(d.Until); late < 0 {
		t.Errorf("the drain ended %s before its time", -late)
	}
	waitUntil(t, "the expired drain's key to go", func() bool { return len(a.cl.Drains()) == 0 && len(etcdKeys(t, etcd, prefix+"drain/")) == 0 })

	if err := b.cl.Drain(context.Background(), drainOf("127.0.0.3", "")); err != nil {
		t.Fatal(err)
	}
	awaitEffective(t, "127.0.0.3", stateDrained, a, b, c)
	if err := c.cl.Undrain(context.Background(), "127.0.0.3", "", "bob"); err != nil {
		t.Fatal(err)
	}
	// The replica that undrained applies it itself, without waiting for its watch (which may
	// deliver b's drain only now: TestSharedUndrainAheadOfWatch).
	if got := effectiveOf(c, "127.0.0.3"); got != stateUp {
		t.Errorf("on the replica that undrained it, 127.0.0.3 is %s right after the undrain, want up", got)
	}
	awaitEffective(t, "127.0.0.3", stateUp, a, b, c)
	if err := c.cl.Undrain(context.Background(), "127.0.0.3", "", "bob"); !errors.Is(err, healthview.ErrNotDrained) || !strings.HasPrefix(err.Error(), "127.0.0.3: ") {
		t.Errorf("undrain of an address not drained: %v, want ErrNotDrained naming the address", err)
	}
	if err := c.cl.Undrain(context.Background(), "127.0.0.3", "cats.example.test.", "bob"); !errors.Is(err, healthview.ErrNotDrained) ||
		!strings.HasPrefix(err.Error(), "127.0.0.3 for cats.example.test.: ") {
		t.Errorf("undrain of an address not drained for a name: %v, want ErrNotDrained naming the address and the name", err)
	}

	var actions []string
	for _, e := range b.cl.DrainAudit(10) {
		actions = append(actions, e.Action+" "+e.By)
	}
	if got, want := strings.Join(actions, ", "), "drain alice, expire expiry, drain alice, undrain bob"; got != want {
		t.Errorf("audit: %s, want %s", got, want)
	}
}

// etcdKeys lists the keys under prefix.
func etcdKeys(t *testing.T, etcd *etcdtest.Server, prefix string) []string {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, kv := range resp.Kvs {
		out = append(out, string(kv.Key))
	}
	return out
}

// TestSharedDrainSurvivesRestart: a replica that starts again finds the drains in etcd,
// which keeps them where the README says: PREFIX/drain/ADDRESS, or ADDRESS/NAME for a drain
// of one name.
func TestSharedDrainSurvivesRestart(t *testing.T) {
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	a := sharedHC(t, etcd.Endpoint, prefix, "a")
	if err := a.cl.Drain(context.Background(), drainOf("127.0.0.2", "")); err != nil {
		t.Fatal(err)
	}
	if err := a.cl.Drain(context.Background(), drainOf("127.0.0.3", "cats.example.test")); err != nil {
		t.Fatal(err)
	}
	want := prefix + "drain/127.0.0.2, " + prefix + "drain/127.0.0.3/cats.example.test."
	if got := strings.Join(etcdKeys(t, etcd, prefix+"drain/"), ", "); got != want {
		t.Errorf("drain keys %s, want %s", got, want)
	}
	stopShared(a)
	a = sharedHC(t, etcd.Endpoint, prefix, "a")
	awaitEffective(t, "127.0.0.2", stateDrained, a)
	if ds := a.cl.Drains(); len(ds) != 2 || ds[0].By != "alice" || ds[0].Note != "disk swap" {
		t.Errorf("drains after the restart: %+v", ds)
	}
}

// TestSharedSessionOutlivesAReload: two instances of one replica (the old and the new one
// during a reload) share one session with etcd; the first to stop leaves the replica's
// verdicts and lease in place, the last one revokes the lease, so that the other replicas
// stop counting this one at once.
func TestSharedSessionOutlivesAReload(t *testing.T) {
	t.Parallel() // its own etcd and prefix; an etcd start is most of its time
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	old, cur := sharedHC(t, etcd.Endpoint, prefix, "a"), sharedHC(t, etcd.Endpoint, prefix, "a")
	if old.cl != cur.cl {
		t.Fatal("two instances of one replica run two sessions")
	}
	setOwn(old, "127.0.0.2", stateUp)
	setOwn(cur, "127.0.0.2", stateUp)
	key := prefix + "verdict/127.0.0.2/web/a"
	waitUntil(t, "the replica's verdict in etcd", func() bool { return len(etcdKeys(t, etcd, key)) == 1 })

	stopShared(old)
	if got := etcdKeys(t, etcd, key); len(got) != 1 {
		t.Errorf("after the old instance stopped, etcd holds %v, want the replica's verdict (%s)", got, key)
	}
	if n := etcdLeases(t, etcd); n != 1 {
		t.Errorf("after the old instance stopped, etcd holds %d leases, want the replica's one", n)
	}
	stopShared(cur)
	if n := etcdLeases(t, etcd); n != 0 {
		t.Errorf("after the last instance stopped, etcd holds %d leases, want none (revoked)", n)
	}
}

// etcdClient is a client of etcd, as an operator's etcdctl, closed when the test ends.
func etcdClient(t *testing.T, etcd *etcdtest.Server) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// etcdLeases counts the leases etcd holds.
func etcdLeases(t *testing.T, etcd *etcdtest.Server) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := etcdClient(t, etcd).Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return len(resp.Leases)
}

// TestSharedJoinFollowsPeers: a replica with no verdict of its own yet follows the others'
// verdicts as soon as it reaches etcd, without waiting for a change of its own.
func TestSharedJoinFollowsPeers(t *testing.T) {
	t.Parallel() // its own etcd and prefix
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	cli := etcdClient(t, etcd)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, r := range []string{"b", "c"} {
		if _, err := cli.Put(ctx, prefix+"verdict/127.0.0.2/web/"+r, `{"state":"down","reason":"refused"}`); err != nil {
			t.Fatal(err)
		}
	}
	a := sharedHC(t, etcd.Endpoint, prefix, "a") // its probers never probe: no own verdict
	awaitEffective(t, "127.0.0.2", stateDown, a)
	if v := viewOf(a, "127.0.0.2"); v.State != healthview.Unknown || len(v.Replicas) != 3 {
		t.Errorf("a's view: own %s, replicas %+v; want unknown and the three replicas", v.State, v.Replicas)
	}
}

// TestSharedWritesOnlyChanges: a replica writes a verdict to etcd when it changes, and
// leaves alone those that did not: a wave of publishes is not a wave of writes.
func TestSharedWritesOnlyChanges(t *testing.T) {
	t.Parallel() // its own etcd and prefix
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	cli := etcdClient(t, etcd)
	modRev := func(addr string) (int64, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := cli.Get(ctx, prefix+"verdict/"+addr+"/web/a")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return 0, ""
		}
		return resp.Kvs[0].ModRevision, string(resp.Kvs[0].Value)
	}
	a := sharedHC(t, etcd.Endpoint, prefix, "a")
	setOwn(a, "127.0.0.2", stateUp)
	setOwn(a, "127.0.0.3", stateUp)
	var rev int64
	waitUntil(t, "both verdicts in etcd", func() bool {
		r3, _ := modRev("127.0.0.3")
		rev, _ = modRev("127.0.0.2")
		return rev > 0 && r3 > 0
	})

	setOwn(a, "127.0.0.3", stateDown)
	waitUntil(t, "the changed verdict written, or the unchanged one", func() bool {
		r2, _ := modRev("127.0.0.2")
		_, v3 := modRev("127.0.0.3")
		return r2 != rev || strings.Contains(v3, `"down"`)
	})
	if r2, _ := modRev("127.0.0.2"); r2 != rev {
		t.Errorf("127.0.0.2's unchanged verdict was written again (revision %d, was %d)", r2, rev)
	}
	if _, v3 := modRev("127.0.0.3"); !strings.Contains(v3, `"down"`) {
		t.Errorf("127.0.0.3's verdict in etcd is %s, want down", v3)
	}
}

// TestSharedAuditTrimmed: every 50th audited change cuts the audit trail in etcd to the
// newest 1000 entries, and the changes in between leave it alone.
func TestSharedAuditTrimmed(t *testing.T) {
	t.Parallel() // its own etcd and prefix
	etcd := etcdtest.Start(t)
	prefix := etcdPrefix(t)
	cli := etcdClient(t, etcd)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const stored = maxStoredAudit + 24
	key := func(i int) string { return fmt.Sprintf("%saudit/%020d-old", prefix, i) }
	for i := 0; i < stored; i += 100 {
		var ops []clientv3.Op
		for j := i; j < min(i+100, stored); j++ {
			ops = append(ops, clientv3.OpPut(key(j), "{}"))
		}
		if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			t.Fatal(err)
		}
	}
	trail := func() []string { return etcdKeys(t, etcd, prefix+"audit/") }
	a := sharedHC(t, etcd.Endpoint, prefix, "a")
	for range trimEvery - 1 {
		a.cl.audited()
	}
	if n := len(trail()); n != stored {
		t.Fatalf("%d audit entries after %d audited changes, want all %d: the trail is cut every %d", n, trimEvery-1, stored, trimEvery)
	}
	a.cl.audited()
	if got := trail(); len(got) != maxStoredAudit || got[0] != key(stored-maxStoredAudit) {
		t.Errorf("after the %dth audited change: %d entries from %s, want the newest %d (from %s)", trimEvery, len(got), got[0], maxStoredAudit, key(stored-maxStoredAudit))
	}
}
