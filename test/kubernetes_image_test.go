package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// TestKubernetesImage builds the image as `make image` does (examples/image/build.sh: podman,
// FROM scratch, no Docker, nothing pulled) and runs it with podman the way the pods run it:
// as its own non-root user, every capability dropped but NET_BIND_SERVICE, no privilege
// escalation, a read-only root filesystem, its Corefile mounted. It must show the stamped
// version, answer on port 53 over UDP and TCP as UID 65532, and answer /ready; then it is
// stopped and removed. The network is the host's, and every listener on a loopback address.
//
// Set STEERDNS_COREDNS_STATIC to a coredns binary built with CGO_ENABLED=0 to put it in the
// image instead of building one (the build compiles coredns: minutes when the cache is cold).
func TestKubernetesImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a container image")
	}
	kubernetesDeps(t, "podman", "runc", "libcap2-bin", "ca-certificates")
	suffix := make([]byte, 4)
	rand.Read(suffix)
	version := "v0.0.0-test-" + hex.EncodeToString(suffix)
	image := "localhost/steerdns/coredns-test:" + version

	build := exec.Command(filepath.Join(harness.RepoRoot(), "examples", "image", "build.sh"))
	build.Env = append(os.Environ(), "VERSION="+version, "IMAGE="+image)
	if bin := os.Getenv("STEERDNS_COREDNS_STATIC"); bin != "" {
		build.Env = append(build.Env, "COREDNS_BIN="+bin)
	}
	var out bytes.Buffer
	build.Stdout, build.Stderr = &out, &out
	if err := build.Run(); err != nil {
		t.Fatalf("examples/image/build.sh: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { exec.Command("podman", "rmi", "-f", image).Run() })
	if last := strings.TrimSpace(out.String()); !strings.HasSuffix(last, "\n"+image) && last != image {
		t.Errorf("build.sh's last line is not the image name %s:\n%s", image, last)
	}

	label := podman(t, "image", "inspect", "--format", `{{index .Labels "org.opencontainers.image.version"}} {{.Config.User}}`, image)
	if strings.TrimSpace(label) != version+" 65532:65532" {
		t.Errorf("image version label and user: %q, want %q", label, version+" 65532:65532")
	}

	run := kubernetesPodmanRun(t)
	got, err := exec.Command("podman", append(append([]string{"run", "--rm"}, run...), image, "-version")...).CombinedOutput()
	if err != nil {
		t.Skipf("podman cannot run a container on this machine: %v\n%s", err, got)
	}
	if !strings.Contains(string(got), "CoreDNS-1.15.0 (steerdns "+version+")") {
		t.Errorf("coredns -version in the image: %q, want the stamped %s", got, version)
	}

	// A loopback address of its own, so that port 53 is free whatever else runs here.
	b := make([]byte, 2)
	rand.Read(b)
	host := fmt.Sprintf("127.%d.%d.53", 100+b[0]%100, b[1])
	ready := harness.FreePort(t)
	dir := t.TempDir()
	corefile := fmt.Sprintf(`.:53 {
    bind %[1]s
    ready %[1]s:%[2]d
    file /etc/coredns/db.example.test example.test
}
`, host, ready)
	zone := `$ORIGIN example.test.
@ 30 IN SOA ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 30
@ 30 IN NS ns.example.test.
cats 30 IN A 192.0.2.2
`
	for name, data := range map[string]string{"Corefile": corefile, "db.example.test": zone} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	name := "steerdns-test-" + hex.EncodeToString(suffix)
	args := append([]string{"run", "-d", "--name", name}, run...)
	args = append(args, "-v", dir+":/etc/coredns:ro", image, "-conf", "/etc/coredns/Corefile")
	podman(t, args...)
	t.Cleanup(func() {
		exec.Command("podman", "rm", "-f", "-t", "5", name).Run()
	})

	addr := net.JoinHostPort(host, "53")
	kubernetesEventually(t, "the container answers on "+addr, func() (bool, string) {
		m := new(dns.Msg)
		m.SetQuestion("cats.example.test.", dns.TypeA)
		r, err := harness.ExchangeMsg("udp", addr, m)
		logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
		return err == nil, fmt.Sprintf("%v %v\n%s", err, r, logs)
	})
	for _, network := range []string{"udp", "tcp"} {
		m := harness.Exchange(t, network, addr, "cats.example.test.", dns.TypeA)
		if got := harness.Addresses(m); len(got) != 1 || got[0] != "192.0.2.2" {
			t.Errorf("cats.example.test over %s from the container: %v, want 192.0.2.2", network, got)
		}
	}
	url := fmt.Sprintf("http://%s/ready", net.JoinHostPort(host, fmt.Sprint(ready)))
	kubernetesEventually(t, "GET "+url+" is 200", func() (bool, string) {
		code, body := kubernetesHTTP("GET", url, "")
		return code == http.StatusOK, fmt.Sprintf("%d %s", code, body)
	})

	// The process itself, as the host sees it: not root.
	pid := strings.TrimSpace(podman(t, "inspect", "--format", "{{.State.Pid}}", name))
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) == 5 && (f[0] == "Uid:" || f[0] == "Gid:") {
			if f[1] != "65532" || f[2] != "65532" {
				t.Errorf("the container's coredns runs with %s: want 65532, not root", line)
			}
		}
	}

	podman(t, "stop", "-t", "10", name)
	podman(t, "rm", name)
	if out, err := exec.Command("podman", "container", "exists", name).CombinedOutput(); err == nil {
		t.Errorf("container %s still exists after rm: %s", name, out)
	}
}

