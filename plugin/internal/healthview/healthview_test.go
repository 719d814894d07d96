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

// TestVersionGrows: each change gives a higher version, so a viewer can tell whether what
// it shows is current.
func TestVersionGrows(t *testing.T) {
	v1, _ := Changed()
	Notify()
	v2, _ := Changed()
	Notify()
	v3, _ := Changed()
	if !(v1 < v2 && v2 < v3) {
		t.Fatalf("versions %d, %d, %d after two changes, want them growing", v1, v2, v3)
	}
}

// TestRegisterTwice: two registrations of the same provider are two entries, and removing
// one leaves the other.
func TestRegisterTwice(t *testing.T) {
	p := func() []Target { return []Target{{Address: "127.0.0.9", Check: "twice"}} }
	a, b := Register(p), Register(p)
	defer b()
	if got := len(Snapshot()); got != 2 {
		t.Fatalf("%d targets with the provider registered twice, want 2", got)
	}
	a()
	if got := len(Snapshot()); got != 1 {
		t.Fatalf("%d targets after one of two registrations was removed, want 1", got)
	}
}
