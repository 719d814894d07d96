package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/test/diskfull"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// The store's own limits refuse a change before it is tried; these tests are of the limits of
// what holds the store (etcd's flags, a full disk), which the API answers with 413 and 507.
// Each checks what the README promises: the error names the limit an operator changes, the
// store is not reported unreachable, nothing is changed, and the next change that fits works.

// etcdTable is a table on etcd at endpoint, under the test's prefix, loaded.
func etcdTable(t *testing.T, endpoint string) *Table {
	t.Helper()
	s := newTestEtcdStore(t, endpoint)
	tab := newTable(s.String(), s, &etcdAudit{store: s})
	if err := tab.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tab
}

// etcdKeys counts the keys under the table's prefix: its overrides, groups and audit trail.
func etcdKeys(t *testing.T, endpoint string, tab *Table) int64 {
	t.Helper()
	s := tab.store.(*etcdStore)
	resp, err := etcdRawClient(t, endpoint).Get(context.Background(), s.keys, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// brief is what a test compares of a state: its revision, and each override's id, whether it
// is enabled and when it last changed.
func brief(st *State) string {
	var b strings.Builder
	fmt.Fprintf(&b, "revision %d:", st.Revision)
	for _, o := range st.Overrides {
		fmt.Fprintf(&b, " %s(enabled %v, changed %s)", o.ID, o.Enabled, o.ChangedAt.Format(time.RFC3339Nano))
	}
	return b.String()
}

// unchanged fails the test if tab no longer holds want (a state read before a refused change)
// or its store was taken for unreachable.
func unchanged(t *testing.T, tab *Table, want *State) {
	t.Helper()
	if got := tab.Current(); brief(got) != brief(want) {
		t.Errorf("after the refusal the table holds %s, want it unchanged: %s", brief(got), brief(want))
	}
	if s, ok := tab.store.(*etcdStore); ok && s.reachable.Load() != reachUp {
		t.Errorf("a refusal by a reachable etcd marked it unreachable (state %d)", s.reachable.Load())
	}
}

func TestEtcdStoreRefusesOverItsLimits(t *testing.T) {
	t.Parallel() // etcds of their own
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		limits etcdtest.Limits
		flag   string
		// change is refused by the limit; it runs after s1 and s2 (group cats, s1 enabled) were
		// created, each in a transaction within the limit.
		change func(tab *Table) error
	}{
		{
			name:   "request bytes",
			limits: etcdtest.Limits{MaxRequestBytes: 2048},
			flag:   "--max-request-bytes",
			change: func(tab *Table) error {
				// The note is within the override's own bound (1024 bytes), and is written twice:
				// in the override and in its audit entry.
				o := Override{ID: "big", Name: "cats.example.test.", Group: "cats", Addresses: []string{"127.0.0.9"}, Note: strings.Repeat("n", maxNoteLen)}
				_, err := tab.Create(ctx, tester, o)
				return err
			},
		},
		{
			name:   "transaction operations",
			limits: etcdtest.Limits{MaxTxnOps: 3},
			flag:   "--max-txn-ops",
			change: func(tab *Table) error {
				// Enabling s2 writes s2, s1 (switched off), the group key and the audit entry.
				_, err := tab.Enable(ctx, tester, "s2", 0)
				return err
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			etcd := etcdtest.StartLimited(t, tc.limits)
			tab := etcdTable(t, etcd.Endpoint)
			mustCreate(t, tab, "cats", "cats.example.test.", 2)
			if _, err := tab.Enable(ctx, tester, "s1", 0); err != nil {
				t.Fatal(err)
			}
			before, keys := tab.Current(), etcdKeys(t, etcd.Endpoint, tab)

			err := tc.change(tab)
			if !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tc.flag) {
				t.Fatalf("change over etcd's limit: %v, want ErrTooLarge naming %s", err, tc.flag)
			}
			unchanged(t, tab, before)
			if got := etcdKeys(t, etcd.Endpoint, tab); got != keys {
				t.Errorf("etcd holds %d keys of the table after the refusal, %d before", got, keys)
			}
			if _, err := tab.Disable(ctx, tester, "s1"); err != nil {
				t.Errorf("a change within the limit after the refusal: %v", err)
			}
		})
	}
}

