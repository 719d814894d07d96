package etcdtest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// The files WriteCert leaves load as a key pair, and the certificate is a CA that verifies
// itself for 127.0.0.1, as a server and as a client: what StartTLS and its clients need.
func TestWriteCert(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := WriteCert(t, dir)
	if certFile != filepath.Join(dir, "cert.pem") || keyFile != filepath.Join(dir, "key.pem") {
		t.Fatalf("files %s, %s; want cert.pem and key.pem in %s", certFile, keyFile, dir)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert := pair.Leaf
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("the certificate cannot act as a CA: IsCA %v, key usage %b", cert.IsCA, cert.KeyUsage)
	}
	pemCert, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemCert) {
		t.Fatal("cert.pem holds no certificate")
	}
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("usage %v: %v", usage, err)
		}
	}
	if info, err := os.Stat(keyFile); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("key file: %v, %v; want it readable by its owner only", info.Mode(), err)
	}
}
