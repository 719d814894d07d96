package healthcheck

import (
	"strings"
	"testing"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// FuzzStored feeds keys and values to what reads the shared store: another replica (of
// another version, or an operator with etcdctl) may have written anything there. Nothing may
// panic; a verdict taken in is up or down, with a bounded reason; a drain taken in is
// normalized and sits under the key its content names.
func FuzzStored(f *testing.F) {
	c := &cluster{cfg: sharedConfig{prefix: "/p/", replica: "self"}}
	for _, s := range []struct{ key, value string }{
		{"/p/verdict/127.0.0.2/web/a", `{"state":"down","since":"2026-11-22T03:00:00Z","reason":"refused"}`},
		{"/p/verdict/2001:db8::1/a/b/c", `{"state":"up"}`},
		{"/p/verdict/127.0.0.2/web/self", `{"state":"down"}`},
		{"/p/verdict/127.0.0.2/web/", `{"state":"down"}`},
		{"/p/verdict/x/web/a", `{"state":"unknown"}`},
		{"/p/verdict/127.0.0.2/web/a", `{"state":"drained","reason":"` + string(make([]byte, 300)) + `"}`},
		{"/p/drain/127.0.0.2", `{"address":"127.0.0.2","by":"alice","at":"2026-11-22T03:00:00Z"}`},
		{"/p/drain/127.0.0.2/cats.example.test.", `{"address":"127.0.0.2","name":"Cats.Example.Test"}`},
		{"/p/drain/127.0.0.3", `{"address":"127.0.0.2"}`},
		{"/p/drain/::ffff:127.0.0.2", `{"address":"::ffff:127.0.0.2"}`},
		{"/p/drain/127.0.0.2", `{"address":"127.0.0.2","until":"nope"}`},
		{"/p/drain/127.0.0.2", `not json`},
	} {
		f.Add(s.key, []byte(s.value))
	}
	f.Fuzz(func(t *testing.T, key string, value []byte) {
		kv := &mvccpb.KeyValue{Key: []byte(key), Value: value, ModRevision: 7}
		peers := map[targetID]map[string]verdictOf{}
		c.putPeer(peers, kv)
		for id, m := range peers {
			if !id.addr.IsValid() || id.addr.Is4In6() {
				t.Fatalf("took in a verdict on %v", id.addr)
			}
			for replica, v := range m {
				if replica == "self" || replica == "" || (v.state != stateUp && v.state != stateDown) || len(v.reason) > maxErr {
					t.Fatalf("took in replica %q's verdict %+v", replica, v)
				}
			}
		}
		d, ok := c.parseDrain(kv)
		if !ok {
			return
		}
		again := d
		if err := again.Normalize(); err != nil || again != d {
			t.Fatalf("took in a drain that is not normalized: %+v (%v)", d, err)
		}
		if c.drainKeyOf(keyOf(d)) != key {
			t.Fatalf("took in drain %+v under key %q", d, key)
		}
	})
}

// TestPeerReasonBounded: the reason another replica wrote is kept whole up to maxErr bytes
// and cut beyond, as this replica's own: it is shown by the health view.
func TestPeerReasonBounded(t *testing.T) {
	c := &cluster{cfg: sharedConfig{prefix: "/p/", replica: "self"}}
	for _, reason := range []string{"refused", strings.Repeat("x", maxErr), strings.Repeat("y", maxErr+1)} {
		peers := map[targetID]map[string]verdictOf{}
		c.putPeer(peers, &mvccpb.KeyValue{Key: []byte("/p/verdict/127.0.0.2/web/a"), Value: []byte(`{"state":"down","reason":"` + reason + `"}`)})
		got := peers[targetID{mustAddr("127.0.0.2"), "web"}]["a"].reason
		want := reason
		if len(reason) > maxErr {
			want = reason[:maxErr-3] + "..."
		}
		if got != want {
			t.Errorf("a reason of %d bytes taken in as %d bytes %.10q..., want %d bytes", len(reason), len(got), got, len(want))
		}
	}
}
