package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
)

// ErrUnavailable says that the store cannot be reached: nothing was read or written. The API
// answers it with 503, and the query path keeps serving the last state it knew.
var ErrUnavailable = errors.New("override store unavailable")

// Timings of the etcd store. A request that takes longer than requestTimeout fails as
// unavailable, so that an API call gets its 503 in seconds rather than hanging. probeInterval
// is how often every replica checks that etcd answers and, as a safety net under the watch,
// that it holds no newer state.
const (
	requestTimeout = 2 * time.Second
	probeInterval  = time.Second
	maxTxnAttempts = 64
)

// DefaultEtcdPrefix is where in etcd's key space the overrides live unless the Corefile says.
const DefaultEtcdPrefix = "/steerdns/override/"

// EtcdConfig says how to reach etcd and where in its key space the overrides live.
type EtcdConfig struct {
	etcdpool.Config
	Prefix string // ends in "/"; DefaultEtcdPrefix when empty
}

// etcdStore keeps the overrides in etcd so that every replica shares them, one key per
// override (PREFIX/k/o/ID, its JSON) and one per group (PREFIX/k/g/GROUP, the id enabled in it,
// or empty). A change is a transaction that writes only the keys it changes, if every key it
// read (the override, its group's key) still has the mod revision it read: two operators
// enabling two overrides of one group on two replicas both read the group's key, so one of
// them retries on what the other wrote, and exactly one ends enabled. The audit trail lives
// under PREFIX/audit/, one key per change, written in the change's transaction.
type etcdStore struct {
	cfg      EtcdConfig
	stateKey string // the whole table as one value, as older versions kept it: migrated
	keys     string // prefix of the override and group keys
	auditKey string // prefix of the audit entries

	// probeEvery is how often Watch checks that etcd answers besides watching it, and how
	// long it waits before it watches again after a failure: probeInterval, shorter in tests.
	probeEvery time.Duration

	mu     sync.Mutex
	client *etcdpool.Client // the process's client for cfg (healthcheck's too, for the same etcd)

	seen       atomic.Uint64 // highest etcd revision loaded, written or delivered
	watchBytes atomic.Int64  // bytes of the keys and values the watch received, for benchmarks
	writeBytes atomic.Int64  // bytes of the keys and values changes wrote, for benchmarks
	reachable  atomic.Int32  // reachUnknown, reachUp or reachDown

	rejectMu sync.Mutex
	rejected map[string]int64 // key -> mod revision of the bad value last logged
}

const (
	reachUnknown = iota
	reachUp
	reachDown
)

// newEtcdStore returns a store in etcd; nothing is contacted until it is used.
func newEtcdStore(cfg EtcdConfig) *etcdStore {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultEtcdPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	cfg.Endpoints = append([]string(nil), cfg.Endpoints...)
	return &etcdStore{
		cfg:        cfg,
		stateKey:   cfg.Prefix + "state",
		keys:       cfg.Prefix + "k/",
		auditKey:   cfg.Prefix + "audit/",
		rejected:   map[string]int64{},
		probeEvery: probeInterval,
	}
}

// String implements backend.
func (s *etcdStore) String() string {
	return "etcd " + strings.Join(s.cfg.Endpoints, ",") + " " + s.cfg.Prefix
}

// Close releases the store's hold on the connection to etcd (the last holder in the process
// closes it). The store stays usable: the next call acquires it again, which is what a table
// that is acquired again after a final shutdown needs.
func (s *etcdStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		s.client.Release()
		s.client = nil
	}
	return nil
}

// conn returns the etcd client, made on first use. With a user name the client logs in as
// it is made, which fails while etcd is down; it is then tried again on the next call.
func (s *etcdStore) conn() (*clientv3.Client, error) {
	s.mu.Lock()
	if s.client == nil {
		s.client = etcdpool.Acquire(s.cfg.Config)
	}
	client := s.client
	s.mu.Unlock()
	cli, err := client.Get()
	if err != nil {
		return nil, s.fail("connecting", err)
	}
	return cli, nil
}