// etcd at its space quota refuses every write with an alarm until an operator frees space
// (the README's steps: delete, compact, defragment, disarm the alarm). Meanwhile the table
// answers from what it holds, and a change is refused with ErrNoSpace naming the flag.
func TestEtcdStoreSpaceQuota(t *testing.T) {
	t.Parallel() // its own etcd
	ctx := context.Background()
	etcd := etcdtest.StartLimited(t, etcdtest.Limits{QuotaBackendBytes: 4 << 20})
	tab := etcdTable(t, etcd.Endpoint)
	mustCreate(t, tab, "cats", "cats.example.test.", 2)

	etcd.Fill(t)
	before, keys := tab.Current(), etcdKeys(t, etcd.Endpoint, tab)
	_, err := tab.Enable(ctx, tester, "s1", 0)
	if !errors.Is(err, ErrNoSpace) || errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "--quota-backend-bytes") {
		t.Fatalf("change with etcd at its quota: %v, want ErrNoSpace naming --quota-backend-bytes", err)
	}
	unchanged(t, tab, before)
	if got := etcdKeys(t, etcd.Endpoint, tab); got != keys {
		t.Errorf("etcd holds %d keys of the table after the refusal, %d before", got, keys)
	}
	if st, err := loadState(ctx, tab.store); err != nil || len(st.Overrides) != 2 {
		t.Errorf("reading etcd at its quota: %+v, %v; want the two overrides", st, err)
	}

	// What an operator does: free space, compact, defragment, then disarm the alarm, which
	// etcd keeps raised until then.
	etcd.Free(t)
	if _, err := tab.Enable(ctx, tester, "s1", 0); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("change before the alarm is disarmed: %v, want ErrNoSpace still", err)
	}
	etcd.DisarmAlarms(t)
	if _, err := tab.Enable(ctx, tester, "s1", 0); err != nil {
		t.Fatalf("change once space is freed and the alarm disarmed: %v", err)
	}
	if got := enabledIDs(tab.Current()); fmt.Sprint(got) != "[s1]" {
		t.Errorf("enabled after the quota was lifted: %v, want [s1]", got)
	}
}

// A file store on a full disk refuses a change with ErrNoSpace naming the file, keeps its
// state, and leaves a log the next change (once there is room) and a restart read whole: a write
// cut short by the full disk is cut off again.
func TestFileStoreDiskFull(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(diskfull.Dir(t, 64<<10), "overrides.json")
	open := func() (*Table, *fileStore) {
		fs := newFileStore(path)
		t.Cleanup(func() { fs.Close() }) // before the tmpfs is unmounted
		tab := newTable(path, fs, &auditLog{path: path + ".audit.jsonl"})
		if err := tab.load(ctx); err != nil {
			t.Fatalf("loading the store: %v", err)
		}
		return tab, fs
	}
	tab, fs := open()
	mustCreate(t, tab, "cats", "cats.example.test.", 2)

	fill := diskfull.Fill(t, filepath.Dir(path))
	// What is left is the tail of the files' last pages: creates go on until one does not fit,
	// its line cut short by the full disk.
	o := Override{Name: "cats.example.test.", Group: "cats", Addresses: []string{"127.0.0.9"}, Note: strings.Repeat("n", maxNoteLen)}
	var before *State
	var err error
	for i := 3; err == nil; i++ {
		if i == 10 {
			t.Fatal("7 creates of over 2 KiB each fit on a full disk")
		}
		before, o.ID = tab.Current(), fmt.Sprintf("s%d", i)
		_, err = tab.Create(ctx, tester, o)
	}
	refused := func(err error) {
		t.Helper()
		if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), path+".log") {
			t.Fatalf("change on a full disk: %v, want ErrNoSpace naming %s.log", err, path)
		}
		unchanged(t, tab, before)
	}
	refused(err)
	_, err = tab.Create(ctx, tester, o) // the same again, after the first was cut off
	refused(err)

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	if _, err := tab.Enable(ctx, tester, "s1", 0); err != nil {
		t.Fatalf("change once the disk has room: %v", err)
	}
	want := tab.Current()
	fs.Close()
	logs := captureLog(t)
	again, _ := open()
	got := again.Current()
	if brief(got) != brief(want) {
		t.Errorf("after a restart the store holds %s, want %s", brief(got), brief(want))
	}
	if !slices.Equal(enabledIDs(got), []string{"s1"}) {
		t.Errorf("enabled after a restart: %v, want [s1]", enabledIDs(got))
	}
	if logs.String() != "" {
		t.Errorf("the restart logged damage: %s", logs)
	}
}
