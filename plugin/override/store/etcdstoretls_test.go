package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	mwtls "github.com/coredns/coredns/plugin/pkg/tls"

	"github.com/steerdns/steerdns/test/etcdtest"
)

// An etcd that requires client certificates: the store with the certificate works, one
// without it is refused.
func TestEtcdStoreTLS(t *testing.T) {
	t.Parallel() // its own etcd
	cert, key := etcdTestCert(t, t.TempDir())
	etcd := etcdtest.StartTLS(t, cert, key, cert)
	tc, err := mwtls.NewTLSConfigFromArgs(cert, key, cert)
	if err != nil {
		t.Fatal(err)
	}
	s := newEtcdStore(EtcdConfig{Endpoints: []string{etcd.Endpoint}, TLS: tc})
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
	anon := newEtcdStore(EtcdConfig{Endpoints: []string{etcd.Endpoint}, TLS: caOnly})
	t.Cleanup(func() { anon.Close() })
	if _, err := loadState(ctx, anon); err == nil {
		t.Fatal("a client without a certificate read the table")
	} else {
		t.Logf("without a client certificate: %v", err)
	}
}

// etcdTestCert writes a self-signed certificate for 127.0.0.1 and its key into dir.
func etcdTestCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "steerdns test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}
