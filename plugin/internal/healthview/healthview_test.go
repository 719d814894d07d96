package healthview

import (
	"testing"
	"time"
)

func TestRegisterSnapshotUnregister(t *testing.T) {
	v0, ch := Changed()
	unregister := Register(func() []Target {
		return []Target{{Address: "127.0.0.2", Check: "web", Kind: "http", State: Up}}
	})
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("Register did not signal a change")
	}
	if v, _ := Changed(); v <= v0 {
		t.Fatalf("version did not advance: %d <= %d", v, v0)
	}
	got := Snapshot()
	if len(got) != 1 || got[0].Address != "127.0.0.2" || got[0].State != Up {
		t.Fatalf("Snapshot = %+v, want the one registered target", got)
	}
	unregister()
	unregister() // second call must be harmless
	if got := Snapshot(); len(got) != 0 {
		t.Fatalf("Snapshot after unregister = %+v, want none", got)
	}
}

func TestNotifyWakesEveryWaiter(t *testing.T) {
	_, a := Changed()
	_, b := Changed()
	Notify()
	for i, ch := range []<-chan struct{}{a, b} {
		select {
		case <-ch:
		case <-time.After(time.Second):
			t.Fatalf("waiter %d not woken", i)
		}
	}
}
