package test

import (
	"fmt"
	"net"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// healthcheckDNSServer starts a real DNS server on ip:port that answers NOERROR for
// example.test SOA and REFUSED otherwise, and returns its shutdown function.
func healthcheckDNSServer(t *testing.T, ip string, port int) (int, func()) {
	t.Helper()
	pc, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", ip, port))
	if err != nil {
		t.Fatal(err)
	}
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		if r.Question[0].Name != "example.test." || r.Question[0].Qtype != dns.TypeSOA {
			m.Rcode = dns.RcodeRefused
		}
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			srv.Shutdown()
		}
	}
	t.Cleanup(stop)
	return pc.LocalAddr().(*net.UDPAddr).Port, stop
}

// TestHealthcheckDNSCheck probes two real DNS servers with a DNS query: the one that stops
// answering leaves the answer for the name, with hosts as the backend this time.
func TestHealthcheckDNSCheck(t *testing.T) {
	port, _ := healthcheckDNSServer(t, "127.0.0.8", 0)
	_, stop9 := healthcheckDNSServer(t, "127.0.0.9", port)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    healthcheck {
        check ns dns port %d query example.test qtype SOA interval 100ms timeout 1s
        name ns.example.test 127.0.0.8 127.0.0.9
    }
    hosts {
        127.0.0.8 ns.example.test
        127.0.0.9 ns.example.test
    }
}`, port))
	healthcheckWaitFor(t, srv, "ns.example.test", "127.0.0.8", "127.0.0.9")
	stop9()
	healthcheckWaitFor(t, srv, "ns.example.test", "127.0.0.8")
}
