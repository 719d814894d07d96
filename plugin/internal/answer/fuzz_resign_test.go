package answer_test

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// FuzzResign writes any response that unpacks through a stage that cuts the answer's RRset
// and asks for it to be signed again. Nothing may panic, the backend's message must not
// change, and what is written is either that message whole or an answer whose cut RRset
// carries exactly the new signatures, which verify.
func FuzzResign(f *testing.F) {
	for _, m := range []*dns.Msg{signedResponse(), func() *dns.Msg {
		m := signedResponse()
		m.Answer = m.Answer[2:] // no CNAME
		return m
	}(), func() *dns.Msg {
		m := signedResponse()
		m.Answer = append(m.Answer[:2], m.Answer[5]) // the set gone, its RRSIG left
		return m
	}(), func() *dns.Msg {
		m := signedResponse()
		m.Question[0].Name = "WWW.Example.TEST."
		return m
	}()} {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s, pub := zoneKey(f)
	f.Fuzz(func(t *testing.T, wire []byte) {
		in := new(dns.Msg)
		if in.Unpack(wire) != nil {
			return
		}
		before := in.String()
		set, found := answer.Find(in.Answer, questionName(in), questionType(in))
		rec := dnstest.NewRecorder(&test.ResponseWriter{})
		w := answer.Join(context.Background(), rec, &cut{s})
		if err := w.WriteMsg(in); err != nil {
			t.Fatal(err)
		}
		if in.String() != before {
			t.Fatalf("the backend's message changed:\n%s\nwas\n%s", in, before)
		}
		out := rec.Msg
		if out == in || !found || out.Rcode != dns.RcodeSuccess || len(in.Question) != 1 {
			return
		}
		var rrset []dns.RR
		var sigs []*dns.RRSIG
		for _, rr := range out.Answer {
			if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == set.Type && answer.SameName(sig.Hdr.Name, set.Owner) {
				sigs = append(sigs, sig)
			} else if set.Member(rr) {
				// A validator compares owners whatever their case (0x20); Verify wants
				// them spelt alike.
				c := dns.Copy(rr)
				c.Header().Name = dns.CanonicalName(c.Header().Name)
				rrset = append(rrset, c)
			}
		}
		if len(rrset) == 0 {
			if len(sigs) != 0 {
				t.Fatalf("signatures over an empty set: %v", out.Answer)
			}
			return
		}
		if len(sigs) != 1 {
			t.Fatalf("%d RRSIGs over the cut set, want the new one: %v", len(sigs), out.Answer)
		}
		if err := sigs[0].Verify(pub, rrset); err != nil {
			t.Fatalf("the new RRSIG does not verify: %v\n%v", err, out.Answer)
		}
	})
}

func questionName(m *dns.Msg) string {
	if len(m.Question) == 0 {
		return ""
	}
	return m.Question[0].Name
}

func questionType(m *dns.Msg) uint16 {
	if len(m.Question) == 0 {
		return 0
	}
	return m.Question[0].Qtype
}
