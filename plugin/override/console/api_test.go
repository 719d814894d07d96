package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/override/store"
)

var tester = store.Actor{Who: "tester", From: "127.0.0.1:1"}

// newTestTable opens a table on a fresh file store, as the plugin's setup does.
func newTestTable(t testing.TB) *store.Table {
	t.Helper()
	tab, _ := newFileTable(t, 0)
	return tab
}

// newFileTable opens a table on a fresh file store with max_overrides limit (0: the default),
// and returns the store file's path.
func newFileTable(t testing.TB, limit int) (*store.Table, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "overrides.json")
	tab, err := store.Open(context.Background(), store.Config{Path: path, MaxOverrides: limit})
	if err != nil {
		t.Fatal(err)
	}
	return tab, path
}

// startAPI serves the API of a fresh table the way the console does, guard included.
func startAPI(t testing.TB, token string) (*httptest.Server, *store.Table) {
	t.Helper()
	return serveAPI(t, token, newTestTable(t))
}

// serveAPI serves the API of tab the way the console does, guard included.
func serveAPI(t testing.TB, token string, tab *store.Table) (*httptest.Server, *store.Table) {
	t.Helper()
	c := &server{Config: Config{Token: token}, tab: tab, done: make(chan struct{})}
	srv := httptest.NewServer(c.httpServer().Handler)
	t.Cleanup(func() { close(c.done); srv.Close() })
	return srv, tab
}

type apiClient struct {
	t     *testing.T
	base  string
	token string
}

// do sends a request and returns the status and the decoded JSON body.
func (c apiClient) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("X-User", "alice")
	if method != http.MethodGet {
		req.Header.Set("Content-Type", contentJSON)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, data)
		}
	}
	return resp.StatusCode, out
}

func (c apiClient) want(status int, method, path, body string) map[string]any {
	c.t.Helper()
	got, out := c.do(method, path, body)
	if got != status {
		c.t.Fatalf("%s %s %s: status %d, want %d: %v", method, path, body, got, status, out)
	}
	return out
}

func enabledIDs(st *store.State) []string {
	var ids []string
	for _, o := range st.Overrides {
		if o.Enabled {
			ids = append(ids, o.ID)
		}
	}
	return ids
}

