package test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/steerdns/steerdns/test/harness"
)

// weightedWaitSplit queries in runs of w until a run leads with want[address] answers each,
// or fails after a while. It polls because the weight file is re-read on a timer.
func weightedWaitSplit(t *testing.T, srv *harness.Server, w int, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Two runs: the first may straddle the moment the weights changed.
		weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", w, 3)
		got := weightedCount(weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", w, 3))
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("split is %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A weight file in the loadbalance format is picked up when it changes; a broken version
// keeps the last good weights; the Corefile can be reloaded with it in place.
func TestWeightedWeightFileReload(t *testing.T) {
	dir := t.TempDir()
	weights := filepath.Join(dir, "weights")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(weights, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("# as loadbalance reads it\ndogs.example.test\n127.0.0.2 3\n127.0.0.3 1\n")
	corefile := fmt.Sprintf(`example.test:0 {
    weighted {
        file %s
        reload 20ms
    }
    cache 30
    file %s
}`, weights, weightedZoneFile(t))
	srv := harness.Start(t, corefile)
	weightedWaitSplit(t, srv, 5, map[string]int{"127.0.0.2": 3, "127.0.0.3": 1, "127.0.0.4": 1})

	write("dogs.example.test\n127.0.0.2 1\n127.0.0.3 1\n127.0.0.4 2\n")
	weightedWaitSplit(t, srv, 4, map[string]int{"127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 2})

	const reloads = "coredns_weighted_weight_file_reloads_total"
	failed := map[string]string{"result": "error"}
	before := rotateWeightCounter(t, reloads, failed)
	write("dogs.example.test\n127.0.0.2 1\n127.0.0.3 one\n")
	// Wait for the watcher to have read the broken file (it counts a failed reload), then
	// check that the last good weights still serve.
	deadline := time.Now().Add(10 * time.Second)
	for rotateWeightCounter(t, reloads, failed) == before {
		if time.Now().After(deadline) {
			t.Fatal("the broken weight file was never reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	weightedWaitSplit(t, srv, 4, map[string]int{"127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 2})

	// A Corefile reload starts a new instance reading the file; the broken file stops it,
	// and the old instance keeps serving its weights.
	if err := srv.Reload(corefile); err == nil {
		t.Fatal("reload with a broken weight file succeeded")
	}
	weightedWaitSplit(t, srv, 4, map[string]int{"127.0.0.2": 1, "127.0.0.3": 1, "127.0.0.4": 2})

	write("dogs.example.test\n127.0.0.2 0\n")
	if err := srv.Reload(corefile); err != nil {
		t.Fatal(err)
	}
	weightedWaitSplit(t, srv, 2, map[string]int{"127.0.0.3": 1, "127.0.0.4": 1})
}
