package store

import (
	"context"
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// The audit trail is shared: what one replica records with its changes, another reads, in
// order, each entry with the revision of its change.
func TestEtcdAuditShared(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}
	b := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}

	if got, err := b.tail(10); err != nil || len(got.Entries) != 0 || got.Stale {
		t.Fatalf("empty trail: got %v, %v", got, err)
	}
	var revs []uint64
	for i := range 12 {
		rev, err := storeUpdate(ctx, a.store, etcdAddOverride(fmt.Sprintf("o%d", i), "g"))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, rev)
	}
	page, err := b.tail(5)
	if err != nil {
		t.Fatal(err)
	}
	got := page.Entries
	if len(got) != 5 || got[0].Revision != revs[7] || got[4].Revision != revs[11] || got[4].Who != "test" {
		t.Fatalf("tail(5) = %+v, want revisions %v, oldest first", got, revs[7:])
	}
}

// Old entries are dropped as new ones arrive, so the trail stays bounded.
func TestEtcdAuditTrims(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint)}
	for i := range 5 {
		if _, err := storeUpdate(ctx, a.store, etcdAddOverride(fmt.Sprintf("o%d", i), "g")); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.trim(3); err != nil {
		t.Fatal(err)
	}
	page, err := a.tail(10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range page.Entries {
		ids = append(ids, e.ID)
	}
	cli := etcdRawClient(t, etcd.Endpoint)
	resp, err := cli.Get(ctx, a.store.auditKey, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != 3 || len(page.Entries) != 3 {
		t.Fatalf("kept %d keys, %d entries, want the last 3", resp.Count, len(page.Entries))
	}
}
