package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
)

// auditKeep is how many audit entries the etcd store keeps: the trail stays readable in the
// console and etcd's key space stays small however long the replicas run.
const auditKeep = 10000

// etcdAudit is the audit trail of an etcdStore, shared by every replica: one key per change,
// PREFIX/audit/ followed by the time and a random suffix, written in the change's own
// transaction. The change's revision is the key's mod revision, which etcd gives every key of
// one transaction alike; entries are read in that order.
type etcdAudit struct {
	store *etcdStore

	// seen is the trail as this replica last read or wrote it, newest last and at most
	// MaxAuditTail long: what GET /api/audit serves, marked stale, while etcd is unreachable.
	mu       sync.Mutex
	seen     []AuditEntry
	appended int // entries appended since the trail was last trimmed
	keep     int // the entries a trim keeps: auditKeep when 0 (tests keep fewer)
}

// newAuditKey is the key of a new audit entry: in time order, and unique across replicas.
func (s *etcdStore) newAuditKey() string {
	return fmt.Sprintf("%s%020d-%s", s.auditKey, time.Now().UnixNano(), newID())
}

// trimEvery is how many appends pass between two checks of the trail's length.
const trimEvery = 100

// append remembers e (its transaction wrote it already) and, every trimEvery appends, drops
// everything older than the last auditKeep entries, which keeps the trail bounded without a
// janitor.
func (a *etcdAudit) append(e AuditEntry) error {
	a.remember([]AuditEntry{e})
	a.mu.Lock()
	a.appended++
	due := a.appended >= trimEvery
	if due {
		a.appended = 0
	}
	a.mu.Unlock()
	if !due {
		return nil
	}
	return a.trim(cmp.Or(a.keep, auditKeep))
}

// trim deletes the oldest entries beyond keep.
func (a *etcdAudit) trim(keep int) error {
	cli, err := a.store.conn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	if err := etcdpool.Trim(ctx, cli, a.store.auditKey, keep); err != nil {
		return a.store.fail("trimming the audit log", err)
	}
	return nil
}

// ensure has nothing to do: every entry is written in its change's transaction.
func (a *etcdAudit) ensure(AuditEntry) error { return nil }

// tail returns the last n entries, oldest first. An entry that does not parse is skipped
// rather than hiding the rest of the trail. While etcd cannot be reached it returns what this
// replica saw last, marked stale, so that the console still shows the recent changes.
func (a *etcdAudit) tail(n int) (AuditPage, error) {
	entries, err := a.read(n)
	if errors.Is(err, ErrUnavailable) {
		return AuditPage{Entries: a.last(n), Stale: true, Reason: err.Error()}, nil
	}
	if err != nil {
		return AuditPage{}, err
	}
	a.remember(entries)
	return AuditPage{Entries: entries}, nil
}

func (a *etcdAudit) read(n int) ([]AuditEntry, error) {
	cli, err := a.store.conn()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, a.store.auditKey, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	if err != nil {
		return nil, a.store.fail("reading the audit log", err)
	}
	entries := make([]AuditEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var e AuditEntry
		if json.Unmarshal(kv.Value, &e) == nil {
			e.Revision = uint64(kv.ModRevision)
			entries = append(entries, e)
		}
	}
	slices.Reverse(entries)
	return entries, nil
}

// remember merges entries (oldest first) into seen by revision, keeping the newest MaxAuditTail.
func (a *etcdAudit) remember(entries []AuditEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	// (a size hint: - is an equivalent mutant)
	byRev := make(map[uint64]AuditEntry, len(a.seen)+len(entries))
	for _, e := range a.seen {
		byRev[e.Revision] = e
	}
	for _, e := range entries {
		byRev[e.Revision] = e.clone()
	}
	merged := make([]AuditEntry, 0, len(byRev))
	for _, e := range byRev {
		merged = append(merged, e)
	}
	slices.SortFunc(merged, func(x, y AuditEntry) int { return cmp.Compare(x.Revision, y.Revision) })
	if len(merged) > MaxAuditTail { // (>= cuts nothing at exactly the bound: an equivalent mutant)
		merged = merged[len(merged)-MaxAuditTail:]
	}
	a.seen = merged
}

// last returns the newest n entries of seen, oldest first.
func (a *etcdAudit) last(n int) []AuditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]AuditEntry, 0, min(n, len(a.seen)))
	for _, e := range a.seen[max(0, len(a.seen)-n):] {
		out = append(out, e.clone())
	}
	return out
}
