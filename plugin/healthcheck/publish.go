package healthcheck

import "time"

// publishWindow is the shortest time between two snapshots published for verdict changes.
// A snapshot holds every target, so with thousands of targets one publish per change made a
// wave of changes (a start, a network outage) cost time quadratic in the targets; within a
// window, changes are gathered into one publish at its end. A lone change is published at
// once.
const publishWindow = 100 * time.Millisecond

// verdictChanged implements subscriber: publish a snapshot with the new verdict, now or at
// the end of the current throttle window.
func (hc *HealthCheck) verdictChanged() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.schedulePublish()
}

// schedulePublish publishes now, or at the end of the current throttle window if one is
// open. hc.mu must be held.
func (hc *HealthCheck) schedulePublish() {
	if hc.republish != nil {
		hc.dirty = true
		return
	}
	hc.publish()
	if hc.running {
		hc.republish = time.AfterFunc(publishWindow, hc.endWindow)
	}
}

// endWindow publishes the changes of the window that ends, and opens a new window if there
// were any, so that a steady stream of changes is published once per window.
func (hc *HealthCheck) endWindow() {
	hc.mu.Lock()
	defer hc.mu.Unlock()
	hc.republish = nil
	if !hc.dirty || !hc.running {
		return
	}
	hc.dirty = false
	hc.publish()
	hc.republish = time.AfterFunc(publishWindow, hc.endWindow)
}

// stopWindow ends the throttle window without publishing. hc.mu must be held.
func (hc *HealthCheck) stopWindow() {
	if hc.republish != nil {
		hc.republish.Stop()
		hc.republish = nil
	}
	hc.dirty = false
}