func (s *etcdStore) overrideKey(id string) string { return s.keys + "o/" + id }
func (s *etcdStore) groupKey(group string) string { return s.keys + "g/" + group }
func (s *etcdStore) overridePrefix() string       { return s.keys + "o/" }
func (s *etcdStore) groupPrefix() string          { return s.keys + "g/" }

// Load implements backend: it migrates a table kept as one value by an older version, then
// reads every key at one etcd revision. A value that is not a valid override is logged once,
// counted and skipped: one bad key must not take the others, or the replica, down.
func (s *etcdStore) Load(ctx context.Context) (delta, error) {
	if err := s.migrate(ctx); err != nil {
		return delta{}, err
	}
	d, err := s.readAll(ctx)
	if err != nil {
		return delta{}, err
	}
	s.advance(d.rev)
	return d, nil
}

// loadPage is how many keys one request of a full read returns, so that a table of 100,000
// overrides is read in pieces of a few hundred KB at one revision; each piece may take up to
// loadTimeout, far more than it needs, since a start on a busy host must not fail for it.
const (
	loadPage    = 2000
	loadTimeout = 15 * time.Second
)

// readAll reads every override and group key at one etcd revision.
func (s *etcdStore) readAll(ctx context.Context) (delta, error) {
	cli, err := s.conn()
	if err != nil {
		return delta{}, err
	}
	d := delta{full: true, ordered: true, groups: map[string]int64{}}
	var rev int64
	err = s.readRange(ctx, cli, s.overridePrefix(), &rev, func(kv *mvccpb.KeyValue) {
		if r, err := s.parseOverride(kv); err == nil {
			d.puts = append(d.puts, r)
		} else {
			d.kept = append(d.kept, strings.TrimPrefix(string(kv.Key), s.overridePrefix()))
		}
	})
	if err != nil {
		return delta{}, err
	}
	err = s.readRange(ctx, cli, s.groupPrefix(), &rev, func(kv *mvccpb.KeyValue) {
		d.groups[strings.TrimPrefix(string(kv.Key), s.groupPrefix())] = kv.ModRevision
	})
	if err != nil {
		return delta{}, err
	}
	s.markReachable()
	d.rev = uint64(rev)
	return d, nil
}

