package healthcheck

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// hugeStatusServer is a web server on ip that answers every connection with an 8 MiB status
// line; it counts how many connections it served.
func hugeStatusServer(t *testing.T, ip string) (port int, served *atomic.Int64) {
	l, port := listen(t, ip)
	t.Cleanup(func() { l.Close() })
	served = new(atomic.Int64)
	line := "HTTP/1.1 200 " + strings.Repeat("x", 8<<20) + "\r\n\r\n"
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.Read(buf)
				served.Add(1)
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				c.Write([]byte(line))
			}()
		}
	}()
	return port, served
}

// TestHTTPProbeHugeStatusLine: a target that sends an 8 MiB status line is judged down after
// reading at most 16 KiB of it, and what the health view shows and the log says is short.
func TestHTTPProbeHugeStatusLine(t *testing.T) {
	port, _ := hugeStatusServer(t, "127.0.0.2")
	ck := newCheck("huge", kindHTTP)
	ck.Port, ck.Timeout = port, 5*time.Second
	err := runProbe(t, "127.0.0.2", ck, "")
	if err == nil || !strings.Contains(err.Error(), "exceeded") {
		t.Fatalf("probe error %v, want the response header limit to be exceeded", err)
	}

	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check hugehdr http port %d interval 100ms timeout 5s\n name cats.example.test 127.0.0.2\n}", port))
	var got healthview.Target
	waitUntil(t, "the target to be judged down", func() bool {
		for _, tg := range hc.view() {
			if tg.Check == "hugehdr" && tg.State == healthview.Down {
				got = tg
				return true
			}
		}
		return false
	})
	if len(got.LastError) > maxErr || got.LastError == "" {
		t.Errorf("stored error is %d bytes, want 1 to %d", len(got.LastError), maxErr)
	}
}

func TestErrText(t *testing.T) {
	long := strings.Repeat("é", 300) // two bytes each: the cut must not split one
	got := errText(fmt.Errorf("%s", long))
	if len(got) > maxErr || !strings.HasSuffix(got, "...") || !utf8Valid(got) {
		t.Errorf("errText gave %d bytes %q", len(got), got)
	}
	if got := errText(fmt.Errorf("short")); got != "short" {
		t.Errorf("errText(short) = %q", got)
	}
	exact := strings.Repeat("a", maxErr)
	if got := errText(fmt.Errorf("%s", exact)); got != exact {
		t.Errorf("an error of exactly %d bytes was cut", maxErr)
	}
	// A target's garbage (a status line of bytes that start no character) must not find a
	// rune boundary to cut at, nor make the cut run off the front.
	if got := errText(fmt.Errorf("%s", strings.Repeat("\x80", 300))); got != "..." {
		t.Errorf("errText of 300 continuation bytes = %q, want only the mark of the cut", got)
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// TestProberPanicRecovered: a probe that panics leaves the verdict as it was, is counted,
// and the prober goes on probing.
func TestProberPanicRecovered(t *testing.T) {
	ck := newCheck("panicky", kindTCP)
	ck.Port, ck.Interval, ck.Jitter = 1, minInterval, 0
	ctx, cancel := context.WithCancel(context.Background())
	p := &prober{addr: netip.MustParseAddr("127.0.0.2"), check: ck, ctx: ctx, cancel: cancel, release: func() {},
		probe: func(context.Context) error { panic("probe exploded") }}
	p.st.state = stateUp
	counter := panics.WithLabelValues("prober")
	before := metricValue(counter)
	p.start()
	waitUntil(t, "two recovered panics (the prober carried on)", func() bool { return metricValue(counter)-before >= 2 })
	p.stop()
	if p.state() != stateUp {
		t.Errorf("state %s after panics, want the last good one (up)", p.state())
	}
}

// TestDiscoveryPanicRecovered: a report that makes discovery panic (a target without a
// check) is counted and skipped; the loop goes on discovering.
func TestDiscoveryPanicRecovered(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check ping tcp port %d\n discover ping\n}", port))
	counter := panics.WithLabelValues("discovery")
	before := metricValue(counter)
	hc.found <- discovery{key: targetKey{addr: netip.MustParseAddr("127.0.0.7")}, owner: "cats.example.test."}
	waitUntil(t, "the panic to be counted", func() bool { return metricValue(counter)-before == 1 })
	serve(t, hc, catsAnswer(dns.TypeA))
	waitUntil(t, "discovery to go on", func() bool {
		hc.mu.Lock()
		defer hc.mu.Unlock()
		return len(hc.discovered) == 4
	})
}

// TestPublishPanicKeepsSnapshot: a publish that panics leaves the last snapshot in force.
func TestPublishPanicKeepsSnapshot(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check ping tcp port %d\n name cats.example.test 127.0.0.2\n}", port))
	counter := panics.WithLabelValues("publisher")
	before := metricValue(counter)
	last := hc.snap.Load()
	broken := targetKey{netip.MustParseAddr("127.0.0.9"), hc.cfg.checks["ping"]}
	hc.mu.Lock()
	hc.probers[broken] = nil // a prober that is not there: building the snapshot panics
	hc.publish()
	delete(hc.probers, broken)
	hc.mu.Unlock()
	if hc.snap.Load() != last {
		t.Error("a failed publish replaced the snapshot")
	}
	if n := metricValue(counter) - before; n != 1 {
		t.Errorf("panics_total{loop=publisher} grew by %g, want 1", n)
	}
}

