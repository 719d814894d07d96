// Package test holds the integration tests: real CoreDNS servers, started from Corefiles
// with the steerdns chain, queried over UDP and TCP, in front of real backends on loopback.
package test

import (
	"net/http"
	"os"
	"testing"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/steerdns/steerdns/test/harness"
)

func TestMain(m *testing.M) {
	clog.Discard()
	// The servers under test reload, restart and stop their consoles, which closes the
	// connections they keep alive; a request sent on one just as it closes fails with EOF
	// (a POST is not retried). A fresh connection per request keeps that race out of tests.
	http.DefaultTransport.(*http.Transport).DisableKeepAlives = true
	code := m.Run()
	harness.RemoveBinary()
	os.Exit(code)
}