// readRange reads the keys under prefix page by page at revision *rev, setting it from the
// first response when it is 0.
func (s *etcdStore) readRange(ctx context.Context, cli *clientv3.Client, prefix string, rev *int64, each func(*mvccpb.KeyValue)) error {
	from, end := prefix, clientv3.GetPrefixRangeEnd(prefix)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(loadPage)}
		if *rev != 0 {
			opts = append(opts, clientv3.WithRev(*rev))
		}
		rctx, cancel := context.WithTimeout(ctx, loadTimeout)
		resp, err := cli.Get(rctx, from, opts...)
		cancel()
		if err != nil {
			return s.fail("reading", err)
		}
		if *rev == 0 {
			*rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			each(kv)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// parseOverride reads an override key; a bad value is refused, logged once and counted.
func (s *etcdStore) parseOverride(kv *mvccpb.KeyValue) (record, error) {
	id := strings.TrimPrefix(string(kv.Key), s.overridePrefix())
	var o Override
	err := json.Unmarshal(kv.Value, &o)
	if err == nil {
		err = o.Normalize()
	}
	if err == nil && o.ID != id {
		err = fmt.Errorf("holds override %q", o.ID)
	}
	if err != nil {
		err = fmt.Errorf("%w: %s: key %s at etcd revision %d: %w", errBadTable, s, kv.Key, kv.ModRevision, err)
		s.reject(string(kv.Key), kv.ModRevision, err)
		return record{}, err
	}
	return record{o: o, modRev: kv.ModRevision}, nil
}

// errBadTable marks a stored value that breaks the table's rules. The store has logged it
// (once per value); callers that retry on a timer need not log it again.
var errBadTable = errors.New("a stored value is refused")

// reject logs a bad value (written by an older replica or by hand) once and counts it; the
// replica keeps what it had for that key and serves everything else.
func (s *etcdStore) reject(key string, modRev int64, err error) {
	s.rejectMu.Lock()
	last, ok := s.rejected[key]
	s.rejected[key] = modRev
	s.rejectMu.Unlock()
	if ok && last == modRev {
		return
	}
	storeRejected.WithLabelValues(s.String()).Inc()
	log.Errorf("skipping a bad value, keeping what this replica had: %v", err)
}

// Update implements backend. build makes the change on this replica's view; the transaction
// writes it only if every key the change read is as it was read, otherwise build runs again
// with what the others wrote.
func (s *etcdStore) Update(ctx context.Context, build func(map[string]*record, map[string]groupKey) (*change, error)) (delta, error) {
	fresh, freshGroup := map[string]*record{}, map[string]groupKey{}
	for attempt := 1; ; attempt++ {
		v, err := build(fresh, freshGroup)
		// (Every write reads first, so err == nil would only cost an error a round trip more:
		// an equivalent mutant.)
		if err != nil && len(v.readIDs)+len(v.readGroups) == 0 {
			return delta{}, err
		}
		resp, ids, groups, cerr := s.commit(ctx, v, err == nil)
		if cerr != nil {
			return delta{}, cerr
		}
		if err != nil && resp.Succeeded {
			return delta{}, err // what the change read is current: its error stands
		}
		if resp.Succeeded {
			rev := resp.Header.Revision
			s.advance(uint64(rev))
			return v.result(uint64(rev), rev, false), nil
		}
		storeConflicts.WithLabelValues(s.String()).Inc()
		if attempt == maxTxnAttempts {
			return delta{}, fmt.Errorf("%s: gave up after %d conflicting concurrent changes", s, attempt)
		}
		s.refresh(resp, ids, groups, fresh, freshGroup)
	}
}

// commit runs the change's transaction. The ids and groups it compared are returned in the
// order of the reads in the else branch.
// With write false it only checks the reads: the change failed, and its error stands only if
// what it read was current.
func (s *etcdStore) commit(ctx context.Context, v *change, write bool) (*clientv3.TxnResponse, []string, []string, error) {
	var (
		cmps     []clientv3.Cmp
		ops, els []clientv3.Op
		ids      []string
		groups   []string
	)
	// In key order, so that a change's transaction is the same each time it is tried.
	for _, id := range slices.Sorted(maps.Keys(v.readIDs)) {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.overrideKey(id)), "=", v.readIDs[id]))
		els = append(els, clientv3.OpGet(s.overrideKey(id)))
		ids = append(ids, id)
	}
	for _, g := range slices.Sorted(maps.Keys(v.readGroups)) {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(s.groupKey(g)), "=", v.readGroups[g]))
		els = append(els, clientv3.OpGet(s.groupKey(g)))
		groups = append(groups, g)
	}
	if !write {
		v = newChange(newIndex(), nil, nil) // writes nothing
	}
	for _, o := range v.written() {
		data, err := json.Marshal(o)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", s, err)
		}
		ops = append(ops, clientv3.OpPut(s.overrideKey(o.ID), string(data)))
	}
	for _, id := range v.deleted() {
		ops = append(ops, clientv3.OpDelete(s.overrideKey(id)))
	}
	for g, id := range v.groups {
		ops = append(ops, clientv3.OpPut(s.groupKey(g), id))
	}
	// The change's audit entry is written in the same transaction: a change is never
	// applied without its entry. Its revision is the key's mod revision, the change's.
	if v.audit != nil {
		entry, err := json.Marshal(v.audit)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%s: %w", s, err)
		}
		ops = append(ops, clientv3.OpPut(s.newAuditKey(), string(entry)))
	}
	cli, err := s.conn()
	if err != nil {
		return nil, nil, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Txn(rctx).If(cmps...).Then(ops...).Else(els...).Commit()
	if err != nil {
		return nil, nil, nil, s.fail("writing", err)
	}
	if resp.Succeeded {
		for _, op := range ops {
			s.writeBytes.Add(int64(len(op.KeyBytes()) + len(op.ValueBytes())))
		}
	}
	s.markReachable()
	return resp, ids, groups, nil
}

