package test

import (
	"net/http"
	"strings"
	"testing"
)

// etcd stops: every replica keeps answering from the last state it knew and says so in its
// metric; API writes fail with 503 and change nothing; etcd returns: writes work again and
// every replica follows, without a restart.
func TestEtcdOutageServesLastKnownState(t *testing.T) {
	etcd, rs := etcdStartReplicas(t, 2)
	overrideMust(t, "POST", rs[0].api+"/api/overrides/server2/enable", "")
	for _, r := range rs {
		etcdAwaitCats(t, r, "127.0.0.3")
		etcdAwaitReachable(t, r, 1)
	}

	etcd.Stop()
	status, out := overrideCall(t, "POST", rs[0].api+"/api/overrides/server3/enable", "")
	msg, _ := out["error"].(string)
	if status != http.StatusServiceUnavailable || !strings.Contains(msg, "unavailable") || !strings.Contains(msg, "nothing was changed") {
		t.Fatalf("enable with etcd down: status %d, %v; want 503 saying the store is unavailable and nothing was changed", status, out)
	}
	for _, r := range rs {
		etcdAwaitReachable(t, r, 0)
		if got := etcdCats(t, r); got != "127.0.0.3" {
			t.Errorf("with etcd down %s answers %s, want the last known pin 127.0.0.3", r.api, got)
		}
		if got := etcdEnabled(t, r); got != "server2" {
			t.Errorf("with etcd down %s shows %q enabled, want server2", r.api, got)
		}
	}

	etcd.Restart(t)
	for _, r := range rs {
		etcdAwaitReachable(t, r, 1)
	}
	overrideMust(t, "POST", rs[0].api+"/api/overrides/server3/enable", "")
	for _, r := range rs {
		etcdAwaitCats(t, r, "127.0.0.4")
	}
}

// One replica loses its path to etcd while another makes changes: it keeps its last state,
// refuses writes, and catches up as soon as the path is back.
func TestEtcdPartitionedReplicaResyncs(t *testing.T) {
	_, rs := etcdStartReplicas(t, 2)
	rs[1].proxy.Cut()
	overrideMust(t, "POST", rs[0].api+"/api/overrides/server2/enable", "")
	etcdAwaitCats(t, rs[0], "127.0.0.3")
	etcdAwaitReachable(t, rs[1], 0)
	if got := etcdCats(t, rs[1]); got != etcdAllCats {
		t.Errorf("cut off replica answers %s, want its last known (normal) answer", got)
	}
	if status, out := overrideCall(t, "POST", rs[1].api+"/api/overrides/server4/enable", ""); status != http.StatusServiceUnavailable {
		t.Errorf("enable on the cut off replica: status %d, %v; want 503", status, out)
	}

	rs[1].proxy.Restore()
	etcdAwaitCats(t, rs[1], "127.0.0.3")
	etcdAwaitReachable(t, rs[1], 1)
	if got := etcdEnabled(t, rs[0]); got != "server2" {
		t.Errorf("the refused enable changed replica 1 to %q", got)
	}
}

// A replica that starts while etcd is down does not fail: it serves the overrides its
// Corefile declares, and once etcd is up it seeds them and follows the shared state.
func TestEtcdStartWithEtcdDown(t *testing.T) {
	etcd := etcdtestStopped(t)
	zone := etcdZone(t)
	prefix := "/steerdns/" + t.Name() + "/"
	first := etcdStartReplica(t, etcd, prefix, zone, "on")
	if got := etcdCats(t, first); got != "127.0.0.2" {
		t.Errorf("started with etcd down, declared server1 on: answers %s, want 127.0.0.2", got)
	}
	if status, _ := overrideCall(t, "POST", first.api+"/api/overrides/server3/enable", ""); status != http.StatusServiceUnavailable {
		t.Errorf("enable with etcd down since start: status %d, want 503", status)
	}

	etcd.Restart(t)
	etcdAwaitReachable(t, first, 1)
	etcdAwaitRevision(t, first, 1) // the declared overrides are seeded
	second := etcdStartReplica(t, etcd, prefix, zone, "")
	if got := etcdCats(t, second); got != "127.0.0.2" {
		t.Errorf("replica started after etcd returned answers %s, want the seeded 127.0.0.2", got)
	}
	overrideMust(t, "POST", second.api+"/api/overrides/server4/enable", "")
	etcdAwaitCats(t, first, "127.0.0.5")
}
