package healthcheck

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// probeKind is the protocol a check speaks to its target.
type probeKind string

// The kinds of check.
const (
	kindTCP   probeKind = "tcp"
	kindHTTP  probeKind = "http"
	kindHTTPS probeKind = "https"
	kindDNS   probeKind = "dns"
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

	// defaultMaxDiscovered bounds the discovered targets, so that a backend that answers
	// with ever new addresses (or a zone of thousands) cannot make the plugin probe without
	// limit. Each target costs a timer, a probe per interval and a few metric series.
	defaultMaxDiscovered = 1024
	maxMaxDiscovered     = 1 << 20
)

// Lower bounds of the timings. A probe every few nanoseconds is not a health check but a
// load test of the target (and of this server): 100ms is already ten probes a second per
// target. A timeout under 10ms fails on a loaded machine even for a local target.
const (
	minInterval = 100 * time.Millisecond
	minTimeout  = 10 * time.Millisecond
)

// checkSpec describes how to probe a target and when to believe the result.
type checkSpec struct {
	Name string
	Kind probeKind
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
func newCheck(name string, kind probeKind) *checkSpec {
	c := &checkSpec{
		Name: name, Kind: kind,
		Path: "/", StatusLo: 200, StatusHi: 399,
		QueryName: ".", QueryType: dns.TypeNS, Rcode: dns.RcodeSuccess,
		Interval: defaultInterval, Timeout: defaultTimeout,
		Rise: defaultRise, Fall: defaultFall, Jitter: defaultJitter,
	}
	switch kind {
	case kindHTTP:
		c.Port = 80
	case kindHTTPS:
		c.Port = 443
	case kindDNS:
		c.Port = 53
	}
	return c
}

// fingerprint identifies what a prober does. Two checks with the same fingerprint probing the
// same address share one prober, even across server blocks and reloads.
func (c *checkSpec) fingerprint() string {
	return fmt.Sprintf("%s|%d|%s|%d-%d|%q|%q|%t|%s|%d|%d|%s|%s|%d|%d|%g",
		c.Kind, c.Port, c.Path, c.StatusLo, c.StatusHi, c.Body, c.Host, c.Insecure,
		c.QueryName, c.QueryType, c.Rcode, c.Interval, c.Timeout, c.Rise, c.Fall, c.Jitter)
}

// endpoint describes what a probe of addr contacts, for logs and the health view.
func (c *checkSpec) endpoint(addr netip.Addr) string {
	hp := netip.AddrPortFrom(addr, uint16(c.Port)).String()
	switch c.Kind {
	case kindHTTP, kindHTTPS:
		return string(c.Kind) + "://" + hp + c.Path
	case kindDNS:
		return "dns://" + hp + " " + c.QueryName + " " + dns.TypeToString[c.QueryType]
	}
	return "tcp://" + hp
}

// parseCheckOptions applies "KEY VALUE" options (and the flag "insecure") to c.
func parseCheckOptions(c *checkSpec, args []string) error {
	for i := 0; i < len(args); i++ {
		key := args[i]
		if key == "insecure" {
			if c.Kind != kindHTTPS {
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

func (c *checkSpec) set(key, val string) error {
	httpish := c.Kind == kindHTTP || c.Kind == kindHTTPS
	var err error
	switch {
	case key == "port":
		c.Port, err = intIn(key, val, 1, 65535)
	case key == "interval":
		c.Interval, err = durationAtLeast(key, val, minInterval)
	case key == "timeout":
		c.Timeout, err = durationAtLeast(key, val, minTimeout)
	case key == "rise":
		c.Rise, err = intIn(key, val, 1, 100)
	case key == "fall":
		c.Fall, err = intIn(key, val, 1, 100)
	case key == "jitter":
		c.Jitter, err = parsePercent(val)
	case key == "host" && c.Kind != kindTCP:
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
	case key == "query" && c.Kind == kindDNS:
		if _, ok := dns.IsDomainName(val); !ok {
			return fmt.Errorf("invalid query name '%s'", val)
		}
		c.QueryName = dns.Fqdn(val)
	case key == "qtype" && c.Kind == kindDNS:
		t, ok := dns.StringToType[strings.ToUpper(val)]
		if !ok {
			return fmt.Errorf("unknown qtype '%s'", val)
		}
		c.QueryType = t
	case key == "rcode" && c.Kind == kindDNS:
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

func (c *checkSpec) validate() error {
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
	return durationAtLeast(key, val, 1)
}

// durationAtLeast reads a duration of at least lo.
func durationAtLeast(key, val string, lo time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(val)
	if err != nil || d < lo {
		if lo <= 1 {
			return 0, fmt.Errorf("invalid %s '%s': want a positive duration such as 500ms", key, val)
		}
		return 0, fmt.Errorf("invalid %s '%s': want a duration of at least %s", key, val, lo)
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
	// Written so that NaN, which compares false with everything, is refused too.
	if err != nil || !(f >= 0 && f <= 1) {
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
