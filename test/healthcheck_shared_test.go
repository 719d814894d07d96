package test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// sharedReplica is one CoreDNS replica whose healthcheck shares verdicts and drains through
// etcd, with a console of its own. Each probes its own set of web servers (one port per
// replica, the same four addresses), so the test can fail one replica's view of a server
// and not the others', as a bad network path from one vantage point would.
type sharedReplica struct {
	name     string
	dns      string          // the UDP address it answers on
	srv      *harness.Server // in this process, or
	proc     *Process        // a coredns process of its own (its console shows only its targets)
	dir      string
	web      *harness.Web
	api      string
	proxy    *etcdtest.Proxy
	corefile string
}

// restart stops the replica and starts it again from its Corefile.
func (r *sharedReplica) restart(t *testing.T) {
	t.Helper()
	if r.proc != nil {
		r.proc.Cmd.Process.Kill()
		r.proc.Cmd.Wait()
		r.startProcess(t)
		return
	}
	r.srv.Stop()
	r.srv = harness.Start(t, r.corefile)
	r.dns = r.srv.UDP
}

func (r *sharedReplica) startProcess(t *testing.T) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.dir, "Corefile"), []byte(r.corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	r.proc = StartProcess(t, r.dir, harness.Binary(t), "-conf", "Corefile")
	WaitForDNS(t, r.proc, r.dns)
}

// sharedInterval and sharedFall are the probing of the replicas: a server that stops is
// down for a replica within interval x fall (plus a probe's refusal, at once on loopback).
const (
	sharedInterval = 200 * time.Millisecond
	sharedFall     = 2
)

func sharedCorefile(dir, zone, endpoint, prefix, name string, dnsPort, webPort, apiPort int) string {
	return fmt.Sprintf(`example.test:%d {
    bind 127.0.0.1
    override {
        store %s
        console 127.0.0.1:%d
    }
    healthcheck {
        check web http port %d interval %s timeout 2s rise 1 fall %d jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
        etcd %s {
            prefix %s
            replica %s
            lease 2s
        }
        quorum 2
    }
    cache 30
    file %s
}`, dnsPort, filepath.Join(dir, name+".json"), apiPort, webPort, sharedInterval, sharedFall, endpoint, prefix, name, zone)
}

// sharedStart starts etcd and three replicas, a, b and c, sharing it, all in this process.
func sharedStart(t *testing.T) (*etcdtest.Server, []*sharedReplica) {
	t.Helper()
	return sharedStartWith(t, false)
}

