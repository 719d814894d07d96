package healthcheck

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"

	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"
)

// responseWriter filters the response on its way up. It is small: the room for a rebuilt
// answer is allocated only when health or the TTL cap changes the answer.
type responseWriter struct {
	dns.ResponseWriter
	hc  *HealthCheck
	ctx context.Context
}

// WriteMsg implements dns.ResponseWriter. Errors, empty answers, transfers and every type
// but A and AAAA pass through untouched.
func (w *responseWriter) WriteMsg(res *dns.Msg) error {
	if res == nil {
		return errors.New("healthcheck: response message is nil")
	}
	if res.Rcode != dns.RcodeSuccess || len(res.Question) == 0 || len(res.Answer) == 0 {
		return w.ResponseWriter.WriteMsg(res)
	}
	qt := res.Question[0].Qtype
	if qt != dns.TypeA && qt != dns.TypeAAAA {
		return w.ResponseWriter.WriteMsg(res)
	}
	out, outcome := w.hc.filter(res, qt)
	if outcome != unchanged {
		w.hc.counters.count(metrics.WithServer(w.ctx), outcome)
	}
	return w.ResponseWriter.WriteMsg(out)
}

// maxInline is how many answer records filter classifies without allocating.
const maxInline = 16

// class is what one answer record is to the filter.
type class uint8

const (
	other       class = iota // not an address record of the address RRset's owner: kept as is
	primaryDown              // a primary address that is down
	primaryUp                // a primary address that is up
	backupDown               // a backup address that is down
	backupUp                 // a backup address that is up
	numClasses
)

// classOf returns the class of an address in tier backup whose target is up or not.
func classOf(backup, up bool) class {
	switch {
	case backup && up:
		return backupUp
	case backup:
		return backupDown
	case up:
		return primaryUp
	}
	return primaryDown
}

// keepSet is the set of classes an answer keeps, one bit per class.
type keepSet uint8

func keepOnly(cs ...class) keepSet {
	k := keepSet(1 << other)
	for _, c := range cs {
		k |= 1 << c
	}
	return k
}

func (k keepSet) has(c class) bool { return k&(1<<c) != 0 }

// The answers filter gives: which classes each keeps.
var (
	keepAll      = keepOnly(primaryDown, primaryUp, backupDown, backupUp)
	keepPrimary  = keepOnly(primaryUp)
	keepBackupUp = keepOnly(backupUp)
)

// filter returns the answer clients get for res, and the outcome for the metrics: res itself
// when health changes nothing and no TTL needs capping, else a new message. res and its
// records are never modified.
func (hc *HealthCheck) filter(res *dns.Msg, qt uint16) (*dns.Msg, outcome) {
	snap := hc.snap.Load()
	if snap == nil {
		return res, unchanged
	}
	ans := res.Answer
	var buf [maxInline]class
	classes := buf[:0]
	if len(ans) > maxInline {
		classes = make([]class, 0, len(ans))
	}
	var (
		n      [numClasses]int
		owner  string // owner of the address RRset: the first address record's
		rule   *nameRule
		check  *checkSpec
		vs     verdicts
		listed []listedVerdict // verdicts of the addresses the rule lists
		sigs   bool            // an RRSIG covering the queried type is in the answer
	)
	for _, rr := range ans {
		h := rr.Header()
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == qt {
			sigs = true
		}
		if h.Rrtype != qt || (owner != "" && h.Name != owner && !strings.EqualFold(h.Name, owner)) {
			classes = append(classes, other)
			n[other]++
			continue
		}
		if owner == "" {
			owner = h.Name
			if rule = hc.rule(owner); rule != nil {
				check, listed = rule.check, snap.listed[rule.index]
			} else if check = hc.cfg.discover; check == nil {
				return res, unchanged // not a name this plugin judges
			}
			vs = snap.verdicts[check]
		}
		a := addr16(rr)
		var c class
		if v, ok := find(listed, a); ok {
			c = classOf(v.backup, hc.judge(v.state))
		} else {
			c = classOf(false, hc.isUp(vs, a, check, owner))
		}
		classes = append(classes, c)
		n[c]++
	}
	if owner == "" {
		return res, unchanged
	}
	if sigs && signed(ans, qt, owner) {
		// Removing a record would make the RRset bogus; a lower TTL does not.
		return hc.rebuild(res, classes, keepAll, hc.cfg.ttlAll), outcomeSigned
	}

	switch {
	case n[primaryUp] > 0 && n[primaryDown] == 0:
		// Everything up, backups (if any) held back: only a TTL cap may change the answer.
		if n[backupDown]+n[backupUp] == 0 && !hc.cfg.ttlAll {
			return res, unchanged
		}
		return hc.rebuild(res, classes, keepPrimary, hc.cfg.ttlAll), unchanged
	case n[primaryUp] > 0:
		return hc.rebuild(res, classes, keepPrimary, true), outcomeFiltered
	case n[backupUp] > 0:
		return hc.rebuild(res, classes, keepBackupUp, true), outcomeBackup
	}
	switch hc.cfg.allDown {
	case failServfail:
		m := new(dns.Msg)
		m.SetRcode(res, dns.RcodeServerFailure)
		if opt := res.IsEdns0(); opt != nil {
			m.Extra = []dns.RR{opt}
		}
		return m, outcomeAllDownServfail
	case failStatic:
		return hc.static(res, classes, owner, qt), outcomeAllDownAnswer
	}
	return hc.rebuild(res, classes, keepAll, true), outcomeAllDownOpen
}

