package console

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
	"github.com/steerdns/steerdns/plugin/internal/explain"
)

// Block is one server block behind a console: the zones it serves and its dry run, which
// runs a query through the block's chain from the override plugin down (see package explain).
type Block struct {
	Zones   []string // normalised: lower case, fully qualified
	Explain func(context.Context, explain.Query) explain.Explanation
	// Recent returns the answers of every override that answered in the last minutes, per
	// bucket of the given length, oldest first, from start.
	Recent func(now time.Time) (start time.Time, bucket time.Duration, counts map[string][]uint64)
}

// explainTimeout bounds a dry run: the chain below may ask upstream servers.
const explainTimeout = 5 * time.Second

// block returns the block whose zones hold name most closely, nil when none does.
func (c *server) block(name string) *Block {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *Block
	bestLen := -1
	for i := range c.blocks {
		for _, z := range c.blocks[i].Zones {
			if answer.InZone(name, z) && len(z) > bestLen {
				best, bestLen = &c.blocks[i], len(z)
			}
		}
	}
	return best
}

// explain answers GET /api/explain?name=NAME&type=A&client=ADDR[&tcp=1][&do=1]: the answer
// the client would get now and why, from a dry run that changes nothing. The client defaults
// to the address the request comes from.
func (a *api) explain(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := strings.TrimSpace(q.Get("name"))
	if name == "" {
		writeError(w, http.StatusBadRequest, "name", "is required: the name to explain, for example www.example.test")
		return
	}
	if _, ok := dns.IsDomainName(name); !ok || len(dns.Fqdn(name)) > 255 {
		writeError(w, http.StatusBadRequest, "name", "is not a domain name: "+quoteInput(name))
		return
	}
	fqdn := dns.Fqdn(strings.ToLower(name))
	qtype := dns.TypeA
	if t := strings.TrimSpace(q.Get("type")); t != "" {
		var ok bool
		if qtype, ok = dns.StringToType[strings.ToUpper(t)]; !ok || qtype == dns.TypeANY || qtype == dns.TypeAXFR || qtype == dns.TypeIXFR {
			writeError(w, http.StatusBadRequest, "type", "is not a query type: "+quoteInput(t)+" (A, AAAA, CNAME, ...)")
			return
		}
	}
	client, err := clientOf(q.Get("client"), r.RemoteAddr)
	if err != nil {
		writeError(w, http.StatusBadRequest, "client", err.Error())
		return
	}
	tcp, err1 := flag(q.Get("tcp"))
	do, err2 := flag(q.Get("do"))
	if err1 != nil || err2 != nil {
		field := "tcp"
		if err1 == nil {
			field = "do"
		}
		writeError(w, http.StatusBadRequest, field, "wants 1, true, 0 or false")
		return
	}
	b := a.server.block(fqdn)
	if b == nil || b.Explain == nil {
		writeError(w, http.StatusNotFound, "name", "no server block behind this console serves "+fqdn)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), explainTimeout)
	defer cancel()
	writeJSON(w, http.StatusOK, b.Explain(ctx, explain.Query{Name: fqdn, Type: qtype, Client: client, TCP: tcp, DO: do}))
}

// clientOf parses the client parameter, or, when it is empty, the request's own address.
func clientOf(param, remote string) (netip.Addr, error) {
	s := strings.TrimSpace(param)
	if s == "" {
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		s = host
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, errorf("is not an IP address: %s", quoteInput(s))
	}
	return a.Unmap(), nil
}

// quoteInput quotes what a client sent for an error message, cut to a readable length.
func quoteInput(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }

func flag(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, errorf("bad flag %q", s)
}

// recentAnswers is the answer of GET /api/overrides/recent.
type recentAnswers struct {
	Start         time.Time           `json:"start"`
	BucketSeconds float64             `json:"bucket_seconds"`
	Counts        map[string][]uint64 `json:"counts"` // by override id; absent: no answer in the window
}

// recent answers GET /api/overrides/recent: each override's answers over the last minutes.
func (a *api) recent(w http.ResponseWriter, _ *http.Request) {
	b := a.server.anyBlock()
	if b == nil || b.Recent == nil {
		writeJSON(w, http.StatusOK, recentAnswers{Start: time.Now().UTC(), Counts: map[string][]uint64{}})
		return
	}
	start, bucket, counts := b.Recent(time.Now())
	writeJSON(w, http.StatusOK, recentAnswers{Start: start.UTC(), BucketSeconds: bucket.Seconds(), Counts: counts})
}

func (c *server) anyBlock() *Block {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.blocks) == 0 {
		return nil
	}
	return &c.blocks[0]
}
