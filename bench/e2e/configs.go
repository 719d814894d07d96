package main

import (
	"fmt"
	"strings"
)

// Config is one server configuration measured by the harness: the plugins in front of the
// same zone, in the Corefile order an operator would write.
type Config struct {
	Name   string // short label in the report
	Blocks string // plugin lines of the server block, before `file`
}

// configs returns the configurations in report order. The first two are the baseline that
// ratios refer to ("cache + file"). backends are the web servers healthcheck probes.
func configs(backends []string) []Config {
	overrideBlock := `override {
        store overrides.json
        declare pin-other other.example.test 127.0.0.9 group other
    }`
	weightedBlock := `weighted {
        weight cats.example.test 127.0.0.2 4 127.0.0.3 2 127.0.0.4 1 127.0.0.5 1
    }`
	var addrs []string
	port := ""
	for _, b := range backends {
		host, p, _ := strings.Cut(b, ":")
		addrs, port = append(addrs, host), p
	}
	healthBlock := fmt.Sprintf(`healthcheck {
        check web http port %s interval 1s
        name cats.example.test %s
    }`, port, strings.Join(addrs, " "))

	return []Config{
		{Name: "file", Blocks: ""},
		{Name: "cache+file", Blocks: "cache"},
		{Name: "loadbalance+cache+file", Blocks: "loadbalance round_robin\n    cache"},
		{Name: "full chain+cache+file", Blocks: strings.Join([]string{overrideBlock, "rrotate", weightedBlock, healthBlock, "cache"}, "\n    ")},
		{Name: "override+cache+file", Blocks: overrideBlock + "\n    cache"},
		{Name: "rrotate+cache+file", Blocks: "rrotate\n    cache"},
		{Name: "weighted+cache+file", Blocks: weightedBlock + "\n    cache"},
		{Name: "healthcheck+cache+file", Blocks: healthBlock + "\n    cache"},
	}
}

// corefile renders c as a Corefile serving example.test on 127.0.0.1:port.
func (c Config) corefile(port int) string {
	return fmt.Sprintf("example.test:%d {\n    bind 127.0.0.1\n    %s\n    file example.test.zone\n}\n", port, c.Blocks)
}

// zone is the zone every configuration serves; queries is the mix dnsperf sends: mostly the
// multi-address name the plugins act on, some single-address names, a CNAME, AAAA and
// NXDOMAIN, as a real client population would ask.
const zone = `$ORIGIN example.test.
@      3600 IN SOA ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 3600
@      3600 IN NS  ns.example.test.
ns     3600 IN A   127.0.0.1
cats   300  IN A   127.0.0.2
cats   300  IN A   127.0.0.3
cats   300  IN A   127.0.0.4
cats   300  IN A   127.0.0.5
cats   300  IN AAAA ::2
cats   300  IN AAAA ::3
www    300  IN CNAME cats
other  300  IN A   127.0.0.10
solo   300  IN A   127.0.0.11
`

const queries = `cats.example.test A
cats.example.test A
cats.example.test A
cats.example.test A
www.example.test A
cats.example.test AAAA
solo.example.test A
other.example.test A
missing.example.test A
example.test SOA
`
