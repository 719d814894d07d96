package override

import (
	"strings"

	"github.com/coredns/caddy"

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
	ec := store.EtcdConfig{Prefix: store.DefaultEtcdPrefix}
	pc, err := etcdpool.ParseBlock(c, "store etcd", endpoints, func(prop string) (bool, error) {
		if prop != "prefix" {
			return false, nil
		}
		v, err := oneArg(c)
		if err != nil {
			return true, err
		}
		if !strings.HasPrefix(v, "/") {
			return true, c.Errf("store etcd: prefix %q must start with /", v)
		}
		ec.Prefix = v
		return true, nil
	})
	if err != nil {
		return store.EtcdConfig{}, err
	}
	ec.Config = pc
	return ec, nil
}
