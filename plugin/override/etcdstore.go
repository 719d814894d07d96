package override

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrUnavailable says that the store cannot be reached: nothing was read or written. The API
// answers it with 503, and the query path keeps serving the last state it knew.
var ErrUnavailable = errors.New("override store unavailable")

// Timings of the etcd store. A request that takes longer than requestTimeout fails as
// unavailable, so that an API call gets its 503 in seconds rather than hanging. probeInterval
// is how often every replica checks that etcd answers and, as a safety net under the watch,
// that it holds no newer state.
const (
	defaultEtcdPrefix = "/steerdns/override/"
	requestTimeout    = 2 * time.Second
	probeInterval     = time.Second
	keepAliveTime     = 10 * time.Second
	maxTxnAttempts    = 64
)

// EtcdConfig says how to reach etcd and where in its key space the overrides live.
type EtcdConfig struct {
	Endpoints []string
	Prefix    string // ends in "/"; defaultEtcdPrefix when empty
	TLS       *tls.Config
	Username  string
	Password  string
}

// EtcdStore keeps the overrides in etcd so that every replica shares them. The whole table is
// one JSON value under PREFIX/state: an update is a read and a transaction that writes only if
// that key's mod revision is still the one read, so concurrent changes on two replicas are
// serialised by etcd and group exclusivity holds across all of them. The audit trail lives
// under PREFIX/audit/, one key per change.
type EtcdStore struct {
	cfg      EtcdConfig
	stateKey string
	auditKey string // prefix of the audit entries

	// probeEvery is how often Watch reads the table besides watching it, and how long it
	// waits before it watches again after a failure: probeInterval, shorter in tests.
	probeEvery time.Duration

	mu     sync.Mutex
	client *clientv3.Client // made on first use, so that etcd being down at start is not fatal

	seen      atomic.Uint64 // highest revision loaded, written or delivered
	rejected  atomic.Int64  // etcd mod revision of the last bad table logged
	reachable atomic.Int32  // reachUnknown, reachUp or reachDown
}

const (
	reachUnknown = iota
	reachUp
	reachDown
)

// NewEtcdStore returns a store in etcd; nothing is contacted until it is used.
func NewEtcdStore(cfg EtcdConfig) *EtcdStore {
	if cfg.Prefix == "" {
		cfg.Prefix = defaultEtcdPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	cfg.Endpoints = append([]string(nil), cfg.Endpoints...)
	return &EtcdStore{
		cfg:        cfg,
		stateKey:   cfg.Prefix + "state",
		auditKey:   cfg.Prefix + "audit/",
		probeEvery: probeInterval,
	}
}

// String implements Store.
func (s *EtcdStore) String() string {
	return "etcd " + strings.Join(s.cfg.Endpoints, ",") + " " + s.cfg.Prefix
}

// Close releases the connection to etcd. The store stays usable: the next call reconnects,
// which is what a table that is acquired again after a final shutdown needs.
func (s *EtcdStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return nil
	}
	err := s.client.Close()
	s.client = nil
	return err
}

// conn returns the etcd client, making it on first use. With a user name the client logs in
// as it is made, which fails while etcd is down; it is then tried again on the next call.
func (s *EtcdStore) conn() (*clientv3.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return s.client, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            s.cfg.Endpoints,
		TLS:                  s.cfg.TLS,
		Username:             s.cfg.Username,
		Password:             s.cfg.Password,
		DialTimeout:          requestTimeout,
		DialKeepAliveTime:    keepAliveTime,
		DialKeepAliveTimeout: requestTimeout,
		Logger:               zap.NewNop(), // failures reach the log through this plugin, once
	})
	if err != nil {
		return nil, s.fail("connecting", err)
	}
	s.client = cli
	return cli, nil
}

// Load implements Store. A key that does not exist is an empty table; a value that is not a
// valid table is an error naming the key, never an empty table.
func (s *EtcdStore) Load(ctx context.Context) (State, error) {
	st, _, err := s.get(ctx)
	if err != nil {
		return State{}, err
	}
	s.advance(st.Revision)
	return st, nil
}

