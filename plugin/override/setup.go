package override

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
	"github.com/steerdns/steerdns/plugin/internal/sign"
	"github.com/steerdns/steerdns/plugin/override/console"
	"github.com/steerdns/steerdns/plugin/override/store"
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
	store    string            // absolute path of the store file
	etcd     *store.EtcdConfig // the shared store in etcd instead of the file, when set
	console  string            // host:port of the API, "" for none
	token    string
	ttl      uint32
	declared []store.Override
	keys     sign.Keys    // the 'key file' lines
	signer   *sign.Signer // the zone keys that sign pinned answers; nil: they go unsigned

	maxOverrides int // 0: the store's default
}

func setup(c *caddy.Controller) error {
	cfg, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	ctx := context.Background()
	tab, err := store.Open(ctx, store.Config{Path: cfg.store, Etcd: cfg.etcd, MaxOverrides: cfg.maxOverrides, Declared: cfg.declared})
	if err != nil {
		return plugin.Error(pluginName, err)
	}

	h := newHandler(cfg.ttl)
	h.signer = cfg.signer
	// The handler hears of changes from OnStartup (before the servers listen) to OnShutdown,
	// like the table's background work: a reload that fails before its start leaves no
	// subscriber behind on the shared table.
	unsubscribe := func() {}
	c.OnStartup(func() error { tab.Acquire(); unsubscribe = tab.Subscribe((*subscriber)(h)); return nil })
	c.OnShutdown(func() error { unsubscribe(); tab.Release(); return nil })
	if cfg.console != "" {
		con := console.Config{Addr: cfg.console, Token: cfg.token}
		block := console.Block{Zones: blockZones(c), Recent: AllRecent,
			Explain: func(ctx context.Context, q explain.Query) explain.Explanation {
				return h.Explain(ctx, q, tab.Current())
			}}
		start := func() error { return console.Start(con, tab, block) }
		stop := func() error { return console.Stop(con.Addr) }
		c.OnStartup(start)
		c.OnRestartFailed(start)
		c.OnRestart(stop)
		c.OnFinalShutdown(stop)
	}

	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		h.Next = next
		return h
	})
	return nil
}

// blockZones returns the zones of the server block being set up, for the console to find the
// block that serves a name it explains.
func blockZones(c *caddy.Controller) []string {
	zones := make([]string, 0, len(c.ServerBlockKeys))
	for _, key := range c.ServerBlockKeys {
		zones = append(zones, plugin.Host(key).NormalizeExact()...)
	}
	return zones
}

// lines remembers where properties were given, so that an error found once the block is read
// (two declares with one id, a console that needs a token) names the line at fault rather
// than the closing brace.
type lines struct {
	console, store, key int
	declared            []int // the line of each of config.declared
}

func parse(c *caddy.Controller) (*config, error) {
	cfg := &config{ttl: defaultTTL, store: defaultStore}
	var at lines
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
			if err := parseProperty(c, cfg, &at); err != nil {
				return nil, err
			}
		}
	}
	if err := finish(c, cfg, &at); err != nil {
		return nil, err
	}
	return cfg, nil
}

// finish checks what needs the whole block, and makes the store's path absolute.
func finish(c *caddy.Controller, cfg *config, at *lines) error {
	if !filepath.IsAbs(cfg.store) {
		cfg.store = filepath.Join(dnsserver.GetConfig(c).Root, cfg.store)
	}
	abs, err := filepath.Abs(cfg.store)
	if err != nil {
		return errAt(c, at.store, "store %q: %v", cfg.store, err)
	}
	cfg.store = abs
	zones := answer.NewZones(plugin.OriginsFromArgsOrServerBlock(nil, c.ServerBlockKeys))
	if cfg.signer, err = cfg.keys.Signer(zones); err != nil {
		return errAt(c, at.key, "%v", err)
	}
	if cfg.console != "" && cfg.token == "" && !console.LoopbackHost(cfg.console) {
		return errAt(c, at.console, "console %s is not a loopback address: set a token", cfg.console)
	}
	return checkDeclared(c, cfg.declared, at.declared)
}

// errAt is c.Errf for a line other than the current token's.
func errAt(c *caddy.Controller, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d - Error during parsing: %s", c.File(), line, fmt.Sprintf(format, args...))
}

