package healthcheck

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// listen returns a listener on ip with a kernel-chosen port.
func listen(t *testing.T, ip string) (net.Listener, int) {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	return l, l.Addr().(*net.TCPAddr).Port
}

func runProbe(t *testing.T, ip string, ck *checkSpec, host string) error {
	t.Helper()
	if ck.Timeout == defaultTimeout {
		// A TLS handshake under -race on a loaded 2-core machine can take over a second; a
		// test that wants a timeout sets its own.
		ck.Timeout = 10 * time.Second
	}
	probe, release := newProbe(netip.MustParseAddr(ip), ck, host)
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), ck.Timeout)
	defer cancel()
	return probe(ctx)
}

func TestHTTPProbe(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	var gotHost string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost = r.Host
		switch r.URL.Path {
		case "/health":
			w.Write([]byte("status: ok\n"))
		case "/moved":
			http.Redirect(w, r, "/health", http.StatusFound)
		default:
			http.Error(w, "broken", http.StatusServiceUnavailable)
		}
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	ck := newCheck("web", kindHTTP)
	ck.Port, ck.Path = port, "/health"
	if err := runProbe(t, "127.0.0.2", ck, "cats.example.test"); err != nil {
		t.Fatalf("healthy server: %v", err)
	}
	if gotHost != "cats.example.test" {
		t.Errorf("Host header %q, want the name", gotHost)
	}
	ck.Host = "override.example.test"
	if err := runProbe(t, "127.0.0.2", ck, "cats.example.test"); err != nil || gotHost != "override.example.test" {
		t.Errorf("configured host: err %v, Host header %q", err, gotHost)
	}

	ck.Body = "status: ok"
	if err := runProbe(t, "127.0.0.2", ck, ""); err != nil {
		t.Errorf("body match: %v", err)
	}
	ck.Body = "all good"
	if err := runProbe(t, "127.0.0.2", ck, ""); err == nil || !strings.Contains(err.Error(), "body does not contain") {
		t.Errorf("body mismatch: err %v", err)
	}

	ck.Body, ck.Path = "", "/broken"
	if err := runProbe(t, "127.0.0.2", ck, ""); err == nil || !strings.Contains(err.Error(), "status 503, want 200-399") {
		t.Errorf("503: err %v", err)
	}
	ck.StatusLo, ck.StatusHi = 503, 503
	if err := runProbe(t, "127.0.0.2", ck, ""); err != nil {
		t.Errorf("503 expected by the check: %v", err)
	}

	ck.Path, ck.StatusLo, ck.StatusHi = "/moved", 200, 299
	if err := runProbe(t, "127.0.0.2", ck, ""); err == nil || !strings.Contains(err.Error(), "status 302") {
		t.Errorf("redirect must be judged, not followed: err %v", err)
	}
}

func TestHTTPProbeDeadServer(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	l.Close()
	ck := newCheck("web", kindHTTP)
	ck.Port = port
	if err := runProbe(t, "127.0.0.2", ck, ""); err == nil {
		t.Fatal("probe of a closed port succeeded")
	}
}

func TestHTTPProbeTimeout(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close() // accepts into the backlog, never answers
	ck := newCheck("web", kindHTTP)
	ck.Port, ck.Timeout = port, 100*time.Millisecond
	if err := runProbe(t, "127.0.0.2", ck, ""); err == nil {
		t.Fatal("probe of a silent server succeeded")
	}
}

func TestHTTPSProbe(t *testing.T) {
	l, port := listen(t, "127.0.0.3")
	var sni string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sni = r.TLS.ServerName
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.StartTLS()
	defer srv.Close()

	ck := newCheck("secure", kindHTTPS)
	ck.Port = port
	// The test certificate is for example.com from an unknown CA: verification must fail.
	if err := runProbe(t, "127.0.0.3", ck, "cats.example.test"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("verified probe: err %v, want a certificate error", err)
	}
	ck.Insecure = true
	if err := runProbe(t, "127.0.0.3", ck, "cats.example.test"); err != nil {
		t.Fatalf("insecure probe: %v", err)
	}
	if sni != "cats.example.test" {
		t.Errorf("SNI %q, want the name", sni)
	}
}

func TestTCPProbe(t *testing.T) {
	l, port := listen(t, "127.0.0.4")
	ck := newCheck("ping", kindTCP)
	ck.Port = port
	if err := runProbe(t, "127.0.0.4", ck, ""); err != nil {
		t.Fatalf("open port: %v", err)
	}
	l.Close()
	if err := runProbe(t, "127.0.0.4", ck, ""); err == nil {
		t.Fatal("closed port: probe succeeded")
	}
}

func TestDNSProbe(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name != "." {
			m.Rcode = dns.RcodeRefused
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	ck := newCheck("ns", kindDNS)
	ck.Port = port
	if err := runProbe(t, "127.0.0.5", ck, ""); err != nil {
		t.Fatalf("NOERROR answer: %v", err)
	}
	ck.QueryName = "example.test."
	if err := runProbe(t, "127.0.0.5", ck, ""); err == nil || !strings.Contains(err.Error(), "rcode REFUSED, want NOERROR") {
		t.Fatalf("REFUSED answer: err %v", err)
	}
	ck.Rcode = dns.RcodeRefused
	if err := runProbe(t, "127.0.0.5", ck, ""); err != nil {
		t.Fatalf("REFUSED expected by the check: %v", err)
	}
}
