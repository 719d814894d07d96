// Command webservers runs the demo's backends: one small web server per address, each
// answering with its own name ("server 1", "server 2", …), so that a client can tell which
// server DNS sent it to.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	addrs := flag.String("addrs", "127.0.0.2:8080,127.0.0.3:8080,127.0.0.4:8080,127.0.0.5:8080", "comma-separated listen addresses; the n-th is \"server n\"")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var servers []*http.Server
	for i, addr := range strings.Split(*addrs, ",") {
		name := fmt.Sprintf("server %d", i+1)
		srv := &http.Server{Addr: addr, Handler: answer(name), ReadHeaderTimeout: 5 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
				log.Fatalf("%s on %s: %v", name, addr, err)
			}
		}()
		log.Printf("%s listening on http://%s/", name, addr)
	}
	<-ctx.Done()
	for _, srv := range servers {
		srv.Close()
	}
}

func answer(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s (%s, Host: %s)\n", name, r.Context().Value(http.LocalAddrContextKey), r.Host)
	})
}
