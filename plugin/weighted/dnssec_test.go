package weighted

import (
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/sign/signtest"
)

// signedDogs is the dogs answer with an RRSIG by k, as a signed zone serves it.
func signedDogs(t *testing.T, k *signtest.Key) *dns.Msg {
	m := response("dogs.example.test.", dns.TypeA, dogs...)
	m.Answer = append(m.Answer, k.Sign(t, m.Answer))
	return m
}

// With the zone's key, `only 1` cuts a signed answer and signs the one address it keeps; the
// weights still decide which one, and a steady load signs each choice once.
func TestOnlyCutsSignedWithKey(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	m := signedDogs(t, k)
	before := m.String()
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.3 3\n only 1\n key file "+k.Base+"\n}", m)
	uncut := counterValue(signedUncut.WithLabelValues("dogs.example.test."))
	led := map[string]int{}
	for range 10 {
		r := serve(t, wt, "dogs.example.test.", dns.TypeA)
		rrset := k.Verify(t, r.Answer, "dogs.example.test.", dns.TypeA)
		if len(rrset) != 1 {
			t.Fatalf("answer %v, want one address", r.Answer)
		}
		led[rrset[0].(*dns.A).A.String()]++
	}
	if led["127.0.0.3"] != 6 || led["127.0.0.2"] != 2 || led["127.0.0.4"] != 2 {
		t.Errorf("answers led %v, want 6:2:2", led)
	}
	if n := wt.signer.Signings("example.test."); n != 3 {
		t.Errorf("%d signings for three distinct answers, want 3", n)
	}
	if d := counterValue(signedUncut.WithLabelValues("dogs.example.test.")) - uncut; d != 0 {
		t.Errorf("signed_uncut_total rose by %v with the key, want 0", d)
	}
	if m.String() != before {
		t.Error("the backend's answer changed")
	}
}

// leads mode only reorders: the zone's own signature stays, nothing is signed.
func TestLeadsSignedNeverSigns(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "example.test.")
	m := signedDogs(t, k)
	wt := newWeighted(t, "weighted {\n weight dogs.example.test 127.0.0.3 3\n key file "+k.Base+"\n}", m)
	for range 5 {
		r := serve(t, wt, "dogs.example.test.", dns.TypeA)
		k.Verify(t, r.Answer, "dogs.example.test.", dns.TypeA)
		if r.Answer[len(r.Answer)-1] != m.Answer[len(m.Answer)-1] {
			t.Fatal("the zone's RRSIG was replaced")
		}
	}
	if n := wt.signer.Signings("example.test."); n != 0 {
		t.Errorf("%d signings in leads mode, want 0", n)
	}
}

func TestParseKeyErrors(t *testing.T) {
	k := signtest.WriteKey(t, t.TempDir(), "other.test.")
	for _, tc := range []struct{ block, want string }{
		{"weighted example.test {\n weight a.example.test 127.0.0.1 1\n key file " + k.Base + "\n}", ":3 - Error during parsing: key other.test."},
		{"weighted {\n weight a.example.test 127.0.0.1 1\n key file /nonexistent/K\n}", ":3 - Error during parsing: key file /nonexistent/K"},
		{"weighted {\n key\n}", ":2 - Error during parsing: key wants 'file'"},
	} {
		_, err := parse(caddyController(tc.block))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.block, err, tc.want)
		}
	}
}
