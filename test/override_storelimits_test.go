package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/steerdns/steerdns/test/diskfull"
	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// overrideRefused sends a change the store cannot take and checks the API's answer: status,
// an error naming what to change, and the promise that nothing was changed.
func overrideRefused(t *testing.T, method, url, body string, status int, names string) {
	t.Helper()
	got, out := overrideCall(t, method, url, body)
	msg, _ := out["error"].(string)
	if got != status || !strings.Contains(msg, names) || !strings.Contains(msg, "nothing was changed") {
		t.Fatalf("%s %s: %d %v, want %d with an error naming %s and saying nothing was changed", method, url, got, out, status, names)
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

	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{etcd.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	junk := strings.Repeat("j", 7<<10) // under --max-request-bytes
	for i := 0; ; i++ {
		if _, err := cli.Put(ctx, fmt.Sprintf("/junk/%d", i), junk); err != nil {
			if !strings.Contains(err.Error(), "database space exceeded") || i == 0 {
				t.Fatalf("filling etcd: %v after %d values", err, i)
			}
			break
		}
		if i == 1000 {
			t.Fatal("etcd took 7 MiB under a 1 MiB quota")
		}
	}
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

	resp, err := cli.Delete(ctx, "/junk/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, resp.Header.Revision); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Defragment(ctx, etcd.Endpoint); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{}); err != nil {
		t.Fatal(err)
	}
	overrideMust(t, "POST", r.api+"/api/overrides/server2/enable", "")
	etcdAwaitCats(t, r, "127.0.0.3")
}

// A file store on a full disk: 507 naming the file, nothing changed, answers unchanged; once
// there is room again, changes work, and a restart loads every change that was acknowledged
// (the refused write, cut short by the full disk, left nothing in the log).
func TestOverrideStoreDiskFull(t *testing.T) {
	dir := diskfull.Dir(t, 64<<10)
	overrideZone(t, dir)
	port := harness.FreePort(t)
	corefile := overrideCorefile(dir, port, "")
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	srv := harness.Start(t, corefile)
	overrideMust(t, "POST", api+"/api/overrides/server1/enable", "")

	fill := diskfull.Fill(t, dir)
	// The last pages of the store's files may still hold a change or two: creates go on until
	// one does not fit.
	var id string
	for i := 0; ; i++ {
		if i == 10 {
			t.Fatal("10 creates of over 6 KiB each fit on a full disk")
		}
		id = fmt.Sprintf("big%d", i)
		status, out := overrideCall(t, "POST", api+"/api/overrides", overrideMaximal(id))
		if status == 201 {
			continue
		}
		msg, _ := out["error"].(string)
		if status != 507 || !strings.Contains(msg, filepath.Join(dir, "overrides.json.log")) || !strings.Contains(msg, "nothing was changed") {
			t.Fatalf("a create on a full disk: %d %v, want 507 naming the store's log and saying nothing was changed", status, out)
		}
		break
	}
	if status, _ := overrideCall(t, "GET", api+"/api/overrides/"+id, ""); status != 404 {
		t.Errorf("GET the refused override: %d, want 404", status)
	}
	if got := overrideAddrs(t, "udp", srv.UDP, dns.TypeA); got != "127.0.0.2" {
		t.Errorf("answers on a full disk: %s, want 127.0.0.2 (server1, enabled before)", got)
	}

	if err := os.Remove(fill); err != nil {
		t.Fatal(err)
	}
	overrideMust(t, "POST", api+"/api/overrides", overrideMaximal(id))
	overrideMust(t, "POST", api+"/api/overrides/server2/enable", "")
	want := overrideMust(t, "GET", api+"/api/overrides", "")

	srv.Stop()
	srv = harness.Start(t, corefile)
	if got := overrideAddrs(t, "udp", srv.UDP, dns.TypeA); got != "127.0.0.3" {
		t.Errorf("after a restart: %s, want 127.0.0.3 (server2)", got)
	}
	if got := overrideMust(t, "GET", api+"/api/overrides", ""); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after a restart the API lists\n%v\nwant\n%v", got, want)
	}
}
