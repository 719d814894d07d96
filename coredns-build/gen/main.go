// Command gen turns plugin.cfg into chain/zchain.go: the imports that compile each listed
// plugin into the binary and the directive list that orders them. `go generate` runs it.
package main

import (
	"flag"
	"log"
	"os"

	"github.com/steerdns/steerdns/coredns-build/internal/pluginlist"
)

func main() {
	cfg := flag.String("cfg", "plugin.cfg", "plugin list to read")
	out := flag.String("out", "chain/zchain.go", "Go file to write")
	flag.Parse()

	f, err := os.Open(*cfg)
	if err != nil {
		log.Fatal(err)
	}
	plugins, err := pluginlist.Parse(f)
	f.Close()
	if err != nil {
		log.Fatalf("%s: %v", *cfg, err)
	}
	src, err := pluginlist.Render("chain", plugins)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
}
