package handoff

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// seen records the writer the next plugin was given.
type seen struct{ w dns.ResponseWriter }

func (s *seen) ServeDNS(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
	s.w = w
	return 0, nil
}

func (*seen) Name() string { return "seen" }

func TestNextDirect(t *testing.T) {
	next := &seen{}
	w := &test.ResponseWriter{}
	if _, err := Next("me", next, context.Background(), w, w, new(dns.Msg)); err != nil {
		t.Fatal(err)
	}
	if next.w != w {
		t.Errorf("next got %T, want the writer itself", next.w)
	}
}

func TestNextTrackedGoesThroughNextOrFailure(t *testing.T) {
	next := &seen{}
	rec := metrics.NewRecorder(&test.ResponseWriter{})
	if _, err := Next("me", next, context.Background(), rec, rec, new(dns.Msg)); err != nil {
		t.Fatal(err)
	}
	if next.w == dns.ResponseWriter(rec) {
		t.Error("with prometheus's recorder above, the writer must be wrapped so it learns the plugin")
	}
}

func TestNextWithoutNextFails(t *testing.T) {
	w := &test.ResponseWriter{}
	rcode, err := Next("me", nil, context.Background(), w, w, new(dns.Msg))
	if err == nil || rcode != dns.RcodeServerFailure {
		t.Errorf("no next plugin: rcode %d err %v, want SERVFAIL and an error", rcode, err)
	}
	var _ plugin.Handler = &seen{}
}