// TestDiscoveryCap: beyond max_discovered, new addresses are not probed but counted, and a
// flood of new addresses is published in a few snapshots, not one per address.
func TestDiscoveryCap(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	defer l.Close()
	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check capped tcp port %d\n discover capped\n max_discovered 50\n}", port))
	dropped := discoveryDropped.WithLabelValues("capped")
	before := metricValue(dropped)
	published := hc.published.Load()

	res := new(dns.Msg)
	res.SetQuestion("many.example.test.", dns.TypeA)
	for i := range 200 {
		res.Answer = append(res.Answer, &dns.A{Hdr: dns.RR_Header{Name: "many.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
			A: net.IPv4(127, 1, byte(i/250), byte(1+i%250))})
	}
	serve(t, hc, res)
	waitUntil(t, "150 addresses to be dropped", func() bool { return metricValue(dropped)-before == 150 })
	hc.mu.Lock()
	n := len(hc.discovered)
	hc.mu.Unlock()
	if n != 50 {
		t.Errorf("%d discovered targets, want max_discovered (50)", n)
	}
	// One report batch, published at once or at the end of the window: far fewer than 50.
	if p := hc.published.Load() - published; p > 5 {
		t.Errorf("%d snapshots published for 50 new targets, want them batched", p)
	}
}

// TestDroppedTargetSeriesDeleted: when a discovered target is forgotten its series go too,
// so the number of series follows the configuration, not the traffic.
func TestDroppedTargetSeriesDeleted(t *testing.T) {
	l, port := listen(t, "127.0.0.2")
	l.Close() // nothing listens: the targets go down
	hc := startHC(t, fmt.Sprintf("healthcheck example.test {\n check gone tcp port %d interval 100ms\n discover gone expire 300ms\n}", port))
	res := new(dns.Msg)
	res.SetQuestion("gone.example.test.", dns.TypeA)
	res.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "gone.example.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(127, 0, 0, 2)}}
	serve(t, hc, res)
	waitUntil(t, "the discovered target's down transition", func() bool { return series("coredns_healthcheck_transitions_total", "gone") > 0 })
	waitUntil(t, "the target to be forgotten and its series deleted", func() bool {
		return series("coredns_healthcheck_transitions_total", "gone") == 0 && series("coredns_healthcheck_target_up", "gone") == 0
	})
}

// series counts the series of metric whose check label is check.
func series(metric, check string) int {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return -1
	}
	n := 0
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "check" && lp.GetValue() == check {
					n++
				}
			}
		}
	}
	return n
}
