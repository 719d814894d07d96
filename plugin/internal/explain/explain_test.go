package explain

import (
	"net"
	"net/netip"
	"testing"

	"github.com/miekg/dns"
)

// TestRecorder: the recorder stands for the client, keeps the answer, and shares its steps
// with the recorders of sub-queries.
func TestRecorder(t *testing.T) {
	client := netip.MustParseAddr("10.1.2.3")
	r := NewRecorder(client, false)
	if a, ok := r.RemoteAddr().(*net.UDPAddr); !ok || a.IP.String() != "10.1.2.3" {
		t.Errorf("RemoteAddr = %v, want the client over UDP", r.RemoteAddr())
	}
	if a, ok := NewRecorder(client, true).RemoteAddr().(*net.TCPAddr); !ok || a.IP.String() != "10.1.2.3" {
		t.Errorf("TCP RemoteAddr = %v", a)
	}
	sub := r.Sub()
	r.Note(Step{Plugin: "a", Did: "one"})
	sub.Note(Step{Plugin: "b", Did: "two"})
	if s := r.Steps(); len(s) != 2 || s[1].Plugin != "b" {
		t.Errorf("steps %+v, want both recorders' in order", s)
	}
	m := new(dns.Msg)
	m.SetQuestion("cats.example.test.", dns.TypeA)
	packed, _ := m.Pack()
	if _, err := sub.Write(packed); err != nil || sub.Msg() == nil || r.Msg() != nil {
		t.Errorf("Write: %v; the sub-query's answer must be its own", err)
	}
	if _, err := r.Write([]byte{1, 2}); err == nil {
		t.Error("a packed message that does not unpack must be an error")
	}
	if From(r) != r || From(nil) != nil {
		t.Error("From must find the recorder, and only it")
	}
}
