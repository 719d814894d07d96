package override

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// auditKeep is how many audit entries the etcd store keeps: the trail stays readable in the
// console and etcd's key space stays small however long the replicas run.
const auditKeep = 10000

// etcdAudit is the audit trail of an EtcdStore, shared by every replica: one key per change,
// PREFIX/audit/ followed by the table revision the change produced, zero-padded so that etcd's
// key order is the order of the changes. Each revision is written by exactly one replica (the
// one whose transaction produced it), so entries never collide.
type etcdAudit struct {
	store *EtcdStore
}

func (a *etcdAudit) key(rev uint64) string { return fmt.Sprintf("%s%020d", a.store.auditKey, rev) }

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
	ops := []clientv3.Op{clientv3.OpPut(a.key(e.Revision), string(data))}
	if e.Revision > auditKeep {
		// Dropping everything older than the last auditKeep in the same request keeps the
		// trail bounded without a janitor.
		ops = append(ops, clientv3.OpDelete(a.store.auditKey, clientv3.WithRange(a.key(e.Revision-auditKeep))))
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
		return a.store.fail("writing the audit log", err)
	}
	return nil
}

// tail returns the last n entries, oldest first. An entry that does not parse is skipped
// rather than hiding the rest of the trail.
func (a *etcdAudit) tail(n int) ([]AuditEntry, error) {
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
