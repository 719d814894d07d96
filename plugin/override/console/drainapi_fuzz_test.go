package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"testing"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// FuzzDrainAPI feeds raw bodies to POST /api/drains, and addresses to DELETE, through the
// console's handler. Whatever comes: no panic, never a 5xx, a 201 only for a drain whose
// address is a canonical IP address, and a 4xx drains nothing.
func FuzzDrainAPI(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"address":"127.0.0.2"}`, `{"address":"::ffff:127.0.0.2","name":"Cats.Example.Test","for":"15m","note":"n"}`,
		`{"address":"fe80::1%eth0"}`, `{"address":"127.0.0.2","for":"-1h"}`, `{"address":"127.0.0.2","name":"a/b"}`,
		`{"address":"127.0.0.2","note":"\u0000"}`, `{"address":"127.0.0.2"}{}`, `{"address":["x"]}`, `{"by":"mallory"}`,
	} {
		f.Add([]byte(seed), "127.0.0.2")
	}
	srv, _ := startAPI(f, "")
	b := &bookDrainer{drains: map[string]healthview.Drain{}}
	f.Cleanup(healthview.RegisterDrainer(b))
	f.Fuzz(func(t *testing.T, body []byte, address string) {
		before := len(b.Drains())
		req, _ := http.NewRequest("POST", srv.URL+"/api/drains", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentJSON)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("POST %q: %d %s", body, resp.StatusCode, data)
		case resp.StatusCode == http.StatusCreated:
			var d healthview.Drain
			if json.Unmarshal(data, &d) != nil {
				t.Fatalf("POST %q: 201 with %s", body, data)
			}
			if a, err := netip.ParseAddr(d.Address); err != nil || a.String() != d.Address || d.By != "api" {
				t.Fatalf("POST %q: recorded %+v", body, d)
			}
		default:
			if len(b.Drains()) != before {
				t.Fatalf("POST %q: %d, yet drains went from %d to %d", body, resp.StatusCode, before, len(b.Drains()))
			}
		}
		req, err = http.NewRequest("DELETE", srv.URL+"/api/drains/"+address, nil)
		if err != nil {
			return // not a URL: no request to send
		}
		req.Header.Set("Content-Type", contentJSON)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("DELETE %q: %d", address, resp.StatusCode)
		}
	})
}