// get reads the table and the mod revision that an update must compare against.
func (s *EtcdStore) get(ctx context.Context) (State, int64, error) {
	cli, err := s.conn()
	if err != nil {
		return State{}, 0, err
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Get(rctx, s.stateKey)
	if err != nil {
		return State{}, 0, s.fail("reading", err)
	}
	s.markReachable()
	st, modRev, err := s.decode(resp.Kvs)
	if err != nil {
		s.reject(modRev, err)
		return State{}, modRev, fmt.Errorf("%w: %w", errBadTable, err)
	}
	return st, modRev, nil
}

// errBadTable marks a stored table that breaks the table's rules. The store has logged it
// (once per value); callers that retry on a timer need not log it again.
var errBadTable = errors.New("the stored table is refused")

func (s *EtcdStore) decode(kvs []*mvccpb.KeyValue) (State, int64, error) {
	if len(kvs) == 0 {
		return State{}, 0, nil
	}
	st, err := s.parse(kvs[0].Value, kvs[0].ModRevision)
	return st, kvs[0].ModRevision, err
}

// parse reads a stored table; a value that is not a valid one is an error naming the key and
// etcd's revision of it.
func (s *EtcdStore) parse(value []byte, modRev int64) (State, error) {
	st, err := decodeState(value)
	if err != nil {
		return State{}, fmt.Errorf("%s: key %s at etcd revision %d: %w", s, s.stateKey, modRev, err)
	}
	return st, nil
}

// reject keeps the last good state when etcd holds a bad table (written by an older replica
// or by hand): the whole revision is refused, logged once and counted, and the replica keeps
// answering from what it had. Changes through the API are refused until a good table is
// written, since they would be made on top of a table nobody can read.
func (s *EtcdStore) reject(modRev int64, err error) {
	if s.rejected.Swap(modRev) == modRev {
		return
	}
	storeRejected.WithLabelValues(s.String()).Inc()
	log.Errorf("keeping revision %d: %v", s.seen.Load(), err)
}

// Update implements Store. fn runs on the latest table; the result is written only if nobody
// wrote in between, otherwise fn runs again on what they wrote. That is how two operators
// enabling two overrides of one group on two replicas end with exactly one enabled.
func (s *EtcdStore) Update(ctx context.Context, fn func(State) (State, error)) (State, error) {
	cur, modRev, err := s.get(ctx)
	if err != nil {
		return State{}, err
	}
	for attempt := 1; ; attempt++ {
		next, err := fn(cur.clone())
		if errors.Is(err, ErrUnchanged) {
			return cur, nil
		}
		if err != nil {
			return State{}, err
		}
		if next, err = stamped(cur, next); err != nil {
			return State{}, err
		}
		resp, err := s.commit(ctx, next, modRev)
		if err != nil {
			return State{}, err
		}
		if resp.Succeeded {
			s.advance(next.Revision)
			return next, nil
		}
		storeConflicts.WithLabelValues(s.String()).Inc()
		if attempt == maxTxnAttempts {
			return State{}, fmt.Errorf("%s: gave up after %d conflicting concurrent changes", s, attempt)
		}
		cur, modRev, err = s.decode(resp.Responses[0].GetResponseRange().Kvs)
		if err != nil {
			return State{}, err
		}
	}
}

// commit writes next if the table's key still has mod revision modRev (0: does not exist);
// otherwise the response carries the table as it is now.
func (s *EtcdStore) commit(ctx context.Context, next State, modRev int64) (*clientv3.TxnResponse, error) {
	data, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	cli, err := s.conn()
	if err != nil {
		return nil, err
	}
	// The change's audit entry is written in the same transaction: a change is never
	// applied without its entry.
	ops := []clientv3.Op{clientv3.OpPut(s.stateKey, string(data))}
	if next.Audit != nil {
		entry, err := json.Marshal(next.Audit)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
		ops = append(ops, clientv3.OpPut(s.auditEntryKey(next.Revision), string(entry)))
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := cli.Txn(rctx).
		If(clientv3.Compare(clientv3.ModRevision(s.stateKey), "=", modRev)).
		Then(ops...).
		Else(clientv3.OpGet(s.stateKey)).
		Commit()
	if err != nil {
		return nil, s.fail("writing", err)
	}
	return resp, nil
}

// advance records rev as known and reports whether it is newer than anything known before,
// so that a replica does not rebuild its table for a change it made itself.
func (s *EtcdStore) advance(rev uint64) bool {
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
func (s *EtcdStore) fail(op string, err error) error {
	if unreachable(err) {
		s.markUnreachable(err)
		return fmt.Errorf("%w: %s: %s: %v", ErrUnavailable, s, op, err)
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
func (s *EtcdStore) markReachable() {
	storeReachable.WithLabelValues(s.String()).Set(1)
	if s.reachable.Swap(reachUp) == reachDown {
		log.Infof("%s is reachable again; following its changes from revision %d", s, s.seen.Load())
	}
}

func (s *EtcdStore) markUnreachable(err error) {
	storeReachable.WithLabelValues(s.String()).Set(0)
	if s.reachable.Swap(reachDown) != reachDown {
		log.Warningf("%s is unreachable, answering from the last known state (revision %d) until it returns: %v", s, s.seen.Load(), err)
	}
}
