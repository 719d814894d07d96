package healthcheck

import (
	"testing"
	"time"
)

func TestQuorumNeed(t *testing.T) {
	tests := []struct {
		q          quorum
		live, want int
	}{
		{majority, 1, 1}, {majority, 2, 2}, {majority, 3, 2}, {majority, 4, 3}, {majority, 5, 3},
		{2, 3, 2}, {2, 5, 2}, {3, 3, 3},
		// A fixed quorum above the live replicas is capped: the survivors decide.
		{2, 1, 1}, {5, 3, 3},
		{1, 3, 1},
	}
	for _, tc := range tests {
		if got := tc.q.need(tc.live); got != tc.want {
			t.Errorf("quorum %s with %d live: need %d, want %d", tc.q, tc.live, got, tc.want)
		}
	}
}

func TestQuorumString(t *testing.T) {
	if majority.String() != "majority" || quorum(2).String() != "2" {
		t.Errorf("quorum strings %q %q", majority, quorum(2))
	}
}

// TestEffective: the cases an operator meets with three replicas and quorum 2.
func TestEffective(t *testing.T) {
	v := func(s state) verdictOf { return verdictOf{state: s, since: time.Unix(1, 0)} }
	tests := []struct {
		name        string
		own         state
		peers       map[string]verdictOf
		q           quorum
		want        state
		downs, live int
	}{
		{"one of three sees it down: kept", stateDown, map[string]verdictOf{"b": v(stateUp), "c": v(stateUp)}, 2, stateUp, 1, 3},
		{"another sees it down: kept here too", stateUp, map[string]verdictOf{"b": v(stateUp), "c": v(stateDown)}, 2, stateUp, 1, 3},
		{"two of three: down everywhere", stateUp, map[string]verdictOf{"b": v(stateDown), "c": v(stateDown)}, 2, stateDown, 2, 3},
		{"two of three, this one among them", stateDown, map[string]verdictOf{"b": v(stateDown), "c": v(stateUp)}, 2, stateDown, 2, 3},
		{"the dead replica's verdict is gone", stateUp, map[string]verdictOf{"b": v(stateDown)}, 2, stateUp, 1, 2},
		{"alone, own verdict", stateDown, nil, 2, stateDown, 1, 1},
		{"alone and up", stateUp, nil, 2, stateUp, 0, 1},
		{"no verdict anywhere", stateUnknown, nil, 2, stateUnknown, 0, 0},
		{"no own verdict yet: the others decide", stateUnknown, map[string]verdictOf{"b": v(stateDown), "c": v(stateDown)}, 2, stateDown, 2, 2},
		{"no own verdict yet, others up", stateUnknown, map[string]verdictOf{"b": v(stateUp)}, 2, stateUp, 0, 1},
		{"an unknown peer has no say", stateUp, map[string]verdictOf{"b": v(stateUnknown), "c": v(stateDown)}, 2, stateUp, 1, 2},
		{"an unknown peer does not lower the quorum", stateDown, map[string]verdictOf{"b": v(stateUnknown), "c": v(stateDown)}, 2, stateDown, 2, 2},
		{"own key echoed back is ignored", stateUp, map[string]verdictOf{"a": v(stateDown), "b": v(stateDown)}, 2, stateUp, 1, 2},
		{"majority of four needs three", stateDown, map[string]verdictOf{"b": v(stateDown), "c": v(stateUp), "d": v(stateUp)}, majority, stateUp, 2, 4},
		{"majority of four reached", stateDown, map[string]verdictOf{"b": v(stateDown), "c": v(stateDown), "d": v(stateUp)}, majority, stateDown, 3, 4},
		{"quorum 1: any one", stateUp, map[string]verdictOf{"b": v(stateDown), "c": v(stateUp)}, 1, stateDown, 1, 3},
	}
	for _, tc := range tests {
		got, downs, live := effective(tc.own, tc.peers, "a", tc.q)
		if got != tc.want || downs != tc.downs || live != tc.live {
			t.Errorf("%s: effective = %s (%d down of %d live), want %s (%d of %d)", tc.name, got, downs, live, tc.want, tc.downs, tc.live)
		}
	}
}

func TestParseVerdictKey(t *testing.T) {
	tests := []struct {
		key, addr, check, replica string
		ok                        bool
	}{
		{"127.0.0.2/web/a", "127.0.0.2", "web", "a", true},
		{"2001:db8::1/web/dns-1.example", "2001:db8::1", "web", "dns-1.example", true},
		{"127.0.0.2/a/b/c", "127.0.0.2", "a/b", "c", true},
		{"::ffff:127.0.0.2/web/a", "127.0.0.2", "web", "a", true},
		{"127.0.0.2/web/", "", "", "", false},
		{"127.0.0.2//a", "", "", "", false},
		{"127.0.0.2/web", "", "", "", false},
		{"/web/a", "", "", "", false},
		{"nonsense/web/a", "", "", "", false},
		{"", "", "", "", false},
	}
	for _, tc := range tests {
		id, replica, ok := parseVerdictKey(tc.key)
		if ok != tc.ok || ok && (id.addr.String() != tc.addr || id.check != tc.check || replica != tc.replica) {
			t.Errorf("parseVerdictKey(%q) = %v %q %q %t, want %s %s %s %t", tc.key, id.addr, id.check, replica, ok, tc.addr, tc.check, tc.replica, tc.ok)
		}
	}
}

func TestParseState(t *testing.T) {
	for s, want := range map[string]state{"up": stateUp, "down": stateDown, "unknown": stateUnknown, "drained": stateUnknown, "": stateUnknown} {
		if got := parseState(s); got != want {
			t.Errorf("parseState(%q) = %s, want %s", s, got, want)
		}
	}
}
