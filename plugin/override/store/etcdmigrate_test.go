package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
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

// A replica of the earlier version that writes the single value while a migration runs stops
// it, whether the migration is writing its batches or about to delete the value: nothing of it
// is deleted or audited, the error says what happened, and the next start migrates again.
func TestEtcdMigrationStopsWhenTheValueChanges(t *testing.T) {
	t.Parallel() // its own etcd
	etcd := etcdtest.Start(t)
	ctx := context.Background()
	cli := etcdRawClient(t, etcd.Endpoint)
	for _, n := range []int{0, 150} { // no batch to write, then two
		s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: fmt.Sprintf("/test/%s/%d/", t.Name(), n)})
		t.Cleanup(func() { s.Close() })
		old := State{Revision: 3}
		for i := range n {
			old.Overrides = append(old.Overrides, Override{ID: fmt.Sprint("o", i), Name: "cats.example.test.", Group: fmt.Sprint("g", i), Addresses: []string{"127.0.0.2"}})
		}
		data, _ := json.Marshal(old)
		if _, err := cli.Put(ctx, s.stateKey, string(data)); err != nil {
			t.Fatal(err)
		}
		conn, err := s.conn()
		if err != nil {
			t.Fatal(err)
		}
		st, modRev, err := s.readSingleValue(ctx, conn)
		if err != nil || st == nil || len(st.Overrides) != n {
			t.Fatalf("%d overrides: read %+v at %d, %v", n, st, modRev, err)
		}
		if _, err := cli.Put(ctx, s.stateKey, string(data)); err != nil { // the older replica
			t.Fatal(err)
		}
		err = s.moveSingleValue(ctx, conn, st, modRev)
		if err == nil || !strings.Contains(err.Error(), "changed while it was being migrated") {
			t.Errorf("%d overrides: migration over a changed value: %v, want an error that says it changed", n, err)
		}
		for what, key := range map[string]string{"the single value": s.stateKey, "override keys": s.overridePrefix(), "audit entries": s.auditKey} {
			resp, err := cli.Get(ctx, key, clientv3.WithPrefix(), clientv3.WithCountOnly())
			if err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int64{true: 1, false: 0}[key == s.stateKey]; resp.Count != want {
				t.Errorf("%d overrides: %d %s after the stopped migration, want %d", n, resp.Count, what, want)
			}
		}
		if err := s.migrate(ctx); err != nil {
			t.Fatalf("%d overrides: the next start: %v", n, err)
		}
		if resp, _ := cli.Get(ctx, s.stateKey); len(resp.Kvs) != 0 {
			t.Errorf("%d overrides: the next start left the single value", n)
		}
	}
}
