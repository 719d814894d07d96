package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// explanation is the JSON of GET /api/explain, as a script reads it.
type explanation struct {
	Rcode  string   `json:"rcode"`
	Answer []string `json:"answer"`
	Steps  []struct {
		Plugin string          `json:"plugin"`
		Did    string          `json:"did"`
		Why    string          `json:"why"`
		Facts  json.RawMessage `json:"facts"`
	} `json:"steps"`
	Overrides []struct {
		ID      string `json:"id"`
		Verdict string `json:"verdict"`
		Why     string `json:"why"`
	} `json:"overrides"`
}

// explainGet asks the console to explain a query and decodes the answer.
func explainGet(t *testing.T, console string, params url.Values) (int, explanation, string) {
	t.Helper()
	res, err := http.Get(console + "api/explain?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var ex explanation
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &ex); err != nil {
			t.Fatalf("explain: %v\n%s", err, body)
		}
	}
	return res.StatusCode, ex, string(body)
}

func explainStep(ex explanation, plugin string) (step struct{ Did, Why, Facts string }, ok bool) {
	for _, s := range ex.Steps {
		if s.Plugin == plugin {
			var facts bytes.Buffer
			json.Compact(&facts, s.Facts)
			step.Did, step.Why, step.Facts = s.Did, s.Why, facts.String()
			return step, true
		}
	}
	return step, false
}

func explainAddrs(answer []string) []string {
	var out []string
	for _, a := range answer {
		if f := strings.Fields(a); len(f) == 5 && f[3] == "A" {
			out = append(out, f[4])
		}
	}
	return out
}

// TestExplainThroughTheChain: a coredns with the four plugins, one web server down and a
// client-scoped pin. /api/explain gives the answer a client gets and why, per plugin; it is
// a dry run (the next real query gets the answer it showed); the pin shows for its clients;
// bad parameters are refused naming the parameter.
func TestExplainThroughTheChain(t *testing.T) {
	dir := t.TempDir()
	zone := harness.ZoneFile(t, dir, `cats  300 IN A    127.0.0.2
cats  300 IN A    127.0.0.3
cats  300 IN A    127.0.0.4
cats  300 IN A    127.0.0.5
www   300 IN CNAME cats
`)
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	port := harness.FreePort(t)
	console := fmt.Sprintf("http://127.0.0.1:%d/", port)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    %s
    rrotate
    weighted {
        weight cats.example.test 127.0.0.2 3 127.0.0.3 1 127.0.0.4 1 127.0.0.5 1
    }
    healthcheck {
        check web http port %d interval 200ms timeout 2s rise 1 fall 1 jitter 0%%
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
    }
    cache 30
    file %s
}`, overrideBlock(dir, port, `declare lab cats.example.test 127.0.0.9 group lab clients 10.9.0.0/16 on`), web.Port, zone))
	web.Stop("127.0.0.3")
	for start := time.Now(); slices.Contains(harness.Addresses(srv.Query(t, "cats.example.test.", dns.TypeA)), "127.0.0.3"); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > consoleWait {
			t.Fatal("127.0.0.3 never left the answers")
		}
	}

	// Through the alias, as a resolver's client asks; once every live server has been seen up
	// (until its first probe an address is "unknown", answered but not vouched for).
	q := url.Values{"name": {"WWW.example.test"}, "type": {"a"}, "client": {"192.0.2.7"}}
	var ex explanation
	for start := time.Now(); ; time.Sleep(50 * time.Millisecond) {
		status, got, body := explainGet(t, console, q)
		if status != http.StatusOK {
			t.Fatalf("explain: %d %s", status, body)
		}
		hc, _ := explainStep(got, "healthcheck")
		if ex = got; strings.Count(hc.Facts, `"state":"up"`) == 3 {
			break
		}
		if time.Since(start) > consoleWait {
			t.Fatalf("the health facts never showed three servers up: %s", hc.Facts)
		}
	}
	addrs := explainAddrs(ex.Answer)
	if ex.Rcode != "NOERROR" || len(addrs) != 3 || slices.Contains(addrs, "127.0.0.3") || !strings.Contains(ex.Answer[0], "CNAME") {
		t.Errorf("explained answer %s %v, want the CNAME and three live addresses", ex.Rcode, ex.Answer)
	}
	for plugin, did := range map[string]string{"override": "passed", "healthcheck": "removed addresses that are down", "rrotate": "rotated by"} {
		if s, ok := explainStep(ex, plugin); !ok || !strings.HasPrefix(s.Did, did) || s.Why == "" {
			t.Errorf("%s: step %+v, want %q and why", plugin, s, did)
		}
	}
	if s, ok := explainStep(ex, "weighted"); !ok || !strings.HasPrefix(s.Did, "leads with 127.0.0.") {
		t.Errorf("weighted: step %+v", s)
	}
	if hc, _ := explainStep(ex, "healthcheck"); !strings.Contains(hc.Facts, `"address":"127.0.0.3","tier":"primary","state":"down"`) {
		t.Errorf("healthcheck facts do not show 127.0.0.3 down: %s", hc.Facts)
	}
	if len(ex.Overrides) != 5 {
		t.Errorf("overrides judged: %+v, want the four declared servers and lab", ex.Overrides)
	}
	for _, v := range ex.Overrides {
		want := "disabled"
		if v.ID == "lab" {
			want = "out of scope"
		}
		if v.Verdict != want {
			t.Errorf("override %s: %s (%s), want %s", v.ID, v.Verdict, v.Why, want)
		}
	}

	// A dry run: asked again it shows the same answer, and the next real query gets it.
	_, again, _ := explainGet(t, console, q)
	if !slices.Equal(again.Answer, ex.Answer) {
		t.Errorf("a second dry run answered %v, the first %v: something moved", again.Answer, ex.Answer)
	}
	real := srv.Query(t, "www.example.test.", dns.TypeA)
	if got := harness.Addresses(real); !slices.Equal(got, addrs) {
		t.Errorf("the real query got %v, the dry run showed %v", got, addrs)
	}

	// The pin, for its clients.
	_, lab, _ := explainGet(t, console, url.Values{"name": {"cats.example.test"}, "client": {"10.9.1.1"}})
	if got := explainAddrs(lab.Answer); !slices.Equal(got, []string{"127.0.0.9"}) || lab.Steps[0].Did != "pinned by override lab" {
		t.Errorf("lab client: %v, steps %+v", got, lab.Steps)
	}

	for _, tc := range []struct {
		params url.Values
		status int
		field  string
	}{
		{url.Values{"type": {"A"}}, http.StatusBadRequest, "name"},
		{url.Values{"name": {"cats..example.test"}}, http.StatusBadRequest, "name"},
		{url.Values{"name": {"cats.example.test"}, "type": {"BOGUS"}}, http.StatusBadRequest, "type"},
		{url.Values{"name": {"cats.example.test"}, "client": {"10.0.0.300"}}, http.StatusBadRequest, "client"},
		{url.Values{"name": {"cats.example.test"}, "do": {"maybe"}}, http.StatusBadRequest, "do"},
		{url.Values{"name": {"cats.example.org"}}, http.StatusNotFound, "name"},
	} {
		status, _, body := explainGet(t, console, tc.params)
		var e struct{ Error, Field string }
		if json.Unmarshal([]byte(body), &e); status != tc.status || e.Field != tc.field || e.Error == "" {
			t.Errorf("%v: %d %s, want %d naming %s", tc.params, status, body, tc.status, tc.field)
		}
	}
}
