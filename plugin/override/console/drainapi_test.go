package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// bookDrainer keeps drains in memory, as a healthcheck instance without etcd does; the real
// one is exercised end to end in test/healthcheck_shared_test.go.
type bookDrainer struct {
	mu     sync.Mutex
	drains map[string]healthview.Drain
	events []healthview.DrainEvent
	down   bool // answer as a store out of reach
}

func (b *bookDrainer) Drain(_ context.Context, d healthview.Drain) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.down {
		return fmt.Errorf("%w: etcd test", healthview.ErrUnavailable)
	}
	b.drains[d.Address+"/"+d.Name] = d
	b.events = append(b.events, healthview.DrainEvent{Action: "drain", Drain: d})
	return nil
}

func (b *bookDrainer) Undrain(_ context.Context, address, name, by string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	d, ok := b.drains[address+"/"+name]
	if !ok {
		return healthview.ErrNotDrained
	}
	delete(b.drains, address+"/"+name)
	d.By = by
	b.events = append(b.events, healthview.DrainEvent{Action: "undrain", Drain: d})
	return nil
}

func (b *bookDrainer) Drains() []healthview.Drain {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []healthview.Drain
	for _, d := range b.drains {
		out = append(out, d)
	}
	return out
}

func (b *bookDrainer) DrainAudit(n int) []healthview.DrainEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]healthview.DrainEvent(nil), b.events[max(0, len(b.events)-n):]...)
}

func (b *bookDrainer) Store() string { return "book" }

func withDrainer(t *testing.T) *bookDrainer {
	b := &bookDrainer{drains: map[string]healthview.Drain{}}
	t.Cleanup(healthview.RegisterDrainer(b))
	return b
}

func TestDrainAPI(t *testing.T) {
	srv, _ := startAPI(t, "")
	b := withDrainer(t)
	c := apiClient{t: t, base: srv.URL}

	if out := c.want(200, "GET", "/api/drains", ""); len(out["drains"].([]any)) != 0 || len(out["audit"].([]any)) != 0 {
		t.Fatalf("no drains yet: %v", out)
	}
	out := c.want(201, "POST", "/api/drains", `{"address":"::ffff:127.0.0.3","for":"10m","note":"disk swap"}`)
	until, _ := time.Parse(time.RFC3339Nano, out["until"].(string))
	if out["address"] != "127.0.0.3" || out["by"] != "alice" || out["note"] != "disk swap" || time.Until(until) < 9*time.Minute {
		t.Errorf("drain answered %v", out)
	}
	c.want(201, "POST", "/api/drains", `{"address":"127.0.0.4","name":"Cats.Example.Test"}`)
	list := c.want(200, "GET", "/api/drains", "")
	drains := list["drains"].([]any)
	if len(drains) != 2 || drains[1].(map[string]any)["name"] != "cats.example.test." {
		t.Errorf("listing %v", list)
	}
	if _, ok := drains[1].(map[string]any)["until"]; ok {
		t.Errorf("a drain without an end shows until: %v", drains[1])
	}
	c.want(204, "DELETE", "/api/drains/127.0.0.3", "")
	c.want(404, "DELETE", "/api/drains/127.0.0.3", "")
	c.want(404, "DELETE", "/api/drains/127.0.0.4", "") // drained for one name only
	c.want(204, "DELETE", "/api/drains/127.0.0.4?name=cats.example.test", "")
	if len(b.Drains()) != 0 {
		t.Errorf("left drained: %v", b.Drains())
	}
	c.want(200, "GET", "/api/drains?limit=1", "")
	c.want(200, "GET", fmt.Sprintf("/api/drains?limit=%d", maxAudit), "")
	c.want(400, "GET", "/api/drains?limit=0", "")
	c.want(400, "GET", fmt.Sprintf("/api/drains?limit=%d", maxAudit+1), "")
	audit := c.want(200, "GET", "/api/drains?limit=2", "")["audit"].([]any)
	if len(audit) != 2 || audit[1].(map[string]any)["action"] != "undrain" || audit[1].(map[string]any)["by"] != "alice" {
		t.Errorf("audit %v", audit)
	}
}

func TestDrainAPIBadInput(t *testing.T) {
	srv, _ := startAPI(t, "")
	b := withDrainer(t)
	c := apiClient{t: t, base: srv.URL}
	tests := []struct {
		body, field string
	}{
		{`{}`, "address"},
		{`{"address":"127.0.0.300"}`, "address"},
		{`{"address":"127.0.0.2","name":"a b"}`, "name"},
		{`{"address":"127.0.0.2","for":"soon"}`, "for"},
		{`{"address":"127.0.0.2","for":"100ms"}`, "for"},
		{`{"address":"127.0.0.2","for":"9999h"}`, "for"},
		{`{"address":"127.0.0.2","note":"` + strings.Repeat("n", 300) + `"}`, "note"},
		{`{"address":"127.0.0.2","until":"2030-01-01T00:00:00Z"}`, "until"},
		{`{"address":7}`, "address"},
		{``, "body"},
		{`{"address":"127.0.0.2"} {}`, "body"},
	}
	for _, tc := range tests {
		out := c.want(400, "POST", "/api/drains", tc.body)
		if out["field"] != tc.field {
			t.Errorf("POST %s: field %v (%v), want %s", tc.body, out["field"], out["error"], tc.field)
		}
	}
	c.want(400, "GET", "/api/drains?limit=0", "")
	c.want(400, "DELETE", "/api/drains/nonsense", "")
	if len(b.Drains()) != 0 {
		t.Errorf("bad input drained %v", b.Drains())
	}
	b.down = true
	out := c.want(503, "POST", "/api/drains", `{"address":"127.0.0.2"}`)
	if !strings.Contains(out["error"].(string), "nothing was changed") {
		t.Errorf("store down: %v", out)
	}
}

func TestDrainAPIWithoutHealthcheck(t *testing.T) {
	srv, _ := startAPI(t, "")
	c := apiClient{t: t, base: srv.URL}
	out := c.want(409, "POST", "/api/drains", `{"address":"127.0.0.2"}`)
	if !strings.Contains(out["error"].(string), "no healthcheck") {
		t.Errorf("without healthcheck: %v", out)
	}
}

// TestDrainAPIGuarded: the drain routes take the console's rules: JSON only for changes, the
// token when there is one.
func TestDrainAPIGuarded(t *testing.T) {
	srv, _ := startAPI(t, "s3cret")
	b := withDrainer(t)
	for _, r := range []struct{ method, path, ct string }{
		{"POST", "/api/drains", "text/plain"},
		{"DELETE", "/api/drains/127.0.0.2", ""},
	} {
		req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(`{"address":"127.0.0.2"}`))
		req.Header.Set("Authorization", "Bearer s3cret")
		if r.ct != "" {
			req.Header.Set("Content-Type", r.ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Errorf("%s %s as %q: status %d, want 415", r.method, r.path, r.ct, resp.StatusCode)
		}
	}
	c := apiClient{t: t, base: srv.URL}
	c.want(401, "GET", "/api/drains", "")
	c.want(401, "POST", "/api/drains", `{"address":"127.0.0.2"}`)
	c.token = "s3cret"
	c.want(201, "POST", "/api/drains", `{"address":"127.0.0.2"}`)
	if len(b.Drains()) != 1 {
		t.Errorf("drains %v", b.Drains())
	}
}
