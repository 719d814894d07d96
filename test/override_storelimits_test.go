package test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/diskfull"
	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// overrideRefused sends a change the store cannot take and checks the API's answer.
func overrideRefused(t *testing.T, method, url, body string, status int, names string) {
	t.Helper()
	got, out := overrideCall(t, method, url, body)
	overrideCheckRefusal(t, method+" "+url, got, out, status, names)
}

// overrideCheckRefusal checks the API's answer to a change the store could not take: status,
// an error naming what to change, and the promise that nothing was changed.
func overrideCheckRefusal(t *testing.T, what string, got int, out map[string]any, status int, names string) {
	t.Helper()
	msg, _ := out["error"].(string)
	if got != status || !strings.Contains(msg, names) || !strings.Contains(msg, "nothing was changed") {
		t.Fatalf("%s: %d %v, want %d with an error naming %s and saying nothing was changed", what, got, out, status, names)
	}
}

// A maximal override: the largest note, addresses and client list the API takes.
func overrideMaximal(id string) string {
	var addrs, clients []string
	for i := range 64 {
		addrs = append(addrs, fmt.Sprintf(`"2001:db8:ffff:ffff:ffff:ffff:ffff:%x"`, i))
		clients = append(clients, fmt.Sprintf(`"2001:db8:ffff:ffff:ffff:ffff:ffff:%x/128"`, i))
	}
	return fmt.Sprintf(`{"id": %q, "name": "cats.example.test", "group": "big", "addresses": [%s], "clients": [%s], "note": %q}`,
		id, strings.Join(addrs, ","), strings.Join(clients, ","), strings.Repeat("n", 1024))
}

// etcd's limits, as an operator sets them, reach the API as 413 (a change larger than etcd
// takes) and 507 (etcd at its space quota), with nothing changed; answers go on; once the
// operator frees space the way the README says, changes work again.
func TestOverrideStoreLimitsEtcd(t *testing.T) {
	etcd := etcdtest.StartLimited(t, etcdtest.Limits{MaxRequestBytes: 8 << 10, QuotaBackendBytes: 1 << 20})
	r := etcdStartReplica(t, etcd, "/steerdns/"+t.Name()+"/", etcdZone(t), "")

	overrideRefused(t, "POST", r.api+"/api/overrides", overrideMaximal("big"), 413, "--max-request-bytes")
	if status, _ := overrideCall(t, "GET", r.api+"/api/overrides/big", ""); status != 404 {
		t.Errorf("GET the refused override: %d, want 404", status)
	}

	etcd.Fill(t)
	overrideRefused(t, "POST", r.api+"/api/overrides/server2/enable", "", 507, "--quota-backend-bytes")
	if got := etcdCats(t, r); got != etcdAllCats {
		t.Errorf("answers with etcd at its quota: %s, want all of %s", got, etcdAllCats)
	}
	if got := etcdEnabled(t, r); got != "" {
		t.Errorf("group cats has %q enabled after the refusal, want none", got)
	}
	if got := etcdReachable(t, r.proxy.Endpoint); got != 1 {
		t.Errorf("store_reachable with etcd at its quota: %v, want 1 (etcd answers)", got)
	}

	etcd.Free(t)
	etcd.DisarmAlarms(t)
	overrideMust(t, "POST", r.api+"/api/overrides/server2/enable", "")
	etcdAwaitCats(t, r, "127.0.0.3")
}

// A file store on a full disk: 507 naming the file, nothing changed, answers unchanged; once
// there is room again, changes work, and a restart loads every change that was acknowledged
// (the refused write, cut short by the full disk, left nothing in the log).
func TestOverrideStoreDiskFull(t *testing.T) {
	dir := diskfull.Dir(t, 64<<10)
	s := overrideStartIn(t, dir, "")
	overrideMust(t, "POST", s.api+"/api/overrides/server1/enable", "")

	fill := diskfull.Fill(t, dir)
	// The last pages of the store's files may still hold a change or two: creates go on until
	// one does not fit.
	var id string
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatal("10 creates of over 6 KiB each fit on a full disk")
		}
		id = fmt.Sprintf("big%d", i)
		status, out := overrideCall(t, "POST", s.api+"/api/overrides", overrideMaximal(id))
		if status == 201 {
			continue
		}
		overrideCheckRefusal(t, "a create on a full disk", status, out, 507, s.store+".log")
		break
	}
	if status, _ := overrideCall(t, "GET", s.api+"/api/overrides/"+id, ""); status != 404 {
		t.Errorf("GET the refused override: %d, want 404", status)
	}
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.2" {
		t.Errorf("answers on a full disk: %s, want 127.0.0.2 (server1, enabled before)", got)
	}

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	overrideMust(t, "POST", s.api+"/api/overrides", overrideMaximal(id))
	overrideMust(t, "POST", s.api+"/api/overrides/server2/enable", "")
	want := overrideMust(t, "GET", s.api+"/api/overrides", "")

	s.srv.Stop()
	s.srv = harness.Start(t, s.corefile)
	if got := overrideAddrs(t, "udp", s.srv.UDP, dns.TypeA); got != "127.0.0.3" {
		t.Errorf("after a restart: %s, want 127.0.0.3 (server2)", got)
	}
	if got := overrideMust(t, "GET", s.api+"/api/overrides", ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a restart the API lists\n%v\nwant\n%v", got, want)
	}
}
