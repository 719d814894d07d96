package webui

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// keepAlive is how often an idle event stream sends a comment, so that proxies keep it open
// and a client that has gone is noticed.
const keepAlive = 30 * time.Second

// Stream serves Server-Sent Events of one kind. It sends the event that next describes at
// once, and again each time the channel that next returned with it is closed, until the
// client goes away or done is closed. The page reloads what it shows on each event, so an
// event carries only a version number, never the state itself.
func Stream(w http.ResponseWriter, r *http.Request, done <-chan struct{}, event string, next func() (data string, changed <-chan struct{})) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		data, changed := next()
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data)
		if rc.Flush() != nil || !idle(w, rc, r, done, changed, tick) {
			return
		}
	}
}

// idle waits for the next change, keeping the stream alive; false means the stream is over.
func idle(w io.Writer, rc *http.ResponseController, r *http.Request, done, changed <-chan struct{}, tick *time.Ticker) bool {
	for {
		select {
		case <-changed:
			return true
		case <-tick.C:
			if _, err := io.WriteString(w, ": keep-alive\n\n"); err != nil || rc.Flush() != nil {
				return false
			}
		case <-r.Context().Done():
			return false
		case <-done:
			return false
		}
	}
}
