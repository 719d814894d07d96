package rrotate

import (
	"strconv"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

const name = "rrotate"

// defaultMaxNames bounds the rotation counters: about 100 bytes each, so a few MB at most.
const defaultMaxNames = 65536

func init() { plugin.Register(name, setup) }

func setup(c *caddy.Controller) error {
	r, err := parse(c)
	if err != nil {
		return plugin.Error(name, err)
	}
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		r.Next = next
		return r
	})
	return nil
}

// parse reads
//
//	rrotate [ZONES...] {
//	    types TYPE...
//	    max_names N
//	    ttl SECONDS
//	}
func parse(c *caddy.Controller) (*RRotate, error) {
	r := &RRotate{types: typeSet{dns.TypeA, dns.TypeAAAA}}
	maxNames := defaultMaxNames
	seen := false
	for c.Next() {
		if seen {
			return nil, plugin.ErrOnce
		}
		seen = true
		args := c.RemainingArgs()
		for _, a := range args {
			if len(plugin.Host(a).NormalizeExact()) == 0 {
				return nil, c.Errf("'%s' is not a zone", a)
			}
		}
		r.zones = answer.NewZones(plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys))
		for c.NextBlock() {
			switch c.Val() {
			case "types":
				args := c.RemainingArgs()
				if len(args) == 0 {
					return nil, c.ArgErr()
				}
				r.types = nil
				for _, a := range args {
					t, ok := typeOf(a)
					if !ok {
						return nil, c.Errf("unknown record type '%s'", a)
					}
					if !rotatable(t) {
						return nil, c.Errf("record type '%s' cannot be rotated", a)
					}
					r.types = r.types.with(t)
				}
			case "max_names":
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, c.ArgErr()
				}
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 1 {
					return nil, c.Errf("max_names must be a positive integer, not '%s'", args[0])
				}
				maxNames = n
			case "ttl":
				ttl, err := parseTTL(c)
				if err != nil {
					return nil, err
				}
				r.ttl = ttl
			default:
				return nil, c.Errf("unknown property '%s'", c.Val())
			}
		}
	}
	r.counters = newCounters(maxNames)
	return r, nil
}

// maxTTL bounds the ttl option: a cap of more than an hour steers nothing a client sees.
const maxTTL = 3600

// parseTTL reads the seconds of `ttl SECONDS`, from 1 to maxTTL.
func parseTTL(c *caddy.Controller) (uint32, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return 0, c.Err("ttl wants one value: seconds")
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || n == 0 || n > maxTTL {
		return 0, c.Errf("invalid ttl '%s': want seconds from 1 to %d", args[0], maxTTL)
	}
	return uint32(n), nil
}

// typeOf reads a record type as written, in any case ("srv" is SRV).
func typeOf(s string) (uint16, bool) {
	if t, ok := dns.StringToType[s]; ok {
		return t, true
	}
	t, ok := dns.StringToType[strings.ToUpper(s)]
	return t, ok
}

// rotatable rejects types whose order carries meaning or that never form a multi-record
// answer worth rotating.
func rotatable(t uint16) bool {
	switch t {
	case dns.TypeCNAME, dns.TypeDNAME, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeSOA,
		dns.TypeOPT, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeNone:
		return false
	}
	return true
}
