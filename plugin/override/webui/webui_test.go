package webui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// startConsole serves the console's routes the way the override plugin mounts them.
func startConsole(t *testing.T, done <-chan struct{}) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	Register(mux, done)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

func TestPageAndAssets(t *testing.T) {
	srv := startConsole(t, make(chan struct{}))
	tests := []struct {
		path, contentType, contains string
	}{
		{"/", "text/html", `<script src="assets/app.js"`},
		{"/assets/app.js", "text/javascript", "follow('api/events'"},
		{"/assets/style.css", "text/css", ".switch"},
	}
	for _, tc := range tests {
		res, body := get(t, srv.URL+tc.path)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", tc.path, res.StatusCode)
			continue
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.contentType)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", tc.path, csp)
		}
	}
	for _, path := range []string{"/index.htm", "/assets/missing.js", "/api/health/nope"} {
		if res, _ := get(t, srv.URL+path); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
	res, err := http.Post(srv.URL+"/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: status %d, want 405", res.StatusCode)
	}
}

// TestNothingFetchedFromOutside keeps the page self-contained: no CDN, no external font, no
// absolute URL anywhere, and every asset the page names exists.
func TestNothingFetchedFromOutside(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|url\(`)
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		// The SVG namespace is a name that createElementNS needs, never fetched.
		text := strings.ReplaceAll(string(data), "'http://www.w3.org/2000/svg'", "")
		if m := external.FindString(text); m != "" {
			t.Errorf("%s refers to %q outside the page", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="assets/([^"]+)"`).FindAllStringSubmatch(string(index), -1) {
		if _, err := fs.Stat(files, m[1]); err != nil {
			t.Errorf("index.html names assets/%s, which is not embedded", m[1])
		}
	}
}
