// Package resolver puts real DNS clients in front of a test's CoreDNS: Debian's unbound as the
// caching resolver that production clients sit behind, and glibc's stub resolver (getent) in a
// private mount namespace. Integration tests use it to check what a user sees through them,
// TTLs and caching included, rather than what a query straight to CoreDNS answers.
package resolver

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/freeport"
	"github.com/steerdns/steerdns/test/harness"
)

// startWait bounds how long unbound may take to answer its first query. Generous: the machine
// running the tests is shared.
const startWait = 15 * time.Second

// Unbound is a running unbound with a stub zone pointing at a test's CoreDNS.
type Unbound struct {
	Addr string // 127.0.0.1:PORT, UDP and TCP

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *syncBuffer
}

// StartUnbound starts unbound on a free loopback port, resolving zone (such as "example.test")
// by asking upstream (host:port of the test's CoreDNS) and nothing else, and stops it when the
// test ends. Its log goes to the test log when the test fails.
//
// The configuration is the one a default caching resolver runs with, minus what would hide
// the upstream's behaviour: no DNSSEC validation (module-config "iterator"), no prefetching,
// no serving of expired records, no TTL floor or ceiling below a day, no query-name
// minimisation, no reordering of RRsets. A cached record is served until its TTL runs out,
// with one-second granularity, as in production.
//
// Without an unbound binary the test is skipped (`./.ci/deps unbound` installs it), unless
// the CI environment variable is set: there a missing resolver is a failure.
func StartUnbound(t testing.TB, zone, upstream string) *Unbound {
	t.Helper()
	bin := unboundBinary(t)
	dir := t.TempDir()
	var err error
	for range 5 { // a port chosen free may be taken before unbound binds it: try another
		var u *Unbound
		if u, err = startUnbound(t, bin, dir, zone, upstream); err == nil {
			return u
		}
	}
	t.Fatalf("starting unbound: %v", err)
	return nil
}

func unboundBinary(t testing.TB) string {
	t.Helper()
	bin, err := lookUnbound()
	if err == nil {
		return bin
	}
	if os.Getenv("CI") == "" {
		t.Skipf("%v: `./.ci/deps unbound` (or `make deps`) installs it; the tests through a resolver need it", err)
	}
	t.Fatalf("CI is set but %v: `./.ci/deps unbound` installs it", err)
	return ""
}

// lookUnbound finds unbound in PATH or where Debian puts it (/usr/sbin is not in every PATH).
func lookUnbound() (string, error) {
	for _, p := range []string{"unbound", "/usr/sbin/unbound"} {
		if bin, err := exec.LookPath(p); err == nil {
			return bin, nil
		}
	}
	return "", errors.New("unbound not found in PATH nor in /usr/sbin")
}

func startUnbound(t testing.TB, bin, dir, zone, upstream string) (*Unbound, error) {
	t.Helper()
	port := freeport.Port(t)
	conf := filepath.Join(dir, "unbound.conf")
	body, err := unboundConfig(dir, port, zone, upstream)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return nil, err
	}
	u := &Unbound{
		Addr: fmt.Sprintf("127.0.0.1:%d", port),
		cmd:  exec.Command(bin, "-d", "-c", conf),
		done: make(chan struct{}),
		log:  &syncBuffer{},
	}
	u.cmd.Stdout, u.cmd.Stderr = u.log, u.log
	if err := u.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { u.cmd.Wait(); close(u.done) }()
	if err := u.awaitReady(); err != nil {
		u.stop()
		return nil, fmt.Errorf("%w\nunbound.conf:\n%s\nunbound's log:\n%s", err, body, u.log)
	}
	t.Cleanup(func() {
		u.stop()
		if t.Failed() {
			t.Logf("unbound's log:\n%s", u.log)
		}
	})
	return u, nil
}

// unboundConfig is unbound.conf for one test. Each setting that differs from Debian's default
// says why.
func unboundConfig(dir string, port int, zone, upstream string) (string, error) {
	host, upPort, err := net.SplitHostPort(upstream)
	if err != nil {
		return "", fmt.Errorf("upstream %q: %w", upstream, err)
	}
	zone = dns.Fqdn(zone)
	return fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %d
    do-ip6: no
    do-daemonize: no
    use-systemd: no
    username: ""
    chroot: ""
    directory: "%s"
    pidfile: ""
    logfile: ""
    use-syslog: no
    verbosity: 1
    num-threads: 1
    so-reuseport: no
    outgoing-interface: 127.0.0.1
    outgoing-range: 64
    access-control: 127.0.0.0/8 allow
    # The test's CoreDNS runs on loopback, which unbound refuses to query by default.
    do-not-query-localhost: no
    # No DNSSEC validation: the test zone is not signed and has no trust anchor.
    module-config: "iterator"
    # The TTLs the upstream gives are the ones served: these are what the tests measure.
    cache-min-ttl: 0
    cache-max-ttl: 86400
    prefetch: no
    serve-expired: no
    # One query to the upstream per name, not one per label.
    qname-minimisation: no
    # The upstream's order is kept, so that a test sees the order CoreDNS chose.
    rrset-roundrobin: no
    # test. is one of unbound's built-in empty zones (RFC 6761): let the stub zone answer.
    local-zone: "test." nodefault
    domain-insecure: "test."

remote-control:
    control-enable: no

stub-zone:
    name: "%s"
    stub-addr: %s@%s
`, port, dir, zone, host, upPort), nil
}

// awaitReady waits until unbound answers on its port. It asks for localhost., which unbound
// answers itself, so that the test's CoreDNS sees no query and unbound's cache stays empty.
func (u *Unbound) awaitReady() error {
	m := new(dns.Msg)
	m.SetQuestion("localhost.", dns.TypeA)
	deadline := time.Now().Add(startWait)
	for time.Now().Before(deadline) {
		select {
		case <-u.done:
			return errors.New("unbound exited at start")
		default:
		}
		if r, err := harness.ExchangeMsg("udp", u.Addr, m); err == nil && r.Rcode == dns.RcodeSuccess {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("unbound did not answer on %s within %s", u.Addr, startWait)
}

// stop ends unbound: SIGTERM, then SIGKILL if it has not exited after 5 s.
func (u *Unbound) stop() {
	select {
	case <-u.done:
		return
	default:
	}
	u.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-u.done:
	case <-time.After(5 * time.Second):
		u.cmd.Process.Kill()
		<-u.done
	}
}

// Query asks unbound one question over UDP (recursion desired) and returns its answer.
func (u *Unbound) Query(t testing.TB, name string, qtype uint16) *dns.Msg {
	t.Helper()
	return harness.Exchange(t, "udp", u.Addr, name, qtype)
}

// syncBuffer collects a process's output, which its goroutines write while a test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
