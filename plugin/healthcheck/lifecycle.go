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
	hc.joinShared()
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

// joinShared joins the cluster of the etcd line, or the process's local drains, and offers
// its drains to the health view's entry points. hc.mu must be held.
func (hc *HealthCheck) joinShared() {
	var drainer healthview.Drainer = localDrains
	hc.book = localDrains.drainBook
	if hc.cfg.shared != nil {
		hc.cl = joinCluster(hc.cfg.shared)
		hc.book, drainer = hc.cl.book, hc.cl
	}
	hc.book.subscribe(hc)
	hc.unregisterDrains = healthview.RegisterDrainer(drainer)
}

// leaveShared undoes joinShared; the last instance of a cluster stops it.
func (hc *HealthCheck) leaveShared() {
	hc.unregisterDrains()
	hc.book.unsubscribe(hc)
	if hc.cl != nil {
		hc.cl.leave(hc)
	}
}

// sharedChanged publishes again because the other replicas' verdicts, the drains or the
// store's reachability changed: at once when urgent, otherwise now or at the end of the
// throttle window.
func (hc *HealthCheck) sharedChanged(urgent bool) {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	switch {
	case !hc.running:
	case urgent:
		hc.publish()
	default:
		hc.schedulePublish()
	}
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
	hc.leaveShared()
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

// maxBatch bounds how many reports the discovery loop takes in before it publishes, so that
// a stop or a sweep is not held up by a flood of reports.
const maxBatch = 256

// discoverLoop starts probers for addresses the query path reports, and stops those of
// discovered targets that no answer has carried for the expire time. New targets are
// published in batches (and at most once per publish window), not once per address: under
// a flood of new addresses each publish would copy every target.
func (hc *HealthCheck) discoverLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(hc.sweepEvery())
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case d := <-hc.found:
			hc.discoverBatch(d)
		case now := <-tick.C:
			hc.now.Store(now.Unix())
			hc.sweep(now)
		}
	}
}

// discoverBatch takes in d and the reports already waiting behind it, then publishes once.
func (hc *HealthCheck) discoverBatch(d discovery) {
	added := hc.safeDiscover(d)
	for range maxBatch - 1 {
		select {
		case d := <-hc.found:
			added = hc.safeDiscover(d) || added
			continue
		default:
		}
		break
	}
	if !added {
		return
	}
	hc.mu.Lock()
	if hc.running {
		hc.schedulePublish()
	}
	hc.mu.Unlock()
	healthview.Notify()
}

// safeDiscover is discover with a panic logged, counted and survived.
func (hc *HealthCheck) safeDiscover(d discovery) (added bool) {
	defer recoverLoop("discovery")
	return hc.discover(d)
}

// discover starts probing d's address unless it is probed already or max_discovered
// targets are; it reports whether it started a prober.
func (hc *HealthCheck) discover(d discovery) bool {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	if !hc.running {
		return false
	}
	if _, ok := hc.probers[d.key]; ok {
		return false
	}
	if len(hc.discovered) >= hc.cfg.maxFound {
		discoveryDropped.WithLabelValues(d.key.check.Name).Inc()
		if !hc.capLogged {
			hc.capLogged = true
			log.Warningf("not probing %s (in the answer for %s) nor other new addresses: max_discovered %d targets are probed already",
				d.key.addr, d.owner, hc.cfg.maxFound)
		}
		return false
	}
	owner := strings.ToLower(d.owner)
	seen := new(atomic.Int64)
	seen.Store(hc.now.Load())
	hc.probers[d.key] = acquire(d.key.addr, d.key.check, strings.TrimSuffix(owner, "."), hc)
	hc.discovered[d.key] = seen
	hc.names[d.key] = []string{owner}
	log.Infof("discovered %s in the answer for %s, probing it with check %s", d.key.addr, owner, d.key.check.Name)
	return true
}

// sweep is expire with a panic logged, counted and survived.
func (hc *HealthCheck) sweep(now time.Time) {
	defer recoverLoop("discovery")
	hc.expire(now)
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
		// discover never goes beyond maxFound, so with one forgotten there is room again:
		// log again when the cap is reached again.
		hc.capLogged = false
		hc.publish()
	}
	hc.mu.Unlock()
	for _, p := range gone {
		p.unsubscribe(hc)
	}
	// (>= 0 would also wake the console's viewers when nothing went, to read the same view:
	// no test can tell that from another instance's change, so it is left as equivalent.)
	if len(gone) > 0 {
		healthview.Notify()
	}
}
