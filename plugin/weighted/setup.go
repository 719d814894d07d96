package weighted

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/sign"
)

var log = clog.NewWithPlugin("weighted")

func init() { plugin.Register("weighted", setup) }

// maxTTL bounds the ttl option: a cap of more than an hour steers nothing a client sees.
const maxTTL = 3600

// defaultReload is how often the weight file is checked, as `loadbalance weighted` does.
const defaultReload = 30 * time.Second

func setup(c *caddy.Controller) error {
	wt, err := parse(c)
	if err != nil {
		return plugin.Error("weighted", err)
	}
	if err := wt.loadWeights(); err != nil {
		return plugin.Error("weighted", err)
	}
	c.OnStartup(wt.OnStartup)
	c.OnShutdown(wt.OnShutdown)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		wt.Next = next
		return wt
	})
	return nil
}

// parse reads the weighted block. It does not read the weight file: setup does, so that a
// parse test needs no files.
func parse(c *caddy.Controller) (*Weighted, error) {
	wt := &Weighted{reload: defaultReload, inline: make(weightSpec),
		unsigned: sign.NewUnsigned(log, "'only' does not cut its signed answers: every address stays in them, in weighted order")}
	wt.types[typeSlot(dns.TypeA)] = true
	wt.types[typeSlot(dns.TypeAAAA)] = true
	blocks, keyLine := 0, 0
	var keys sign.Keys
	for c.Next() {
		if blocks++; blocks > 1 {
			return nil, plugin.ErrOnce
		}
		zones, err := parseZones(c)
		if err != nil {
			return nil, err
		}
		wt.zones = zones
		for c.NextBlock() {
			if c.Val() == "key" {
				keyLine = c.Line()
				if err := keys.Parse(c); err != nil {
					return nil, err
				}
				continue
			}
			if err := parseProperty(c, wt); err != nil {
				return nil, err
			}
		}
	}
	signer, err := keys.Signer(wt.zones)
	if err != nil {
		return nil, fmt.Errorf("%s:%d - Error during parsing: %v", c.File(), keyLine, err)
	}
	wt.signer = signer
	if wt.file != "" && !filepath.IsAbs(wt.file) {
		if root := dnsserver.GetConfig(c).Root; root != "" {
			wt.file = filepath.Join(root, wt.file)
		}
	}
	if wt.file == "" && len(wt.inline) == 0 {
		return nil, c.Err("no weights: give at least one 'weight' line or a 'file'")
	}
	if !wt.types[typeSlot(dns.TypeSRV)] {
		// A host name only ever matches an SRV target: without SRV it is a mistyped address.
		for name, ws := range wt.inline {
			for t := range ws {
				if t.host != "" {
					return nil, c.Errf("weight for %s: '%s' is not an IP address (host names are SRV targets: add 'types SRV')", name, t.host)
				}
			}
		}
	}
	return wt, nil
}

// parseZones reads the ZONES arguments, the server block's zones when there are none. An
// address or a number is a weight written on the plugin's line: it goes in the block.
func parseZones(c *caddy.Controller) (answer.Zones, error) {
	args := c.RemainingArgs()
	for _, a := range args {
		if _, err := netip.ParseAddr(a); err == nil || strings.Trim(a, "0123456789") == "" {
			return nil, c.Errf("'%s' is not a zone: weights and options go in the block, as 'weight NAME ADDRESS WEIGHT'", a)
		}
		if len(plugin.Host(a).NormalizeExact()) == 0 {
			return nil, c.Errf("'%s' is not a zone", a)
		}
	}
	return answer.NewZones(plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys)), nil
}

func parseProperty(c *caddy.Controller, wt *Weighted) error {
	switch c.Val() {
	case "weight":
		return parseInline(c, wt.inline)
	case "file":
		args := c.RemainingArgs()
		if len(args) != 1 {
			return c.Err("file wants exactly one path")
		}
		wt.file = args[0]
	case "reload":
		args := c.RemainingArgs()
		if len(args) != 1 {
			return c.Err("reload wants exactly one duration")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return c.Errf("invalid reload duration '%s'", args[0])
		}
		wt.reload = d
	case "leads":
		if args := c.RemainingArgs(); len(args) > 0 {
			return c.Errf("leads takes no arguments, got '%s'", args[0])
		}
		wt.only = 0
	case "only":
		args := c.RemainingArgs()
		if len(args) != 1 {
			return c.Err("only wants exactly one count")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 1 {
			return c.Errf("invalid count '%s' for only: want a whole number of at least 1", args[0])
		}
		wt.only = n
	case "types":
		return parseTypes(c, wt)
	case "ttl":
		args := c.RemainingArgs()
		if len(args) != 1 {
			return c.Err("ttl wants one value: seconds")
		}
		n, err := strconv.ParseUint(args[0], 10, 32)
		if err != nil || n == 0 || n > maxTTL {
			return c.Errf("invalid ttl '%s': want seconds from 1 to %d", args[0], maxTTL)
		}
		wt.ttl = uint32(n)
	default:
		return c.Errf("unknown property '%s'", c.Val())
	}
	return nil
}

// parseInline reads `weight NAME ADDRESS WEIGHT [ADDRESS WEIGHT]...`.
func parseInline(c *caddy.Controller, spec weightSpec) error {
	args := c.RemainingArgs()
	if len(args) < 3 {
		return c.Err("weight wants a name and at least one ADDRESS WEIGHT pair")
	}
	if len(args)%2 == 0 {
		return c.Errf("weight for '%s' has no value", args[len(args)-1])
	}
	name, err := parseName(args[0])
	if err != nil {
		return c.Err(err.Error())
	}
	for i := 1; i < len(args); i += 2 {
		t, err := parseTarget(args[i])
		if err != nil {
			return c.Err(err.Error())
		}
		w, err := parseWeight(args[i+1])
		if err != nil {
			return c.Err(err.Error())
		}
		spec.set(name, t, w)
	}
	return nil
}

// parseTypes reads `types TYPE...`, which replaces the default A and AAAA.
func parseTypes(c *caddy.Controller, wt *Weighted) error {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return c.Err("types wants at least one of A, AAAA, SRV")
	}
	wt.types = [3]bool{}
	for _, a := range args {
		slot := typeSlot(dns.StringToType[strings.ToUpper(a)])
		if slot < 0 {
			return c.Errf("unsupported type '%s': want A, AAAA or SRV", a)
		}
		wt.types[slot] = true
	}
	return nil
}
