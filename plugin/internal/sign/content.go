package sign

import (
	"bytes"
	"encoding/binary"
	"net"

	"github.com/miekg/dns"
)

// contentRoom is the room on the stack for an RRset's canonical content: enough for a few
// dozen addresses. A larger RRset spills to the heap, which costs an allocation, not a
// wrong answer.
const contentRoom = 512

// maxSorted is how many records canonical sorts on the stack.
const maxSorted = 32

// span is where one record's data sits in canonical's scratch buffer.
type span struct{ start, end int }

// canonical appends to dst what an RRSIG over rrset signs, but for the signature's own
// fields: the owner in lower case, the type, the class, the original TTL, and the record
// data in sorted order. Two RRsets with the same content are the same however the records
// are ordered (rrotate and weighted reorder them) and whatever the case of the owner (0x20).
// Names in record data are compared in presentation form, lower-cased: two spellings of one
// name only cost a second cache entry. scratch is room for the record data while it sorts.
func canonical(dst, scratch []byte, rrset []dns.RR, origTTL uint32) []byte {
	h := rrset[0].Header()
	dst = appendLower(dst, h.Name)
	dst = append(dst, 0)
	dst = binary.BigEndian.AppendUint16(dst, h.Rrtype)
	dst = binary.BigEndian.AppendUint16(dst, h.Class)
	dst = binary.BigEndian.AppendUint32(dst, origTTL)

	var room [maxSorted]span
	spans := room[:0]
	for _, rr := range rrset {
		start := len(scratch)
		scratch = appendData(scratch, rr)
		spans = append(spans, span{start, len(scratch)})
	}
	// Insertion sort: RRsets are small, and sort.Slice would allocate. Any fixed order makes
	// the same key for every order of the records, so <= or >= below are equivalent mutants.
	for i := 1; i < len(spans); i++ {
		for j := i; j > 0 && bytes.Compare(scratch[spans[j].start:spans[j].end], scratch[spans[j-1].start:spans[j-1].end]) < 0; j-- {
			spans[j], spans[j-1] = spans[j-1], spans[j]
		}
	}
	for _, s := range spans {
		dst = binary.BigEndian.AppendUint16(dst, uint16(s.end-s.start)) // #nosec G115 -- one record's data is under 64 KiB
		dst = append(dst, scratch[s.start:s.end]...)
	}
	return dst
}

// appendData appends the data of rr: the address bytes of A and AAAA, the fields of CNAME
// and SRV, and for any other type its presentation form without the header (this one
// allocates; the plugins change only addresses, CNAMEs and SRV on the query path).
func appendData(dst []byte, rr dns.RR) []byte {
	switch rr := rr.(type) {
	case *dns.A:
		return append(dst, ip4(rr.A)...)
	case *dns.AAAA:
		return append(dst, rr.AAAA.To16()...)
	case *dns.CNAME:
		return appendLower(dst, rr.Target)
	case *dns.SRV:
		dst = binary.BigEndian.AppendUint16(dst, rr.Priority)
		dst = binary.BigEndian.AppendUint16(dst, rr.Weight)
		dst = binary.BigEndian.AppendUint16(dst, rr.Port)
		return appendLower(dst, rr.Target)
	}
	c := dns.Copy(rr)
	h := c.Header()
	h.Name, h.Ttl = ".", 0
	return append(dst, c.String()...)
}

// ip4 is the 4-byte form of an A record's address, which a zone file parser may hold in 16.
func ip4(ip net.IP) net.IP {
	if v4 := ip.To4(); v4 != nil {
		return v4
	}
	return ip
}

func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