// sharedStartWith starts etcd and three replicas, a, b and c, sharing it; with aProcess,
// replica a is a coredns process of its own.
func sharedStartWith(t *testing.T, aProcess bool) (*etcdtest.Server, []*sharedReplica) {
	t.Helper()
	etcd := etcdtest.Start(t)
	dir := t.TempDir()
	zone := etcdZone(t)
	prefix := "/steerdns/" + t.Name() + "/"
	var rs []*sharedReplica
	for _, name := range []string{"a", "b", "c"} {
		r := &sharedReplica{name: name, dir: t.TempDir(), web: harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"), proxy: etcd.Proxy(t)}
		port := harness.FreePort(t)
		r.api = fmt.Sprintf("http://127.0.0.1:%d", port)
		if name == "a" && aProcess {
			dnsPort := harness.FreePort(t)
			r.dns = fmt.Sprintf("127.0.0.1:%d", dnsPort)
			r.corefile = sharedCorefile(r.dir, zone, r.proxy.Endpoint, prefix, name, dnsPort, r.web.Port, port)
			r.startProcess(t)
		} else {
			r.corefile = sharedCorefile(dir, zone, r.proxy.Endpoint, prefix, name, 0, r.web.Port, port)
			r.srv = harness.Start(t, r.corefile)
			r.dns = r.srv.UDP
		}
		rs = append(rs, r)
	}
	// Every replica has every replica's verdict on every target: the quorum is in force.
	for _, r := range rs {
		sharedAwaitReplicas(t, r, 3)
	}
	return etcd, rs
}

// sharedCats returns what a replica answers for cats.example.test, sorted.
func sharedCats(t *testing.T, r *sharedReplica) string {
	t.Helper()
	got := harness.Addresses(harness.Exchange(t, "udp", r.dns, "cats.example.test.", dns.TypeA))
	slices.Sort(got)
	return strings.Join(got, " ")
}

// sharedAwait polls every replica until it answers want; it returns how long the slowest took.
func sharedAwait(t *testing.T, want string, rs ...*sharedReplica) time.Duration {
	t.Helper()
	start := time.Now()
	for _, r := range rs {
		deadline := time.Now().Add(20 * time.Second)
		for got := sharedCats(t, r); got != want; got = sharedCats(t, r) {
			if time.Now().After(deadline) {
				t.Fatalf("replica %s answers %q, want %q", r.name, got, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return time.Since(start)
}

// sharedHolds checks for a while that every replica keeps answering want.
func sharedHolds(t *testing.T, want string, d time.Duration, rs ...*sharedReplica) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, r := range rs {
			if got := sharedCats(t, r); got != want {
				t.Fatalf("replica %s answers %q, want %q throughout", r.name, got, want)
			}
		}
	}
}

// sharedTarget returns the health view of addr on a replica's console.
func sharedTarget(t *testing.T, r *sharedReplica, addr string) map[string]any {
	t.Helper()
	for _, tg := range overrideMust(t, "GET", r.api+"/api/health", "")["targets"].([]any) {
		if tg := tg.(map[string]any); tg["address"] == addr {
			return tg
		}
	}
	t.Fatalf("replica %s shows no target %s", r.name, addr)
	return nil
}

// sharedAwaitReplicas waits until a replica's console shows n replica verdicts on every target.
func sharedAwaitReplicas(t *testing.T, r *sharedReplica, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, a := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"} {
			if reps, _ := sharedTarget(t, r, a)["replicas"].([]any); len(reps) != n {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s does not show %d replica verdicts on every target: %v", r.name, n, sharedTarget(t, r, "127.0.0.3"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSharedVerdictsQuorum: three replicas with quorum 2. One replica's check of 127.0.0.3
// fails: all three keep it. A second one's fails: all three drop it, within interval x fall
// plus the propagation. The first of those is cut off from etcd, as a replica that dies: it
// stops counting once its lease expires, and the others bring 127.0.0.3 back.
func TestSharedVerdictsQuorum(t *testing.T) {
	_, rs := sharedStart(t)
	a, b, c := rs[0], rs[1], rs[2]
	const all, without3 = "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5", "127.0.0.2 127.0.0.4 127.0.0.5"
	sharedAwait(t, all, rs...)

	c.web.Stop("127.0.0.3")
	deadline := time.Now().Add(20 * time.Second)
	for sharedTarget(t, c, "127.0.0.3")["state"] != "down" {
		if time.Now().After(deadline) {
			t.Fatal("replica c never saw 127.0.0.3 down")
		}
		time.Sleep(10 * time.Millisecond)
	}
	sharedHolds(t, all, time.Second, rs...)
	if tg := sharedTarget(t, c, "127.0.0.3"); tg["effective"] != "up" {
		t.Errorf("replica c's console: 127.0.0.3 effective %v, want up (outvoted)", tg["effective"])
	}

	start := time.Now()
	b.web.Stop("127.0.0.3")
	took := sharedAwait(t, without3, rs...)
	t.Logf("agreement: all three replicas dropped 127.0.0.3 %s after the second vantage point lost it (interval %s x fall %d = %s, + propagation)",
		took.Round(time.Millisecond), sharedInterval, sharedFall, sharedInterval*sharedFall)
	_ = start

	c.proxy.Cut()
	start = time.Now()
	sharedAwait(t, all, a, b)
	t.Logf("a replica cut off from etcd stopped counting after %s (lease 2s)", time.Since(start).Round(time.Millisecond))
	// Cut off, c falls back to its own verdict: it drops 127.0.0.3 on its own.
	sharedAwait(t, without3, c)
	c.proxy.Restore()
	sharedAwait(t, without3, rs...)

	b.web.Start("127.0.0.3")
	c.web.Start("127.0.0.3")
	sharedAwait(t, all, rs...)
}

// TestSharedDrainEverywhere: a drain through replica a's API takes the address out of the
// answers of a, b and c within milliseconds; its expiry brings it back everywhere; the drain
// survives a restart of a replica; with etcd stopped, replicas keep the drains they knew.
func TestSharedDrainEverywhere(t *testing.T) {
	etcd, rs := sharedStart(t)
	a, b, c := rs[0], rs[1], rs[2]
	const all, without4 = "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5", "127.0.0.2 127.0.0.3 127.0.0.5"
	sharedAwait(t, all, rs...)

	var took []time.Duration
	for range 5 {
		start := time.Now()
		overrideMust(t, "POST", a.api+"/api/drains", `{"address":"127.0.0.4","note":"kernel update"}`)
		acked := time.Since(start)
		for _, r := range rs {
			sharedAwait(t, without4, r)
			took = append(took, time.Since(start))
		}
		t.Logf("drain acknowledged in %s; gone from a, b, c after %s, %s, %s", acked.Round(time.Microsecond),
			took[len(took)-3].Round(time.Microsecond), took[len(took)-2].Round(time.Microsecond), took[len(took)-1].Round(time.Microsecond))
		overrideMust(t, "DELETE", b.api+"/api/drains/127.0.0.4", "")
		sharedAwait(t, all, rs...)
	}
	slices.Sort(took)
	t.Logf("drain propagation to every replica over %d observations: median %s, max %s", len(took), took[len(took)/2], took[len(took)-1])

	tg := sharedTarget(t, c, "127.0.0.4")
	if tg["effective"] != "up" || tg["state"] != "up" {
		t.Errorf("after the undrain c shows 127.0.0.4 %v (own %v), want up", tg["effective"], tg["state"])
	}

	// A drain for a while ends by itself everywhere.
	overrideMust(t, "POST", c.api+"/api/drains", `{"address":"127.0.0.4","for":"2s"}`)
	sharedAwait(t, without4, rs...)
	start := time.Now()
	sharedAwait(t, all, rs...)
	t.Logf("the 2s drain ended everywhere %s after it was seen everywhere", time.Since(start).Round(time.Millisecond))

	// The audit says who drained what, when.
	audit := overrideMust(t, "GET", b.api+"/api/drains", "")["audit"].([]any)
	last := audit[len(audit)-1].(map[string]any)
	if last["action"] != "expire" || last["address"] != "127.0.0.4" {
		t.Errorf("last drain event %v, want the expiry of 127.0.0.4", last)
	}
	first := audit[0].(map[string]any)
	if first["action"] != "drain" || first["by"] != "integration-test" || first["note"] != "kernel update" {
		t.Errorf("first drain event %v", first)
	}

	// A drain survives a restart.
	overrideMust(t, "POST", a.api+"/api/drains", `{"address":"127.0.0.4"}`)
	sharedAwait(t, without4, rs...)
	b.restart(t)
	sharedAwait(t, without4, b)

	// etcd stopped: each replica answers by its own verdicts and keeps the drain.
	etcd.Stop()
	a.web.Stop("127.0.0.2") // only a sees it down: alone now, a drops it
	sharedAwait(t, "127.0.0.3 127.0.0.5", a)
	sharedHolds(t, without4, time.Second, b, c)
	for _, r := range rs {
		if tg := sharedTarget(t, r, "127.0.0.4"); tg["effective"] != "drained" {
			t.Errorf("replica %s: 127.0.0.4 %v with etcd stopped, want still drained", r.name, tg["effective"])
		}
	}
	code, out := overrideCall(t, "DELETE", a.api+"/api/drains/127.0.0.4", "")
	if code != 503 {
		t.Errorf("undrain with etcd stopped: %d %v, want 503", code, out)
	}
	etcd.Restart(t)
	sharedAwait(t, without4, rs...) // a is outvoted on 127.0.0.2 again
	overrideMust(t, "DELETE", a.api+"/api/drains/127.0.0.4", "")
	sharedAwait(t, all, b, c)
}

// TestSharedVerdictsKill9: replica a, a coredns process of its own, and replica b see
// 127.0.0.3 down, so every replica drops it. a is killed with SIGKILL (no shutdown, no lease
// revoked): once its lease expires its verdict stops counting, and b and c bring 127.0.0.3
// back (one down verdict of two live is below quorum 2).
func TestSharedVerdictsKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the coredns binary")
	}
	_, rs := sharedStartWith(t, true)
	a, b, c := rs[0], rs[1], rs[2]
	const all, without3 = "127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5", "127.0.0.2 127.0.0.4 127.0.0.5"
	a.web.Stop("127.0.0.3")
	b.web.Stop("127.0.0.3")
	sharedAwait(t, without3, rs...)
	if err := a.proc.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.proc.Cmd.Wait()
	start := time.Now()
	sharedAwait(t, all, b, c)
	took := time.Since(start)
	t.Logf("a killed replica stopped counting %s after SIGKILL (lease 2s)", took.Round(time.Millisecond))
	if took < time.Second {
		t.Errorf("the killed replica's verdict went after %s, before its lease could expire", took)
	}
}
