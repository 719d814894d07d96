// Package harness starts real CoreDNS servers, with the steerdns chain compiled in, from
// Corefile strings, and queries them over UDP and TCP. Integration tests use it so that they
// exercise exactly the plugin order that ships in the coredns binary.
package harness

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/coredns-build/chain"
	"github.com/steerdns/steerdns/test/freeport"
)

// mu serialises starts, restarts and stops: caddy and the directive list are process-wide.
var mu sync.Mutex

// Server is a running CoreDNS instance.
type Server struct {
	UDP string // address of the first server block's UDP listener, host:port
	TCP string // address of the first server block's TCP listener, host:port

	inst    *caddy.Instance
	stopped bool
}

// Start starts a server from corefile and stops it when the test ends. Server blocks
// should listen on port 0 (".:0" or "example.test:0") so that the kernel picks free ports.
func Start(t testing.TB, corefile string) *Server {
	t.Helper()
	s, err := StartErr(corefile)
	if err != nil {
		t.Fatalf("starting CoreDNS: %v\nCorefile:\n%s", err, corefile)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartErr starts a server from corefile and returns the error a bad Corefile gives. The
// caller must Stop the server it returns.
func StartErr(corefile string) (*Server, error) {
	mu.Lock()
	defer mu.Unlock()
	if err := dnsserver.SetDirectives(chain.Directives); err != nil {
		return nil, err
	}
	caddy.Quiet = true
	dnsserver.Quiet = true
	inst, err := caddy.Start(Input(corefile))
	if err != nil {
		return nil, err
	}
	return newServer(inst), nil
}

func newServer(inst *caddy.Instance) *Server {
	s := &Server{inst: inst}
	if srvs := inst.Servers(); len(srvs) > 0 {
		if a := srvs[0].LocalAddr(); a != nil {
			s.UDP = a.String()
		}
		if a := srvs[0].Addr(); a != nil {
			s.TCP = a.String()
		}
	}
	return s
}

// Addrs returns the UDP and TCP addresses of the k-th listener (one per server address).
func (s *Server) Addrs(k int) (udp, tcp string) {
	srvs := s.inst.Servers()
	if k >= len(srvs) {
		return "", ""
	}
	return srvs[k].LocalAddr().String(), srvs[k].Addr().String()
}

// Reload replaces the running configuration with corefile the way the reload plugin and
// SIGUSR1 do: the new instance starts before the old one stops. On error the old instance
// keeps serving, as it does in production.
func (s *Server) Reload(corefile string) error {
	mu.Lock()
	defer mu.Unlock()
	inst, err := s.inst.Restart(Input(corefile))
	if err != nil {
		return err
	}
	s.inst = inst
	return nil
}

// Stop stops the listeners and runs every plugin's shutdown callbacks. It is safe to call
// more than once.
func (s *Server) Stop() {
	mu.Lock()
	defer mu.Unlock()
	if s.stopped {
		return
	}
	s.stopped = true
	s.inst.Stop()
	s.inst.ShutdownCallbacks()
}

// Query sends one question over UDP and returns the response.
func (s *Server) Query(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	return Exchange(t, "udp", s.UDP, name, qtype)
}

// Exchange sends one question (recursion desired) to addr over network ("udp" or "tcp").
func Exchange(t testing.TB, network, addr, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	r, err := ExchangeMsg(network, addr, m)
	if err != nil {
		t.Fatalf("query %s %s over %s to %s: %v", name, dns.TypeToString[qtype], network, addr, err)
	}
	return r
}

// queryTimeout bounds one DNS exchange. It is long because the machines the suite runs on
// may be loaded (race builds, a browser, parallel test processes on two cores): a slow
// answer there is not the failure a test looks for, a missing one is.
const queryTimeout = 5 * time.Second

// ExchangeMsg sends m to addr over network and returns the response. A UDP query that times
// out is sent once more, as every stub resolver does: a datagram dropped by a full socket
// buffer on a busy machine says nothing about the server.
func ExchangeMsg(network, addr string, m *dns.Msg) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: queryTimeout}
	r, _, err := c.Exchange(m, addr)
	var nerr net.Error
	if err != nil && network == "udp" && errors.As(err, &nerr) && nerr.Timeout() {
		r, _, err = c.Exchange(m, addr)
	}
	return r, err
}

// Addresses returns the A and AAAA addresses of r's answer section, in order.
func Addresses(r *dns.Msg) []string {
	var out []string
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.AAAA.String())
		}
	}
	return out
}

// FreePort returns a port on 127.0.0.1 that is free for TCP and UDP, for listeners that
// cannot be given port 0 (such as a console address written into a Corefile).
func FreePort(t testing.TB) int {
	t.Helper()
	return freeport.Port(t)
}

// Input is a Corefile held in memory.
type Input string

// Body implements caddy.Input.
func (i Input) Body() []byte { return []byte(i) }

// Path implements caddy.Input.
func (i Input) Path() string { return "Corefile" }

// ServerType implements caddy.Input.
func (i Input) ServerType() string { return "dns" }

// String helps failure messages.
func (i Input) String() string { return fmt.Sprintf("Corefile:\n%s", string(i)) }
