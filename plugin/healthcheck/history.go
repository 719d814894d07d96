package healthcheck

import (
	"time"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// historyLen is how many probe results a target keeps for the console's plots: a minute at
// the default 1 s interval, about 1 KiB per target (10 MB for 10,000 targets).
const historyLen = 64

// sample is one probe result, kept compact: thousands of targets each keep historyLen.
type sample struct {
	at      int64  // Unix milliseconds
	latency uint32 // microseconds, saturated
	ok      bool
	state   state // the verdict after this result
}

// history is a ring of the last historyLen probe results of one target.
type history struct {
	ring [historyLen]sample
	next int // where the next sample goes
	n    int // how many samples the ring holds
}

func (h *history) add(now time.Time, latency time.Duration, ok bool, st state) {
	us := latency.Microseconds()
	h.ring[h.next] = sample{at: now.UnixMilli(), latency: uint32(min(max(us, 0), 1<<32-1)), ok: ok, state: st}
	h.next = (h.next + 1) % historyLen
	h.n = min(h.n+1, historyLen)
}

// view returns the samples, oldest first, for the health view.
func (h *history) view() []healthview.Probe {
	out := make([]healthview.Probe, 0, h.n)
	for i := range h.n {
		s := h.ring[(h.next-h.n+i+historyLen)%historyLen]
		out = append(out, healthview.Probe{At: time.UnixMilli(s.at), Latency: time.Duration(s.latency) * time.Microsecond, OK: s.ok, State: s.state.view()})
	}
	return out
}