// refresh reads the values that the else branch of a failed transaction returned into fresh
// and freshGroup.
func (s *etcdStore) refresh(resp *clientv3.TxnResponse, ids, groups []string, fresh map[string]*record, freshGroup map[string]groupKey) {
	for i, id := range ids {
		kvs := resp.Responses[i].GetResponseRange().Kvs
		if len(kvs) == 0 {
			fresh[id] = nil
			continue
		}
		r, err := s.parseOverride(kvs[0])
		if err != nil {
			// A bad value reads as missing: it cannot be changed, but a create
			// may replace it.
			r = record{modRev: kvs[0].ModRevision}
		}
		fresh[id] = &r
	}
	for j, g := range groups {
		kvs := resp.Responses[len(ids)+j].GetResponseRange().Kvs
		if len(kvs) == 0 {
			freshGroup[g] = groupKey{}
			continue
		}
		freshGroup[g] = groupKey{id: string(kvs[0].Value), modRev: kvs[0].ModRevision}
	}
}

// advance records rev as known and reports whether it is newer than anything known before,
// so that a replica does not rebuild its table for a change it made itself.
func (s *etcdStore) advance(rev uint64) bool {
	for {
		cur := s.seen.Load()
		if rev <= cur {
			return false
		}
		if s.seen.CompareAndSwap(cur, rev) {
			return true
		}
	}
}

// fail turns an etcd error into the store's: one that means etcd cannot be reached wraps
// ErrUnavailable and marks the store unreachable; any other (permission denied, a bad
// certificate) says what went wrong.
func (s *etcdStore) fail(op string, err error) error {
	if unreachable(err) {
		s.markUnreachable(err)
		return fmt.Errorf("%w: %s: %s: %v", ErrUnavailable, s, op, err)
	}
	desc := rpctypes.ErrorDesc(err)
	switch {
	case desc == rpctypes.ErrorDesc(rpctypes.ErrGRPCRequestTooLarge) || status.Code(err) == codes.ResourceExhausted && strings.Contains(desc, "larger than max"):
		return fmt.Errorf("%w: %s refuses a request this large (its --max-request-bytes): %v", ErrTooLarge, s, err)
	case desc == rpctypes.ErrorDesc(rpctypes.ErrGRPCTooManyOps):
		return fmt.Errorf("%w: %s refuses a transaction of this many keys (its --max-txn-ops): %v", ErrTooLarge, s, err)
	case desc == rpctypes.ErrorDesc(rpctypes.ErrGRPCNoSpace):
		return fmt.Errorf("%w: %s has reached its space quota (--quota-backend-bytes); an operator must compact and defragment it: %v", ErrNoSpace, s, err)
	}
	return fmt.Errorf("%s: %s: %w", s, op, err)
}

func unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	code := status.Code(err)
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	}
	return code == codes.Unavailable || code == codes.DeadlineExceeded
}

// markReachable and markUnreachable keep the metric and log one line per transition, so that
// an operator sees when a replica started and stopped answering from its last known state.
func (s *etcdStore) markReachable() {
	storeReachable.WithLabelValues(s.String()).Set(1)
	if s.reachable.Swap(reachUp) == reachDown {
		log.Infof("%s is reachable again; following its changes from revision %d", s, s.seen.Load())
	}
}

func (s *etcdStore) markUnreachable(err error) {
	storeReachable.WithLabelValues(s.String()).Set(0)
	if s.reachable.Swap(reachDown) != reachDown {
		log.Warningf("%s is unreachable, answering from the last known state (revision %d) until it returns: %v", s, s.seen.Load(), err)
	}
}
