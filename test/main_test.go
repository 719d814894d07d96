// Package test holds the integration tests: real CoreDNS servers, started from Corefiles
// with the steerdns chain, queried over UDP and TCP, in front of real backends on loopback.
package test

import (
	"os"
	"testing"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/steerdns/steerdns/test/harness"
)

func TestMain(m *testing.M) {
	clog.Discard()
	code := m.Run()
	harness.RemoveBinary()
	os.Exit(code)
}
