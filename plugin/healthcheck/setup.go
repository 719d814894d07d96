package healthcheck

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
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

const pluginName = "healthcheck"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	hc := newHealthCheck(cfg)
	c.OnStartup(hc.OnStartup)
	c.OnShutdown(hc.OnShutdown)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		return &Handler{HealthCheck: hc, Next: next}
	})
	return nil
}

// allDown is what a name answers when none of its addresses is up.
type allDown int

const (
	failOpen     allDown = iota // every address, as if there were no health checks
	failServfail                // SERVFAIL, so clients try elsewhere
	failStatic                  // fixed addresses from the Corefile
)

// nameRule is the Corefile's word on one name: which check judges its addresses and which
// of them are backups.
type nameRule struct {
	name    string
	check   *checkSpec
	primary []netip.Addr
	backup  []netip.Addr
	index   int // place in HealthCheck.rules and snapshot.listed
}

// config is everything parse reads from one healthcheck block.
type config struct {
	zones     answer.Zones
	checks    map[string]*checkSpec
	names     map[string]*nameRule
	discover  *checkSpec // nil: addresses of unlisted names are not probed
	expire    time.Duration
	maxFound  int // most discovered targets probed at once
	ttl       uint32
	ttlAll    bool // cap the TTL of every answer for a checked name, not only changed ones
	unknownUp bool
	allDown   allDown
	static    []netip.Addr
	signer    *sign.Signer  // the zone keys that sign what health cuts; nil: signed answers pass whole
	shared    *sharedConfig // nil: verdicts and drains are this replica's own
}

