package test

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// groupMoveBody is a PUT that moves override mover into group cats, pinning cats to 127.0.0.9.
const groupMoveBody = `{"name": "cats.example.test", "group": "cats", "addresses": ["127.0.0.9"]}`

// groupEnabled returns the enabled member of group, "" for none, through the API.
func groupEnabled(t *testing.T, api, group string) string {
	t.Helper()
	out := overrideMust(t, "GET", api+"/api/groups", "")
	for _, g := range out["groups"].([]any) {
		g := g.(map[string]any)
		if g["name"] == group {
			id, _ := g["enabled"].(string)
			return id
		}
	}
	return ""
}

// Moving an enabled override into another group switches off that group's enabled member, in
// the same change: the store never holds two enabled overrides of one group, so the server
// comes back after a restart (a store with two would be refused as corrupt).
func TestOverrideGroupMoveFileStore(t *testing.T) {
	s := overrideStart(t, "")
	overrideMust(t, "POST", s.api+"/api/overrides/server2/enable", "")
	overrideMust(t, "POST", s.api+"/api/overrides", `{"id": "mover", "name": "dogs.example.test", "group": "elsewhere", "addresses": ["127.0.0.9"], "enabled": true}`)

	overrideMust(t, "PUT", s.api+"/api/overrides/mover", groupMoveBody)
	if got := groupEnabled(t, s.api, "cats"); got != "mover" {
		t.Fatalf("group cats after the move: enabled %q, want mover", got)
	}
	if o := overrideMust(t, "GET", s.api+"/api/overrides/server2", ""); o["enabled"] != false {
		t.Fatalf("server2 still enabled after mover joined its group enabled: %v", o)
	}
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.9" {
		t.Fatalf("cats answers %s after the move, want 127.0.0.9", got)
	}

	s.srv.Stop()
	srv, err := harness.StartErr(s.corefile)
	if err != nil {
		t.Fatalf("restart after a group move refused: %v", err)
	}
	s.srv = srv
	t.Cleanup(srv.Stop)
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.9" {
		t.Fatalf("after restart cats answers %s, want 127.0.0.9", got)
	}
	if got := groupEnabled(t, s.api, "cats"); got != "mover" {
		t.Fatalf("after restart group cats has %q enabled, want mover", got)
	}
}

// The same through etcd: the other replica follows the move, and a restarted replica loads
// the shared table.
func TestOverrideGroupMoveEtcdStore(t *testing.T) {
	etcd := etcdtest.Start(t)
	zone := etcdZone(t)
	prefix := "/steerdns/" + t.Name() + "/"
	a := etcdStartReplica(t, etcd, prefix, zone, "")
	b := etcdStartReplica(t, etcd, prefix, zone, "")

	overrideMust(t, "POST", a.api+"/api/overrides/server2/enable", "")
	overrideMust(t, "POST", a.api+"/api/overrides", `{"id": "mover", "name": "dogs.example.test", "group": "elsewhere", "addresses": ["127.0.0.9"], "enabled": true}`)
	overrideMust(t, "PUT", a.api+"/api/overrides/mover", groupMoveBody)
	etcdAwaitCats(t, b, "127.0.0.9")
	if got := groupEnabled(t, b.api, "cats"); got != "mover" {
		t.Fatalf("replica b: group cats has %q enabled, want mover alone", got)
	}
	if o := overrideMust(t, "GET", b.api+"/api/overrides/server2", ""); o["enabled"] != false {
		t.Fatalf("server2 still enabled after mover joined its group enabled: %v", o)
	}

	a.srv.Stop()
	srv, err := harness.StartErr(a.corefile)
	if err != nil {
		t.Fatalf("restart of a replica after a group move refused: %v", err)
	}
	a.srv = srv
	t.Cleanup(srv.Stop)
	etcdAwaitCats(t, a, "127.0.0.9")
	if got := groupEnabled(t, a.api, "cats"); got != "mover" {
		t.Fatalf("restarted replica: group cats has %q enabled, want mover", got)
	}
}
