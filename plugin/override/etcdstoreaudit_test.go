package override

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// The audit trail is shared: what one replica records, another reads, in order.
func TestEtcdAuditShared(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}
	b := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}
	b.store.cfg.Prefix = a.store.cfg.Prefix
	b.store.auditKey = a.store.auditKey

	if got, err := b.tail(10); err != nil || len(got.Entries) != 0 || got.Stale {
		t.Fatalf("empty trail: got %v, %v", got, err)
	}
	for rev := uint64(1); rev <= 12; rev++ {
		e := AuditEntry{Time: time.Now().UTC(), Who: "alice", Action: "enable", ID: fmt.Sprintf("o%d", rev), Revision: rev}
		if err := a.append(e); err != nil {
			t.Fatal(err)
		}
	}
	page, err := b.tail(5)
	if err != nil {
		t.Fatal(err)
	}
	got := page.Entries
	if len(got) != 5 || got[0].Revision != 8 || got[4].Revision != 12 || got[4].ID != "o12" || got[4].Who != "alice" {
		t.Fatalf("tail(5) = %+v, want revisions 8 to 12, oldest first", got)
	}
}

// Old entries are dropped as new ones arrive, so the trail stays bounded.
func TestEtcdAuditTrims(t *testing.T) {
	etcd := etcdtest.Start(t)
	a := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}
	for _, rev := range []uint64{1, 2, 3, auditKeep + 2, auditKeep + 3} {
		if err := a.append(AuditEntry{Action: "create", Revision: rev}); err != nil {
			t.Fatal(err)
		}
	}
	cli := etcdRawClient(t, etcd.Endpoint)
	resp, err := cli.Get(context.Background(), a.store.auditKey, clientv3.WithPrefix(), clientv3.WithKeysOnly())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key))
	}
	if len(keys) != 3 || keys[0] != a.store.auditEntryKey(3) {
		t.Fatalf("kept %v, want revisions 3, %d and %d", keys, auditKeep+2, auditKeep+3)
	}
}
