package resolver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/steerdns/steerdns/test/harness"
)

// getentWait bounds one getent run: glibc gives up after timeout x attempts (2 s here).
const getentWait = 10 * time.Second

// Glibc runs glibc's resolver (getent) with an /etc/resolv.conf and an /etc/nsswitch.conf of
// the test's own, bind-mounted in a private mount namespace so that the machine's resolver
// configuration is untouched. nsswitch.conf says "hosts: dns", so that neither /etc/hosts nor
// a local daemon (systemd-resolved through nss-resolve, mDNS) answers instead of the server
// under test, and nscd's socket is hidden, so that no cache sits in between.
type Glibc struct {
	dir string // holds resolv.conf and nsswitch.conf
}

// NewGlibc returns a runner whose resolv.conf names nameserver (an IPv4 address; glibc asks
// its port 53). The test is skipped when this machine cannot give it a private mount namespace
// (unshare or mount refused with EPERM, as in an unprivileged container).
func NewGlibc(t testing.TB, nameserver string) *Glibc {
	t.Helper()
	if net.ParseIP(nameserver) == nil {
		t.Fatalf("nameserver %q: want an IP address (glibc always asks port 53)", nameserver)
	}
	g := &Glibc{dir: t.TempDir()}
	// A short timeout: a lost answer shows as an error within seconds, not minutes.
	conf := fmt.Sprintf("nameserver %s\noptions timeout:1 attempts:2\n", nameserver)
	for name, body := range map[string]string{"resolv.conf": conf, "nsswitch.conf": "hosts: dns\n"} {
		if err := os.WriteFile(filepath.Join(g.dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := g.run("cat", "/etc/resolv.conf")
	switch {
	case err != nil && notPermitted(out):
		t.Skipf("no private mount namespace here (unshare --mount and mount --bind need CAP_SYS_ADMIN): %s", out)
	case err != nil:
		t.Fatalf("running in a private mount namespace: %v\n%s", err, out)
	case out != conf:
		t.Fatalf("inside the namespace /etc/resolv.conf reads %q, want %q", out, conf)
	}
	return g
}

// AHosts runs `getent ahosts name` and returns the addresses glibc's getaddrinfo gives, each
// once, in glibc's order. A name glibc cannot resolve returns an error with getent's output.
func (g *Glibc) AHosts(t testing.TB, name string) ([]string, error) {
	t.Helper()
	out, err := g.run("getent", "ahosts", name)
	if err != nil {
		return nil, fmt.Errorf("getent ahosts %s: %w: %s", name, err, out)
	}
	return ahostsAddresses(out), nil
}

// run runs argv with the test's resolv.conf mounted over /etc/resolv.conf, in a mount
// namespace of its own that ends with the command, and returns its combined output.
func (g *Glibc) run(argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), getentWait)
	defer cancel()
	// The directory travels as an argument, never spliced into the script.
	args := append([]string{"--mount", "--propagation", "private", "sh", "-c", glibcScript, "sh", g.dir}, argv...)
	out, err := exec.CommandContext(ctx, "unshare", args...).CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("%v after %s", ctx.Err(), getentWait)
	}
	return string(out), err
}

// glibcScript mounts the test's files over the machine's, hides nscd, then runs the command.
const glibcScript = `set -e
mount --bind "$1/resolv.conf" /etc/resolv.conf
mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf
if [ -d /run/nscd ]; then mount -t tmpfs none /run/nscd; fi
shift
exec "$@"`

func notPermitted(out string) bool {
	return strings.Contains(out, "Operation not permitted") || strings.Contains(out, "Permission denied")
}

// ahostsAddresses reads getent ahosts output: "ADDRESS  STREAM name", then DGRAM and RAW
// lines for the same address.
func ahostsAddresses(out string) []string {
	var addrs []string
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		addrs = append(addrs, f[0])
	}
	return addrs
}

// StartCoreDNSOn53 starts CoreDNS from the Corefile that corefile returns for a loopback
// address, on port 53 of an address of 127.53.0.0/16 that nothing listens on, since glibc
// only ever asks port 53. It returns the server (stopped when the test ends) and the address.
// corefile must bind its server block to that address on port 53.
func StartCoreDNSOn53(t testing.TB, corefile func(ip string) string) (*harness.Server, string) {
	t.Helper()
	var err error
	for range 20 {
		ip := fmt.Sprintf("127.53.%d.%d", rand.IntN(256), 1+rand.IntN(254))
		// CoreDNS listens with SO_REUSEPORT and would share a port in use without an error:
		// check that the address is free with listeners that do not.
		if !free53(ip) {
			continue
		}
		var srv *harness.Server
		if srv, err = harness.StartErr(corefile(ip)); err == nil {
			t.Cleanup(srv.Stop)
			return srv, ip
		}
	}
	t.Fatalf("no CoreDNS on port 53 of a free 127.53.x.y address: %v", err)
	return nil, ""
}

func free53(ip string) bool {
	addr := net.JoinHostPort(ip, "53")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
