package store

import (
	"context"
	"fmt"
	"strings"
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

// The shared trail is trimmed to its bound every trimEvery appends, not at every one.
func TestEtcdAuditTrimsEveryHundred(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	a := &etcdAudit{store: newTestEtcdStore(t, etcd.Endpoint), keep: 3}
	cli := etcdRawClient(t, etcd.Endpoint)
	count := func() int64 {
		resp, err := cli.Get(ctx, a.store.auditKey, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return resp.Count
	}
	for i := range trimEvery {
		rev, err := storeUpdate(ctx, a.store, etcdAddOverride(fmt.Sprint("o", i), "g"))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.append(AuditEntry{Action: "create", ID: fmt.Sprint("o", i), Revision: rev}); err != nil {
			t.Fatal(err)
		}
		if n, want := count(), int64(i+1); i < trimEvery-1 && n != want {
			t.Fatalf("after %d appends the trail holds %d entries, want %d (no trim yet)", i+1, n, want)
		}
	}
	if n := count(); n != 3 {
		t.Errorf("after %d appends the trail holds %d entries, want the 3 it keeps", trimEvery, n)
	}
}

// remember keeps the trail this replica knows in revision order, whatever order entries
// come in, without duplicates, and only the newest MaxAuditTail.
func TestEtcdAuditRemembersInOrder(t *testing.T) {
	a := &etcdAudit{}
	entries := func(revs ...uint64) []AuditEntry {
		var out []AuditEntry
		for _, r := range revs {
			out = append(out, AuditEntry{Revision: r})
		}
		return out
	}
	revs := func() string {
		var out []string
		for _, e := range a.seen {
			out = append(out, fmt.Sprint(e.Revision))
		}
		return strings.Join(out, " ")
	}
	a.remember(entries(5))
	a.remember(entries(2, 7, 3))
	a.remember(entries(5, 1))
	if got := revs(); got != "1 2 3 5 7" {
		t.Errorf("remembered %q, want 1 2 3 5 7", got)
	}
	var many []uint64
	for r := range uint64(MaxAuditTail + 10) {
		many = append(many, 100+r)
	}
	a.remember(entries(many...))
	if len(a.seen) != MaxAuditTail || a.seen[0].Revision != 110 || a.seen[len(a.seen)-1].Revision != 100+MaxAuditTail+9 {
		t.Errorf("after %d more: %d entries from %d to %d, want the newest %d", len(many), len(a.seen), a.seen[0].Revision, a.seen[len(a.seen)-1].Revision, MaxAuditTail)
	}
}
