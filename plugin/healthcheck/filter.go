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

// responseWriter filters the response on its way up. It is small: most answers pass as they
// are, and the room for a rebuilt one is allocated only when health changes the answer.
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
	out, outcome := w.hc.filter(res, qt, nil)
	if outcome != unchanged {
		w.hc.counters.count(metrics.WithServer(w.ctx), outcome)
	}
	return w.ResponseWriter.WriteMsg(out)
}

// maxMarked is how many answer records filter marks without allocating.
const maxMarked = 16

// Each address record gets one mark.
const (
	markOther     uint8 = iota // not an address record of the final owner: kept as is
	markPrimary                // a primary that is down
	markPrimaryUp              // a primary that is up (markPrimary+1, so "up" is one increment)
	markBackup                 // a backup that is down
	markBackupUp               // a backup that is up
)

// filter returns res itself when health changes nothing, or a new message built in out (a new
// one when out is nil), and the outcome for the metrics. res and its records are never
// modified.
func (hc *HealthCheck) filter(res *dns.Msg, qt uint16, out *filtered) (*dns.Msg, outcome) {
	snap := hc.snap.Load()
	if snap == nil {
		return res, unchanged
	}
	ans := res.Answer
	var markBuf [maxMarked]uint8
	marks := markBuf[:0]
	if len(ans) > maxMarked {
		marks = make([]uint8, 0, len(ans))
	}
	var (
		n      [5]int // count per mark
		owner  string // owner of the address RRset: the first address record's
		rule   *nameRule
		check  *checkSpec
		vs     verdicts
		listed []listedVerdict // verdicts of the addresses the rule lists
	)
	for _, rr := range ans {
		h := rr.Header()
		if h.Rrtype == dns.TypeRRSIG && rr.(*dns.RRSIG).TypeCovered == qt {
			return res, outcomeSigned
		}
		if h.Rrtype != qt || (owner != "" && h.Name != owner && !strings.EqualFold(h.Name, owner)) {
			marks = append(marks, markOther)
			n[markOther]++
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
		m := markPrimary
		if v, ok := find(listed, a); ok {
			if v.backup {
				m = markBackup
			}
			if hc.judge(v.state) {
				m++
			}
		} else if hc.isUp(vs, a, check, owner) {
			m++
		}
		marks = append(marks, m)
		n[m]++
	}
	if owner == "" {
		return res, unchanged
	}

	switch {
	case n[markPrimaryUp] > 0:
		if n[markPrimary] == 0 && n[markBackup]+n[markBackupUp] == 0 {
			return res, unchanged // everything up and nothing held back: the common case
		}
		// Backups are held back while a primary is up; only a dead primary caps the TTL.
		return hc.rebuild(out, res, marks, markPrimaryUp, n[markPrimary] > 0), outcomeIf(n[markPrimary] > 0, outcomeFiltered)
	case n[markBackupUp] > 0:
		return hc.rebuild(out, res, marks, markBackupUp, true), outcomeBackup
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
		return hc.static(res, marks, owner, qt), outcomeAllDownAnswer
	}
	return hc.rebuild(out, res, marks, markAll, true), outcomeAllDownOpen
}

func outcomeIf(b bool, o outcome) outcome {
	if b {
		return o
	}
	return unchanged
}

// markAll asks rebuild to keep every address.
const markAll uint8 = 255

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

// filtered holds a rebuilt message and room for its answer.
type filtered struct {
	msg dns.Msg
	rrs [6]dns.RR // a CNAME and five addresses fit
}

// filteredA and filteredAAAA add room for the copies of the records whose TTL is capped, so
// that rebuilding an answer of common size is one allocation of at most 512 bytes (the
// largest size the allocator serves without a header), for either family.
type (
	filteredA struct {
		filtered
		capped [4]dns.A
	}
	filteredAAAA struct {
		filtered
		capped [4]dns.AAAA
	}
)

// rebuild returns a copy of res whose answer keeps the records marked markOther and keep
// (every address for markAll), in their order. With capTTL, kept addresses get a TTL no
// longer than the configured one, on copies of the records.
func (hc *HealthCheck) rebuild(f *filtered, res *dns.Msg, marks []uint8, keep uint8, capTTL bool) *dns.Msg {
	var (
		as    []dns.A
		aaaas []dns.AAAA
	)
	switch {
	case f != nil:
	case res.Question[0].Qtype == dns.TypeA:
		fa := new(filteredA)
		f, as = &fa.filtered, fa.capped[:0]
	default:
		fa := new(filteredAAAA)
		f, aaaas = &fa.filtered, fa.capped[:0]
	}
	f.msg = *res
	kept, toCap := 0, 0
	for i, rr := range res.Answer {
		m := marks[i]
		if m != markOther && keep != markAll && m != keep {
			continue
		}
		kept++
		if m != markOther && rr.Header().Ttl > hc.cfg.ttl {
			toCap++
		}
	}
	answer := f.rrs[:0]
	if kept > len(f.rrs) {
		answer = make([]dns.RR, 0, kept)
	}
	if capTTL && toCap > max(cap(as), cap(aaaas)) {
		if res.Question[0].Qtype == dns.TypeA {
			as = make([]dns.A, 0, toCap)
		} else {
			aaaas = make([]dns.AAAA, 0, toCap)
		}
	}
	for i, rr := range res.Answer {
		m := marks[i]
		if m != markOther && keep != markAll && m != keep {
			continue
		}
		if m == markOther || !capTTL || rr.Header().Ttl <= hc.cfg.ttl {
			answer = append(answer, rr)
			continue
		}
		switch rr := rr.(type) {
		case *dns.A:
			as = append(as, *rr)
			as[len(as)-1].Hdr.Ttl = hc.cfg.ttl
			answer = append(answer, &as[len(as)-1])
		case *dns.AAAA:
			aaaas = append(aaaas, *rr)
			aaaas[len(aaaas)-1].Hdr.Ttl = hc.cfg.ttl
			answer = append(answer, &aaaas[len(aaaas)-1])
		}
	}
	f.msg.Answer = answer
	return &f.msg
}

// static answers with the Corefile's all_down addresses of the queried family, after any
// CNAME chain; a family without static addresses answers NODATA.
func (hc *HealthCheck) static(res *dns.Msg, marks []uint8, owner string, qt uint16) *dns.Msg {
	m := new(dns.Msg)
	*m = *res
	m.Answer = nil
	for i, rr := range res.Answer {
		if marks[i] == markOther {
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
