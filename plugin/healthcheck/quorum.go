package healthcheck

import (
	"net/netip"
	"strconv"
	"time"
)

// quorum is how many live replicas must see a target down for the answers to leave it out:
// a number, or majority (more than half of the live replicas that have a verdict on it).
type quorum int

const majority quorum = 0

// need is the number of down verdicts that make a target down when live replicas have a
// verdict on it. A fixed quorum larger than the replicas alive is capped at all of them: the
// last replica standing decides alone, as it does when etcd is out of reach, rather than
// keeping a dead server in the answers because its peers are gone.
func (q quorum) need(live int) int {
	if q == majority {
		return live/2 + 1
	}
	return min(int(q), live)
}

func (q quorum) String() string {
	if q == majority {
		return "majority"
	}
	return strconv.Itoa(int(q))
}

// targetID names a target across replicas: the address and the check's name. Replicas
// whose checks of one name differ (a port, a path) still vote on the same target.
type targetID struct {
	addr  netip.Addr
	check string
}

// verdictOf is one replica's verdict on a target: its state, since when, and why.
type verdictOf struct {
	state  state
	since  time.Time
	reason string
}

// effective returns the state a target's answers follow, given this replica's own verdict
// and the live verdicts of the others (keyed by replica; self's entry, if any, is ignored:
// the own verdict is always the current one). Only up and down verdicts count: a replica
// that has no verdict yet has no say, and a target nobody has a verdict on stays unknown.
func effective(own state, peers map[string]verdictOf, self string, q quorum) (st state, downs, live int) {
	if own != stateUnknown {
		live++
		if own == stateDown {
			downs++
		}
	}
	for name, v := range peers {
		if name == self || v.state == stateUnknown {
			continue
		}
		live++
		if v.state == stateDown {
			downs++
		}
	}
	switch {
	case live == 0:
		return own, 0, 0
	case downs >= q.need(live):
		return stateDown, downs, live
	}
	return stateUp, downs, live
}
