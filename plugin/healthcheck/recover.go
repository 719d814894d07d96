package healthcheck

import "runtime/debug"

// recoverLoop, deferred around one unit of work of a background goroutine (a probe, a
// discovery, a publish), turns a panic into an error log and a count in panics_total. A
// panic there would otherwise end the whole DNS server; recovered, the unit's effect is
// lost, the last good state stays in force and the loop carries on.
func recoverLoop(loop string) {
	if r := recover(); r != nil {
		panics.WithLabelValues(loop).Inc()
		log.Errorf("recovered from a panic in the %s, keeping the last good state: %v\n%s", loop, r, debug.Stack())
	}
}
