package webui

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

func TestHealthList(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	unregister := healthview.Register(func() []healthview.Target {
		return []healthview.Target{
			{Address: "127.0.0.3", Check: "web", Kind: "http", Endpoint: "http://127.0.0.3:8080/", State: healthview.Down,
				Names: []string{"cats.example.test."}, LastCheck: at, LastLatency: 1500 * time.Microsecond,
				LastError: "connection refused", Transitions: []healthview.Transition{{At: at, From: healthview.Up, To: healthview.Down}}},
			{Address: "127.0.0.2", Check: "web", Kind: "http", State: healthview.Unknown},
		}
	})
	defer unregister()
	srv := startConsole(t, make(chan struct{}))

	res, body := get(t, srv.URL+"/api/health")
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var got healthListing
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if len(got.Targets) != 2 || got.Targets[0].Address != "127.0.0.2" || got.Targets[1].Address != "127.0.0.3" {
		t.Fatalf("targets not sorted by address: %s", body)
	}
	first, down := got.Targets[0], got.Targets[1]
	if first.State != "unknown" || first.LastCheck != nil || first.Transitions == nil {
		t.Errorf("a target never probed: %+v (want state unknown, no last_check, empty transitions)", first)
	}
	if down.State != "down" || down.LatencyMS != 1.5 || down.LastError != "connection refused" ||
		down.LastCheck == nil || !down.LastCheck.Equal(at) || len(down.Transitions) != 1 || down.Transitions[0].To != "down" {
		t.Errorf("down target: %+v", down)
	}
	if time.Since(got.Now) > time.Minute || got.Version == 0 {
		t.Errorf("now %v, version %d", got.Now, got.Version)
	}
}

// TestHealthListShared: the shared part of a target, as the page reads it: the effective
// state, every replica's verdict and the drains.
func TestHealthListShared(t *testing.T) {
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	until := at.Add(time.Hour)
	unregister := healthview.Register(func() []healthview.Target {
		return []healthview.Target{
			{Address: "127.0.0.3", Check: "web", State: healthview.Down, Effective: healthview.Drained, Shared: "etcd http://127.0.0.1:2379 /steerdns/health/",
				Replicas: []healthview.ReplicaVerdict{
					{Replica: "dns-a", Self: true, State: healthview.Down, Since: at, Reason: "connection refused"},
					{Replica: "dns-b", State: healthview.Up},
				},
				Drains: []healthview.Drain{{Address: "127.0.0.3", By: "alice", At: at, Until: until, Note: "disk"}}},
			{Address: "127.0.0.4", Check: "web", State: healthview.Up},
		}
	})
	defer unregister()
	srv := startConsole(t, make(chan struct{}))
	_, body := get(t, srv.URL+"/api/health")
	var got healthListing
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	shared, lone := got.Targets[0], got.Targets[1]
	if shared.Effective != "drained" || shared.State != "down" || shared.Shared == "" || shared.Fallback {
		t.Errorf("shared target: %s", body)
	}
	if len(shared.Replicas) != 2 || !shared.Replicas[0].Self || shared.Replicas[0].Since == nil || !shared.Replicas[0].Since.Equal(at) ||
		shared.Replicas[0].Reason != "connection refused" || shared.Replicas[1].Replica != "dns-b" || shared.Replicas[1].Since != nil {
		t.Errorf("replicas: %+v", shared.Replicas)
	}
	if len(shared.Drains) != 1 || shared.Drains[0].By != "alice" || !shared.Drains[0].Until.Equal(until) {
		t.Errorf("drains: %+v", shared.Drains)
	}
	if lone.Effective != "up" || lone.Replicas == nil || lone.Drains == nil || len(lone.Replicas)+len(lone.Drains) != 0 {
		t.Errorf("a target not shared: effective %q (its own state), replicas %v and drains %v (empty lists)", lone.Effective, lone.Replicas, lone.Drains)
	}
}

func TestHealthListWithoutHealthcheck(t *testing.T) {
	srv := startConsole(t, make(chan struct{}))
	_, body := get(t, srv.URL+"/api/health")
	if !strings.Contains(body, `"targets":[]`) {
		t.Errorf("no provider should list no targets as [], got %s", body)
	}
}

// readEvent returns the data of the next event on an SSE stream, skipping comments.
func readEvent(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	var data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading event stream: %v", err)
		}
		line = strings.TrimRight(line, "\n")
		if line == "" && data != "" {
			return data
		}
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			data = d
		}
	}
}

func eventVersion(t *testing.T, data string) uint64 {
	t.Helper()
	var v struct{ Version uint64 }
	if err := json.Unmarshal([]byte(data), &v); err != nil {
		t.Fatalf("event data %q: %v", data, err)
	}
	return v.Version
}

// TestHealthEvents checks the stream the page follows: an event at once, one per change even
// after the server's ReadTimeout, and an end when the console shuts down.
func TestHealthEvents(t *testing.T) {
	done := make(chan struct{})
	mux := http.NewServeMux()
	Register(mux, done)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ReadTimeout = 100 * time.Millisecond // the console sets one too
	srv.Start()
	defer srv.Close()

	res, err := http.Get(srv.URL + "/api/health/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(res.Body)
	v1 := eventVersion(t, readEvent(t, r))

	time.Sleep(300 * time.Millisecond) // past the ReadTimeout: the stream must still be open
	healthview.Notify()
	if v2 := eventVersion(t, readEvent(t, r)); v2 <= v1 {
		t.Errorf("after a change the version went from %d to %d", v1, v2)
	}

	close(done)
	if _, err := io.ReadAll(r); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("stream did not end cleanly at shutdown: %v", err)
	}
}

// TestHealthProbesJSON: the probe results reach the page as compact arrays, oldest first.
func TestHealthProbesJSON(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	got, err := json.Marshal(targets([]healthview.Target{{Address: "127.0.0.2", State: healthview.Up, Probes: []healthview.Probe{
		{At: at, Latency: 1500 * time.Microsecond, OK: true, State: healthview.Up},
		{At: at.Add(time.Second), Latency: 2 * time.Second, OK: false, State: healthview.Down},
	}}}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `"probes":[[1700000000123,1.5,true,"up"],[1700000001123,2000,false,"down"]]`; !strings.Contains(string(got), want) {
		t.Errorf("listing %s\nwant it to hold %s", got, want)
	}
}
