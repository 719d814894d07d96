// Command fetch is curl for the demo: it resolves the URL's host through a chosen DNS server
// (the demo's coredns on 127.0.0.1:1053 by default, which the system resolver does not know)
// and fetches the URL from the first address of the answer, as most clients do.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/miekg/dns"
)

func main() {
	server := flag.String("dns", "127.0.0.1:1053", "DNS server to resolve through")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: fetch [-dns host:port] URL\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	client := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, port, err := net.SplitHostPort(addr)
				if err != nil {
					return nil, err
				}
				ip, err := firstAddress(*server, host)
				if err != nil {
					return nil, err
				}
				var d net.Dialer
				return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
			},
		},
	}
	resp, err := client.Get(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fetch:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
}

// firstAddress asks server for host's A record and returns the first address in the order
// of the answer. (Go's own resolver would sort the addresses, hiding what DNS chose.)
func firstAddress(server, host string) (string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(host), dns.TypeA)
	r, err := dns.Exchange(m, server)
	if err != nil {
		return "", fmt.Errorf("asking %s for %s: %w", server, host, err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String(), nil
		}
	}
	return "", fmt.Errorf("%s has no address for %s (%s)", server, host, dns.RcodeToString[r.Rcode])
}
