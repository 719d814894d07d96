package console

import (
	"bytes"
	stdlog "log"
	"net/http"
	"os"
	"testing"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// FuzzAPIBody feeds raw bodies to the API's state-changing routes, through the real handler in
// front of a real file store. Whatever the body: no panic, never a 5xx, and a 4xx leaves the
// table and the store file exactly as they were.
func FuzzAPIBody(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `"x"`, `{"id":"a"}`,
		`{"id":"n1","name":"cats.example.test","addresses":["127.0.0.9"]}`,
		`{"name":"cats.example.test","cname":"www.example.test"}`,
		`{"name":"cats.example.test","addresses":["::ffff:0:0/90"]}`,
		`{"name":"cats.example.test","addresses":["127.0.0.9"],"clients":["::ffff:0:0/90"]}`,
		`{"name":"cats.example.test","addresses":["127.0.0.9"],"enabled":true,"for":"10m"}`,
		`{"id":".","name":"cats.example.test","addresses":["127.0.0.9"]}`,
		`{"id":"..","name":"cats.example.test","addresses":["127.0.0.9"]}`,
		`{"name":"*.example.test","addresses":["1.2.3.4"],"group":"a/b"}`,
		`{"for":"1s"}`, `{"for":"-1h"}`, `{"for":"9223372036854775807ns"}`,
		`{"name":"x.test","addresses":["1.1.1.1"]}{"name":"y.test"}`,
		`{"name":"x.test","addresses":["1.1.1.1"],"note":"\u0000\ud800"}`,
		`{"addresses":[1,2]}`, `{"enabled":"yes"}`, `{"id":{"a":1}}`,
	} {
		for route := range 4 {
			f.Add(uint8(route), []byte(seed))
		}
	}
	tab, path := newFileTable(f, 0)
	srv, _ := serveAPI(f, "", tab)
	srv.Config.ErrorLog = stdlog.New(os.Stderr, "api under fuzzing: ", 0) // a handler panic shows with its stack
	seedFuzz(f, tab)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		routes := []struct{ method, path string }{
			{"POST", "/api/overrides"},
			{"PUT", "/api/overrides/a"},
			{"POST", "/api/overrides/a/enable"},
			{"POST", "/api/groups/cats/disable"},
		}
		r := routes[int(route)%len(routes)]
		before := tab.Current()
		file, _ := os.ReadFile(path)
		req, err := http.NewRequest(r.method, srv.URL+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentJSON)
		req.Close = true // the server may close a connection whose body it refused unread
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("%s %s %q: status %d", r.method, r.path, body, resp.StatusCode)
		case resp.StatusCode >= 400:
			after, _ := os.ReadFile(path)
			if tab.Current().Revision != before.Revision || !bytes.Equal(file, after) {
				t.Fatalf("%s %s %q: status %d but the state changed", r.method, r.path, body, resp.StatusCode)
			}
		}
		// Keep the table small and its one fixed member in place, so that each input starts
		// from about the same state.
		for _, o := range tab.Current().Overrides {
			if o.ID != "a" {
				tab.Remove(t.Context(), tester, o.ID)
			}
		}
	})
}

// seedFuzz gives the table the override the routes name.
func seedFuzz(f *testing.F, tab *store.Table) {
	if _, err := tab.Create(f.Context(), tester, store.Override{ID: "a", Name: "cats.example.test", Group: "cats", Addresses: []string{"127.0.0.2"}}); err != nil {
		f.Fatal(err)
	}
}
