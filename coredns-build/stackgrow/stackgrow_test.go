package stackgrow

import (
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// original is miekg/dns's own accept function, taken before any test installs the wrapper.
var original = dns.DefaultMsgAcceptFunc

// TestServersCallIt: a real CoreDNS server calls the accept function for every UDP and TCP
// query. If an upgrade of CoreDNS or miekg/dns stops calling it (a server of its own, a
// function that no longer goes through the package variable), the stack growth silently goes
// away; this test fails instead.
func TestServersCallIt(t *testing.T) {
	Install()
	var calls atomic.Int64
	installed := dns.DefaultMsgAcceptFunc
	dns.DefaultMsgAcceptFunc = func(h dns.Header) dns.MsgAcceptAction {
		calls.Add(1)
		return installed(h)
	}
	defer func() { dns.DefaultMsgAcceptFunc = installed }()

	s := harness.Start(t, ".:0 {\n whoami\n}\n")
	udp, tcp := s.Addrs(0)
	for network, addr := range map[string]string{"udp": udp, "tcp": tcp} {
		before := calls.Load()
		harness.Exchange(t, network, addr, "example.test.", dns.TypeA)
		if calls.Load() == before {
			t.Errorf("a %s query did not go through dns.DefaultMsgAcceptFunc", network)
		}
	}
}

// TestDecisionUnchanged: the wrapper accepts and rejects what the original does.
func TestDecisionUnchanged(t *testing.T) {
	Install()
	for _, h := range []dns.Header{
		{Qdcount: 1},                // a query
		{Qdcount: 2},                // two questions
		{Bits: 1 << 15, Qdcount: 1}, // a response
		{Bits: 5 << 11, Qdcount: 1}, // an UPDATE
		{Qdcount: 1, Ancount: 1},    // a query with an answer
	} {
		if got, want := dns.DefaultMsgAcceptFunc(h), original(h); got != want {
			t.Errorf("header %+v: %v, the original says %v", h, got, want)
		}
	}
}

func BenchmarkAccept(b *testing.B) {
	Install()
	h := dns.Header{Qdcount: 1}
	b.ReportAllocs()
	for b.Loop() {
		dns.DefaultMsgAcceptFunc(h)
	}
}
