package override

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/coredns/caddy"

	"github.com/steerdns/steerdns/plugin/override/console"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// FuzzServeState: a stored table that the store accepts (decoded and checked as a store reads
// it) can be served: every override gives a pin, and the snapshot builds without a panic.
func FuzzServeState(f *testing.F) {
	f.Add([]byte(`{"revision":1,"overrides":[{"id":"a","name":"cats.example.test.","group":"g","addresses":["127.0.0.2"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":2,"overrides":[{"id":"a","name":"a.test.","addresses":["10.0.0.1"],"clients":["::ffff:0:0/90"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":2,"overrides":[{"id":"a","name":"*.a.test.","addresses":["::ffff:10.0.0.1"],"clients":["10.0.0.0/8"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":3,"overrides":[{"id":"b","name":"a.test.","cname":"b.test.","enabled":true}]}`))
	f.Add([]byte(`{"overrides":[{"id":"a","name":"a.test.","addresses":["1.1.1.1"],"enabled":true},{"id":"b","name":"a.test.","addresses":["1.1.1.2"],"enabled":true}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st store.State
		if json.Unmarshal(data, &st) != nil || st.Check() != nil {
			return
		}
		for i := range st.Overrides {
			if _, err := newPin(&st.Overrides[i]); err != nil {
				t.Fatalf("accepted override %+v cannot be served: %v", st.Overrides[i], err)
			}
		}
		newSnapshot(st)
	})
}

// FuzzParse feeds the override block's parser any text: no panic, and what it accepts is a set
// of declared overrides that the store would load.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"override",
		"override {\n store /tmp/o.json\n console 127.0.0.1:8053\n ttl 30\n}",
		"override {\n declare s1 cats.example.test 127.0.0.2 group cats note \"server 1\" on\n}",
		"override {\n declare lan *.example.test www.example.test clients 10.0.0.0/8 192.168.1.1\n}",
		"override {\n declare a b.example.test 1.2.3.4\n declare a c.example.test 1.2.3.5\n}",
		"override {\n declare a b.example.test 1.2.3.4 on\n declare b b.example.test 1.2.3.5 on\n}",
		"override {\n declare a b.example.test 1.2.3.4 clients ::ffff:0:0/90\n}",
		"override {\n declare a b.example.test 300.1.1.1\n}",
		"override {\n declare . b.example.test 1.2.3.4\n}",
		"override {\n token \"\"\n}",
		"override {\n console 127.0.0.1:99999\n}",
		"override {\n console 0.0.0.0:8053\n token t\n}",
		"override {\n store etcd http://127.0.0.1:2379 {\n  prefix /x/\n  username u\n  password p\n }\n}",
		"override {\n store etcd\n}",
		"override {\n store etcd 127.0.0.1:2379 {\n tls a b c d\n }\n}",
		"override {\n ttl 86401\n}",
		"override {\n}\noverride",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, input string) {
		if strings.Contains(input, "tls") {
			return // reads certificate files named by the input
		}
		cfg, err := parse(caddy.NewTestController("dns", input))
		if err != nil {
			return
		}
		st := store.State{Overrides: append([]store.Override(nil), cfg.declared...)}
		if err := st.Check(); err != nil {
			t.Fatalf("%q: accepted, but the store would refuse its overrides: %v", input, err)
		}
		if cfg.console != "" && cfg.token == "" && !console.LoopbackHost(cfg.console) {
			t.Fatalf("%q: a console off loopback without a token", input)
		}
	})
}