// signed reports whether an RRSIG in ans covers the address RRset: type qt at owner. An
// RRSIG over anything else (a CNAME in front, another name) does not stop the filter.
func signed(ans []dns.RR, qt uint16, owner string) bool {
	for _, rr := range ans {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == qt && strings.EqualFold(sig.Hdr.Name, owner) {
			return true
		}
	}
	return false
}

// isUp judges one target. An address without a prober is up unless discovery will probe
// it, in which case it is as good as the "unknown" setting says until its first verdict.
func (hc *HealthCheck) isUp(vs verdicts, a [16]byte, check *checkSpec, owner string) bool {
	v, ok := vs[a]
	if !ok {
		if hc.cfg.discover == nil {
			return true
		}
		k := targetKey{netip.AddrFrom16(a).Unmap(), check}
		select {
		case hc.found <- discovery{key: k, owner: owner}:
		default: // the loop is busy; a later answer will report it again
		}
		return hc.cfg.unknownUp
	}
	if v.seen != nil {
		if now := hc.now.Load(); v.seen.Load() != now {
			v.seen.Store(now)
		}
	}
	return hc.judge(v.state)
}

// judge says whether a target in state s is answered.
func (hc *HealthCheck) judge(s state) bool {
	switch s {
	case stateUp:
		return true
	case stateDown:
		return false
	}
	return hc.cfg.unknownUp
}

// reply is a rebuilt message with room for its answer and for the copies of the records
// whose TTL is capped, so that an answer of common size (a CNAME and up to five addresses)
// costs one allocation of at most 576 bytes. The inline arrays are only a first home: past
// them append moves on to the heap, and the records already placed stay where they are.
type reply struct {
	msg    dns.Msg
	rrs    [6]dns.RR
	cnames [1]dns.CNAME
}

// One type per family, so that either allocation stays small.
type (
	replyA struct {
		reply
		as [4]dns.A
	}
	replyAAAA struct {
		reply
		aaaas [4]dns.AAAA
	}
)

// copier builds a rebuilt answer in a reply's room.
type copier struct {
	answer []dns.RR
	as     []dns.A
	aaaas  []dns.AAAA
	cnames []dns.CNAME
	ttl    uint32
}

// withTTL returns rr, or a copy of it with the TTL capped when rr's is longer.
func (c *copier) withTTL(rr dns.RR) dns.RR {
	if rr.Header().Ttl <= c.ttl {
		return rr
	}
	switch rr := rr.(type) {
	case *dns.A:
		c.as = append(c.as, *rr)
		cp := &c.as[len(c.as)-1]
		cp.Hdr.Ttl = c.ttl
		return cp
	case *dns.AAAA:
		c.aaaas = append(c.aaaas, *rr)
		cp := &c.aaaas[len(c.aaaas)-1]
		cp.Hdr.Ttl = c.ttl
		return cp
	case *dns.CNAME:
		c.cnames = append(c.cnames, *rr)
		cp := &c.cnames[len(c.cnames)-1]
		cp.Hdr.Ttl = c.ttl
		return cp
	}
	cp := dns.Copy(rr) // an RRSIG of a signed answer: rare, not worth a slot
	cp.Header().Ttl = c.ttl
	return cp
}