func parse(c *caddy.Controller) (*config, error) {
	cfg := &config{
		checks: map[string]*checkSpec{}, names: map[string]*nameRule{},
		expire: defaultExpire, maxFound: defaultMaxDiscovered, ttl: defaultTTL, ttlAll: true, unknownUp: true,
	}
	var (
		firstCheck   *checkSpec
		nameChecks   = map[string]string{} // name -> check name given on its line
		nameLines    = map[string]int{}    // name -> its line, for errors found after the block
		discoverName string
		discoverLine int // 0: no discover line
		maxFoundLine int
		quorumLine   int
		q            = majority
		blocks       int
		keys         sign.Keys
		keyLine      int
	)
	for c.Next() {
		blocks++
		if blocks > 1 {
			return nil, c.Err("only one healthcheck block per server block")
		}
		cfg.zones = answer.NewZones(plugin.OriginsFromArgsOrServerBlock(c.RemainingArgs(), c.ServerBlockKeys))
		for c.NextBlock() {
			switch prop := c.Val(); prop {
			case "check":
				ck, err := parseCheckLine(c.RemainingArgs())
				if err != nil {
					return nil, c.Err(err.Error())
				}
				if _, dup := cfg.checks[ck.Name]; dup {
					return nil, c.Errf("check '%s' is defined twice", ck.Name)
				}
				cfg.checks[ck.Name] = ck
				if firstCheck == nil {
					firstCheck = ck
				}
			case "name":
				r, checkName, err := parseNameLine(c.RemainingArgs())
				if err != nil {
					return nil, c.Err(err.Error())
				}
				if cfg.zones.Match(r.name) == "" {
					return nil, c.Errf("name '%s' is outside the zones %v", r.name, cfg.zones)
				}
				if _, dup := cfg.names[r.name]; dup {
					return nil, c.Errf("name '%s' is listed twice", r.name)
				}
				cfg.names[r.name] = r
				nameChecks[r.name] = checkName
				nameLines[r.name] = c.Line()
			case "discover":
				if discoverLine != 0 {
					return nil, c.Err("discover is given twice")
				}
				discoverLine = c.Line()
				var err error
				discoverName, cfg.expire, err = parseDiscover(c.RemainingArgs())
				if err != nil {
					return nil, c.Err(err.Error())
				}
			case "max_discovered":
				maxFoundLine = c.Line()
				args := c.RemainingArgs()
				if len(args) != 1 {
					return nil, c.Err("max_discovered needs one value: a number of targets")
				}
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 1 || n > maxMaxDiscovered {
					return nil, c.Errf("invalid max_discovered '%s': want a whole number from 1 to %d", args[0], maxMaxDiscovered)
				}
				cfg.maxFound = n
			case "ttl":
				var err error
				if cfg.ttl, cfg.ttlAll, err = parseTTL(c.RemainingArgs()); err != nil {
					return nil, c.Err(err.Error())
				}
			case "unknown":
				args := c.RemainingArgs()
				if len(args) != 1 || (args[0] != "up" && args[0] != "down") {
					return nil, c.Err("unknown needs one value: up or down")
				}
				cfg.unknownUp = args[0] == "up"
			case "all_down":
				var err error
				cfg.allDown, cfg.static, err = parseAllDown(c.RemainingArgs())
				if err != nil {
					return nil, c.Err(err.Error())
				}
			case "key":
				keyLine = c.Line()
				if err := keys.Parse(c); err != nil {
					return nil, err
				}
			case "etcd":
				if cfg.shared != nil {
					return nil, c.Err("etcd is given twice")
				}
				var err error
				if cfg.shared, err = parseShared(c, c.RemainingArgs()); err != nil {
					return nil, err
				}
			case "quorum":
				quorumLine = c.Line()
				var err error
				if q, err = parseQuorum(c.RemainingArgs()); err != nil {
					return nil, c.Err(err.Error())
				}
			default:
				return nil, c.Errf("unknown property '%s'", prop)
			}
		}
	}
	if cfg.shared != nil {
		cfg.shared.quorum = q
	} else if quorumLine != 0 {
		return nil, errAt(c, quorumLine, "quorum needs an etcd line: without one, each replica decides alone")
	}
	if firstCheck == nil {
		return nil, c.Err("no check defined: add a line such as 'check web http port 80'")
	}
	signer, err := keys.Signer(cfg.zones)
	if err != nil {
		return nil, errAt(c, keyLine, err.Error())
	}
	cfg.signer = signer
	// A check may be defined after the lines that use it, so these are resolved at the end,
	// but the error names the line that uses the check, not the closing brace.
	for _, name := range slices.Sorted(maps.Keys(cfg.names)) {
		ck, err := lookupCheck(cfg.checks, nameChecks[name], firstCheck)
		if err != nil {
			return nil, errAt(c, nameLines[name], fmt.Sprintf("name '%s': %v", name, err))
		}
		cfg.names[name].check = ck
	}
	if discoverLine != 0 {
		ck, err := lookupCheck(cfg.checks, discoverName, firstCheck)
		if err != nil {
			return nil, errAt(c, discoverLine, fmt.Sprintf("discover: %v", err))
		}
		cfg.discover = ck
	} else if maxFoundLine != 0 {
		return nil, errAt(c, maxFoundLine, "max_discovered needs a discover line")
	}
	return cfg, nil
}

// errAt is c.Err for a line other than the current one, in the same format.
func errAt(c *caddy.Controller, line int, msg string) error {
	return fmt.Errorf("%s:%d - Error during parsing: %s", c.File(), line, msg)
}

// parseTTL reads "SECONDS [all|changed]".
func parseTTL(args []string) (ttl uint32, all bool, err error) {
	if len(args) < 1 || len(args) > 2 {
		return 0, false, fmt.Errorf("ttl needs seconds and optionally 'all' or 'changed'")
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || n == 0 || n > 3600 {
		return 0, false, fmt.Errorf("invalid ttl '%s': want seconds from 1 to 3600", args[0])
	}
	all = true
	if len(args) == 2 {
		switch args[1] {
		case "all":
		case "changed":
			all = false
		default:
			return 0, false, fmt.Errorf("invalid ttl mode '%s': want all or changed", args[1])
		}
	}
	return uint32(n), all, nil
}

func lookupCheck(checks map[string]*checkSpec, name string, first *checkSpec) (*checkSpec, error) {
	if name == "" {
		return first, nil
	}
	ck, ok := checks[name]
	if !ok {
		return nil, fmt.Errorf("no check named '%s'", name)
	}
	return ck, nil
}

// parseCheckLine reads "NAME KIND [OPTION VALUE]...".
func parseCheckLine(args []string) (*checkSpec, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("check needs a name and a kind (tcp, http, https or dns)")
	}
	kind := probeKind(strings.ToLower(args[1]))
	switch kind {
	case kindTCP, kindHTTP, kindHTTPS, kindDNS:
	default:
		return nil, fmt.Errorf("check %s: unknown kind '%s': want tcp, http, https or dns", args[0], args[1])
	}
	ck := newCheck(args[0], kind)
	return ck, parseCheckOptions(ck, args[2:])
}

