package healthcheck

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Kind is the protocol a check speaks to its target.
type Kind string

// The kinds of check.
const (
	KindTCP   Kind = "tcp"
	KindHTTP  Kind = "http"
	KindHTTPS Kind = "https"
	KindDNS   Kind = "dns"
)

// Defaults are chosen so that a dead server leaves the answers within about two seconds:
// two failed probes one second apart.
const (
	defaultInterval = time.Second
	defaultTimeout  = time.Second
	defaultRise     = 2
	defaultFall     = 2
	defaultJitter   = 0.1
	defaultTTL      = 10
	defaultExpire   = 5 * time.Minute
)

// Check describes how to probe a target and when to believe the result.
type Check struct {
	Name string
	Kind Kind
	Port int

	// HTTP and HTTPS.
	Path      string
	StatusLo  int
	StatusHi  int
	Body      string // substring the body must contain; empty means any body
	Host      string // Host header and TLS SNI; empty means the name the target serves
	Insecure  bool   // skip certificate verification (HTTPS)
	QueryName string // DNS: the question to ask
	QueryType uint16
	Rcode     int // DNS: the rcode the answer must carry

	Interval time.Duration
	Timeout  time.Duration
	Rise     int     // consecutive successes that bring a down target up
	Fall     int     // consecutive failures that take an up target down
	Jitter   float64 // fraction of Interval by which each wait is randomly shortened or lengthened
}

// newCheck returns a check of kind with every default filled in.
func newCheck(name string, kind Kind) *Check {
	c := &Check{
		Name: name, Kind: kind,
		Path: "/", StatusLo: 200, StatusHi: 399,
		QueryName: ".", QueryType: dns.TypeNS, Rcode: dns.RcodeSuccess,
		Interval: defaultInterval, Timeout: defaultTimeout,
		Rise: defaultRise, Fall: defaultFall, Jitter: defaultJitter,
	}
	switch kind {
	case KindHTTP:
		c.Port = 80
	case KindHTTPS:
		c.Port = 443
	case KindDNS:
		c.Port = 53
	}
	return c
}

// fingerprint identifies what a prober does. Two checks with the same fingerprint probing the
// same address share one prober, even across server blocks and reloads.
func (c *Check) fingerprint() string {
	return fmt.Sprintf("%s|%d|%s|%d-%d|%q|%q|%t|%s|%d|%d|%s|%s|%d|%d|%g",
		c.Kind, c.Port, c.Path, c.StatusLo, c.StatusHi, c.Body, c.Host, c.Insecure,
		c.QueryName, c.QueryType, c.Rcode, c.Interval, c.Timeout, c.Rise, c.Fall, c.Jitter)
}

// endpoint describes what a probe of addr contacts, for logs and the health view.
func (c *Check) endpoint(addr netip.Addr) string {
	hp := netip.AddrPortFrom(addr, uint16(c.Port)).String()
	switch c.Kind {
	case KindHTTP, KindHTTPS:
		return string(c.Kind) + "://" + hp + c.Path
	case KindDNS:
		return "dns://" + hp + " " + c.QueryName + " " + dns.TypeToString[c.QueryType]
	}
	return "tcp://" + hp
}

// parseCheckOptions applies "KEY VALUE" options (and the flag "insecure") to c.
func parseCheckOptions(c *Check, args []string) error {
	for i := 0; i < len(args); i++ {
		key := args[i]
		if key == "insecure" {
			if c.Kind != KindHTTPS {
				return fmt.Errorf("check %s: 'insecure' applies only to https checks", c.Name)
			}
			c.Insecure = true
			continue
		}
		if i+1 >= len(args) {
			return fmt.Errorf("check %s: option '%s' needs a value", c.Name, key)
		}
		i++
		if err := c.set(key, args[i]); err != nil {
			return fmt.Errorf("check %s: %v", c.Name, err)
		}
	}
	return c.validate()
}

func (c *Check) set(key, val string) error {
	httpish := c.Kind == KindHTTP || c.Kind == KindHTTPS
	var err error
	switch {
	case key == "port":
		c.Port, err = intIn(key, val, 1, 65535)
	case key == "interval":
		c.Interval, err = positiveDuration(key, val)
	case key == "timeout":
		c.Timeout, err = positiveDuration(key, val)
	case key == "rise":
		c.Rise, err = intIn(key, val, 1, 100)
	case key == "fall":
		c.Fall, err = intIn(key, val, 1, 100)
	case key == "jitter":
		c.Jitter, err = parsePercent(val)
	case key == "host" && c.Kind != KindTCP:
		c.Host = strings.TrimSuffix(val, ".")
	case key == "path" && httpish:
		if !strings.HasPrefix(val, "/") {
			return fmt.Errorf("path '%s' must start with '/'", val)
		}
		c.Path = val
	case key == "status" && httpish:
		c.StatusLo, c.StatusHi, err = parseStatus(val)
	case key == "body" && httpish:
		c.Body = val
	case key == "query" && c.Kind == KindDNS:
		if _, ok := dns.IsDomainName(val); !ok {
			return fmt.Errorf("invalid query name '%s'", val)
		}
		c.QueryName = dns.Fqdn(val)
	case key == "qtype" && c.Kind == KindDNS:
		t, ok := dns.StringToType[strings.ToUpper(val)]
		if !ok {
			return fmt.Errorf("unknown qtype '%s'", val)
		}
		c.QueryType = t
	case key == "rcode" && c.Kind == KindDNS:
		r, ok := dns.StringToRcode[strings.ToUpper(val)]
		if !ok {
			return fmt.Errorf("unknown rcode '%s'", val)
		}
		c.Rcode = r
	default:
		return fmt.Errorf("unknown option '%s' for a %s check", key, c.Kind)
	}
	return err
}

func (c *Check) validate() error {
	if c.Port == 0 {
		return fmt.Errorf("check %s: a %s check needs 'port'", c.Name, c.Kind)
	}
	return nil
}

func intIn(key, val string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(val)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("invalid %s '%s': want a whole number from %d to %d", key, val, lo, hi)
	}
	return n, nil
}

func positiveDuration(key, val string) (time.Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid %s '%s': want a positive duration such as 500ms", key, val)
	}
	return d, nil
}

// parsePercent reads "10%" (or a fraction such as "0.1") into a fraction from 0 to 1.
func parsePercent(val string) (float64, error) {
	s, pct := strings.CutSuffix(val, "%")
	f, err := strconv.ParseFloat(s, 64)
	if pct {
		f /= 100
	}
	if err != nil || f < 0 || f > 1 {
		return 0, fmt.Errorf("invalid jitter '%s': want a percentage from 0%% to 100%%", val)
	}
	return f, nil
}

// parseStatus reads "200" or "200-399".
func parseStatus(val string) (lo, hi int, err error) {
	l, h, isRange := strings.Cut(val, "-")
	if !isRange {
		h = l
	}
	lo, err1 := strconv.Atoi(l)
	hi, err2 := strconv.Atoi(h)
	if err1 != nil || err2 != nil || lo < 100 || hi > 599 || lo > hi {
		return 0, 0, fmt.Errorf("invalid status '%s': want a code or a range such as 200-399", val)
	}
	return lo, hi, nil
}
