package test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// TestHealthcheckAllDownServfail answers SERVFAIL when every address is down and the policy
// says so, and the normal answer once a server is back.
func TestHealthcheckAllDownServfail(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port,
		"name cats.example.test 127.0.0.2 backup 127.0.0.3 127.0.0.4 127.0.0.5\n all_down servfail"))
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2")

	web.StopAll()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := srv.Query(t, "cats.example.test", dns.TypeA)
		if r.Rcode == dns.RcodeServerFailure {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no SERVFAIL within 10s; last answer %v", harness.Addresses(r))
		}
		time.Sleep(10 * time.Millisecond)
	}
	web.Start("127.0.0.3")
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.3")
}

// TestHealthcheckAllDownStaticAnswer serves the Corefile's sorry-server address when every
// address is down.
func TestHealthcheckAllDownStaticAnswer(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port,
		"name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5\n all_down answer 127.0.0.99 ::99"))
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2")
	web.Stop("127.0.0.2")
	ttl, _ := healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.99")
	if ttl > 10 {
		t.Errorf("static answer TTL %d, want at most 10", ttl)
	}
}

// TestHealthcheckTCPCheck probes plain TCP listeners: closing one removes its address.
func TestHealthcheckTCPCheck(t *testing.T) {
	la, err := net.Listen("tcp", "127.0.0.6:0")
	if err != nil {
		t.Fatal(err)
	}
	defer la.Close()
	port := la.Addr().(*net.TCPAddr).Port
	lb, err := net.Listen("tcp", fmt.Sprintf("127.0.0.7:%d", port))
	if err != nil {
		t.Skipf("port %d not free on 127.0.0.7: %v", port, err)
	}
	for _, l := range []net.Listener{la, lb} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check ping tcp port %d interval 100ms timeout 3s fall 2 rise 2
        name dogs.example.test 127.0.0.6 127.0.0.7
    }
    file %s
}`, port, healthcheckZone(t)))
	healthcheckWaitFor(t, srv, "dogs.example.test", "127.0.0.6", "127.0.0.7")
	lb.Close()
	healthcheckWaitFor(t, srv, "dogs.example.test", "127.0.0.6")
}

// TestHealthcheckDiscovery lists no names: addresses seen in answers get probed with the
// template check, and the dead one leaves the answer.
func TestHealthcheckDiscovery(t *testing.T) {
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4")
	srv := harness.Start(t, healthcheckCorefile(healthcheckZone(t), web.Port, "discover web expire 1m"))
	// 127.0.0.5 has no server: once discovered and probed it leaves the answer.
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3", "127.0.0.4")
	web.Stop("127.0.0.4")
	healthcheckWaitFor(t, srv, "cats.example.test", "127.0.0.2", "127.0.0.3")
	// Names not seen before are discovered too: dogs has no servers, so it fails open.
	healthcheckWaitFor(t, srv, "dogs.example.test", "127.0.0.6", "127.0.0.7")
}

// TestHealthcheckReady: the ready plugin reports not ready while a listed target has no
// verdict (its server accepts connections but never answers, so the first probe waits for
// its timeout), and ready once it has one, even a down one.
func TestHealthcheckReady(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	port := harness.FreePort(t)
	harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    ready 127.0.0.1:%d
    healthcheck {
        check web http port %d interval 200ms timeout 1500ms jitter 0%%
        name cats.example.test 127.0.0.2
    }
    file %s
}`, port, silent.Addr().(*net.TCPAddr).Port, healthcheckZone(t)))
	url := fmt.Sprintf("http://127.0.0.1:%d/ready", port)
	if code := healthcheckGetStatus(t, url); code != http.StatusServiceUnavailable {
		t.Fatalf("%s = %d before the first verdict, want 503", url, code)
	}
	deadline := time.Now().Add(10 * time.Second)
	for healthcheckGetStatus(t, url) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("%s not 200 within 10s", url)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthcheckGetStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
