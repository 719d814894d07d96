// Package etcdpool gives the steerdns plugins one etcd client per endpoint set for the whole
// process, and reads the Corefile block that says how to reach etcd. A replica that keeps its
// overrides and its health verdicts in one etcd then holds one connection, one keepalive and
// one login, however many server blocks and plugins use it, and a reload (which starts the
// new configuration before it stops the old one) keeps the connection it already has.
package etcdpool

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	mwtls "github.com/coredns/coredns/plugin/pkg/tls"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Timings of the client: a dial or a login that takes longer fails, so that the caller can
// fall back and retry instead of hanging; the keepalive notices a dead connection.
const (
	dialTimeout   = 2 * time.Second
	keepAliveTime = 10 * time.Second
)

// Config says how to reach etcd.
type Config struct {
	Endpoints []string
	TLS       *tls.Config
	TLSArgs   []string // the tls line's files, absolute: what identifies TLS in the pool's key
	Username  string
	Password  string
}

// key identifies the client a Config needs: same endpoints, TLS files and user, same client.
// A TLS configuration made without files (by a program, not a Corefile) is its own.
func (c Config) key() string {
	tlsKey := strings.Join(c.TLSArgs, ",")
	if tlsKey == "" && c.TLS != nil {
		tlsKey = fmt.Sprintf("%p", c.TLS)
	}
	return strings.Join(c.Endpoints, ",") + "|" + tlsKey + "|" + c.Username + "|" + c.Password
}

// String names the endpoints for logs and metric labels (never the credentials).
func (c Config) String() string { return "etcd " + strings.Join(c.Endpoints, ",") }

// entry is one pooled client and the number of handles on it.
type entry struct {
	cfg  Config
	refs int

	mu  sync.Mutex // guards cli
	cli *clientv3.Client
}

var pool = struct {
	sync.Mutex
	m map[string]*entry
}{m: map[string]*entry{}}

// Client is a handle on a pooled client. Release it when done; the last release closes the
// connection.
type Client struct {
	e    *entry
	once sync.Once
}

// Acquire returns a handle on the process's client for cfg. Nothing is dialled until Get.
func Acquire(cfg Config) *Client {
	k := cfg.key()
	pool.Lock()
	defer pool.Unlock()
	e, ok := pool.m[k]
	if !ok {
		e = &entry{cfg: cfg}
		pool.m[k] = e
	}
	e.refs++
	return &Client{e: e}
}

// String names the endpoints.
func (c *Client) String() string { return c.e.cfg.String() }

// Get returns the client, making it on first use. A client is not made while etcd cannot be
// reached with a user name (the login fails); Get then fails and the next call tries again,
// so that etcd being down when CoreDNS starts is not fatal.
func (c *Client) Get() (*clientv3.Client, error) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cli != nil {
		return e.cli, nil
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            e.cfg.Endpoints,
		TLS:                  e.cfg.TLS,
		Username:             e.cfg.Username,
		Password:             e.cfg.Password,
		DialTimeout:          dialTimeout,
		DialKeepAliveTime:    keepAliveTime,
		DialKeepAliveTimeout: dialTimeout,
		Logger:               zap.NewNop(), // failures reach the log through the plugin, once
	})
	if err != nil {
		return nil, err
	}
	e.cli = cli
	return cli, nil
}

// Release gives the handle back; the last handle on a client closes it. A second Release of
// one handle does nothing.
func (c *Client) Release() {
	c.once.Do(func() {
		pool.Lock()
		c.e.refs--
		last := c.e.refs == 0
		if last {
			delete(pool.m, c.e.cfg.key())
		}
		pool.Unlock()
		if !last {
			return
		}
		c.e.mu.Lock()
		defer c.e.mu.Unlock()
		if c.e.cli != nil {
			c.e.cli.Close()
			c.e.cli = nil
		}
	})
}

// ParseBlock reads the optional "{ ... }" that follows "etcd ENDPOINT..." on its line: the
// properties tls [CERT KEY] [CA], username and password, and whatever else property accepts
// (it returns false for a property it does not know). endpoints are checked first. Errors
// start with what, the line's name as the operator wrote it ("etcd", "store etcd").
func ParseBlock(c *caddy.Controller, what string, endpoints []string, property func(name string) (bool, error)) (Config, error) {
	if len(endpoints) == 0 {
		return Config{}, c.Errf("%s: give at least one endpoint, such as http://127.0.0.1:2379", what)
	}
	for _, ep := range endpoints {
		if err := CheckEndpoint(ep); err != nil {
			return Config{}, c.Errf("%s: endpoint %q: %s", what, ep, err)
		}
	}
	cfg := Config{Endpoints: append([]string(nil), endpoints...)}
	err := SubBlock(c, func() error {
		switch c.Val() {
		case "tls":
			return parseTLS(c, what, &cfg)
		case "username":
			v, err := OneArg(c)
			cfg.Username = v
			return err
		case "password":
			v, err := OneArg(c)
			cfg.Password = v
			return err
		}
		ok, err := property(c.Val())
		if err == nil && !ok {
			err = c.Errf("unknown property '%s'", c.Val())
		}
		return err
	})
	if err != nil {
		return Config{}, err
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return Config{}, c.Errf("%s: username and password go together", what)
	}
	return cfg, nil
}

func parseTLS(c *caddy.Controller, what string, cfg *Config) error {
	args := c.RemainingArgs()
	if len(args) > 3 {
		return c.Errf("%s: tls takes at most CERT KEY CA, got %d arguments", what, len(args))
	}
	for i, a := range args {
		if !filepath.IsAbs(a) {
			args[i] = filepath.Join(dnsserver.GetConfig(c).Root, a)
		}
	}
	tc, err := mwtls.NewTLSConfigFromArgs(args...)
	if err != nil {
		return c.Errf("%s: tls: %v", what, err)
	}
	cfg.TLS, cfg.TLSArgs = tc, append([]string{"tls"}, args...)
	return nil
}

// OneArg returns the single argument of the current property line.
func OneArg(c *caddy.Controller) (string, error) {
	prop := c.Val()
	args := c.RemainingArgs()
	if len(args) != 1 {
		return "", c.Errf("%s needs exactly one value", prop)
	}
	return args[0], nil
}

// SubBlock reads the optional "{ ... }" that may follow a property's arguments on their line,
// calling property for each line inside. NextBlock cannot do this inside a plugin's block:
// when no "{" follows, it would take the plugin's next property for one of this block's.
func SubBlock(c *caddy.Controller, property func() error) error {
	if !c.NextArg() {
		return nil
	}
	if c.Val() != "{" {
		return c.ArgErr()
	}
	for c.Next() {
		if c.Val() == "}" {
			return nil
		}
		if err := property(); err != nil {
			return err
		}
	}
	return c.EOFErr()
}

// CheckEndpoint accepts what the etcd client dials: http:// or https:// URLs with a host and
// port, or a bare HOST:PORT.
func CheckEndpoint(ep string) error {
	hostport := ep
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil {
			return err
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			return errEndpoint
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return errEndpoint
		}
		hostport = u.Host
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || host == "" || port == "" {
		return errEndpoint
	}
	return nil
}

var errEndpoint = errors.New("want http://HOST:PORT, https://HOST:PORT or HOST:PORT")
