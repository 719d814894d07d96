// Command coredns is CoreDNS v1.15.0 with the steerdns plugins compiled in, in the order
// plugin.cfg gives.
package main

import (
	"log"
	"runtime/debug"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	"github.com/steerdns/steerdns/coredns-build/chain"
	"github.com/steerdns/steerdns/coredns-build/stackgrow"
)

// version is the steerdns version, stamped by the build from `git describe`:
//
//	go build -ldflags "-X main.version=$(git describe --tags --always --dirty)" ./coredns-build
//
// Unstamped, steerdnsVersion falls back to what the Go toolchain recorded.
var version string

func main() {
	// `coredns -version` prints "CoreDNS-1.15.0 (steerdns VERSION)": the CoreDNS release the
	// plugins are built against, and which steerdns build this is.
	caddy.AppVersion = coremain.CoreVersion + " (steerdns " + steerdnsVersion(version, debug.ReadBuildInfo) + ")"
	if err := dnsserver.SetDirectives(chain.Directives); err != nil {
		log.Fatalf("plugin.cfg: %v", err)
	}
	stackgrow.Install()
	coremain.Run()
}

// steerdnsVersion returns stamped when the build set it; else the module version or VCS
// revision that `go build` recorded (a `go install ...@v1.2.3` or a build with -buildvcs);
// else "dev", so that an unstamped binary never passes for a release.
func steerdnsVersion(stamped string, buildInfo func() (*debug.BuildInfo, bool)) string {
	if stamped != "" {
		return stamped
	}
	bi, ok := buildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "-dirty"
		}
	}
	if rev != "" {
		return "dev-" + rev + dirty
	}
	return "dev"
}