// parseNameLine reads "NAME [check CHECK] [primary] ADDRESS... [backup ADDRESS...]".
func parseNameLine(args []string) (*nameRule, string, error) {
	if len(args) < 2 {
		return nil, "", fmt.Errorf("name needs a domain name and at least one address")
	}
	if _, ok := dns.IsDomainName(args[0]); !ok {
		return nil, "", fmt.Errorf("invalid name '%s'", args[0])
	}
	r := &nameRule{name: strings.ToLower(dns.Fqdn(args[0]))}
	var checkName string
	tier := &r.primary
	seen := map[netip.Addr]bool{}
	for i := 1; i < len(args); i++ {
		switch args[i] {
		case "primary":
			tier = &r.primary
		case "backup":
			tier = &r.backup
		case "check":
			if i+1 >= len(args) {
				return nil, "", fmt.Errorf("name %s: 'check' needs a check name", args[0])
			}
			i++
			checkName = args[i]
		default:
			a, err := netip.ParseAddr(args[i])
			if err != nil || a.Zone() != "" {
				return nil, "", fmt.Errorf("name %s: invalid address '%s'", args[0], args[i])
			}
			a = a.Unmap()
			if seen[a] {
				return nil, "", fmt.Errorf("name %s: address %s is listed twice", args[0], a)
			}
			seen[a] = true
			*tier = append(*tier, a)
		}
	}
	if len(r.primary) == 0 {
		return nil, "", fmt.Errorf("name %s: needs at least one primary address", args[0])
	}
	return r, checkName, nil
}

// parseDiscover reads "[CHECK] [expire DURATION]".
func parseDiscover(args []string) (check string, expire time.Duration, err error) {
	expire = defaultExpire
	for i := 0; i < len(args); i++ {
		if args[i] == "expire" {
			if i+1 >= len(args) {
				return "", 0, fmt.Errorf("discover: 'expire' needs a duration")
			}
			i++
			if expire, err = positiveDuration("expire", args[i]); err != nil {
				return "", 0, fmt.Errorf("discover: %v", err)
			}
			continue
		}
		if check != "" {
			return "", 0, fmt.Errorf("discover: unexpected argument '%s'", args[i])
		}
		check = args[i]
	}
	return check, expire, nil
}

// parseAllDown reads "open", "servfail" or "answer ADDRESS...".
func parseAllDown(args []string) (allDown, []netip.Addr, error) {
	if len(args) == 0 {
		return 0, nil, fmt.Errorf("all_down needs a policy: open, servfail or answer ADDRESS")
	}
	switch args[0] {
	case "open", "servfail":
		if len(args) > 1 {
			return 0, nil, fmt.Errorf("all_down %s takes no addresses", args[0])
		}
		if args[0] == "open" {
			return failOpen, nil, nil
		}
		return failServfail, nil, nil
	case "answer":
		if len(args) < 2 {
			return 0, nil, fmt.Errorf("all_down answer needs at least one address")
		}
		var addrs []netip.Addr
		for _, s := range args[1:] {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return 0, nil, fmt.Errorf("all_down answer: invalid address '%s'", s)
			}
			addrs = append(addrs, a.Unmap())
		}
		return failStatic, addrs, nil
	}
	return 0, nil, fmt.Errorf("unknown all_down policy '%s': want open, servfail or answer", args[0])
}
