package override

import (
	"context"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"
)

const pluginName = "override"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

// Defaults: a short TTL so that resolvers drop a pin soon after it is switched off.
const (
	defaultTTL   = 5
	maxTTL       = 86400
	defaultStore = "overrides.json"
)

// config is what one override block in a Corefile says.
type config struct {
	store    string      // absolute path of the store file
	etcd     *EtcdConfig // the shared store in etcd instead of the file, when set
	console  string      // host:port of the API, "" for none
	token    string
	ttl      uint32
	declared []Override

	maxOverrides int // 0: defaultMaxOverrides
}

func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	ctx := context.Background()
	tab, err := openTable(ctx, cfg)
	if err != nil {
		return plugin.Error(pluginName, err)
	}

	c.OnStartup(func() error { tables.acquire(tab); return nil })
	c.OnShutdown(func() error { tables.release(tab); return nil })
	if cfg.console != "" {
		con := &console{addr: cfg.console, token: cfg.token, tab: tab}
		start := func() error { return consoles.start(con) }
		stop := func() error { return consoles.stop(con.addr) }
		c.OnStartup(start)
		c.OnRestartFailed(start)
		c.OnRestart(stop)
		c.OnFinalShutdown(stop)
	}

	h := &Handler{ttl: cfg.ttl, tab: tab}
	c.OnStartup(func() error { h.lead.Decide(dnsserver.GetConfig(c), pluginName); return nil })
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		h.Next = next
		return h
	})
	return nil
}

func parse(c *caddy.Controller) (*config, error) {
	cfg := &config{ttl: defaultTTL, store: defaultStore}
	i := 0
	for c.Next() {
		if i > 0 {
			return nil, plugin.ErrOnce
		}
		i++
		if len(c.RemainingArgs()) != 0 {
			return nil, c.ArgErr()
		}
		for c.NextBlock() {
			if err := parseProperty(c, cfg); err != nil {
				return nil, err
			}
		}
	}
	if !filepath.IsAbs(cfg.store) {
		cfg.store = filepath.Join(dnsserver.GetConfig(c).Root, cfg.store)
	}
	abs, err := filepath.Abs(cfg.store)
	if err != nil {
		return nil, c.Errf("store %q: %v", cfg.store, err)
	}
	cfg.store = abs
	if cfg.console != "" && cfg.token == "" && !loopbackHost(cfg.console) {
		return nil, c.Errf("console %s is not a loopback address: set a token", cfg.console)
	}
	if err := checkDeclared(cfg.declared); err != nil {
		return nil, c.Err(err.Error())
	}
	return cfg, nil
}

func parseProperty(c *caddy.Controller, cfg *config) error {
	switch c.Val() {
	case "store":
		path, ec, err := parseStore(c)
		if err != nil {
			return err
		}
		if cfg.etcd = ec; ec == nil {
			cfg.store = path
		}
	case "console":
		args := c.RemainingArgs()
		if len(args) != 1 {
			return c.ArgErr()
		}
		if _, _, err := net.SplitHostPort(args[0]); err != nil {
			return c.Errf("console %q: %v", args[0], err)
		}
		cfg.console = args[0]
	case "token":
		v, err := oneArg(c)
		cfg.token = v
		return err
	case "ttl":
		v, err := oneArg(c)
		if err != nil {
			return err
		}
		ttl, err := strconv.ParseUint(v, 10, 32)
		if err != nil || ttl > maxTTL {
			return c.Errf("ttl %q: must be a number of seconds from 0 to %d", v, maxTTL)
		}
		cfg.ttl = uint32(ttl)
	case "max_overrides":
		v, err := oneArg(c)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxMaxOverrides {
			return c.Errf("max_overrides %q: must be a number from 1 to %d", v, maxMaxOverrides)
		}
		cfg.maxOverrides = n
	case "declare":
		o, err := parseDeclare(c)
		if err != nil {
			return err
		}
		cfg.declared = append(cfg.declared, o)
	default:
		return c.Errf("unknown property '%s'", c.Val())
	}
	return nil
}

func oneArg(c *caddy.Controller) (string, error) {
	args := c.RemainingArgs()
	if len(args) != 1 || args[0] == "" {
		return "", c.ArgErr()
	}
	return args[0], nil
}

// parseDeclare reads "declare ID NAME TARGET... [group GROUP] [clients CIDR...] [note TEXT] [on]".
// A target that is an IP address is an address; any other is the CNAME target.
func parseDeclare(c *caddy.Controller) (Override, error) {
	args := c.RemainingArgs()
	if len(args) < 3 {
		return Override{}, c.Errf("declare needs an id, a name and at least one address or cname target")
	}
	o := Override{ID: args[0], Name: args[1]}
	for k := 2; k < len(args); k++ {
		switch a := args[k]; a {
		case "on":
			o.Enabled = true
		case "group", "note":
			if k+1 >= len(args) {
				return Override{}, c.Errf("declare %s: %s needs a value", o.ID, a)
			}
			k++
			if a == "group" {
				o.Group = args[k]
			} else {
				o.Note = args[k]
			}
		case "clients":
			for k+1 < len(args) && !declareKeyword(args[k+1]) {
				k++
				o.Clients = append(o.Clients, args[k])
			}
		default:
			if _, err := netip.ParseAddr(a); err == nil {
				o.Addresses = append(o.Addresses, a)
			} else if o.CNAME == "" {
				o.CNAME = a
			} else {
				return Override{}, c.Errf("declare %s: %q is neither an address nor a keyword, and the cname is %q already", o.ID, a, o.CNAME)
			}
		}
	}
	if err := o.normalize(); err != nil {
		return Override{}, c.Errf("declare %s: %v", o.ID, err)
	}
	return o, nil
}

func declareKeyword(s string) bool {
	return s == "on" || s == "group" || s == "note" || s == "clients"
}

// checkDeclared refuses duplicate ids and two overrides of one group marked on.
func checkDeclared(decls []Override) error {
	st := State{Overrides: decls}
	return st.check()
}