// cappable reports whether capping applies to rr: always to the address records of the RRset
// (class not other); with "ttl ... all" also to the CNAME chain in front of them and, in a
// signed answer, to the RRSIGs (a lower TTL does not break a signature).
func (hc *HealthCheck) cappable(rr dns.RR, c class) bool {
	if c != other {
		return true
	}
	if !hc.cfg.ttlAll {
		return false
	}
	t := rr.Header().Rrtype
	return t == dns.TypeCNAME || t == dns.TypeRRSIG
}

// rebuild returns res, or when that changes anything a copy of res whose answer keeps the
// records of the classes in keep, in their order. With capTTL, kept address records, CNAMEs
// and RRSIGs get a TTL no longer than the configured one, on copies of the records.
func (hc *HealthCheck) rebuild(res *dns.Msg, classes []class, keep keepSet, capTTL bool) *dns.Msg {
	if hc.same(res.Answer, classes, keep, capTTL) {
		return res
	}
	var (
		f *reply
		c = copier{ttl: hc.cfg.ttl}
	)
	if res.Question[0].Qtype == dns.TypeA {
		r := new(replyA)
		f, c.as = &r.reply, r.as[:0]
	} else {
		r := new(replyAAAA)
		f, c.aaaas = &r.reply, r.aaaas[:0]
	}
	c.answer, c.cnames = f.rrs[:0], f.cnames[:0]
	f.msg = *res
	for i, rr := range res.Answer {
		if !keep.has(classes[i]) {
			continue
		}
		if capTTL && hc.cappable(rr, classes[i]) {
			rr = c.withTTL(rr)
		}
		c.answer = append(c.answer, rr)
	}
	f.msg.Answer = c.answer
	return &f.msg
}

// same reports whether rebuild would give back an answer equal to ans: every record kept
// and none with a TTL to cap.
func (hc *HealthCheck) same(ans []dns.RR, classes []class, keep keepSet, capTTL bool) bool {
	for i, rr := range ans {
		if !keep.has(classes[i]) || (capTTL && hc.cappable(rr, classes[i]) && rr.Header().Ttl > hc.cfg.ttl) {
			return false
		}
	}
	return true
}

// static answers with the Corefile's all_down addresses of the queried family, after any
// CNAME chain (TTLs capped as for any changed answer); a family without static addresses
// answers NODATA.
func (hc *HealthCheck) static(res *dns.Msg, classes []class, owner string, qt uint16) *dns.Msg {
	m := new(dns.Msg)
	*m = *res
	m.Answer = nil
	c := copier{ttl: hc.cfg.ttl}
	for i, rr := range res.Answer {
		if classes[i] == other {
			if hc.cappable(rr, other) {
				rr = c.withTTL(rr)
			}
			m.Answer = append(m.Answer, rr)
		}
	}
	hdr := dns.RR_Header{Name: owner, Rrtype: qt, Class: dns.ClassINET, Ttl: hc.cfg.ttl}
	for _, a := range hc.cfg.static {
		switch {
		case qt == dns.TypeA && a.Is4():
			m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: net.IP(a.AsSlice())})
		case qt == dns.TypeAAAA && a.Is6():
			m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: net.IP(a.AsSlice())})
		}
	}
	return m
}

// v4InV6 is the prefix of an IPv4 address in 16-byte form, as netip.Addr.As16 writes it.
var v4InV6 = [12]byte{10: 0xff, 11: 0xff}

// addr16 returns the address of an A or AAAA record in the 16-byte form the snapshot is
// keyed by, without going through netip (this runs for every address of every answer).
func addr16(rr dns.RR) (a [16]byte) {
	var ip net.IP
	switch rr := rr.(type) {
	case *dns.A:
		ip = rr.A
	case *dns.AAAA:
		ip = rr.AAAA
	}
	switch len(ip) {
	case net.IPv4len:
		copy(a[:], v4InV6[:])
		copy(a[12:], ip)
	case net.IPv6len:
		copy(a[:], ip)
	}
	return a
}
