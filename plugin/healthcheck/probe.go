package healthcheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// maxBody bounds how much of an HTTP response a body match reads.
const maxBody = 64 << 10

// maxHeader bounds the status line and headers an HTTP probe reads (Go's default is 10 MB):
// a health endpoint has no business sending more, and a target must not be able to make
// every probe read megabytes.
const maxHeader = 16 << 10

// probeFunc performs one probe; nil means healthy. It must return when ctx ends.
type probeFunc func(ctx context.Context) error

// newProbe returns the probe of addr for ck. host is the Host header and TLS server name of
// HTTP(S) checks when the check does not set its own.
func newProbe(addr netip.Addr, ck *checkSpec, host string) (probeFunc, func()) {
	hostport := netip.AddrPortFrom(addr, uint16(ck.Port)).String()
	switch ck.Kind {
	case kindHTTP, kindHTTPS:
		return newHTTPProbe(hostport, ck, host)
	case kindDNS:
		return dnsProbe(hostport, ck), func() {}
	}
	return tcpProbe(hostport), func() {}
}

func tcpProbe(hostport string) probeFunc {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", hostport)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// newHTTPProbe returns the probe and a function that releases its transport. Keep-alives are
// off: every probe must open a fresh connection, or a server that stopped accepting would
// look healthy on an old one, and idle connections would outlive the plugin.
func newHTTPProbe(hostport string, ck *checkSpec, host string) (probeFunc, func()) {
	if ck.Host != "" {
		host = ck.Host
	}
	tr := &http.Transport{
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxHeader,
		TLSClientConfig:        &tls.Config{ServerName: host, InsecureSkipVerify: ck.Insecure}, //nolint:gosec // the operator asked for it
	}
	client := &http.Client{
		Transport: tr,
		// A redirect is an answer in its own right: judge it by the status range.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	url := string(ck.Kind) + "://" + hostport + ck.Path
	probe := func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if host != "" {
			req.Host = host
		}
		req.Header.Set("User-Agent", "coredns-healthcheck")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return fmt.Errorf("reading body: %w", err)
		}
		if resp.StatusCode < ck.StatusLo || resp.StatusCode > ck.StatusHi {
			return fmt.Errorf("status %d, want %s", resp.StatusCode, statusRange(ck))
		}
		if ck.Body != "" && !strings.Contains(string(body), ck.Body) {
			return fmt.Errorf("body does not contain %q", ck.Body)
		}
		return nil
	}
	return probe, tr.CloseIdleConnections
}

func statusRange(ck *checkSpec) string {
	if ck.StatusLo == ck.StatusHi {
		return strconv.Itoa(ck.StatusLo)
	}
	return strconv.Itoa(ck.StatusLo) + "-" + strconv.Itoa(ck.StatusHi)
}

func dnsProbe(hostport string, ck *checkSpec) probeFunc {
	client := &dns.Client{Net: "udp", Timeout: ck.Timeout}
	return func(ctx context.Context) error {
		m := new(dns.Msg)
		m.SetQuestion(ck.QueryName, ck.QueryType)
		r, _, err := client.ExchangeContext(ctx, m, hostport)
		if err != nil {
			return err
		}
		if r.Rcode != ck.Rcode {
			return fmt.Errorf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[ck.Rcode])
		}
		return nil
	}
}
