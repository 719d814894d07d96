package healthcheck

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// OnStartup starts (or joins) the probers of every listed target, and the discovery loop.
func (hc *HealthCheck) OnStartup() error {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if hc.running {
		return nil
	}
	hc.running = true
	hc.probers = map[targetKey]*prober{}
	hc.names = map[targetKey][]string{}
	hc.discovered = map[targetKey]*atomic.Int64{}
	// In name order, so that the name an HTTP check sends as Host (the first one that lists
	// an address) does not depend on map order.
	for _, name := range slices.Sorted(maps.Keys(hc.cfg.names)) {
		r := hc.cfg.names[name]
		for _, a := range r.primary {
			hc.addListed(targetKey{a, r.check}, name)
		}
		for _, a := range r.backup {
			hc.addListed(targetKey{a, r.check}, name)
		}
	}
	hc.now.Store(time.Now().Unix())
	hc.publish()
	hc.stop, hc.done = make(chan struct{}), make(chan struct{})
	if hc.cfg.discover != nil {
		go hc.discoverLoop(hc.stop, hc.done)
	} else {
		close(hc.done)
	}
	hc.unregister = healthview.Register(hc.view)
	return nil
}

// addListed joins the prober of k on behalf of name. hc.mu must be held.
func (hc *HealthCheck) addListed(k targetKey, name string) {
	hc.names[k] = append(hc.names[k], name)
	if _, ok := hc.probers[k]; ok {
		return
	}
	hc.probers[k] = acquire(k.addr, k.check, strings.TrimSuffix(name, "."), hc)
}

// OnShutdown stops the discovery loop and leaves every prober, which stops those no other
// instance uses. It waits for the goroutines it stops.
func (hc *HealthCheck) OnShutdown() error {
	hc.mu.Lock()
	if !hc.running {
		hc.mu.Unlock()
		return nil
	}
	hc.running = false
	hc.stopWindow()
	close(hc.stop)
	done, ps, unregister := hc.done, hc.probers, hc.unregister
	hc.probers, hc.discovered = map[targetKey]*prober{}, map[targetKey]*atomic.Int64{}
	hc.mu.Unlock()

	<-done
	unregister()
	for _, p := range ps {
		p.unsubscribe(hc)
	}
	return nil
}

// sweepEvery is how often the discovery loop advances the coarse clock and forgets targets
// that answers no longer carry.
func (hc *HealthCheck) sweepEvery() time.Duration {
	d := hc.cfg.expire / 4
	return min(max(d, 100*time.Millisecond), 30*time.Second)
}

// discoverLoop starts probers for addresses the query path reports, and stops those of
// discovered targets that no answer has carried for the expire time.
func (hc *HealthCheck) discoverLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(hc.sweepEvery())
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case d := <-hc.found:
			hc.discover(d)
		case now := <-tick.C:
			hc.now.Store(now.Unix())
			hc.expire(now)
		}
	}
}

func (hc *HealthCheck) discover(d discovery) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if !hc.running {
		return
	}
	if _, ok := hc.probers[d.key]; ok {
		return
	}
	owner := strings.ToLower(d.owner)
	seen := new(atomic.Int64)
	seen.Store(hc.now.Load())
	hc.probers[d.key] = acquire(d.key.addr, d.key.check, strings.TrimSuffix(owner, "."), hc)
	hc.discovered[d.key] = seen
	hc.names[d.key] = []string{owner}
	log.Infof("discovered %s in the answer for %s, probing it with check %s", d.key.addr, owner, d.key.check.Name)
	hc.publish()
	healthview.Notify()
}

func (hc *HealthCheck) expire(now time.Time) {
	cutoff := now.Add(-hc.cfg.expire).Unix()
	var gone []*prober
	hc.mu.Lock()
	for k, seen := range hc.discovered {
		if seen.Load() >= cutoff {
			continue
		}
		gone = append(gone, hc.probers[k])
		delete(hc.probers, k)
		delete(hc.discovered, k)
		delete(hc.names, k)
		log.Infof("forgetting %s (check %s): no answer carried it for %s", k.addr, k.check.Name, hc.cfg.expire)
	}
	if len(gone) > 0 {
		hc.publish()
	}
	hc.mu.Unlock()
	for _, p := range gone {
		p.unsubscribe(hc)
	}
	if len(gone) > 0 {
		healthview.Notify()
	}
}
