package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// With etcd down at start, the table serves the declared overrides and seeds them once etcd
// is up; the last release closes the connection.
func TestOpenTableEtcdDownServesDeclared(t *testing.T) {
	etcd := etcdtest.Start(t)
	etcd.Stop()
	cfg := Config{
		Etcd: &EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: "/test/" + t.Name() + "/"},
		Declared: []Override{
			{ID: "s1", Name: "cats.example.test.", Group: "cats", Addresses: []string{"127.0.0.2"}, Enabled: true},
			{ID: "s2", Name: "cats.example.test.", Group: "cats", Addresses: []string{"127.0.0.3"}},
		},
	}
	tab, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open with etcd down: %v", err)
	}
	if st := tab.Current(); st.Revision != 0 || len(st.Overrides) != 2 || !st.Overrides[0].Enabled {
		t.Fatalf("with etcd down the table is %+v, want the declared overrides, s1 on", st)
	}
	tables.acquire(tab)
	released := false
	release := func() {
		if !released {
			released = true
			tables.release(tab)
		}
	}
	t.Cleanup(release)

	etcd.Restart(t)
	// The seed publishes the new state before it forgets the pending declarations, so wait
	// for both.
	seeded := func() bool {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		return tab.pending == nil
	}
	etcdWaitFor(t, func() bool { return tab.Current().Revision >= 1 && seeded() })
	st := tab.Current()
	if len(st.Overrides) != 2 || !st.Overrides[0].Enabled || st.Overrides[0].ChangedBy != "corefile" {
		t.Errorf("after etcd returned the table is %+v, want the seeded overrides", st)
	}

	release()
	s := tab.store.(*etcdStore)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		t.Error("the last release left the etcd connection open")
	}
}

// A store that answers with something wrong is an error at start, not a fallback.
func TestOpenTableEtcdCorrupt(t *testing.T) {
	etcd := etcdtest.Start(t)
	prefix := "/test/" + t.Name() + "/"
	cli := etcdRawClient(t, etcd.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, prefix+"state", "not json"); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctx, Config{Etcd: &EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: prefix}})
	if err == nil {
		t.Fatal("a corrupt table in etcd opened")
	}
}

// An unreachable shared store is no error of the registry's: it keeps the empty table and
// says why apart, so that no caller gets a table together with an error.
func TestRegistryOpenUnreachable(t *testing.T) {
	etcd := etcdtest.Start(t)
	etcd.Stop()
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: "/test/" + t.Name() + "/"})
	defer s.Close()
	tab, unreached, err := tables.open(context.Background(), s.String(), func() (backend, auditTrail) {
		return s, &etcdAudit{store: s}
	})
	if err != nil || tab == nil || !errors.Is(unreached, ErrUnavailable) {
		t.Fatalf("etcd down: table %v, unreached %v, error %v; want the table, unreached naming the outage, no error", tab, unreached, err)
	}
	tables.mu.Lock()
	delete(tables.m, s.String())
	tables.mu.Unlock()
}
