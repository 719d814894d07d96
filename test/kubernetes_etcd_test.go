package test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/etcdmain"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/steerdns/steerdns/test/harness"
)

// kubernetesEtcdMainEnv, set in the environment of this test binary, makes it run etcd
// (go.etcd.io/etcd/server/v3/etcdmain, the very release the manifests' image carries) with
// its arguments instead of the tests: the manifests' etcd flags run as a real etcd process.
const kubernetesEtcdMainEnv = "STEERDNS_TEST_RUN_ETCD"

func init() {
	if os.Getenv(kubernetesEtcdMainEnv) == "1" {
		etcdmain.Main(append([]string{"etcd"}, os.Args[1:]...))
		os.Exit(0)
	}
}

// kubernetesCerts is a CA of the test's own with the server and client certificates the
// manifests' Secrets would hold, each Secret as a directory of its keys (tls.crt, tls.key,
// ca.crt), and a client certificate from another CA that etcd must refuse.
type kubernetesCerts struct {
	Server, Client, Stranger string // directories standing in for the Secrets
}

// kubernetesMakeCerts writes the certificates, generated with crypto/x509 as make-certs.sh
// and cert-manager make them: ECDSA P-256, the server certificate for 127.0.0.1 and ::1 with
// server auth, the client certificate with client auth.
func kubernetesMakeCerts(t testing.TB) *kubernetesCerts {
	t.Helper()
	dir := t.TempDir()
	ca, caKey := kubernetesCA(t, "steerdns-etcd-ca")
	other, otherKey := kubernetesCA(t, "someone else's CA")
	c := &kubernetesCerts{Server: filepath.Join(dir, "server"), Client: filepath.Join(dir, "client"), Stranger: filepath.Join(dir, "stranger")}
	kubernetesIssue(t, c.Server, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "steerdns-etcd"},
		DNSNames:    []string{"steerdns-etcd", "steerdns-etcd.kube-system.svc"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	kubernetesIssue(t, c.Client, ca, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "steerdns-coredns"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	kubernetesIssue(t, c.Stranger, other, otherKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "steerdns-coredns"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
	// The stranger trusts the real CA, so that only its own certificate is wrong.
	caPEM, err := os.ReadFile(filepath.Join(c.Server, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.Stranger, "ca.crt"), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

var kubernetesSerial int64

// kubernetesCA returns a new self-signed CA certificate and its key.
func kubernetesCA(t testing.TB, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kubernetesSerial++
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(kubernetesSerial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// kubernetesIssue signs tmpl with the CA and writes dir/tls.crt, dir/tls.key and dir/ca.crt.
func kubernetesIssue(t testing.TB, dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, tmpl *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	kubernetesSerial++
	tmpl.SerialNumber = big.NewInt(kubernetesSerial)
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"tls.crt": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"tls.key": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		"ca.crt":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// kubernetesEtcd is the manifests' etcd running as a process on loopback.
type kubernetesEtcd struct {
	Host    string // the address that stands in for the steerdns-etcd Service IP
	Port    int    // client port
	Metrics int
	Args    []string
	cmd     *exec.Cmd
	out     *syncBuffer
}

// kubernetesStartEtcd runs the etcd container of the overlay's StatefulSet with its own
// arguments, changed only where this machine differs from a pod; each change is listed here:
//   - $(POD_NAME) and $(POD_NAMESPACE) get what the kubelet would give the first pod;
//   - the data volume's mount path becomes a temporary directory and the server Secret's
//     mount path certs.Server;
//   - the ports 2379, 2380 and 2381 become free ports, and the wildcard [::] becomes host
//     (127.0.0.1 or [::1]): loopback only.
//
// It waits until etcd's /health answers on the metrics port, as the readiness probe does.
func kubernetesStartEtcd(t testing.TB, objs []kubernetesObject, certs *kubernetesCerts, host string) *kubernetesEtcd {
	t.Helper()
	sts := kubernetesFind[appsv1.StatefulSet](t, objs, "steerdns-etcd")
	spec := &sts.Spec.Template.Spec
	c := &spec.Containers[0]
	e := &kubernetesEtcd{Host: host, Port: harness.FreePort(t), Metrics: harness.FreePort(t), out: &syncBuffer{}}
	peer := harness.FreePort(t)
	urlHost := host
	if strings.Contains(host, ":") {
		urlHost = "[" + host + "]"
	}
	repl := []string{
		"$(POD_NAME)", sts.Name + "-0",
		"$(POD_NAMESPACE)", sts.Namespace,
		"[::]", urlHost,
		":2379", fmt.Sprintf(":%d", e.Port),
		":2380", fmt.Sprintf(":%d", peer),
		":2381", fmt.Sprintf(":%d", e.Metrics),
	}
	for _, m := range c.VolumeMounts {
		local := t.TempDir()
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				local = certs.Server
			}
		}
		repl = append(repl, m.MountPath, local)
	}
	if host != "127.0.0.1" {
		repl = append(repl, "127.0.0.1", urlHost)
	}
	r := strings.NewReplacer(repl...)
	for _, a := range c.Args {
		e.Args = append(e.Args, r.Replace(a))
	}
	e.cmd = exec.Command(os.Args[0], e.Args...)
	e.cmd.Env = append(os.Environ(), kubernetesEtcdMainEnv+"=1")
	e.cmd.Stdout, e.cmd.Stderr = e.out, e.out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	health := fmt.Sprintf("http://%s/health", net.JoinHostPort(host, fmt.Sprint(e.Metrics)))
	kubernetesEventually(t, "etcd "+health+" is healthy", func() (bool, string) {
		code, body := kubernetesHTTP("GET", health, "")
		return code == http.StatusOK && strings.Contains(body, `"health":"true"`), fmt.Sprintf("%d %s\n%v\n%s", code, body, e.Args, e.out.String())
	})
	return e
}

// Stop ends etcd as the kubelet would (SIGTERM), killing it if it does not exit.
func (e *kubernetesEtcd) Stop() {
	if e.cmd.ProcessState != nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { e.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		e.cmd.Process.Kill()
		<-done
	}
}

// Links returns the Service link variables of the steerdns-etcd Service pointing at it.
func (e *kubernetesEtcd) Links() map[string]string {
	return map[string]string{"STEERDNS_ETCD_SERVICE_HOST": e.Host, "STEERDNS_ETCD_SERVICE_PORT": fmt.Sprint(e.Port)}
}

// Client returns an etcd client over TLS with the certificate in dir (a Secret stand-in),
// or with none when dir is "".
func (e *kubernetesEtcd) Client(t testing.TB, certs *kubernetesCerts, dir string) *clientv3.Client {
	t.Helper()
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(certs.Client, "ca.crt"))
	if err != nil || !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("CA: %v", err)
	}
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if dir != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{"https://" + net.JoinHostPort(e.Host, fmt.Sprint(e.Port))},
		TLS:         tc,
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// TestKubernetesEtcdRequiresClientCertificates runs each cluster overlay's etcd with its own
// flags and certificates made as the README makes them, and checks that it is authenticated:
// a client with the DNS pods' certificate reads and writes, one without a certificate or with
// a certificate from another CA is refused, plain HTTP is refused, and /health answers on the
// metrics port for the probes.
func TestKubernetesEtcdRequiresClientCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs etcd processes")
	}
	for _, overlay := range kubernetesClusterOverlays {
		t.Run(overlay, func(t *testing.T) {
			objs, _ := kubernetesClusterPod(t, overlay)
			certs := kubernetesMakeCerts(t)
			etcd := kubernetesStartEtcd(t, objs, certs, "127.0.0.1")

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := etcd.Client(t, certs, certs.Client).Put(ctx, "/steerdns/test", "x"); err != nil {
				t.Fatalf("with the DNS pods' client certificate: %v\n%s", err, etcd.out.String())
			}
			for what, dir := range map[string]string{"no client certificate": "", "a certificate from another CA": certs.Stranger} {
				short, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				_, err := etcd.Client(t, certs, dir).Get(short, "/steerdns/test")
				cancel()
				if err == nil {
					t.Errorf("etcd answered a client with %s", what)
				}
			}
			plain := fmt.Sprintf("http://%s/v3/kv/range", net.JoinHostPort(etcd.Host, fmt.Sprint(etcd.Port)))
			if code, body := kubernetesHTTP("POST", plain, ""); code == http.StatusOK {
				t.Errorf("etcd answered plain HTTP on its client port: %s", body)
			}
		})
	}
}
