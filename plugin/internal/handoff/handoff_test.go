package handoff

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// answering writes an answer, as a backend plugin (file, forward) does.
type answering struct{}

func (answering) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	m := new(dns.Msg)
	m.SetReply(r)
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func (answering) Name() string { return "file" }

// passing is a plugin in the middle of the chain that hands every query on with pass.
type passing struct {
	name string
	next plugin.Handler
	pass func(name string, next plugin.Handler, ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error)
}

func (p passing) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return p.pass(p.name, p.next, ctx, w, r)
}

func (p passing) Name() string { return p.name }

// attribution returns the plugin that prometheus's Recorder credits with the answer, for a
// chain prometheus → override → rrotate → file whose two middle plugins hand on with pass.
func attribution(t *testing.T, pass func(string, plugin.Handler, context.Context, dns.ResponseWriter, *dns.Msg) (int, error)) string {
	t.Helper()
	chain := passing{"override", passing{"rrotate", answering{}, pass}, pass}
	rec := metrics.NewRecorder(&test.ResponseWriter{})
	q := new(dns.Msg)
	q.SetQuestion("cats.example.test.", dns.TypeA)
	// What the prometheus plugin's ServeDNS does with the Recorder.
	if _, err := plugin.NextOrFailure("prometheus", chain, context.Background(), rec, q); err != nil {
		t.Fatal(err)
	}
	return rec.GetPlugin()
}

// TestAttributionUnchanged: handing on without NextOrFailure's wrapper credits the same plugin
// as NextOrFailure does. If a CoreDNS upgrade makes pluginWriter report through other
// pluginWriters, the two differ and this fails: Next must then wrap as NextOrFailure does.
func TestAttributionUnchanged(t *testing.T) {
	want := attribution(t, plugin.NextOrFailure)
	if got := attribution(t, Next); got != want {
		t.Errorf("prometheus credits %q with the answer, NextOrFailure would credit %q", got, want)
	}
	if want == "" {
		t.Error("the Recorder credited no plugin at all: the test no longer builds a chain as prometheus does")
	}
}

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
	if _, err := Next("me", next, context.Background(), w, new(dns.Msg)); err != nil {
		t.Fatal(err)
	}
	if next.w != w {
		t.Errorf("next got %T, want the writer itself", next.w)
	}
}

func TestNextWithoutNextFails(t *testing.T) {
	w := &test.ResponseWriter{}
	rcode, err := Next("me", nil, context.Background(), w, new(dns.Msg))
	if err == nil || rcode != dns.RcodeServerFailure {
		t.Errorf("no next plugin: rcode %d err %v, want SERVFAIL and an error", rcode, err)
	}
}

func BenchmarkNext(b *testing.B) {
	next := &seen{}
	w := &test.ResponseWriter{}
	q := new(dns.Msg)
	b.ReportAllocs()
	for b.Loop() {
		Next("me", next, context.Background(), w, q)
	}
}
