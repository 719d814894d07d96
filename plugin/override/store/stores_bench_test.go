package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// benchSizes are the table sizes the README quotes the cost of a change for.
var benchSizes = []int{10, 1000, 100000}

// benchOverride is override i of a table of realistic size: a short note, two addresses, one
// client prefix. Groups of four, as servers behind a name.
func benchOverride(i int) Override {
	return Override{ID: fmt.Sprintf("o%06d", i), Name: fmt.Sprintf("svc%d.example.test.", i/4), Group: fmt.Sprint("g", i/4),
		Addresses: []string{"192.0.2.10", "2001:db8::10"}, Clients: []string{"10.0.0.0/8"},
		Note: "pinned for the diagnosis of ticket 12345", ChangedBy: "ops", ChangedAt: time.Unix(1700000000, 0).UTC()}
}

// seedFile writes a snapshot of n overrides at path.
func seedFile(b testing.TB, path string, n int) {
	st := State{Revision: uint64(n)}
	for i := range n {
		st.Overrides = append(st.Overrides, benchOverride(i))
	}
	data, err := json.Marshal(st)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
}

// seedEtcd writes n overrides under s's keys, 100 to a transaction.
func seedEtcd(b testing.TB, cli *clientv3.Client, s *etcdStore, n int) {
	var ops []clientv3.Op
	flush := func() {
		if _, err := cli.Txn(context.Background()).Then(ops...).Commit(); err != nil {
			b.Fatal(err)
		}
		ops = ops[:0]
	}
	for i := range n {
		data, _ := json.Marshal(benchOverride(i))
		ops = append(ops, clientv3.OpPut(s.overrideKey(benchOverride(i).ID), string(data)))
		if len(ops) == 100 {
			flush()
		}
	}
	if len(ops) > 0 {
		flush()
	}
}

// reportLatency adds the median and p99 of the changes' times to the benchmark's figures.
func reportLatency(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(took[len(took)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkFileStoreChange measures one API change (an enable, which also switches another
// override of its group off) on the file store at each table size: time (median, p99) and
// bytes appended to the store per change.
func BenchmarkFileStoreChange(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "overrides.json")
			seedFile(b, path, n)
			tab := fileTable(b, path)
			tab.setLimit(MaxMaxOverrides)
			var took []time.Duration
			written := func() int64 { return fileSize(path) + fileSize(path+".log") + fileSize(path+".audit.jsonl") }
			start := written()
			changes := 0
			b.ReportAllocs()
			for b.Loop() {
				id := benchOverride(changes % min(n, 8)).ID
				t0 := time.Now()
				if _, err := tab.Enable(context.Background(), tester, id, 0); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
				changes++
			}
			reportLatency(b, took)
			b.ReportMetric(float64(written()-start)/float64(changes), "B-written/change")
		})
	}
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// BenchmarkEtcdStoreChange measures one API change on the etcd store at each table size, with
// a second replica watching: time (median, p99), bytes of keys and values written per change
// and bytes the other replica's watch receives per change, and the time until that replica
// serves it.
func BenchmarkEtcdStoreChange(b *testing.B) {
	etcd := etcdtest.Start(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			ctx := context.Background()
			cfg := EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: fmt.Sprintf("/bench-change-%d/", n)}
			writer, reader := newEtcdStore(cfg), newEtcdStore(cfg)
			defer writer.Close()
			defer reader.Close()
			cli, err := writer.conn()
			if err != nil {
				b.Fatal(err)
			}
			seedEtcd(b, cli, writer, n)
			tab := newTable(writer.String(), writer, &etcdAudit{store: writer})
			tab.setLimit(MaxMaxOverrides)
			if err := tab.load(ctx); err != nil {
				b.Fatal(err)
			}
			other := newTable(reader.String(), reader, &etcdAudit{store: reader})
			wctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); reader.Watch(wctx, other.publish) }()
			defer func() { cancel(); <-done }()
			awaitReplica(other, tab.Revision())
			var took, seen []time.Duration
			changes := 0
			watched := reader.watchBytes.Load()
			written := writer.writeBytes.Load()
			b.ReportAllocs()
			for b.Loop() {
				id := benchOverride(changes % min(n, 8)).ID
				t0 := time.Now()
				if _, err := tab.Enable(ctx, tester, id, 0); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(t0))
				awaitReplica(other, tab.Revision())
				seen = append(seen, time.Since(t0))
				changes++
			}
			reportLatency(b, took)
			slices.Sort(seen)
			b.ReportMetric(float64(seen[len(seen)/2].Microseconds()), "seen-by-replica-p50-µs")
			b.ReportMetric(float64(writer.writeBytes.Load()-written)/float64(changes), "B-written/change")
			b.ReportMetric(float64(reader.watchBytes.Load()-watched)/float64(changes), "watch-B/replica/change")
		})
	}
}

// BenchmarkStoreLoad measures a start: reading a table of each size and building what the
// API and the query path serve from it.
func BenchmarkStoreLoad(b *testing.B) {
	etcd := etcdtest.Start(b)
	for _, n := range benchSizes {
		b.Run(fmt.Sprint("file/", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "overrides.json")
			seedFile(b, path, n)
			b.ReportAllocs()
			for b.Loop() {
				tab := newTable(path, newFileStore(path), &auditLog{path: path + ".audit.jsonl"})
				if err := tab.load(context.Background()); err != nil {
					b.Fatal(err)
				}
				tab.store.(*fileStore).Close()
			}
			b.ReportMetric(loadedHeapMiB(b, path), "heap-MiB")
		})
		b.Run(fmt.Sprint("etcd/", n), func(b *testing.B) {
			cfg := EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}}, Prefix: fmt.Sprintf("/bench-load-%d/", n)}
			seeder := newEtcdStore(cfg)
			defer seeder.Close()
			cli, err := seeder.conn()
			if err != nil {
				b.Fatal(err)
			}
			seedEtcd(b, cli, seeder, n)
			b.ReportAllocs()
			for b.Loop() {
				s := newEtcdStore(cfg)
				tab := newTable(s.String(), s, &etcdAudit{store: s})
				if err := tab.load(context.Background()); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// loadedHeapMiB is the heap that one loaded table of the file at path keeps: what a replica
// holds in memory for its overrides (the table, its index and the query path's snapshot).
func loadedHeapMiB(b *testing.B, path string) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tab := newTable(path, newFileStore(path), &auditLog{path: path + ".audit.jsonl"})
	if err := tab.load(context.Background()); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	tab.store.(*fileStore).Close()
	runtime.KeepAlive(tab)
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
}

// awaitReplica waits until other has published rev. The channel is taken before the check, so
// a publish between the two is not missed.
func awaitReplica(other *Table, rev uint64) {
	for {
		changed := other.Wait()
		if other.Revision() >= rev {
			return
		}
		<-changed
	}
}
