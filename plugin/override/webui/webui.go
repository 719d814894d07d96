// Package webui is the override plugin's web console: one page, embedded in the binary, that
// lists and switches overrides through the override JSON API and shows the health view that
// the healthcheck plugin publishes. The page is plain HTML, CSS and JavaScript with no build
// step and nothing fetched from elsewhere, so that it works on an air-gapped DNS server.
package webui

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// files is the page's assets with the "static" prefix stripped, as the browser names them.
var files = mustSub(static, "static")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // only if the embed directive and this name disagree: a build bug
	}
	return sub
}

// Register adds the console's routes to mux: the page at "/", its assets under /assets/, and
// the health view at /api/health and /api/health/events. done is closed when the console
// shuts down; it ends the event streams so that the server can stop without waiting for them.
func Register(mux *http.ServeMux, done <-chan struct{}) {
	mux.Handle("GET /{$}", Handler())
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", Handler()))
	h := &health{done: done}
	mux.HandleFunc("GET /api/health", h.list)
	mux.HandleFunc("GET /api/health/events", h.events)
}

// Handler serves the page and its assets. They hold no data (everything comes from the API),
// so they need no token: a browser cannot send one with a page load, and the page asks for it
// before it calls the API.
func Handler() http.Handler {
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The page only ever talks to its own origin; a strict policy makes an injected
		// script or a framing page useless.
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
			"img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// Revalidate every time: after an upgrade the old page must not talk to the new API.
		h.Set("Cache-Control", "no-cache")
		fileServer.ServeHTTP(w, r)
	})
}
