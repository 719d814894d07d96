package healthcheck

import (
	"time"
	"unicode/utf8"

	"github.com/steerdns/steerdns/plugin/internal/healthview"
)

// state is a target's verdict in the form the query path compares cheaply.
type state uint8

const (
	stateUnknown state = iota // no verdict yet
	stateUp
	stateDown
	stateDrained // an effective state only: an operator took the address out
)

func (s state) view() healthview.State {
	switch s {
	case stateUp:
		return healthview.Up
	case stateDown:
		return healthview.Down
	case stateDrained:
		return healthview.Drained
	}
	return healthview.Unknown
}

func (s state) String() string { return string(s.view()) }

// maxErr bounds the stored reason of a failed probe (shown by the health view and logged):
// a target controls that text (a status line, a TLS alert), and a huge one must not be kept,
// served or logged whole.
const maxErr = 256

// errText returns err's message cut to maxErr bytes, on a rune boundary, marked when cut.
func errText(err error) string {
	s := err.Error()
	if len(s) <= maxErr {
		return s
	}
	cut := maxErr - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// maxTransitions bounds the history kept per target for the health view.
const maxTransitions = 10

// status is a target's verdict and the evidence behind it.
type status struct {
	state       state
	okRun       int // consecutive successes
	failRun     int // consecutive failures
	lastCheck   time.Time
	lastLatency time.Duration
	lastErr     string
	transitions []healthview.Transition
	probes      history // the last results, for the console's plots
}

// record applies one probe result. The first result decides the state outright so that a
// fresh target gets a verdict (and the plugin becomes ready) after one probe; from then on a
// state changes only after rise consecutive successes or fall consecutive failures, which is
// what stops a flaky target from flapping in and out of the answers.
func (s *status) record(err error, latency time.Duration, now time.Time, rise, fall int) (from state, changed bool) {
	s.lastCheck, s.lastLatency = now, latency
	next := s.state
	if err == nil {
		s.lastErr = ""
		s.okRun, s.failRun = s.okRun+1, 0
		if s.state == stateUnknown || (s.state == stateDown && s.okRun >= rise) {
			next = stateUp
		}
	} else {
		s.lastErr = errText(err)
		s.okRun, s.failRun = 0, s.failRun+1
		if s.state == stateUnknown || (s.state == stateUp && s.failRun >= fall) {
			next = stateDown
		}
	}
	s.probes.add(now, latency, err == nil, next)
	if next == s.state {
		return s.state, false
	}
	from = s.state
	s.state = next
	s.transitions = append(s.transitions, healthview.Transition{At: now, From: from.view(), To: next.view()})
	// (>= would copy the same maxTransitions again at exactly the bound: an equivalent mutant.)
	if len(s.transitions) > maxTransitions {
		s.transitions = append(s.transitions[:0:0], s.transitions[len(s.transitions)-maxTransitions:]...)
	}
	return from, true
}
