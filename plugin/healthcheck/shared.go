package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// Timings of the shared store. requestTimeout bounds one request, so that a replica whose
// path to etcd is cut notices within a keepalive and falls back to its own verdicts;
// retryEvery is how soon it tries again.
const (
	requestTimeout = 2 * time.Second
	retryEvery     = time.Second
	minLease       = 2 * time.Second // etcd's own floor for a lease's TTL
	defaultLease   = 5 * time.Second
	writeBatch     = 64 // keys per transaction: under etcd's default --max-txn-ops of 128
	maxStoredAudit = 1000
	trimEvery      = 50
)

// sharedConfig is the etcd block of a healthcheck: where verdicts and drains are shared, under
// which replica name, and the quorum.
type sharedConfig struct {
	etcd    etcdpool.Config
	prefix  string // ends in "/"
	replica string
	lease   time.Duration
	quorum  quorum
}

func (s *sharedConfig) key() string {
	return fmt.Sprintf("%s|%s|%s|%s|%s", s.etcd.String(), s.prefix, s.replica, s.lease, s.quorum)
}

func (s *sharedConfig) String() string { return s.etcd.String() + " " + s.prefix }

// cluster is this replica's membership of one shared store: it writes the replica's own
// verdicts under a lease (so that they vanish when the replica dies), follows everyone's
// verdicts and the drains with a watch, and keeps the drains. There is one per store, prefix
// and replica name in the process, shared by the instances (server blocks, and the old and
// new configuration across a reload) that name it.
type cluster struct {
	cfg    sharedConfig
	client *etcdpool.Client
	book   *drainBook
	refs   int // guarded by clusters

	mu        sync.Mutex
	reports   map[*HealthCheck]map[targetID]verdictOf // each instance's own verdicts
	written   map[targetID]verdictOf                  // what the store holds from this replica in this session
	peers     map[targetID]map[string]verdictOf       // every live replica's verdicts, by target and replica
	drainRevs map[drainKey]int64                      // the mod revision of each drain in the book
	// undrained holds, for each drain this replica deleted itself, the delete's revision
	// until its watch has passed it: the watch may still deliver the put it deleted, which
	// must not bring the drain back (see newer).
	undrained map[drainKey]int64
	reachable bool
	appended  int // audit entries written since the trail was last trimmed

	wake   chan struct{} // the own verdicts changed: write them
	cancel context.CancelFunc
	done   chan struct{}
}

var clusters = struct {
	sync.Mutex
	m map[string]*cluster
}{m: map[string]*cluster{}}

// joinCluster returns the running cluster of cfg, starting it if there is none.
func joinCluster(cfg *sharedConfig) *cluster {
	clusters.Lock()
	defer clusters.Unlock()
	k := cfg.key()
	if c, ok := clusters.m[k]; ok {
		c.refs++
		return c
	}
	c := newCluster(*cfg)
	c.client, c.refs = etcdpool.Acquire(cfg.etcd), 1
	var ctx context.Context
	ctx, c.cancel = context.WithCancel(context.Background())
	sharedReachable.WithLabelValues(c.cfg.String()).Set(0)
	go c.run(ctx)
	clusters.m[k] = c
	return c
}

// newCluster returns the cluster of cfg with its books made, neither connected nor running.
func newCluster(cfg sharedConfig) *cluster {
	c := &cluster{
		cfg: cfg, book: newDrainBook(cfg.String()),
		reports: map[*HealthCheck]map[targetID]verdictOf{}, written: map[targetID]verdictOf{},
		peers: map[targetID]map[string]verdictOf{}, drainRevs: map[drainKey]int64{},
		undrained: map[drainKey]int64{}, wake: make(chan struct{}, 1), done: make(chan struct{}),
	}
	c.book.expired = c.expired
	return c
}