func TestAPIFlow(t *testing.T) {
	srv, tab := startAPI(t, "")
	c := apiClient{t: t, base: srv.URL}
	for i, addr := range []string{"127.0.0.2", "127.0.0.3"} {
		id := []string{"server1", "server2"}[i]
		c.want(201, "POST", "/api/overrides", `{"id":"`+id+`","name":"cats.example.test","group":"cats","addresses":["`+addr+`"],"note":"web `+id+`"}`)
	}
	out := c.want(200, "POST", "/api/overrides/server2/enable", ``)
	if out["enabled"] != true || out["active"] != true || out["changed_by"] != "alice" {
		t.Errorf("enable returned %v", out)
	}
	c.want(200, "POST", "/api/overrides/server1/enable", `{"for":"10m"}`)
	list := c.want(200, "GET", "/api/overrides?group=cats&enabled=true", "")
	items := list["overrides"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["id"] != "server1" || items[0].(map[string]any)["expires"] == nil {
		t.Errorf("enabled in cats: %v", items)
	}
	if got := len(c.want(200, "GET", "/api/overrides?q=WEB%20SERVER2", "")["overrides"].([]any)); got != 1 {
		t.Errorf("search found %d, want 1", got)
	}
	c.want(200, "PUT", "/api/overrides/server2", `{"name":"cats.example.test","group":"cats","addresses":["127.0.0.3","::3"]}`)
	if got := c.want(200, "GET", "/api/overrides/server2", "")["addresses"].([]any); len(got) != 2 {
		t.Errorf("update did not take: %v", got)
	}
	groups := c.want(200, "GET", "/api/groups", "")["groups"].([]any)
	if g := groups[0].(map[string]any); g["name"] != "cats" || g["enabled"] != "server1" {
		t.Errorf("groups: %v", groups)
	}
	c.want(200, "POST", "/api/groups/cats/disable", "")
	if ids := enabledIDs(tab.Current()); len(ids) != 0 {
		t.Errorf("after group disable: %v", ids)
	}
	c.want(204, "DELETE", "/api/overrides/server2", "")
	c.want(404, "GET", "/api/overrides/server2", "")
	audit := c.want(200, "GET", "/api/audit?limit=3", "")["entries"].([]any)
	last := audit[len(audit)-1].(map[string]any)
	if len(audit) != 3 || last["action"] != "delete" || last["who"] != "alice" || last["from"] == "" {
		t.Errorf("audit: %v", audit)
	}
}

func TestAPIBadInput(t *testing.T) {
	srv, tab := startAPI(t, "")
	c := apiClient{t: t, base: srv.URL}
	c.want(201, "POST", "/api/overrides", `{"id":"a","name":"cats.example.test","addresses":["127.0.0.2"]}`)
	rev := tab.Current().Revision
	tests := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/api/overrides", `{"name":"bad..name","addresses":["127.0.0.2"]}`, 400, "name"},
		{"POST", "/api/overrides", `{"name":"x.test","addresses":["127.0.0.256"]}`, 400, "addresses"},
		{"POST", "/api/overrides", `{"name":"x.test"}`, 400, "addresses"},
		{"POST", "/api/overrides", `{"name":"x.test","addresses":["1.1.1.1"],"clients":["10/8"]}`, 400, "clients"},
		{"POST", "/api/overrides", `{"name":"x.test","addresses":"1.1.1.1"}`, 400, "addresses"},
		{"POST", "/api/overrides", `{"name":"x.test","addresses":["1.1.1.1"],"colour":"red"}`, 400, "colour"},
		{"POST", "/api/overrides", `{"name":"x.test",`, 400, "body"},
		{"POST", "/api/overrides", ``, 400, "body"},
		{"POST", "/api/overrides", `{"name":"x.test","addresses":["1.1.1.1"],"for":"1h"}`, 400, "for"},
		{"POST", "/api/overrides", `{"name":"x.test","note":"` + strings.Repeat("x", maxBody) + `"}`, 400, "body"},
		{"POST", "/api/overrides", `{"id":"a","name":"x.test","addresses":["1.1.1.1"]}`, 409, "id"},
		{"POST", "/api/overrides/a/enable", `{"for":"forever"}`, 400, "for"},
		{"POST", "/api/overrides/a/enable", `{"for":"0s"}`, 400, "for"},
		{"POST", "/api/overrides/a/enable", `{"for":"800h"}`, 400, "for"},
		{"POST", "/api/overrides/nope/enable", ``, 404, "id"},
		{"PUT", "/api/overrides/a", `{"name":"cats.example.test","addresses":["1.1.1.1"],"enabled":true}`, 400, "enabled"},
		{"PUT", "/api/overrides/a", `{"id":"b","name":"cats.example.test","addresses":["1.1.1.1"]}`, 400, "id"},
		{"POST", "/api/groups/dogs/disable", ``, 400, "group"},
		{"GET", "/api/audit?limit=0", ``, 400, "limit"},
		{"GET", "/api/overrides?enabled=maybe", ``, 400, "enabled"},
		{"GET", "/api/nothing", ``, 404, ""},
	}
	for _, tc := range tests {
		status, out := c.do(tc.method, tc.path, tc.body)
		if status != tc.status || (tc.field != "" && out["field"] != tc.field) {
			body := tc.body
			if len(body) > 80 {
				body = body[:80] + "..."
			}
			t.Errorf("%s %s %s: got %d %v, want %d naming %q", tc.method, tc.path, body, status, out, tc.status, tc.field)
		}
	}
	if tab.Current().Revision != rev {
		t.Errorf("bad requests changed the table: revision %d, was %d", tab.Current().Revision, rev)
	}
}

func TestAPIToken(t *testing.T) {
	srv, _ := startAPI(t, "s3cret")
	for _, token := range []string{"", "wrong"} {
		for _, route := range []struct{ method, path string }{
			{"GET", "/api/overrides"}, {"POST", "/api/overrides"}, {"POST", "/api/overrides/x/enable"},
			{"GET", "/api/audit"}, {"GET", "/api/health"}, {"GET", "/api/events"}, {"POST", "/"}, {"GET", "/api/"},
		} {
			status, _ := apiClient{t: t, base: srv.URL, token: token}.do(route.method, route.path, "")
			if status != http.StatusUnauthorized {
				t.Errorf("token %q: %s %s: status %d, want 401", token, route.method, route.path, status)
			}
		}
	}
	apiClient{t: t, base: srv.URL, token: "s3cret"}.want(200, "GET", "/api/overrides", "")

	// The page and its assets hold no data; a browser loads them without a token and the page
	// asks for it.
	for _, path := range []string{"/", "/assets/app.js", "/assets/style.css"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s without a token: status %d, want 200", path, resp.StatusCode)
		}
	}
}