// kubernetesPodmanRun returns the podman run options that make a container like the pods':
// the image's own user, host network, read-only root, no capability but NET_BIND_SERVICE, no
// privilege escalation. On these machines crun cannot set up cgroups ("cgroups in hybrid mode
// not supported") and podman's default ulimits exceed what the machine lets root raise, so
// runc is used when it is installed, with the machine's own ulimits.
func kubernetesPodmanRun(t testing.TB) []string {
	t.Helper()
	args := []string{"--network=host", "--read-only", "--cap-drop=ALL", "--cap-add=NET_BIND_SERVICE",
		"--security-opt=no-new-privileges", "--pull=never"}
	if _, err := exec.LookPath("runc"); err == nil {
		args = append(args, "--runtime=runc")
	}
	var nofile, nproc syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile) == nil {
		args = append(args, fmt.Sprintf("--ulimit=nofile=%d:%d", nofile.Cur, nofile.Cur))
	}
	if syscall.Getrlimit(6 /* RLIMIT_NPROC */, &nproc) == nil && nproc.Cur > 0 {
		args = append(args, fmt.Sprintf("--ulimit=nproc=%d:%d", min(nproc.Cur, 4096), min(nproc.Cur, 4096)))
	}
	return args
}

// podman runs podman with args and returns its standard output, failing the test with its
// output when it fails.
func podman(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "podman", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("podman %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// kubernetesDeps installs the Debian packages a test needs with .ci/deps, as `make deps`
// does for the others.
func kubernetesDeps(t testing.TB, pkgs ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(harness.RepoRoot(), ".ci", "deps"), pkgs...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf(".ci/deps %v: %v\n%s", pkgs, err, out)
	}
}

// TestKubernetesVersionUnstamped checks the fallback of coredns -version: a binary built
// without the version stamp (go build, as the tests build it; -buildvcs=false records no
// revision either) says "dev", never a version it is not. The stamped one is checked in the
// image by TestKubernetesImage.
func TestKubernetesVersionUnstamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the coredns binary")
	}
	out, err := exec.Command(harness.Binary(t), "-version").CombinedOutput()
	if err != nil {
		t.Fatalf("coredns -version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "CoreDNS-1.15.0 (steerdns dev") {
		t.Errorf("coredns -version of an unstamped build: %q, want CoreDNS-1.15.0 (steerdns dev...)", out)
	}
}