func parseProperty(c *caddy.Controller, cfg *config, at *lines) error {
	switch c.Val() {
	case "store":
		at.store = c.Line()
		path, ec, err := parseStore(c)
		if err != nil {
			return err
		}
		if cfg.etcd = ec; ec == nil {
			cfg.store = path
		}
	case "console":
		at.console = c.Line()
		addr, err := parseConsole(c)
		cfg.console = addr
		return err
	case "token":
		v, err := parseToken(c)
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
		if err != nil || n < 1 || n > store.MaxMaxOverrides {
			return c.Errf("max_overrides %q: must be a number from 1 to %d", v, store.MaxMaxOverrides)
		}
		cfg.maxOverrides = n
	case "key":
		at.key = c.Line()
		return cfg.keys.Parse(c)
	case "declare":
		line := c.Line()
		o, err := parseDeclare(c)
		if err != nil {
			return err
		}
		cfg.declared = append(cfg.declared, o)
		at.declared = append(at.declared, line)
	default:
		return c.Errf("unknown property '%s'", c.Val())
	}
	return nil
}

// parseConsole reads "console HOST:PORT": a port from 1 to 65535 and a host that is an IP
// address or a name (empty for every address), so that a typo fails here, with its line,
// rather than when the listener opens.
func parseConsole(c *caddy.Controller) (string, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return "", c.ArgErr()
	}
	host, port, err := net.SplitHostPort(args[0])
	if err != nil {
		return "", c.Errf("console %q: %v", args[0], err)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", c.Errf("console %q: port %q must be a number from 1 to 65535", args[0], port)
	}
	if strings.ContainsAny(host, " /%") {
		return "", c.Errf("console %q: %q is not a host name or IP address", args[0], host)
	}
	return args[0], nil
}

// parseToken reads "token TOKEN". An empty token is most often an unset {$ENV_VAR}: say so
// rather than report a missing argument.
func parseToken(c *caddy.Controller) (string, error) {
	args := c.RemainingArgs()
	if len(args) != 1 {
		return "", c.ArgErr()
	}
	if strings.TrimSpace(args[0]) == "" {
		return "", c.Errf("token is empty (is the environment variable it names set?)")
	}
	return args[0], nil
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
func parseDeclare(c *caddy.Controller) (store.Override, error) {
	args := c.RemainingArgs()
	if len(args) < 3 {
		return store.Override{}, c.Errf("declare needs an id, a name and at least one address or cname target")
	}
	o := store.Override{ID: args[0], Name: args[1]}
	for k := 2; k < len(args); k++ {
		switch a := args[k]; a {
		case "on":
			o.Enabled = true
		case "group", "note":
			if k+1 >= len(args) {
				return store.Override{}, c.Errf("declare %s: %s needs a value", o.ID, a)
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
			} else if store.LooksLikeAddress(a) {
				return store.Override{}, c.Errf("declare %s: address %q is not a valid IP address", o.ID, a)
			} else if o.CNAME == "" {
				o.CNAME = a
			} else {
				return store.Override{}, c.Errf("declare %s: %q is neither an address nor a keyword, and the cname is %q already", o.ID, a, o.CNAME)
			}
		}
	}
	if err := o.Normalize(); err != nil {
		return store.Override{}, c.Errf("declare %s: %v", o.ID, err)
	}
	return o, nil
}

func declareKeyword(s string) bool {
	return s == "on" || s == "group" || s == "note" || s == "clients"
}

// checkDeclared refuses duplicate ids and two overrides of one group marked on, naming the
// line of the second declare.
func checkDeclared(c *caddy.Controller, decls []store.Override, at []int) error {
	ids := make(map[string]int, len(decls))
	enabled := map[string]string{}
	for i, o := range decls {
		if first, ok := ids[o.ID]; ok {
			return errAt(c, at[i], "declare %s: duplicate override id %q (first declared on line %d)", o.ID, o.ID, first)
		}
		ids[o.ID] = at[i]
		if !o.Enabled {
			continue
		}
		if other, ok := enabled[o.Group]; ok {
			return errAt(c, at[i], "declare %s: group %q has two enabled overrides: %q and %q (only one may be on)", o.ID, o.Group, other, o.ID)
		}
		enabled[o.Group] = o.ID
	}
	// What the store will check on load, so that a declared set it would refuse fails here.
	st := store.State{Overrides: decls}
	if err := st.Check(); err != nil {
		return c.Err(err.Error())
	}
	return nil
}
