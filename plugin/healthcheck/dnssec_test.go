package healthcheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/sign/signtest"
)

// signedCats is catsAnswer with an RRSIG by k over its addresses, as a signed zone serves it.
func signedCats(t *testing.T, k *signtest.Key, qt uint16) *dns.Msg {
	res := catsAnswer(qt)
	res.Answer = append(res.Answer, k.Sign(t, res.Answer))
	return res
}

// With the zone's key, health cuts a signed RRset and signs what is left: the answer
// validates and lacks the dead address.
func TestFilterSignedWithKeyCutsAndSigns(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	hc := newTestHC(t, "key file "+k.Base, map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := signedCats(t, k, dns.TypeA)
	before := res.String()
	out, outcome := serve(t, hc, res)
	if outcome != outcomeFiltered {
		t.Errorf("outcome %s, want filtered", outcome)
	}
	rrset := k.Verify(t, out.Answer, "cats.example.test.", dns.TypeA)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"127.0.0.3"}) || len(rrset) != 1 {
		t.Errorf("answer %v, want 127.0.0.3 alone", got)
	}
	if res.String() != before {
		t.Error("the backend's answer changed")
	}
}

// All primaries up: the backups are held back, which changes the set, so it is signed again
// too. With everything down and fail-open, nothing is removed: the zone's own RRSIG stays.
func TestFilterSignedWithKeyBackupsAndOpen(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	hc := newTestHC(t, "key file "+k.Base, map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	out, _ := serve(t, hc, signedCats(t, k, dns.TypeA))
	k.Verify(t, out.Answer, "cats.example.test.", dns.TypeA)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"127.0.0.2", "127.0.0.3"}) {
		t.Errorf("answer %v, want the primaries", got)
	}

	hc = newTestHC(t, "key file "+k.Base, map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateDown, "127.0.0.4": stateDown, "127.0.0.5": stateDown})
	res := signedCats(t, k, dns.TypeA)
	out, outcome := serve(t, hc, res)
	if outcome != outcomeAllDownOpen {
		t.Errorf("outcome %s, want all_down_open", outcome)
	}
	k.Verify(t, out.Answer, "cats.example.test.", dns.TypeA)
	if out.Answer[len(out.Answer)-1].(*dns.RRSIG).Signature != res.Answer[len(res.Answer)-1].(*dns.RRSIG).Signature {
		t.Error("an RRset health did not cut was signed again")
	}
}

// all_down answer puts the static addresses in place of the signed set, signed.
func TestFilterSignedWithKeyStatic(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	hc := newTestHC(t, "key file "+k.Base+"\nall_down answer 192.0.2.99", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateDown, "127.0.0.4": stateDown, "127.0.0.5": stateDown})
	out, outcome := serve(t, hc, signedCats(t, k, dns.TypeA))
	if outcome != outcomeAllDownAnswer {
		t.Errorf("outcome %s, want all_down_answer", outcome)
	}
	k.Verify(t, out.Answer, "cats.example.test.", dns.TypeA)
	if got, _ := addrsTTL(out); !slices.Equal(got, []string{"192.0.2.99"}) {
		t.Errorf("answer %v, want the static address", got)
	}
}

// A key of another zone does not sign this one: its signed answers pass whole.
func TestFilterSignedKeyOfAnotherZonePassesWhole(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "sub.example.test.")
	hc := newTestHC(t, "key file "+k.Base+"\nttl 10 changed", map[string]state{"127.0.0.2": stateDown, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = append(res.Answer, test.RRSIG("cats.example.test. 300 IN RRSIG A 13 3 300 20300101000000 20200101000000 12345 example.test. c2lnbmF0dXJl"))
	out, outcome := serve(t, hc, res)
	if out != res || outcome != outcomeSigned {
		t.Fatalf("signed answer was changed (outcome %s)", outcome)
	}
}

func TestParseKeyErrors(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "other.test.")
	for _, tc := range []struct{ extra, want string }{
		{"key file " + k.Base, "signs none of the zones"},
		{"key file /nonexistent/Kexample.test.+013+00001", "no such file"},
		{"key aws_secretsmanager x", "key wants 'file'"},
	} {
		_, err := parse(caddy.NewTestController("dns", strings.Replace(filterCorefile, "%s", tc.extra, 1)))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), ":5 ") {
			t.Errorf("%q: error %v, want one at line 5 containing %q", tc.extra, err, tc.want)
		}
	}
}

// Only an RRset that loses records is signed again: every address up and no backup in the
// answer cuts nothing (the zone's RRSIG stays, TTLs capped), and a set that loses a primary
// and both kinds of backup at once is signed again and validates.
func TestFilterSignedWithKeyResignsOnlyWhatItCuts(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	hc := newTestHC(t, "key file "+k.Base, map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateUp})
	res := catsAnswer(dns.TypeA)
	res.Answer = res.Answer[:2] // the two primaries
	res.Answer = append(res.Answer, k.Sign(t, res.Answer))
	out, _ := serve(t, hc, res)
	k.Verify(t, out.Answer, "cats.example.test.", dns.TypeA)
	if out.Answer[len(out.Answer)-1].(*dns.RRSIG).Signature != res.Answer[len(res.Answer)-1].(*dns.RRSIG).Signature {
		t.Error("an RRset health kept whole was signed again")
	}
	if _, ttls := addrsTTL(out); !slices.Equal(ttls, []uint32{10, 10}) {
		t.Errorf("TTLs %v, want both capped at 10", ttls)
	}

	hc = newTestHC(t, "key file "+k.Base, map[string]state{"127.0.0.2": stateUp, "127.0.0.3": stateDown, "127.0.0.4": stateDown, "127.0.0.5": stateUp})
	out, outcome := serve(t, hc, signedCats(t, k, dns.TypeA))
	if outcome != outcomeFiltered {
		t.Errorf("outcome %s, want filtered", outcome)
	}
	if rrset := k.Verify(t, out.Answer, "cats.example.test.", dns.TypeA); len(rrset) != 1 {
		t.Errorf("signed RRset %v, want 127.0.0.2 alone", rrset)
	}
}
