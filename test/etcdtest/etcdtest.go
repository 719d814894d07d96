// Package etcdtest runs a real, single-member etcd server inside the test process, so that
// tests of the shared override store talk to etcd itself rather than to a fake. It embeds
// go.etcd.io/etcd/server/v3 at the version of the client CoreDNS brings, which needs no
// binary on the machine. Only tests import it, so the coredns binary never links a server.
package etcdtest

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"github.com/steerdns/steerdns/test/freeport"
)

// startTimeout bounds how long a start may take before the test fails; a single member
// elects itself at once, so this only matters on a badly overloaded machine.
const startTimeout = 60 * time.Second

// Server is a running (or stopped) etcd member listening on 127.0.0.1.
type Server struct {
	// Endpoint is the client URL, for instance http://127.0.0.1:40123. It stays the same
	// across Stop and Start, so that clients reconnect to the restarted server.
	Endpoint string

	dir    string
	client url.URL
	peer   url.URL
	tls    transport.TLSInfo
	limits Limits

	mu   sync.Mutex
	etcd *embed.Etcd
}

// Start runs a new etcd with its data in a temporary directory and stops it when the test
// ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t, transport.TLSInfo{}, Limits{})
}

// StartTLS runs a new etcd that serves clients over TLS with the certificate and key given, and
// requires every client to present a certificate signed by the CA in caFile.
func StartTLS(t testing.TB, certFile, keyFile, caFile string) *Server {
	t.Helper()
	return start(t, transport.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: caFile, ClientCertAuth: true}, Limits{})
}

// Limits are etcd's bounds on what clients write, as an operator sets them with its flags; a
// zero field keeps etcd's default.
type Limits struct {
	MaxRequestBytes   uint  // --max-request-bytes: the largest request
	MaxTxnOps         uint  // --max-txn-ops: the most operations in one transaction
	QuotaBackendBytes int64 // --quota-backend-bytes: the space quota
}

// StartLimited runs a new etcd, as Start does, with the limits given.
func StartLimited(t testing.TB, limits Limits) *Server {
	t.Helper()
	return start(t, transport.TLSInfo{}, limits)
}

func start(t testing.TB, tlsInfo transport.TLSInfo, limits Limits) *Server {
	t.Helper()
	scheme := "http"
	if !tlsInfo.Empty() {
		scheme = "https"
	}
	s := &Server{
		dir:    t.TempDir(),
		client: url.URL{Scheme: scheme, Host: freeport.Addr(t)},
		peer:   url.URL{Scheme: "http", Host: freeport.Addr(t)},
		tls:    tlsInfo,
		limits: limits,
	}
	s.Endpoint = s.client.String()
	s.Restart(t)
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the server again after Stop, on the same address and data, as an operator
// restarting etcd would. It is a no-op while the server runs.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etcd != nil {
		return
	}
	cfg := embed.NewConfig()
	cfg.Name = "steerdns-test"
	cfg.Dir = s.dir
	cfg.ListenClientUrls = []url.URL{s.client}
	cfg.AdvertiseClientUrls = []url.URL{s.client}
	cfg.ListenPeerUrls = []url.URL{s.peer}
	cfg.AdvertisePeerUrls = []url.URL{s.peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ClientTLSInfo = s.tls
	if s.limits.MaxRequestBytes > 0 {
		cfg.MaxRequestBytes = s.limits.MaxRequestBytes
	}
	if s.limits.MaxTxnOps > 0 {
		cfg.MaxTxnOps = s.limits.MaxTxnOps
	}
	cfg.QuotaBackendBytes = s.limits.QuotaBackendBytes
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("starting etcd on %s: %v", s.Endpoint, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		t.Fatalf("etcd on %s failed: %v", s.Endpoint, err)
	case <-time.After(startTimeout):
		e.Close()
		t.Fatalf("etcd on %s not ready after %s", s.Endpoint, startTimeout)
	}
	s.etcd = e
}

// Stop shuts the server down and waits until its listeners are closed; the data stays for a
// Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.etcd == nil {
		return
	}
	s.etcd.Close()
	s.etcd = nil
}