// leave drops hc's verdicts and, for the last instance, stops the cluster: its lease is
// revoked, so the other replicas stop counting this one at once rather than after the TTL.
func (c *cluster) leave(hc *HealthCheck) {
	c.mu.Lock()
	delete(c.reports, hc)
	c.mu.Unlock()
	c.poke()
	clusters.Lock()
	c.refs--
	last := c.refs == 0
	if last {
		delete(clusters.m, c.cfg.key())
	}
	clusters.Unlock()
	if !last {
		return
	}
	c.cancel()
	<-c.done
	c.client.Release()
	sharedReachable.DeleteLabelValues(c.cfg.String())
	drainsActive.DeleteLabelValues(c.cfg.String())
}

// report records hc's own verdicts, to be written to the store if they changed.
func (c *cluster) report(hc *HealthCheck, own map[targetID]verdictOf) {
	c.mu.Lock()
	c.reports[hc] = own
	c.mu.Unlock()
	c.poke()
}

func (c *cluster) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// isReachable reports whether the store answered lately: only then do the others' verdicts
// count. c.mu must be held.
func (c *cluster) isReachable() bool { return c.reachable }

func (c *cluster) verdictPrefix() string { return c.cfg.prefix + "verdict/" }
func (c *cluster) drainPrefix() string   { return c.cfg.prefix + "drain/" }
func (c *cluster) auditPrefix() string   { return c.cfg.prefix + "audit/" }

func (c *cluster) verdictKey(t targetID) string {
	return c.verdictPrefix() + t.addr.String() + "/" + t.check + "/" + c.cfg.replica
}

func (c *cluster) drainKeyOf(k drainKey) string {
	if k.name == "" {
		return c.drainPrefix() + k.address
	}
	return c.drainPrefix() + k.address + "/" + k.name
}

// parseVerdictKey splits PREFIX/verdict/ADDRESS/CHECK/REPLICA; a check's name may hold "/",
// an address and a replica's name never do.
func parseVerdictKey(rest string) (t targetID, replica string, ok bool) {
	i, j := strings.IndexByte(rest, '/'), strings.LastIndexByte(rest, '/')
	// (With i < 0, a key starting with "/" would reach ParseAddr("") and be refused there all
	// the same: an equivalent mutant.)
	if i <= 0 || j <= i+1 || j == len(rest)-1 {
		return t, "", false
	}
	a, err := netip.ParseAddr(rest[:i])
	if err != nil {
		return t, "", false
	}
	return targetID{a.Unmap(), rest[i+1 : j]}, rest[j+1:], true
}

