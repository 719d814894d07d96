package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steerdns/steerdns/test/harness"
)

// TestWeightedFileRelativeToRoot gives the weight file as a bare name: it is read from the
// directory of the root plugin, as the README says (and as hosts and file do).
func TestWeightedFileRelativeToRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "weights"), []byte("dogs.example.test\n127.0.0.2 3\n127.0.0.3 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	zone := weightedZoneFile(t)
	srv := harness.Start(t, fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    root %s
    weighted {
        file weights
        only 1
    }
    file %s
}`, root, zone))
	got := weightedCount(weightedLeaders(t, "udp", srv.UDP, "dogs.example.test.", 10, 1))
	if want := map[string]int{"127.0.0.2": 6, "127.0.0.3": 2, "127.0.0.4": 2}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("over 10 answers led %v, want %v (weights 3:1:1 from root/weights)", got, want)
	}

	// Without the file under root, the server does not start, and says which file it missed.
	bad, err := harness.StartErr(fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    root %s
    weighted {
        file nosuch
    }
    file %s
}`, root, zone))
	if err == nil {
		bad.Stop()
		t.Fatal("started without its weight file")
	}
	if want := filepath.Join(root, "nosuch"); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
}
