package healthcheck

import (
	"net"
	"net/netip"

	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// Rewrite implements answer.Stage: it filters the answer by the health of its addresses and
// caps its TTLs, and counts what health changed.
func (hc *HealthCheck) Rewrite(r *answer.Response) {
	if rec := r.Explain(); rec != nil {
		hc.explain(rec, r)
		return
	}
	if o := hc.filter(r, false); o != unchanged {
		hc.counters.count(metrics.WithServer(r.Context()), o)
	}
}

// class is what one answer record is to the filter.
type class uint8

const (
	other       class = iota // not in the answer's RRset (a CNAME, an RRSIG, another owner): kept
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
	keepOthers   = keepOnly() // the RRset goes: all_down answer puts its own addresses in
)

// maxInline is how many answer records filter classifies without allocating.
const maxInline = 32

// tally is one answer as the filter sees it: the class of each record (by its index in the
// answer) and how many records of each class there are, and how many have a TTL over the cap.
type tally struct {
	classes   []class
	n         [numClasses]int
	longSet   int // records of the RRset with a TTL over the cap
	longAlong int // CNAMEs and RRSIGs with a TTL over the cap ("ttl ... all" caps those too)
}

// filter applies health and the TTL cap to the response and returns the outcome for the
// metrics. It changes the response only through r (Edit, WithTTL, Replace), never the
// message or records the backend handed up. A dry run (dry) changes no state: it reports
// no address for discovery and marks none as seen.
func (hc *HealthCheck) filter(r *answer.Response, dry bool) outcome {
	if qt := r.Question().Qtype; qt != dns.TypeA && qt != dns.TypeAAAA {
		return unchanged
	}
	snap := hc.snap.Load()
	if snap == nil {
		return unchanged
	}
	set, ok := r.RRset()
	if !ok {
		return unchanged
	}
	var buf [maxInline]class
	t, ok := hc.classify(snap, r.Msg().Answer, set, buf[:0], dry)
	if !ok {
		return unchanged // not a name this plugin judges
	}
	if set.Signed && (hc.cfg.signer == nil || hc.cfg.signer.Zone(set.Owner) == "") {
		// Removing a record would make the RRset bogus without the keys to sign it again;
		// a lower TTL does not.
		hc.unsigned.Note(r.Msg().Answer, set)
		hc.keep(r, &t, keepAll, hc.cfg.ttlAll)
		return outcomeSigned
	}
	switch {
	case t.n[primaryUp] > 0 && t.n[primaryDown] == 0:
		// Every primary up, backups (if any) held back: not counted as a change of health.
		hc.cut(r, &t, set, keepPrimary, hc.cfg.ttlAll)
		return unchanged
	case t.n[primaryUp] > 0:
		hc.cut(r, &t, set, keepPrimary, true)
		return outcomeFiltered
	case t.n[backupUp] > 0:
		hc.cut(r, &t, set, keepBackupUp, true)
		return outcomeBackup
	}
	switch hc.cfg.allDown {
	case failServfail:
		r.Replace(servfail(r.Msg()))
		return outcomeAllDownServfail
	case failStatic:
		hc.static(r, &t, set)
		hc.resign(r, set)
		return outcomeAllDownAnswer
	}
	hc.keep(r, &t, keepAll, true)
	return outcomeAllDownOpen
}

// cut keeps the classes in k, and asks for a signed RRset that loses records to be signed
// again (the filter reaches here with a signed set only when it has the zone's keys).
func (hc *HealthCheck) cut(r *answer.Response, t *tally, set answer.RRset, k keepSet, capTTL bool) {
	hc.keep(r, t, k, capTTL)
	if t.cuts(k) {
		hc.resign(r, set)
	}
}

// resign asks for set to be signed again when it was signed.
func (hc *HealthCheck) resign(r *answer.Response, set answer.RRset) {
	if set.Signed {
		r.Resign(hc.cfg.signer, set.Owner, set.Type)
	}
}

// cuts reports whether keeping the classes in k removes a record of the RRset.
func (t *tally) cuts(k keepSet) bool {
	for c := other + 1; c < numClasses; c++ {
		if t.n[c] > 0 && !k.has(c) {
			return true
		}
	}
	return false
}

// classify returns the tally of ans, whose RRset is set, with the classes appended to
// classes (room on the caller's stack). It returns false when the plugin has no word on the
// set's owner: no name line lists it and discovery is off.
func (hc *HealthCheck) classify(snap *snapshot, ans []dns.RR, set answer.RRset, classes []class, dry bool) (t tally, ok bool) {
	var (
		check  *checkSpec
		listed []listedVerdict // verdicts of the addresses the owner's name line lists
	)
	if rule := hc.rule(set.Owner); rule != nil {
		check, listed = rule.check, snap.listed[rule.index]
	} else if check = hc.cfg.discover; check == nil {
		return t, false
	}
	vs := snap.verdicts[check]
	t.classes = classes
	if len(ans) > cap(classes) {
		t.classes = make([]class, 0, len(ans))
	}
	for i, rr := range ans {
		c := other
		if i >= set.First && set.Member(rr) {
			a := addr16(rr)
			if v, ok := find(listed, a); ok {
				c = classOf(v.backup, hc.judge(v.state))
			} else {
				c = classOf(false, hc.isUp(vs, a, check, set.Owner, dry))
			}
		}
		t.classes = append(t.classes, c)
		t.n[c]++
		if rr.Header().Ttl <= hc.cfg.ttl {
			continue
		}
		switch {
		case c != other:
			t.longSet++
		case capsAlong(rr):
			t.longAlong++
		}
	}
	return t, true
}

// capsAlong reports whether "ttl ... all" caps rr although it is not in the RRset: the CNAME
// chain in front of the addresses and, in a signed answer, the RRSIGs (a lower TTL does not
// break a signature). A resolver that kept the CNAME longer would not ask again in time.
func capsAlong(rr dns.RR) bool {
	t := rr.Header().Rrtype
	return t == dns.TypeCNAME || t == dns.TypeRRSIG
}

// changes reports whether keeping the classes in k, with TTLs capped or not, changes the
// answer that t describes.
func (hc *HealthCheck) changes(t *tally, k keepSet, capTTL bool) bool {
	for c := other; c < numClasses; c++ {
		if t.n[c] > 0 && !k.has(c) {
			return true
		}
	}
	return capTTL && (t.longSet > 0 || (hc.cfg.ttlAll && t.longAlong > 0))
}

// keep leaves in the answer the records of the classes in k, in their order, with capped
// TTLs when capTTL. It edits the response only when that changes something.
func (hc *HealthCheck) keep(r *answer.Response, t *tally, k keepSet, capTTL bool) {
	if hc.changes(t, k, capTTL) {
		r.SetAnswer(hc.compact(r, t, k, capTTL))
	}
}

// compact removes from the edited answer the records whose class k does not keep, caps the
// TTLs of the others when capTTL, and returns what is left: a prefix of the edited answer.
func (hc *HealthCheck) compact(r *answer.Response, t *tally, k keepSet, capTTL bool) []dns.RR {
	a := r.Edit()
	out := a[:0]
	for i, rr := range a {
		c := t.classes[i]
		if !k.has(c) {
			continue
		}
		// (>= would copy a record already at the cap to the same TTL: an equivalent mutant.)
		if capTTL && rr.Header().Ttl > hc.cfg.ttl && (c != other || (hc.cfg.ttlAll && capsAlong(rr))) {
			rr = r.WithTTL(rr, hc.cfg.ttl)
		}
		out = append(out, rr)
	}
	return out
}

// servfail is the SERVFAIL that all_down servfail answers to res.
func servfail(res *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(res, dns.RcodeServerFailure)
	if opt := res.IsEdns0(); opt != nil {
		m.Extra = []dns.RR{opt}
	}
	return m
}

// static answers with the Corefile's all_down addresses of the queried family in place of the
// RRset, after any CNAME chain (TTLs capped as for any changed answer); a family without
// static addresses answers NODATA.
func (hc *HealthCheck) static(r *answer.Response, t *tally, set answer.RRset) {
	a := hc.compact(r, t, keepOthers, true)
	hdr := dns.RR_Header{Name: set.Owner, Rrtype: set.Type, Class: dns.ClassINET, Ttl: hc.cfg.ttl}
	for _, addr := range hc.cfg.static {
		switch {
		case set.Type == dns.TypeA && addr.Is4():
			a = append(a, &dns.A{Hdr: hdr, A: net.IP(addr.AsSlice())})
		case set.Type == dns.TypeAAAA && addr.Is6():
			a = append(a, &dns.AAAA{Hdr: hdr, AAAA: net.IP(addr.AsSlice())})
		}
	}
	r.SetAnswer(a)
}

// isUp judges one target. An address without a prober is up unless discovery will probe
// it, in which case it is as good as the "unknown" setting says until its first verdict.
func (hc *HealthCheck) isUp(vs verdicts, a [16]byte, check *checkSpec, owner string, dry bool) bool {
	v, ok := vs[a]
	if dry {
		if !ok {
			return hc.cfg.discover == nil || hc.cfg.unknownUp
		}
		return hc.judge(v.state)
	}
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
	case stateDown, stateDrained:
		return false
	}
	return hc.cfg.unknownUp
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
