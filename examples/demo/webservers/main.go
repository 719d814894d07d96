// Command webservers runs the demo's backends: one small web server per address, each
// answering with its own name ("server 1", "server 2", …), so that a client can tell which
// server DNS sent it to. A control listener stops and starts single servers for real (the
// listener closes: connections are refused), so health checks can be watched at work.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	addrs := flag.String("addrs", "127.0.0.2:8080,127.0.0.3:8080,127.0.0.4:8080,127.0.0.5:8080", "comma-separated listen addresses; the n-th is \"server n\"")
	control := flag.String("control", "127.0.0.1:8081", "address of the control API: POST /stop?server=N, POST /start?server=N")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var fleet []*server
	for i, addr := range strings.Split(*addrs, ",") {
		s := &server{name: fmt.Sprintf("server %d", i+1), addr: addr}
		if err := s.start(); err != nil {
			log.Fatal(err)
		}
		fleet = append(fleet, s)
	}
	ctl := &http.Server{Addr: *control, Handler: controlAPI(fleet), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := ctl.ListenAndServe(); err != nil && err != http.ErrServerClosed {
			log.Fatalf("control API on %s: %v", *control, err)
		}
	}()
	log.Printf("control: curl -X POST 'http://%s/stop?server=2' (and /start?server=2)", *control)

	<-ctx.Done()
	ctl.Close()
	for _, s := range fleet {
		s.stop()
	}
}

// server is one demo backend that can be stopped and started again.
type server struct {
	name, addr string

	mu  sync.Mutex
	srv *http.Server
}

func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", s.name, s.addr, err)
	}
	s.srv = &http.Server{Handler: answer(s.name), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	log.Printf("%s listening on http://%s/", s.name, s.addr)
	return nil
}

func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Close()
	s.srv = nil
	log.Printf("%s stopped", s.name)
}

func answer(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s (%s, Host: %s)\n", name, r.Context().Value(http.LocalAddrContextKey), r.Host)
	})
}

func controlAPI(fleet []*server) http.Handler {
	pick := func(w http.ResponseWriter, r *http.Request) *server {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return nil
		}
		n, err := strconv.Atoi(r.URL.Query().Get("server"))
		if err != nil || n < 1 || n > len(fleet) {
			http.Error(w, fmt.Sprintf("server must be 1 to %d", len(fleet)), http.StatusBadRequest)
			return nil
		}
		return fleet[n-1]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stop", func(w http.ResponseWriter, r *http.Request) {
		if s := pick(w, r); s != nil {
			s.stop()
			fmt.Fprintf(w, "%s stopped\n", s.name)
		}
	})
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		if s := pick(w, r); s != nil {
			if err := s.start(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintf(w, "%s started\n", s.name)
		}
	})
	return mux
}
