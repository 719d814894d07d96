package console

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/steerdns/steerdns/test/freeport"
)

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8053": true, "localhost:8053": true, "[::1]:8053": true, "[::1]": true,
		"127.0.0.9": true, "0.0.0.0:8053": false, ":8053": false, "dns1:8053": false,
		"10.0.0.1:8053": false, "evil.example": false,
	} {
		if got := LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestConsoleSharing starts one listener for two server blocks on one store, refuses a
// second store on the same address, and frees the address on stop.
func TestConsoleSharing(t *testing.T) {
	addr := freeport.Addr(t)
	tab, other := newTestTable(t), newTestTable(t)
	if err := consoles.start(Config{Addr: addr}, tab, Block{}); err != nil {
		t.Fatal(err)
	}
	defer consoles.stop(addr)
	if err := consoles.start(Config{Addr: addr}, tab, Block{}); err != nil {
		t.Errorf("second server block on the same store: %v", err)
	}
	if err := consoles.start(Config{Addr: addr}, other, Block{}); err == nil || !strings.Contains(err.Error(), "already serves") {
		t.Errorf("second store on the same console: %v", err)
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/api/overrides", addr))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	consoles.stop(addr)
	if _, err := http.Get(fmt.Sprintf("http://%s/api/overrides", addr)); err == nil {
		t.Error("the console still answers after stop")
	}
}