func TestAPIRefusesBrowsers(t *testing.T) {
	srv, _ := startAPI(t, "")
	req, _ := http.NewRequest("POST", srv.URL+"/api/overrides", strings.NewReader(`{}`))
	req.Header.Set("Origin", "http://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin request: status %d, want 403", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/api/overrides", nil)
	req.Host = "rebound.evil.example"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("non-loopback Host: status %d, want 403", resp.StatusCode)
	}
}

func TestAPIEvents(t *testing.T) {
	srv, tab := startAPI(t, "")
	resp, err := http.Get(srv.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "data: ") {
				return l
			}
		}
		t.Fatal("event stream ended")
		return ""
	}
	if got := next(); got != `data: {"revision":0}` {
		t.Errorf("first event %q", got)
	}
	created := make(chan struct{})
	go func() {
		defer close(created)
		time.Sleep(10 * time.Millisecond)
		if _, err := tab.Create(context.Background(), tester, store.Override{Name: "cats.example.test", Addresses: []string{"127.0.0.2"}}); err != nil {
			t.Error(err)
		}
	}()
	if got := next(); got != `data: {"revision":1}` {
		t.Errorf("event after a change %q", got)
	}
	<-created // the audit entry is written after the event; let it land before cleanup
}

// TestAPIMethodNotAllowed: a known path with a wrong method is 405 naming the methods it
// takes, not 404; an unknown path stays 404.
func TestAPIMethodNotAllowed(t *testing.T) {
	srv, tab := startAPI(t, "")
	c := apiClient{t: t, base: srv.URL}
	c.want(201, "POST", "/api/overrides", `{"id":"a","name":"cats.example.test","addresses":["127.0.0.2"]}`)
	rev := tab.Current().Revision
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/api/overrides", "GET, HEAD, POST"},
		{"PUT", "/api/overrides", "GET, HEAD, POST"},
		{"POST", "/api/overrides/a", "GET, HEAD, PUT, DELETE"},
		{"GET", "/api/overrides/a/enable", "POST"},
		{"DELETE", "/api/overrides/a/disable", "POST"},
		{"POST", "/api/groups", "GET, HEAD"},
		{"GET", "/api/groups/cats/disable", "POST"},
		{"POST", "/api/audit", "GET, HEAD"},
		{"POST", "/api/events", "GET, HEAD"},
		{"DELETE", "/api/health", "GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("{}"))
		req.Header.Set("Content-Type", contentJSON)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: status %d Allow %q, want 405 Allow %q", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.allow)
		}
	}
	for _, path := range []string{"/api/nothing", "/api/overrides/a/b/c", "/api/groups/cats"} {
		if status, _ := c.do("POST", path, "{}"); status != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404", path, status)
		}
	}
	if tab.Current().Revision != rev {
		t.Errorf("refused requests changed the table")
	}
}

// TestAPIRequiresJSON: a state-changing request without Content-Type: application/json is
// refused with 415 and changes nothing, whatever it carries: what a cross-site form sends
// (urlencoded, multipart, text/plain) or no type at all.
func TestAPIRequiresJSON(t *testing.T) {
	srv, tab := startAPI(t, "")
	c := apiClient{t: t, base: srv.URL}
	c.want(201, "POST", "/api/overrides", `{"id":"a","name":"cats.example.test","addresses":["127.0.0.2"]}`)
	rev := tab.Current().Revision
	routes := []struct{ method, path, body string }{
		{"POST", "/api/overrides", `{"id":"b","name":"cats.example.test","addresses":["127.0.0.3"]}`},
		{"PUT", "/api/overrides/a", `{"name":"cats.example.test","addresses":["127.0.0.4"]}`},
		{"DELETE", "/api/overrides/a", ``},
		{"POST", "/api/overrides/a/enable", ``},
		{"POST", "/api/overrides/a/disable", ``},
		{"POST", "/api/groups/cats.example.test/disable", ``},
	}
	for _, ct := range []string{"", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", "application/jsonx", "json"} {
		for _, r := range routes {
			req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnsupportedMediaType || !strings.Contains(string(data), "Content-Type: application/json") {
				t.Errorf("%s %s with Content-Type %q: status %d %s, want 415 naming the type", r.method, r.path, ct, resp.StatusCode, data)
			}
		}
	}
	if tab.Current().Revision != rev {
		t.Fatalf("refused requests changed the table: revision %d, was %d", tab.Current().Revision, rev)
	}
	// With its type (a charset is fine) the same request goes through.
	req, _ := http.NewRequest("POST", srv.URL+"/api/overrides/a/enable", nil)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("enable with a JSON content type: status %d", resp.StatusCode)
	}
}

