// Package dnsname folds DNS names to lower case on the query path without allocating. Names
// compare case-insensitively (ASCII only), and resolvers that randomise case (0x20) send
// mixed-case names on every query: a strings.ToLower per query would be an allocation each.
package dnsname

import "strings"

// Buffer is room for a name's lower-case form: a name has at most 255 octets on the wire.
type Buffer [255]byte

// Lower returns name in lower case, or nil when name has no upper-case letter (it is its
// own lower-case form). The result is built in buf when it fits; keep buf on the caller's
// stack and use string(result) only in a map index or a comparison, which the compiler does
// without building a string, and a mixed-case name costs no allocation.
func Lower(buf *Buffer, name string) []byte {
	first := -1
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			first = i
			break
		}
	}
	if first < 0 {
		return nil
	}
	if len(name) > len(buf) { // only with escapes in presentation form; never on a hot path
		return []byte(strings.ToLower(name))
	}
	b := buf[:len(name)]
	copy(b, name[:first])
	for i := first; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b
}
