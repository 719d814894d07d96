package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// etcdReplica is one CoreDNS server whose override plugin shares its state through etcd. Each
// replica reaches etcd through a proxy of its own, as separate machines would have separate
// paths: the test can cut one, and the replicas in this one process do not share a table.
type etcdReplica struct {
	srv      *harness.Server
	corefile string
	api      string // base URL of the replica's API
	proxy    *etcdtest.Proxy
}

const etcdAllCats = "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"

// etcdCorefile is the Corefile of one replica: the demo's four servers declared in group cats,
// extra (for instance "on") appended to server1's declaration.
func etcdCorefile(endpoint, prefix string, consolePort int, zone, extra string) string {
	return fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    override {
        store etcd %s {
            prefix %s
        }
        console 127.0.0.1:%d
        declare server1 cats.example.test 127.0.0.2 group cats %s
        declare server2 cats.example.test 127.0.0.3 group cats
        declare server3 cats.example.test 127.0.0.4 group cats
        declare server4 cats.example.test 127.0.0.5 group cats
    }
    cache 30
    file %s
}`, endpoint, prefix, consolePort, extra, zone)
}

// etcdZone writes the demo's zone: cats has four IPv4 addresses.
func etcdZone(t *testing.T) string {
	t.Helper()
	return harness.ZoneFile(t, t.TempDir(), `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
`)
}

// etcdStartReplica starts one replica on etcd under prefix.
func etcdStartReplica(t *testing.T, etcd *etcdtest.Server, prefix, zone, extra string) *etcdReplica {
	t.Helper()
	port := harness.FreePort(t)
	r := &etcdReplica{api: fmt.Sprintf("http://127.0.0.1:%d", port), proxy: etcd.Proxy(t)}
	r.corefile = etcdCorefile(r.proxy.Endpoint, prefix, port, zone, extra)
	r.srv = harness.Start(t, r.corefile)
	return r
}

// etcdStartReplicas starts a real etcd and n replicas sharing it.
func etcdStartReplicas(t *testing.T, n int) (*etcdtest.Server, []*etcdReplica) {
	t.Helper()
	etcd := etcdtest.Start(t)
	zone := etcdZone(t)
	prefix := "/steerdns/" + t.Name() + "/"
	replicas := make([]*etcdReplica, n)
	for i := range replicas {
		replicas[i] = etcdStartReplica(t, etcd, prefix, zone, "")
	}
	return etcd, replicas
}

// etcdCats returns the A records a replica answers for cats.example.test, sorted.
func etcdCats(t *testing.T, r *etcdReplica) string {
	t.Helper()
	m := harness.Exchange(t, "udp", r.srv.UDP, "cats.example.test.", dns.TypeA)
	got := harness.Addresses(m)
	slices.Sort(got)
	return strings.Join(got, " ")
}

// etcdAwaitCats polls a replica until it answers want, failing after a generous bound; it
// returns how long that took.
func etcdAwaitCats(t *testing.T, r *etcdReplica, want string) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for {
		got := etcdCats(t, r)
		if got == want {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s answers %q, want %q", r.api, got, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// etcdEnabled returns the id of the enabled override of group cats on a replica, "" for none.
func etcdEnabled(t *testing.T, r *etcdReplica) string {
	t.Helper()
	out := overrideMust(t, "GET", r.api+"/api/groups", "")
	for _, g := range out["groups"].([]any) {
		g := g.(map[string]any)
		if g["name"] == "cats" {
			id, _ := g["enabled"].(string)
			return id
		}
	}
	t.Fatalf("replica %s has no group cats: %v", r.api, out)
	return ""
}

// etcdEvents opens a replica's event stream and sends each revision it announces.
func etcdEvents(t *testing.T, api string) <-chan uint64 {
	t.Helper()
	req, err := http.NewRequest("GET", api+"/api/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ch := make(chan uint64, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var ev struct{ Revision uint64 }
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok && json.Unmarshal([]byte(data), &ev) == nil {
				ch <- ev.Revision
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return ch
}

func etcdNextRevision(t *testing.T, events <-chan uint64) uint64 {
	t.Helper()
	select {
	case rev := <-events:
		return rev
	case <-time.After(20 * time.Second):
		t.Fatal("no event from the console")
		return 0
	}
}

// etcdReachable returns the coredns_override_store_reachable gauge of the store whose name
// contains endpoint, or -1 when there is none.
func etcdReachable(t *testing.T, endpoint string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "coredns_override_store_reachable" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "store" && strings.Contains(l.GetValue(), endpoint) {
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

// etcdAwaitReachable waits until the replica's reachability gauge reads want.
func etcdAwaitReachable(t *testing.T, r *etcdReplica, want float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for etcdReachable(t, r.proxy.Endpoint) != want {
		if time.Now().After(deadline) {
			t.Fatalf("store_reachable of %s is %v, want %v", r.api, etcdReachable(t, r.proxy.Endpoint), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// etcdtestStopped returns an etcd that has run once and is now stopped, for tests that start
// replicas while etcd is down.
func etcdtestStopped(t *testing.T) *etcdtest.Server {
	t.Helper()
	etcd := etcdtest.Start(t)
	etcd.Stop()
	return etcd
}

// etcdAwaitRevision waits until a replica's API shows at least revision rev.
func etcdAwaitRevision(t *testing.T, r *etcdReplica, rev float64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _ := overrideMust(t, "GET", r.api+"/api/overrides", "")["revision"].(float64)
		if got >= rev {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s stays at revision %v, want %v", r.api, got, rev)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
