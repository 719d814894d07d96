package webui

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// The console adds nothing to the DNS query path; these measure what one open page costs the
// server per refresh.

func BenchmarkHealthList(b *testing.B) {
	snap := make([]healthview.Target, 16)
	for i := range snap {
		snap[i] = healthview.Target{Address: fmt.Sprintf("10.0.0.%d", 16-i), Check: "web", Kind: "http",
			Endpoint: "http://10.0.0.1:8080/", Names: []string{"cats.example.test."}, State: healthview.Up,
			LastCheck: time.Now(), LastLatency: time.Millisecond,
			Transitions: []healthview.Transition{{At: time.Now(), From: healthview.Unknown, To: healthview.Up}}}
	}
	defer healthview.Register(func() []healthview.Target { return snap })()
	mux := http.NewServeMux()
	Register(mux, make(chan struct{}))
	req := httptest.NewRequest("GET", "/api/health", nil)
	b.ReportAllocs()
	for b.Loop() {
		mux.ServeHTTP(httptest.NewRecorder(), req)
	}
}

func BenchmarkPage(b *testing.B) {
	mux := http.NewServeMux()
	Register(mux, make(chan struct{}))
	req := httptest.NewRequest("GET", "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		mux.ServeHTTP(httptest.NewRecorder(), req)
	}
}