// storedVerdict is a verdict's value in the store.
type storedVerdict struct {
	State  string    `json:"state"`
	Since  time.Time `json:"since,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

func parseState(s string) state {
	switch s {
	case "up":
		return stateUp
	case "down":
		return stateDown
	}
	return stateUnknown
}

// run keeps a session with the store open, starting a new one after a failure, until ctx
// ends. Between sessions the replica answers by its own verdicts and the drains it knew.
func (c *cluster) run(ctx context.Context) {
	defer close(c.done)
	for {
		err := c.safeSession(ctx)
		if ctx.Err() != nil {
			return
		}
		c.setReachable(false, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retryEvery):
		}
	}
}

func (c *cluster) safeSession(ctx context.Context) (err error) {
	defer recoverLoop("shared")
	err = errors.New("session ended by a panic")
	return c.session(ctx)
}

// session grants a lease, writes the own verdicts under it, reads everything, and follows
// the changes while keeping the lease alive. It returns when the store fails, or ctx ends:
// then the lease is revoked, so that the other replicas stop counting this one at once.
func (c *cluster) session(ctx context.Context) error {
	cli, err := c.client.Get()
	if err != nil {
		return err
	}
	lease, err := c.grant(ctx, cli)
	if err != nil {
		return err
	}
	defer c.revoke(cli, lease)
	rev, err := c.readAll(ctx, cli)
	if err != nil {
		return err
	}
	if err := c.writeOwn(ctx, cli, lease); err != nil {
		return err
	}
	c.setReachable(true, nil)
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	watch := cli.Watch(wctx, c.cfg.prefix, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	keep := time.NewTicker(c.cfg.lease / 3)
	defer keep.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.wake:
			if err := c.writeOwn(ctx, cli, lease); err != nil {
				return err
			}
		case <-keep.C:
			rctx, cancel := context.WithTimeout(ctx, requestTimeout)
			_, err := cli.KeepAliveOnce(rctx, lease)
			cancel()
			if err != nil {
				return fmt.Errorf("keeping the lease alive: %w", err)
			}
		case resp, ok := <-watch:
			if !ok {
				return errors.New("the watch ended")
			}
			if err := resp.Err(); err != nil {
				return err
			}
			c.apply(resp.Events)
		}
	}
}

func (c *cluster) grant(ctx context.Context, cli *clientv3.Client) (clientv3.LeaseID, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Grant(rctx, int64(c.cfg.lease/time.Second))
	if err != nil {
		return 0, fmt.Errorf("granting a lease: %w", err)
	}
	c.mu.Lock()
	c.written = map[targetID]verdictOf{} // a new lease: everything is written again
	c.mu.Unlock()
	return resp.ID, nil
}

// revoke ends the lease, deleting the own verdicts. Best effort: if etcd is gone, the lease
// expires by itself.
func (c *cluster) revoke(cli *clientv3.Client, lease clientv3.LeaseID) {
	rctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	cli.Revoke(rctx, lease)
}

// readAll reads every verdict and drain at one revision and replaces what the cluster knew.
func (c *cluster) readAll(ctx context.Context, cli *clientv3.Client) (int64, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	vs, err := cli.Get(rctx, c.verdictPrefix(), clientv3.WithPrefix())
	if err != nil {
		return 0, fmt.Errorf("reading the verdicts: %w", err)
	}
	rev := vs.Header.Revision
	ds, err := cli.Get(rctx, c.drainPrefix(), clientv3.WithPrefix(), clientv3.WithRev(rev))
	if err != nil {
		return 0, fmt.Errorf("reading the drains: %w", err)
	}
	peers := map[targetID]map[string]verdictOf{}
	for _, kv := range vs.Kvs {
		c.putPeer(peers, kv)
	}
	drains, revs := map[drainKey]healthview.Drain{}, map[drainKey]int64{}
	for _, kv := range ds.Kvs {
		if d, ok := c.parseDrain(kv); ok {
			drains[keyOf(d)], revs[keyOf(d)] = d, kv.ModRevision
		}
	}
	c.mu.Lock()
	c.peers = peers
	c.adoptDrains(drains, revs, rev)
	c.mu.Unlock()
	c.book.changed()
	return rev, nil
}

// adoptDrains replaces the drains by those read at revision rev (with their revisions),
// except that a drain or undrain this replica made after rev is newer than the read and
// stays as this replica applied it. c.mu must be held.
func (c *cluster) adoptDrains(drains map[drainKey]healthview.Drain, revs map[drainKey]int64, rev int64) {
	for k, r := range c.undrained {
		if r > rev { // (>=: the read at rev holds that delete already: equivalent)
			delete(drains, k)
			delete(revs, k)
		} else {
			delete(c.undrained, k) // the read has passed it
		}
	}
	c.book.mu.Lock()
	defer c.book.mu.Unlock()
	for k, r := range c.drainRevs {
		if r > rev { // (>=: the read at rev holds that drain already: equivalent)
			drains[k], revs[k] = c.book.drains[k], r
		}
	}
	c.book.drains, c.drainRevs = drains, revs
}

// putPeer records the verdict kv holds in peers; a key or value it cannot read is skipped.
func (c *cluster) putPeer(peers map[targetID]map[string]verdictOf, kv *mvccpb.KeyValue) {
	t, replica, ok := parseVerdictKey(strings.TrimPrefix(string(kv.Key), c.verdictPrefix()))
	if !ok || replica == c.cfg.replica {
		return
	}
	var sv storedVerdict
	if json.Unmarshal(kv.Value, &sv) != nil || parseState(sv.State) == stateUnknown {
		return
	}
	m := peers[t]
	if m == nil {
		m = map[string]verdictOf{}
		peers[t] = m
	}
	m[replica] = verdictOf{state: parseState(sv.State), since: sv.Since, reason: cut(sv.Reason)}
}

// cut bounds a reason another replica wrote, as errText bounds this replica's own.
func cut(s string) string {
	// (errText keeps a reason of exactly maxErr bytes whole too: < is an equivalent mutant.)
	if len(s) <= maxErr {
		return s
	}
	return errText(errors.New(s))
}

// parseDrain reads a drain's key; one that does not parse, or does not match its key, is
// skipped.
func (c *cluster) parseDrain(kv *mvccpb.KeyValue) (healthview.Drain, bool) {
	var d healthview.Drain
	if json.Unmarshal(kv.Value, &d) != nil || d.Normalize() != nil {
		return d, false
	}
	return d, c.drainKeyOf(keyOf(d)) == string(kv.Key)
}

// parseDrainKey reads the address and name from a drain's key, as a deleted key's event
// gives only the key.
func (c *cluster) parseDrainKey(key string) (drainKey, bool) {
	rest, ok := strings.CutPrefix(key, c.drainPrefix())
	if !ok {
		return drainKey{}, false
	}
	address, name, _ := strings.Cut(rest, "/")
	k := drainKey{address, name}
	return k, c.drainKeyOf(k) == key
}

// newer reports whether a change of k made at revision rev is newer than what this replica
// applied for k. The watch delivers every change in order, but this replica applies its own
// drains and undrains at once, ahead of its watch: without this check, an undrain made
// here, followed by the watch delivering the drain it undid, would drain the address again
// until the watch delivered the delete too. (>= in either comparison would apply the echo of
// a change this replica applied already, to the same effect: equivalent mutants.) c.mu must
// be held.
func (c *cluster) newer(k drainKey, rev int64) bool {
	return rev > c.drainRevs[k] && rev > c.undrained[k]
}

// apply takes in the watched changes: verdicts of the others, and drains made anywhere.
func (c *cluster) apply(events []*clientv3.Event) {
	drains := false
	c.mu.Lock()
	for _, ev := range events {
		key := string(ev.Kv.Key)
		switch {
		case strings.HasPrefix(key, c.verdictPrefix()):
			if ev.Type == mvccpb.DELETE {
				t, replica, ok := parseVerdictKey(strings.TrimPrefix(key, c.verdictPrefix()))
				if ok && c.peers[t] != nil {
					delete(c.peers[t], replica)
				}
				continue
			}
			c.putPeer(c.peers, ev.Kv)
		case strings.HasPrefix(key, c.drainPrefix()):
			c.applyDrain(ev)
			drains = true
		}
	}
	// The watch has passed these undrains: nothing older can come for their keys.
	if len(events) > 0 && len(c.undrained) > 0 {
		last := events[len(events)-1].Kv.ModRevision
		for k, r := range c.undrained {
			if r <= last { // (<: kept until the next event, which passes it all the same: equivalent)
				delete(c.undrained, k)
			}
		}
	}
	c.mu.Unlock()
	c.book.notify(drains)
}

// applyDrain takes in one watched change of a drain. c.mu must be held.
func (c *cluster) applyDrain(ev *clientv3.Event) {
	k, ok := c.parseDrainKey(string(ev.Kv.Key))
	if !ok || !c.newer(k, ev.Kv.ModRevision) {
		return
	}
	if ev.Type == mvccpb.DELETE {
		c.setDrain(k, nil, 0)
		return
	}
	if d, ok := c.parseDrain(ev.Kv); ok {
		c.setDrain(k, &d, ev.Kv.ModRevision)
	}
}

// setDrain puts d, written at revision rev, in the book as k's drain, or removes k's drain
// when d is nil; the caller republishes. c.mu must be held.
func (c *cluster) setDrain(k drainKey, d *healthview.Drain, rev int64) {
	c.book.mu.Lock()
	defer c.book.mu.Unlock()
	if d == nil {
		delete(c.drainRevs, k)
		delete(c.book.drains, k)
		return
	}
	c.drainRevs[k] = rev
	delete(c.undrained, k)
	c.book.drains[k] = *d
}

// writeOwn writes the own verdicts that changed since they were last written, and deletes
// those of targets no longer probed, in transactions of writeBatch keys.
func (c *cluster) writeOwn(ctx context.Context, cli *clientv3.Client, lease clientv3.LeaseID) error {
	c.mu.Lock()
	want := map[targetID]verdictOf{}
	for _, own := range c.reports {
		for t, v := range own {
			if v.state != stateUnknown {
				want[t] = v
			}
		}
	}
	var ops []clientv3.Op
	for t, v := range want {
		if w, ok := c.written[t]; ok && w == v {
			continue
		}
		val, _ := json.Marshal(storedVerdict{State: v.state.String(), Since: v.since.UTC(), Reason: v.reason})
		ops = append(ops, clientv3.OpPut(c.verdictKey(t), string(val), clientv3.WithLease(lease)))
	}
	for t := range c.written {
		if _, ok := want[t]; !ok {
			ops = append(ops, clientv3.OpDelete(c.verdictKey(t)))
		}
	}
	c.mu.Unlock()
	for len(ops) > 0 {
		n := min(len(ops), writeBatch)
		rctx, cancel := context.WithTimeout(ctx, requestTimeout)
		_, err := cli.Txn(rctx).Then(ops[:n]...).Commit()
		cancel()
		if err != nil {
			return fmt.Errorf("writing the verdicts: %w", err)
		}
		ops = ops[n:]
	}
	c.mu.Lock()
	c.written = want
	c.mu.Unlock()
	return nil
}

// setReachable keeps the metric and the log: one line per change, so that an operator sees
// when a replica went over to its own verdicts and when it came back.
func (c *cluster) setReachable(up bool, err error) {
	c.mu.Lock()
	was := c.reachable
	c.reachable = up
	c.mu.Unlock()
	if up {
		sharedReachable.WithLabelValues(c.cfg.String()).Set(1)
	} else {
		sharedReachable.WithLabelValues(c.cfg.String()).Set(0)
	}
	switch {
	case up && !was:
		log.Infof("sharing verdicts through %s as replica %q (quorum %s)", c.cfg.String(), c.cfg.replica, c.cfg.quorum)
	case !up && was:
		sharedFallbacks.WithLabelValues(c.cfg.String()).Inc()
		log.Warningf("%s is unreachable, answering by this replica's own verdicts and the drains it knew until it returns: %v", c.cfg.String(), err)
	}
	if up != was {
		c.book.notify(false)
	}
}

// String names the store, for errors.
func (c *cluster) String() string { return c.cfg.String() }

func (c *cluster) unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %s: %v", healthview.ErrUnavailable, c, op, err)
}

func (c *cluster) newAuditKey() string {
	return fmt.Sprintf("%s%020d-%s", c.auditPrefix(), time.Now().UnixNano(), c.cfg.replica)
}

// Drain implements healthview.Drainer: the drain and its audit entry are written in one
// transaction; the drain applies on this replica at once, and on the others as their
// watches deliver it.
func (c *cluster) Drain(ctx context.Context, d healthview.Drain) error {
	if !c.book.room(d) {
		return healthview.ErrTooMany
	}
	cli, err := c.client.Get()
	if err != nil {
		return c.unavailable("draining", err)
	}
	val, _ := json.Marshal(d)
	ev, _ := json.Marshal(healthview.DrainEvent{Action: "drain", Drain: d})
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Txn(rctx).Then(clientv3.OpPut(c.drainKeyOf(keyOf(d)), string(val)), clientv3.OpPut(c.newAuditKey(), string(ev))).Commit()
	if err != nil {
		return c.unavailable("draining", err)
	}
	c.mu.Lock()
	c.setDrain(keyOf(d), &d, resp.Header.Revision)
	c.mu.Unlock()
	c.book.changed()
	c.audited()
	return nil
}

// Undrain implements healthview.Drainer.
func (c *cluster) Undrain(ctx context.Context, address, name, by string) error {
	cli, err := c.client.Get()
	if err != nil {
		return c.unavailable("undraining", err)
	}
	k := drainKey{address, name}
	c.book.mu.Lock()
	d, ok := c.book.drains[k]
	c.book.mu.Unlock()
	if !ok {
		d = healthview.Drain{Address: address, Name: name}
	}
	d.By, d.At = by, time.Now().UTC()
	ev, _ := json.Marshal(healthview.DrainEvent{Action: "undrain", Drain: d})
	key := c.drainKeyOf(k)
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Txn(rctx).If(clientv3.Compare(clientv3.Version(key), ">", 0)).
		Then(clientv3.OpDelete(key), clientv3.OpPut(c.newAuditKey(), string(ev))).Commit()
	if err != nil {
		return c.unavailable("undraining", err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s%s: %w", address, forName(name), healthview.ErrNotDrained)
	}
	c.mu.Lock()
	c.setDrain(k, nil, 0)
	c.undrained[k] = resp.Header.Revision
	c.mu.Unlock()
	c.book.changed()
	c.audited()
	return nil
}

func forName(name string) string {
	if name == "" {
		return ""
	}
	return " for " + name
}

// expired deletes the keys of drains whose time is up. Every replica tries; the transaction
// compares the key's revision, so exactly one deletes it and writes the audit entry, and a
// drain renewed meanwhile is left alone.
func (c *cluster) expired(ds []healthview.Drain) {
	cli, err := c.client.Get()
	if err != nil {
		return
	}
	for _, d := range ds {
		c.mu.Lock()
		rev, ok := c.drainRevs[keyOf(d)]
		c.mu.Unlock()
		if !ok {
			continue
		}
		e := d
		e.By, e.At = "expiry", d.Until
		ev, _ := json.Marshal(healthview.DrainEvent{Action: "expire", Drain: e})
		key := c.drainKeyOf(keyOf(d))
		rctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
		cli.Txn(rctx).If(clientv3.Compare(clientv3.ModRevision(key), "=", rev)).
			Then(clientv3.OpDelete(key), clientv3.OpPut(c.newAuditKey(), string(ev))).Commit()
		cancel()
	}
}

// audited trims the shared audit trail to maxStoredAudit entries every trimEvery writes.
func (c *cluster) audited() {
	c.mu.Lock()
	c.appended++
	due := c.appended >= trimEvery
	if due {
		c.appended = 0
	}
	c.mu.Unlock()
	if due {
		c.trim(maxStoredAudit)
	}
}

func (c *cluster) trim(keep int) {
	cli, err := c.client.Get()
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	etcdpool.Trim(ctx, cli, c.auditPrefix(), keep) // best effort: the next trim tries again
}

// Store implements healthview.Drainer: the clusters of one store (in production there is
// one per process; tests run several replicas in one) share its drains.
func (c *cluster) Store() string { return c.cfg.String() }

// Drains implements healthview.Drainer.
func (c *cluster) Drains() []healthview.Drain { return c.book.active(time.Now()) }

// DrainAudit implements healthview.Drainer: the shared trail, or while the store is out of
// reach, nothing (the drains themselves are still listed).
func (c *cluster) DrainAudit(n int) []healthview.DrainEvent {
	cli, err := c.client.Get()
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, c.auditPrefix(), clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	if err != nil {
		return nil
	}
	out := make([]healthview.DrainEvent, 0, len(resp.Kvs))
	for i := len(resp.Kvs) - 1; i >= 0; i-- {
		var e healthview.DrainEvent
		if json.Unmarshal(resp.Kvs[i].Value, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}
