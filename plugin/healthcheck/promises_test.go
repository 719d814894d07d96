package healthcheck

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
)

// TestPublishTogether: the first verdict change is published at once; further changes in
// the next publishWindow are gathered into one publish at its end, not one each.
func TestPublishTogether(t *testing.T) {
	hc := newTestHC(t, "", nil)
	hc.running = true
	hc.probers = map[targetKey]*prober{}
	t.Cleanup(func() {
		hc.mu.Lock()
		hc.running = false
		hc.stopWindow()
		hc.mu.Unlock()
	})
	p0 := hc.published.Load()
	hc.verdictChanged()
	if n := hc.published.Load() - p0; n != 1 {
		t.Fatalf("%d publishes for a lone change, want 1 at once", n)
	}
	start := time.Now()
	hc.verdictChanged()
	hc.verdictChanged()
	if n := hc.published.Load() - p0; n != 1 {
		t.Fatalf("%d publishes right after three changes, want the later two to wait for the window", n)
	}
	waitUntil(t, "the window's publish", func() bool { return hc.published.Load()-p0 == 2 })
	took := time.Since(start)
	t.Logf("changes gathered and published after %s (window %s)", took, publishWindow)
	if took > time.Second {
		t.Errorf("the gathered changes waited %s, want about %s", took, publishWindow)
	}
	time.Sleep(3 * publishWindow) // nothing changed: no further publish may come
	if n := hc.published.Load() - p0; n != 2 {
		t.Errorf("%d publishes in all, want 2: one now, one at the end of the window", n)
	}
}

// hostRecorder is a web server on ip (plain, or TLS) that records the Host header and the
// TLS server name of each request.
func hostRecorder(t *testing.T, ip string, tls bool) (port int, got func() (host, sni string)) {
	l, port := listen(t, ip)
	var mu sync.Mutex
	var host, sni string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		host = r.Host
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
	}))
	srv.Listener.Close()
	srv.Listener = l
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return port, func() (string, string) {
		mu.Lock()
		defer mu.Unlock()
		return host, sni
	}
}

// TestHostAndSNIChoice: an HTTP(S) check sends as Host and TLS server name the check's host
// if set, else the alphabetically first name listing the address, else (discovered) the
// name in whose answer the address was first seen.
func TestHostAndSNIChoice(t *testing.T) {
	port, got := hostRecorder(t, "127.0.0.2", true)
	startHC(t, fmt.Sprintf(`healthcheck example.test {
        check tls https port %d insecure interval 100ms
        name zeta.example.test 127.0.0.2
        name alpha.example.test 127.0.0.2
    }`, port))
	waitUntil(t, "a probe", func() bool { h, _ := got(); return h != "" })
	if h, sni := got(); h != "alpha.example.test" || sni != "alpha.example.test" {
		t.Errorf("Host %q SNI %q, want the alphabetically first name alpha.example.test for both", h, sni)
	}

	port, got = hostRecorder(t, "127.0.0.3", true)
	startHC(t, fmt.Sprintf(`healthcheck example.test {
        check tls https port %d insecure interval 100ms host api.example.org
        name alpha.example.test 127.0.0.3
    }`, port))
	waitUntil(t, "a probe", func() bool { h, _ := got(); return h != "" })
	if h, sni := got(); h != "api.example.org" || sni != "api.example.org" {
		t.Errorf("Host %q SNI %q, want the check's host api.example.org for both", h, sni)
	}

	port, got = hostRecorder(t, "127.0.0.4", false)
	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check web http port %d interval 100ms\n discover web\n}", port))
	res := new(dns.Msg)
	res.SetQuestion("Found.Example.Test.", dns.TypeA)
	res.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "Found.Example.Test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 4)}}
	serve(t, hc, res)
	waitUntil(t, "a probe of the discovered target", func() bool { h, _ := got(); return h != "" })
	if h, _ := got(); h != "found.example.test" {
		t.Errorf("discovered target probed with Host %q, want the owner it was seen under, found.example.test", h)
	}
}

// TestProbeDurationObserved: every probe is observed in probe_duration_seconds under its
// check, kind and result.
func TestProbeDurationObserved(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	dead, deadPort := listen(t, "127.0.0.3")
	dead.Close()
	count := func(check, result string) uint64 {
		var m dto.Metric
		if err := probeDuration.WithLabelValues(check, "tcp", result).(interface{ Write(*dto.Metric) error }).Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetHistogram().GetSampleCount()
	}
	ok0, fail0 := count("durok", "ok"), count("durfail", "fail")
	startHC(t, fmt.Sprintf(`healthcheck example.test {
        check durok tcp port %d interval 100ms
        check durfail tcp port %d interval 100ms
        name a.example.test check durok 127.0.0.2
        name b.example.test check durfail 127.0.0.3
    }`, port, deadPort))
	waitUntil(t, "two observed probes of each", func() bool {
		return count("durok", "ok")-ok0 >= 2 && count("durfail", "fail")-fail0 >= 2
	})
	if n := count("durok", "fail"); n != 0 {
		t.Errorf("%d failed probes observed for the live target", n)
	}
}

// TestDiscoveredDoNotHoldBackReadiness: a discovered target without a verdict yet (its
// server never answers) does not make the plugin unready.
func TestDiscoveredDoNotHoldBackReadiness(t *testing.T) {
	live, port := listen(t, "127.0.0.2")
	defer live.Close()
	silent, err := net.Listen("tcp", fmt.Sprintf("127.0.0.3:%d", port))
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.3:%d: %v", port, err)
	}
	defer silent.Close()
	hc := startHC(t, fmt.Sprintf(`healthcheck example.test {
        check web http port %d interval 100ms timeout 30s
        check ping tcp port %d interval 100ms
        name cats.example.test check ping 127.0.0.2
        discover web
    }`, port, port))
	waitUntil(t, "ready", hc.Ready)
	res := new(dns.Msg)
	res.SetQuestion("dogs.example.test.", dns.TypeA)
	res.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "dogs.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 5}, A: net.IPv4(127, 0, 0, 3)}}
	serve(t, hc, res)
	waitUntil(t, "the discovered target in the snapshot", func() bool {
		_, ok := hc.snap.Load().get(targetKey{mustAddr("127.0.0.3"), hc.cfg.discover})
		return ok
	})
	if v, _ := hc.snap.Load().get(targetKey{mustAddr("127.0.0.3"), hc.cfg.discover}); v.state != stateUnknown {
		t.Fatalf("discovered target state %s, want it still without a verdict", v.state)
	}
	if !hc.Ready() {
		t.Error("a discovered target without a verdict made the plugin unready")
	}
}
