package test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// TestFullChainReloadLeaksNothing reloads a server with every steerdns plugin (override on
// etcd with its console, rrotate, weighted, healthcheck) 20 times, with a console event
// stream open across each reload, and checks that the goroutine count comes back to where it
// was: the console's listener and streams, the etcd watch and the probers all stop with the
// configuration that started them.
func TestFullChainReloadLeaksNothing(t *testing.T) {
	etcd := etcdtest.Start(t)
	web := harness.StartWeb(t, "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
	zone := etcdZone(t)
	port := harness.FreePort(t)
	api := fmt.Sprintf("http://127.0.0.1:%d", port)
	corefile := func(ttl int) string {
		return fmt.Sprintf(`example.test:0 {
    bind 127.0.0.1
    override {
        store etcd %s {
            prefix /reload/
        }
        console 127.0.0.1:%d
        ttl %d
        declare server2 cats.example.test 127.0.0.3 group cats
    }
    rrotate cats.example.test
    weighted {
        weight dogs.example.test 127.0.0.2 3 127.0.0.3 1
    }
    healthcheck cats.example.test {
        check web http port %d interval 100ms
        name cats.example.test 127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5
    }
    cache 30
    file %s
}`, etcd.Endpoint, port, ttl, web.Port, zone)
	}
	srv := harness.Start(t, corefile(5))
	overrideMust(t, "GET", api+"/api/overrides", "")
	// The baseline is taken once start-up has ended (first probes, the etcd watch, the
	// console's first connections), not after a guessed delay: a baseline taken while start-up
	// goroutines still run would hide as many leaked ones.
	before := harness.SettledGoroutines(t)

	var streams sync.WaitGroup
	for i := range 20 {
		// An event stream open across the reload: the old console must end it.
		resp, err := http.Get(api + "/api/events")
		if err != nil {
			t.Fatalf("reload %d: opening the event stream: %v", i, err)
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
		if err := srv.Reload(corefile(5 + i%2)); err != nil {
			t.Fatalf("reload %d: %v", i, err)
		}
		srv.Query(t, "cats.example.test", dns.TypeA)
	}
	ended := make(chan struct{})
	go func() { streams.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("event streams still open after the reloads that should have ended them")
	}

	// Still working after the reloads: an enable takes effect.
	overrideMust(t, "POST", api+"/api/overrides/server2/enable", "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := strings.Join(harness.Addresses(srv.Query(t, "cats.example.test", dns.TypeA)), " ")
		if got == "127.0.0.3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 20 reloads, enabling server2 left cats answering %s", got)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A few goroutines of the runtime and the HTTP client come and go.
	const tolerance = 3
	harness.AwaitGoroutines(t, before+tolerance)
}
