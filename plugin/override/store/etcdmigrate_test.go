package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// A table kept as one value by an earlier version moves to one key per override and per
// group at the first start, once, with one audit entry; the value is gone afterwards and a
// second start changes nothing. More overrides than one transaction takes are moved too.
func TestEtcdMigratesSingleValueTable(t *testing.T) {
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	s := newTestEtcdStore(t, etcd.Endpoint)
	cli := etcdRawClient(t, etcd.Endpoint)
	old := State{Revision: 9}
	for i := range 300 {
		old.Overrides = append(old.Overrides, Override{ID: fmt.Sprint("o", i), Name: fmt.Sprintf("n%d.example.test.", i%7), Group: fmt.Sprint("g", i%7), Addresses: []string{"127.0.0.2"}, Enabled: i < 7})
	}
	data, _ := json.Marshal(old)
	if _, err := cli.Put(ctx, s.stateKey, string(data)); err != nil {
		t.Fatal(err)
	}
	for start := range 2 {
		tab := newTable(s.String(), s, &etcdAudit{store: s})
		if err := tab.load(ctx); err != nil {
			t.Fatalf("start %d: %v", start, err)
		}
		st := tab.Current()
		if len(st.Overrides) != 300 || len(enabledIDs(st)) != 7 {
			t.Fatalf("start %d: %d overrides, %d enabled; want 300 and 7", start, len(st.Overrides), len(enabledIDs(st)))
		}
		if resp, _ := cli.Get(ctx, s.stateKey); len(resp.Kvs) != 0 {
			t.Fatalf("start %d: the old value is still there", start)
		}
		page, err := tab.audit.tail(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != 1 || page.Entries[0].Action != "migrate" || !strings.Contains(page.Entries[0].ID, "300 overrides") {
			t.Fatalf("start %d: audit %+v, want one migrate entry", start, page.Entries)
		}
	}
	// The groups' keys came along: enabling another of a group switches the first off.
	if _, err := storeUpdate(ctx, s, etcdEnableUpdate("o7")); err != nil {
		t.Fatal(err)
	}
	st, _ := loadState(ctx, s)
	if got := enabledIDs(&st); len(got) != 7 || strings.Contains(fmt.Sprint(got), "o0 ") {
		t.Fatalf("after enabling o7 of group g0: enabled %v", got)
	}
	if resp, _ := cli.Get(ctx, s.groupKey("g0")); len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "o7" {
		t.Fatalf("group key g0: %v", resp.Kvs)
	}
	resp, _ := cli.Get(ctx, s.overridePrefix(), clientv3.WithPrefix(), clientv3.WithCountOnly())
	if resp.Count != 300 {
		t.Fatalf("%d override keys, want 300", resp.Count)
	}
}
