package test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// Size of the flood, as in the report that found the problem: 1100 idle connections (from 50
// client addresses, 22 each) and 50 that send a 1 MiB header.
const (
	floodIdleClients = 50
	floodIdlePer     = 22
	floodBigHeaders  = 50
	floodHeaderBytes = 1 << 20
	floodEnvAddr     = "STEERDNS_CONSOLE_FLOOD_ADDR"
)

// floodFDHeadroom is what the server process may hold above its descriptors before the flood:
// the console's bound on connections (256) and some to spare. The test lowers the process's
// descriptor limit to its count before the flood plus floodFDLimit, so that an unbounded
// console runs out of descriptors as it did with a 1024 limit, and the DNS listeners and the
// probes with it.
const (
	floodFDHeadroom = 256 + 64
	floodFDLimit    = 600
)

// TestConsoleFlood floods the console and checks that what the console shares the process with
// keeps working: the DNS server answers over UDP and TCP, the health checks keep every healthy
// target up (a target marked down would be filtered from the answer), and the process's open
// descriptors stay bounded. The flood runs in a child process, so that /proc/self/fd counts the
// server's descriptors only, and the child stops by itself if this test dies.
func TestConsoleFlood(t *testing.T) {
	s := consoleStart(t, "")
	all := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}
	consoleWaitCats(t, s, all...)
	floodAnswers(t, s, all) // the baseline: the same checks pass before the flood

	before := openFDs(t)
	floodLimitFDs(t, before+floodFDLimit)
	stop := floodStart(t, strings.TrimSuffix(strings.TrimPrefix(s.url, "http://"), "/"))
	defer stop()

	// Probes run every 200 ms with fall 2: over three seconds a target that cannot be probed
	// (no descriptor to dial with) is marked down and leaves the answer. Every query in that
	// window must answer, over UDP and TCP, with all four targets.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		floodAnswers(t, s, all)
		if n := openFDs(t); n > before+floodFDHeadroom {
			t.Fatalf("%d open descriptors during the flood, %d before: the console holds more than its bound", n, before)
		}
	}

	// The flood's idle connections are closed by the header timeout; the console serves again
	// while the flooding client still runs.
	floodWaitConsole(t, s.url+"api/overrides")
	stop()
	if n := openFDs(t); n > before+floodFDHeadroom {
		t.Errorf("%d open descriptors after the flood, %d before", n, before)
	}
}

// floodAnswers checks that the DNS server answers over UDP and TCP with every address in want.
func floodAnswers(t *testing.T, s *consoleSetup, want []string) {
	t.Helper()
	for _, network := range []string{"udp", "tcp"} {
		m := new(dns.Msg)
		m.SetQuestion("cats.example.test.", dns.TypeA)
		r, err := harness.ExchangeMsg(network, s.srv.UDP, m)
		if network == "tcp" {
			r, err = harness.ExchangeMsg(network, s.srv.TCP, m)
		}
		if err != nil {
			t.Fatalf("query over %s while the console is flooded: %v", network, err)
		}
		got := harness.Addresses(r)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("over %s while the console is flooded: answer %v, want %v (a target marked down?)", network, got, want)
		}
	}
}

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// floodLimitFDs sets the process's soft descriptor limit to n for the rest of the test.
func floodLimitFDs(t *testing.T, n int) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if uint64(n) >= old.Cur {
		return // already tighter than the test needs
	}
	lim := old
	lim.Cur = uint64(n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// floodStart runs TestConsoleFloodClient in a child process against addr and waits until it
// has opened its connections. The returned stop ends it (and may be called more than once).
func floodStart(t *testing.T, addr string) (stop func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestConsoleFloodClient$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), floodEnvAddr+"="+addr)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		stdin.Close() // the child stops when its input closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	ready := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "flooding:") {
				ready <- l
			}
		}
		close(ready)
	}()
	select {
	case l, ok := <-ready:
		if !ok {
			stop()
			t.Fatal("the flooding process ended before it flooded")
		}
		t.Log(l)
	case <-time.After(2 * time.Minute):
		stop()
		t.Fatal("the flooding process did not flood within 2 minutes")
	}
	return stop
}

// floodWaitConsole polls url until the console answers 200.
func floodWaitConsole(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for start := time.Now(); time.Since(start) < consoleWait; time.Sleep(100 * time.Millisecond) {
		resp, err := client.Get(url)
		if err != nil {
			last = err.Error()
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return
		}
		last = resp.Status
	}
	t.Fatalf("the console did not recover from the flood within %s: %s", consoleWait, last)
}

// TestConsoleFloodClient is the flooding process of TestConsoleFlood; it does nothing unless
// that test starts it. It opens the idle connections and the large-header ones, says so, and
// holds them until its input closes or a minute passes, whichever is first.
func TestConsoleFloodClient(t *testing.T) {
	addr := os.Getenv(floodEnvAddr)
	if addr == "" {
		t.Skip("run by TestConsoleFlood")
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	refused := 0
	for i := range floodIdleClients {
		from := &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}
		for range floodIdlePer {
			c, err := (&net.Dialer{LocalAddr: from, Timeout: 5 * time.Second}).Dial("tcp", addr)
			if err != nil {
				refused++
				continue
			}
			conns = append(conns, c)
		}
	}
	header := "GET /api/overrides HTTP/1.1\r\nHost: " + addr + "\r\nX-Big: " + strings.Repeat("a", floodHeaderBytes) + "\r\n\r\n"
	for i := range floodBigHeaders {
		from := &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(i+1))}
		c, err := (&net.Dialer{LocalAddr: from, Timeout: 5 * time.Second}).Dial("tcp", addr)
		if err != nil {
			refused++
			continue
		}
		conns = append(conns, c)
		go func() {
			c.SetWriteDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, header) // the server stops reading long before the end
		}()
	}
	fmt.Println("flooding: " + strconv.Itoa(len(conns)) + " connections opened, " + strconv.Itoa(refused) + " refused")
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
}
