package store

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"testing"
)

// servable fails t unless the query path can parse what o holds, as override's newPin does:
// every address and every client. (override's FuzzServeState builds the pins themselves.)
func servable(t *testing.T, o *Override) {
	t.Helper()
	for _, a := range o.Addresses {
		if _, err := netip.ParseAddr(a); err != nil {
			t.Fatalf("accepted %+v but address %q does not parse: %v", o, a, err)
		}
	}
	for _, c := range o.Clients {
		if _, err := ParseClient(c); err != nil {
			t.Fatalf("accepted %+v but client %q does not parse: %v", o, c, err)
		}
	}
}

// FuzzNormalize: normalisation never panics, is idempotent, and whatever it accepts the query
// path can build a pin from.
func FuzzNormalize(f *testing.F) {
	f.Add("a", "cats.example.test", "", "127.0.0.2", "", "::ffff:0:0/90")
	f.Add("b", "*.Example.TEST", "g", "::ffff:10.0.0.1", "", "10.1.2.3/8")
	f.Add(".", "x.test", "", "", "y.test", "192.0.2.1")
	f.Add("..", "x.test", "", "300.1.1.1", "", "")
	f.Add("c", "x.test", "", "", "300.1.1.1", "fe80::1%eth0")
	f.Add("d", "x.test", "a/b", "fe80::1%eth0", "", "::ffff:1.2.3.4/120")
	f.Add("", "x.test", "", "10.0.0.1", "", "::/0")
	f.Fuzz(func(t *testing.T, id, name, group, addr, cname, client string) {
		o := Override{ID: id, Name: name, Group: group, CNAME: cname}
		if addr != "" {
			o.Addresses = []string{addr}
		}
		if client != "" {
			o.Clients = []string{client}
		}
		if o.Normalize() != nil {
			return
		}
		again := o.clone()
		if err := again.Normalize(); err != nil {
			t.Fatalf("normalised %+v refused on the second pass: %v", o, err)
		}
		if !reflect.DeepEqual(o, again) {
			t.Fatalf("not idempotent:\n once %+v\ntwice %+v", o, again)
		}
		servable(t, &o)
	})
}

// FuzzDecodeState: the decoder of stored tables (the file's content and etcd's value) never
// panics, and a table it accepts is accepted again after being written back, and can be served.
func FuzzDecodeState(f *testing.F) {
	f.Add([]byte(`{"revision":1,"overrides":[{"id":"a","name":"cats.example.test.","group":"g","addresses":["127.0.0.2"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":2,"overrides":[{"id":"a","name":"a.test.","addresses":["10.0.0.1"],"clients":["::ffff:0:0/90"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":3,"overrides":[{"id":"","name":"a.test.","cname":"b.test."}]}`))
	f.Add([]byte(`{"revision":3,"overrides":[{"id":"..","name":"a.test.","cname":"b.test."}]}`))
	f.Add([]byte(`{"revision":18446744073709551615,"overrides":[],"audit":{"action":"create","revision":1}}`))
	f.Add([]byte(`{"overrides":[{"id":"a","name":"a.test.","addresses":["1.1.1.1"],"enabled":true},{"id":"b","name":"a.test.","addresses":["1.1.1.2"],"enabled":true}]}`))
	f.Add([]byte(`{"overrides": [`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := decodeState(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("accepted table does not marshal: %v", err)
		}
		again, err := decodeState(out)
		if err != nil {
			t.Fatalf("accepted table refused after a round trip: %v\n%s", err, out)
		}
		if len(again.Overrides) != len(st.Overrides) {
			t.Fatalf("round trip changed the table: %+v / %+v", st, again)
		}
		for i := range st.Overrides {
			servable(t, &st.Overrides[i])
		}
	})
}
