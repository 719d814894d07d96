package healthcheck

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// subscriber is told when a prober's verdict changes. *HealthCheck is the one in use.
type subscriber interface {
	verdictChanged()
}

// prober probes one address with one check in its own goroutine, one probe at a time, and
// keeps the verdict. It is shared by every name and every plugin instance (server blocks,
// and the old and new instance during a reload) that probe the same address the same way,
// so a reload keeps the verdicts instead of starting from unknown.
type prober struct {
	addr  netip.Addr
	check *checkSpec
	host  string
	key   string

	probe   probeFunc
	release func()
	ctx     context.Context // ends when the prober stops, aborting a probe in flight
	cancel  context.CancelFunc

	// The next probe is a timer, not a sleeping goroutine: with thousands of targets, a
	// goroutine each would hold megabytes of stacks that do nothing but wait.
	timerMu  sync.Mutex // guards timer and stopped
	timer    *time.Timer
	stopped  bool
	inflight sync.WaitGroup // the probe running now, if any

	mu sync.Mutex // guards st
	st status

	subs map[subscriber]struct{} // guarded by probers.mu
}

// probers is the process-wide set of running probers, keyed by address and check
// fingerprint, with the subscribers of each as its reference count.
var probers = struct {
	sync.Mutex
	m map[string]*prober
}{m: map[string]*prober{}}

// acquire returns the running prober of (addr, ck), starting one if there is none, and
// subscribes s to it. host is used only when a new prober starts.
func acquire(addr netip.Addr, ck *checkSpec, host string, s subscriber) *prober {
	key := addr.String() + "|" + ck.fingerprint()
	probers.Lock()
	defer probers.Unlock()
	if p, ok := probers.m[key]; ok {
		p.subs[s] = struct{}{}
		return p
	}
	p := &prober{addr: addr, check: ck, host: host, key: key, subs: map[subscriber]struct{}{s: {}}}
	p.probe, p.release = newProbe(addr, ck, host)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	probers.m[key] = p
	targetUp.WithLabelValues(p.addr.String(), p.check.Name).Set(-1)
	p.start()
	return p
}

// unsubscribe removes s and stops the prober when nobody is left, waiting until its
// goroutine has returned.
func (p *prober) unsubscribe(s subscriber) {
	probers.Lock()
	delete(p.subs, s)
	last := len(p.subs) == 0
	if last {
		delete(probers.m, p.key)
	}
	probers.Unlock()
	if !last {
		return
	}
	p.stop()
	p.release()
	// The series of a target go with it, so that their number follows the configuration
	// (and max_discovered), not every address answers ever carried.
	deleteTargetSeries(p.addr.String(), p.check.Name)
}

// start arms the first probe. It waits a random part of the jitter window, so that a fleet
// of targets configured together is not probed in one burst.
func (p *prober) start() {
	p.timerMu.Lock()
	defer p.timerMu.Unlock()
	p.timer = time.AfterFunc(p.firstWait(), p.tick)
}

// firstWait is how long the first probe waits: a random part of the jitter window.
func (p *prober) firstWait() time.Duration {
	return time.Duration(rand.Float64() * p.check.Jitter * float64(p.check.Interval))
}

// tick runs one probe, in the timer's goroutine, and arms the next one once it is done: at
// most one probe of a target is ever in flight.
func (p *prober) tick() {
	p.timerMu.Lock()
	if p.stopped {
		p.timerMu.Unlock()
		return
	}
	p.inflight.Add(1)
	p.timerMu.Unlock()
	defer p.inflight.Done()

	p.safeProbe()

	p.timerMu.Lock()
	if !p.stopped {
		p.timer.Reset(p.nextWait())
	}
	p.timerMu.Unlock()
}

// stop disarms the next probe, aborts the one in flight and waits until it has returned.
func (p *prober) stop() {
	p.timerMu.Lock()
	p.stopped = true
	p.timer.Stop()
	p.timerMu.Unlock()
	p.cancel()
	p.inflight.Wait()
}

// nextWait is the interval, moved at random by up to ±jitter of itself.
func (p *prober) nextWait() time.Duration {
	j := p.check.Jitter * (2*rand.Float64() - 1)
	// (j is spread evenly around 0, so 1 - j is drawn just as 1 + j: an equivalent mutant.)
	return time.Duration(float64(p.check.Interval) * (1 + j))
}

// safeProbe runs one probe; a panic in it is logged and counted, the verdict stays what it
// was and the next probe is armed as usual.
func (p *prober) safeProbe() {
	defer recoverLoop("prober")
	p.probeOnce(p.ctx)
}

func (p *prober) probeOnce(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, p.check.Timeout)
	defer cancel()
	start := time.Now()
	err := p.probe(pctx)
	latency := time.Since(start)
	if ctx.Err() != nil {
		return // shutting down: an aborted probe says nothing about the target
	}
	result := "ok"
	if err != nil {
		result = "fail"
	}
	probeDuration.WithLabelValues(p.check.Name, string(p.check.Kind), result).Observe(latency.Seconds())

	p.mu.Lock()
	from, changed := p.st.record(err, latency, time.Now(), p.check.Rise, p.check.Fall)
	to := p.st.state
	if changed {
		// Under the lock, so that whoever sees the new verdict (Ready, the health view)
		// sees its metrics too.
		transitions.WithLabelValues(p.addr.String(), p.check.Name, to.String()).Inc()
		if to == stateUp {
			targetUp.WithLabelValues(p.addr.String(), p.check.Name).Set(1)
		} else {
			targetUp.WithLabelValues(p.addr.String(), p.check.Name).Set(0)
		}
	}
	p.mu.Unlock()
	if !changed {
		return
	}
	p.logChange(from, to, err)
	probers.Lock()
	subs := make([]subscriber, 0, len(p.subs))
	for s := range p.subs {
		subs = append(subs, s)
	}
	probers.Unlock()
	for _, s := range subs {
		s.verdictChanged()
	}
	healthview.Notify()
}

func (p *prober) logChange(from, to state, err error) {
	ep := p.check.endpoint(p.addr)
	if to == stateDown {
		log.Warningf("%s (check %s, %s) is down: %s", p.addr, p.check.Name, ep, errText(err))
		return
	}
	log.Infof("%s (check %s, %s) is up (was %s)", p.addr, p.check.Name, ep, from)
}

// state returns the current verdict.
func (p *prober) state() state {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st.state
}

// verdict returns the current verdict as the replicas share it: the state, since when, and
// why the last probe failed.
func (p *prober) verdict() verdictOf {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := verdictOf{state: p.st.state, reason: p.st.lastErr}
	if n := len(p.st.transitions); n > 0 {
		v.since = p.st.transitions[n-1].At
	}
	if v.state != stateDown {
		v.reason = ""
	}
	return v
}

// view returns the prober's part of the health view.
func (p *prober) view() healthview.Target {
	p.mu.Lock()
	defer p.mu.Unlock()
	return healthview.Target{
		Address:     p.addr.String(),
		Check:       p.check.Name,
		Kind:        string(p.check.Kind),
		Endpoint:    p.check.endpoint(p.addr),
		State:       p.st.state.view(),
		LastCheck:   p.st.lastCheck,
		LastLatency: p.st.lastLatency,
		Probes:      p.st.probes.view(),
		LastError:   p.st.lastErr,
		Transitions: append([]healthview.Transition(nil), p.st.transitions...),
	}
}
