package override

import (
	"path/filepath"
	"strings"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	mwtls "github.com/coredns/coredns/plugin/pkg/tls"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
	"github.com/steerdns/steerdns/plugin/override/store"
)

// parseStore reads "store PATH" (the file store) or
// "store etcd ENDPOINT... { prefix PATH; tls [CERT KEY] [CA]; username USER; password PASS }",
// and returns the file's path or etcd's configuration.
func parseStore(c *caddy.Controller) (string, *store.EtcdConfig, error) {
	args := c.RemainingArgs()
	if len(args) == 0 {
		return "", nil, c.ArgErr()
	}
	if args[0] == "etcd" {
		ec, err := parseEtcdStore(c, args[1:])
		if err != nil {
			return "", nil, err
		}
		return "", &ec, nil
	}
	if len(args) != 1 || args[0] == "" {
		return "", nil, c.ArgErr()
	}
	if c.NextArg() { // only a "{" can follow the arguments on their line
		return "", nil, c.Errf("store %s: a file store takes no block", args[0])
	}
	return args[0], nil, nil
}

func parseEtcdStore(c *caddy.Controller, endpoints []string) (store.EtcdConfig, error) {
	if len(endpoints) == 0 {
		return store.EtcdConfig{}, c.Errf("store etcd: give at least one endpoint, such as http://127.0.0.1:2379")
	}
	for _, ep := range endpoints {
		if err := etcdpool.CheckEndpoint(ep); err != nil {
			return store.EtcdConfig{}, c.Errf("store etcd: endpoint %q: %s", ep, err)
		}
	}
	ec := store.EtcdConfig{Endpoints: endpoints, Prefix: store.DefaultEtcdPrefix}
	if err := etcdpool.SubBlock(c, func() error { return parseEtcdProperty(c, &ec) }); err != nil {
		return store.EtcdConfig{}, err
	}
	if (ec.Username == "") != (ec.Password == "") {
		return store.EtcdConfig{}, c.Errf("store etcd: username and password go together")
	}
	return ec, nil
}

func parseEtcdProperty(c *caddy.Controller, ec *store.EtcdConfig) error {
	switch c.Val() {
	case "prefix":
		v, err := oneArg(c)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(v, "/") {
			return c.Errf("store etcd: prefix %q must start with /", v)
		}
		ec.Prefix = v
	case "tls":
		args := c.RemainingArgs()
		if len(args) > 3 {
			return c.Errf("store etcd: tls takes at most CERT KEY CA, got %d arguments", len(args))
		}
		for i, a := range args {
			if !filepath.IsAbs(a) {
				args[i] = filepath.Join(dnsserver.GetConfig(c).Root, a)
			}
		}
		tc, err := mwtls.NewTLSConfigFromArgs(args...)
		if err != nil {
			return c.Errf("store etcd: tls: %v", err)
		}
		ec.TLS = tc
	case "username":
		v, err := oneArg(c)
		if err != nil {
			return err
		}
		ec.Username = v
	case "password":
		v, err := oneArg(c)
		if err != nil {
			return err
		}
		ec.Password = v
	default:
		return c.Errf("unknown property '%s'", c.Val())
	}
	return nil
}