// GET /api/audit without a limit answers the newest 100 entries, oldest first; a create past
// max_overrides is 409 naming the limit.
func TestAPIAuditDefaultAndLimit(t *testing.T) {
	// The file store's trail, written before the table opens it: one JSON entry a line.
	path := filepath.Join(t.TempDir(), "overrides.json")
	var trail []byte
	for rev := uint64(1); rev <= 120; rev++ {
		line, err := json.Marshal(store.AuditEntry{Action: "create", Revision: rev})
		if err != nil {
			t.Fatal(err)
		}
		trail = append(append(trail, line...), '\n')
	}
	if err := os.WriteFile(path+".audit.jsonl", trail, 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := store.Open(context.Background(), store.Config{Path: path, MaxOverrides: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := serveAPI(t, "", tab)
	c := apiClient{t: t, base: srv.URL}
	entries := c.want(http.StatusOK, "GET", "/api/audit", "")["entries"].([]any)
	first, last := entries[0].(map[string]any)["revision"], entries[len(entries)-1].(map[string]any)["revision"]
	if len(entries) != defaultAudit || defaultAudit != 100 || first != 21.0 || last != 120.0 {
		t.Fatalf("default audit: %d entries, revisions %v to %v; want 100, 21 to 120", len(entries), first, last)
	}

	if _, err := tab.Create(context.Background(), tester, store.Override{ID: "a", Name: "a.test", Addresses: []string{"10.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/api/overrides", strings.NewReader(`{"id":"b","name":"b.test","addresses":["10.0.0.2"]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "max_overrides is 1") {
		t.Fatalf("create past the limit: %d %s; want 409 naming max_overrides", resp.StatusCode, body)
	}
	if len(tab.Current().Overrides) != 1 {
		t.Fatalf("refused create changed the table: %+v", tab.Current())
	}
}

// The edges of the API's answers: the first override by id is found, the bounds of an enable's
// duration, of the audit limit and of X-User are inclusive, and disabling a group with nothing on lists no overrides as [], not null.
func TestAPIEdges(t *testing.T) {
	srv, _ := startAPI(t, "")
	c := apiClient{t: t, base: srv.URL}
	c.want(201, "POST", "/api/overrides", `{"id":"a","name":"cats.example.test","group":"cats","addresses":["127.0.0.2"]}`)
	if got := c.want(200, "GET", "/api/overrides/a", "")["id"]; got != "a" {
		t.Errorf("GET the first override: id %v", got)
	}
	c.want(200, "POST", "/api/overrides/a/enable", `{"for":"1s"}`)   // minFor
	c.want(200, "POST", "/api/overrides/a/enable", `{"for":"720h"}`) // maxFor
	c.want(200, "POST", "/api/overrides/a/disable", "")
	long := "u u" + strings.Repeat("u", maxWhoLen-3) // the longest X-User kept; a space is no control character
	req, _ := http.NewRequest("POST", srv.URL+"/api/overrides/a/disable", nil)
	req.Header.Set("Content-Type", contentJSON)
	req.Header.Set(headerWho, long)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var o store.Override
	json.NewDecoder(resp.Body).Decode(&o)
	resp.Body.Close()
	if o.ChangedBy != long {
		t.Errorf("X-User of %d characters recorded as %q", maxWhoLen, o.ChangedBy)
	}
	c.want(200, "GET", "/api/audit?limit=1", "")
	same, _ := http.NewRequest("GET", srv.URL+"/api/overrides", nil)
	same.Header.Set("Origin", srv.URL) // the console's own page
	if resp, err := http.DefaultClient.Do(same); err != nil || resp.StatusCode != 200 {
		t.Errorf("same-origin request: %v %v, want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	c.want(200, "GET", fmt.Sprintf("/api/audit?limit=%d", maxAudit), "")
	c.want(400, "GET", fmt.Sprintf("/api/audit?limit=%d", maxAudit+1), "")
	status, body := c.raw("POST", "/api/groups/cats/disable", "")
	if status != 200 || !strings.Contains(body, `"disabled": []`) {
		t.Errorf("disable a group with nothing on: %d %s; want 200 with \"disabled\": []", status, body)
	}
}

// raw sends a request and returns the status and the body as sent.
func (c apiClient) raw(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentJSON)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}
