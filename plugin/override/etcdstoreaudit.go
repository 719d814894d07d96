package override

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// auditKeep is how many audit entries the etcd store keeps: the trail stays readable in the
// console and etcd's key space stays small however long the replicas run.
const auditKeep = 10000

// etcdAudit is the audit trail of an EtcdStore, shared by every replica: one key per change,
// PREFIX/audit/ followed by the table revision the change produced, zero-padded so that etcd's
// key order is the order of the changes. Each revision is written by exactly one replica (the
// one whose transaction produced it, in that same transaction), so entries never collide.
type etcdAudit struct {
	store *EtcdStore

	// seen is the trail as this replica last read or wrote it, newest last and at most
	// maxAudit long: what GET /api/audit serves, marked stale, while etcd is unreachable.
	mu   sync.Mutex
	seen []AuditEntry
}

// auditEntryKey is the key of the audit entry of table revision rev.
func (s *EtcdStore) auditEntryKey(rev uint64) string { return fmt.Sprintf("%s%020d", s.auditKey, rev) }

// append writes e again (the change's transaction wrote it already; the put is idempotent)
// and drops everything older than the last auditKeep in the same request, which keeps the
// trail bounded without a janitor.
func (a *etcdAudit) append(e AuditEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	cli, err := a.store.conn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	ops := []clientv3.Op{clientv3.OpPut(a.store.auditEntryKey(e.Revision), string(data))}
	if e.Revision > auditKeep {
		ops = append(ops, clientv3.OpDelete(a.store.auditKey, clientv3.WithRange(a.store.auditEntryKey(e.Revision-auditKeep))))
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
		return a.store.fail("writing the audit log", err)
	}
	a.remember([]AuditEntry{e})
	return nil
}

// ensure writes e unless its key exists: for a table written by an older version that wrote
// the entry after the change.
func (a *etcdAudit) ensure(e AuditEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	cli, err := a.store.conn()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	key := a.store.auditEntryKey(e.Revision)
	_, err = cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(data))).
		Commit()
	if err != nil {
		return a.store.fail("writing the audit log", err)
	}
	return nil
}

// tail returns the last n entries, oldest first. An entry that does not parse is skipped
// rather than hiding the rest of the trail. While etcd cannot be reached it returns what this
// replica saw last, marked stale, so that the console still shows the recent changes.
func (a *etcdAudit) tail(n int) (auditPage, error) {
	entries, err := a.read(n)
	if errors.Is(err, ErrUnavailable) {
		return auditPage{Entries: a.last(n), Stale: true, Reason: err.Error()}, nil
	}
	if err != nil {
		return auditPage{}, err
	}
	a.remember(entries)
	return auditPage{Entries: entries}, nil
}

func (a *etcdAudit) read(n int) ([]AuditEntry, error) {
	cli, err := a.store.conn()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	resp, err := cli.Get(ctx, a.store.auditKey, clientv3.WithPrefix(),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortDescend), clientv3.WithLimit(int64(n)))
	if err != nil {
		return nil, a.store.fail("reading the audit log", err)
	}
	entries := make([]AuditEntry, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		var e AuditEntry
		if json.Unmarshal(kv.Value, &e) == nil {
			entries = append(entries, e)
		}
	}
	slices.Reverse(entries)
	return entries, nil
}

// remember merges entries (oldest first) into seen by revision, keeping the newest maxAudit.
func (a *etcdAudit) remember(entries []AuditEntry) {
	a.mu.Lock()
	defer a.mu.Unlock()
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
	slices.SortFunc(merged, func(x, y AuditEntry) int {
		switch {
		case x.Revision < y.Revision:
			return -1
		case x.Revision > y.Revision:
			return 1
		}
		return 0
	})
	if len(merged) > maxAudit {
		merged = merged[len(merged)-maxAudit:]
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
