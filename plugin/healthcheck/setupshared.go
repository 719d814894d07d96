package healthcheck

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/coredns/caddy"

	"github.com/steerdns/steerdns/plugin/internal/etcdpool"
)

const (
	defaultPrefix = "/steerdns/health/"
	maxLease      = time.Hour
	maxQuorum     = 100
)

// replicaName is what a replica's name may hold: it is the last part of its verdicts' keys
// and shown in the console, so no "/", no spaces, not empty and not long.
var replicaName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// parseShared reads "etcd ENDPOINT... { prefix PATH; replica NAME; lease DURATION; tls ...;
// username USER; password PASS }".
func parseShared(c *caddy.Controller, endpoints []string) (*sharedConfig, error) {
	sc := &sharedConfig{prefix: defaultPrefix, lease: defaultLease, quorum: majority}
	ec, err := etcdpool.ParseBlock(c, "etcd", endpoints, func(prop string) (bool, error) {
		return parseSharedProperty(c, prop, sc)
	})
	if err != nil {
		return nil, err
	}
	sc.etcd = ec
	if sc.replica == "" {
		if sc.replica, err = defaultReplica(); err != nil {
			return nil, c.Errf("etcd: no replica name given and %v; add 'replica NAME'", err)
		}
	}
	return sc, nil
}

func parseSharedProperty(c *caddy.Controller, prop string, sc *sharedConfig) (bool, error) {
	var v string
	switch prop {
	case "prefix", "replica", "lease":
		var err error
		if v, err = etcdpool.OneArg(c); err != nil {
			return true, err
		}
	default:
		return false, nil
	}
	switch prop {
	case "prefix":
		if !strings.HasPrefix(v, "/") {
			return true, c.Errf("etcd: prefix %q must start with /", v)
		}
		if !strings.HasSuffix(v, "/") {
			v += "/"
		}
		sc.prefix = v
	case "replica":
		if !replicaName.MatchString(v) {
			return true, c.Errf("etcd: invalid replica name %q: want letters, digits, '.', '_' or '-', at most 63", v)
		}
		sc.replica = v
	case "lease":
		d, err := time.ParseDuration(v)
		if err != nil || d < minLease || d > maxLease {
			return true, c.Errf("etcd: invalid lease %q: want a duration from %s to %s", v, minLease, maxLease)
		}
		sc.lease = time.Duration(math.Ceil(d.Seconds())) * time.Second
	}
	return true, nil
}

// defaultReplica is the host's name (in Kubernetes, the pod's), cut to what a replica name
// may hold.
func defaultReplica() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("the host name is unknown (%v)", err)
	}
	return replicaFromHost(h)
}

// replicaFromHost turns a host name into a replica name: characters a replica name may not
// hold become '-', and it is cut to 63.
func replicaFromHost(h string) (string, error) {
	h = strings.Map(func(r rune) rune {
		if r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '-'
	}, h)
	if len(h) > 63 { // (>= cuts nothing at exactly 63: an equivalent mutant)
		h = h[:63]
	}
	if !replicaName.MatchString(h) {
		return "", fmt.Errorf("the host name %q is not a valid replica name", h)
	}
	return h, nil
}

// parseQuorum reads "N" or "majority".
func parseQuorum(args []string) (quorum, error) {
	if len(args) != 1 {
		return 0, fmt.Errorf("quorum needs one value: a number of replicas or 'majority'")
	}
	if args[0] == "majority" {
		return majority, nil
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 || n > maxQuorum {
		return 0, fmt.Errorf("invalid quorum '%s': want a number from 1 to %d, or majority", args[0], maxQuorum)
	}
	return quorum(n), nil
}
