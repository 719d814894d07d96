package store

import (
	"context"
	"testing"

	mwtls "github.com/coredns/coredns/plugin/pkg/tls"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/test/etcdtest"
)

// An etcd that requires client certificates: the store with the certificate works, one
// without it is refused.
func TestEtcdStoreTLS(t *testing.T) {
	t.Parallel() // its own etcd
	cert, key := etcdtest.WriteCert(t, t.TempDir())
	etcd := etcdtest.StartTLS(t, cert, key, cert)
	tc, err := mwtls.NewTLSConfigFromArgs(cert, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	s := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}, TLS: tc}})
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	if _, err := storeUpdate(ctx, s, etcdAddOverride("one", "g")); err != nil {
		t.Fatalf("update over TLS: %v", err)
	}
	if st, err := loadState(ctx, s); err != nil || len(st.Overrides) != 1 {
		t.Fatalf("load over TLS: %+v, %v", st, err)
	}

	caOnly, err := mwtls.NewTLSConfigFromArgs(cert)
	if err != nil {
		t.Fatal(err)
	}
	anon := newEtcdStore(EtcdConfig{Config: etcdpool.Config{Endpoints: []string{etcd.Endpoint}, TLS: caOnly}})
	t.Cleanup(func() { anon.Close() })
	if _, err := loadState(ctx, anon); err == nil {
		t.Fatal("a client without a certificate read the table")
	} else {
		t.Logf("without a client certificate: %v", err)
	}
}
