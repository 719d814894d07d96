package answer

import "strings"

// NameBuffer is room for a name's lower-case form: a name has at most 255 octets on the wire.
type NameBuffer [255]byte

// Lower returns name in lower case, or nil when name has no upper-case letter (it is its own
// lower-case form). The result is built in buf when it fits: keep buf on the caller's stack
// and use string(result) only in a map index or a comparison, which the compiler does without
// building a string, so that a name from a resolver that randomises case (0x20) costs no
// allocation.
func Lower(buf *NameBuffer, name string) []byte {
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

// Lookup returns the value of name in m, whose keys are lower-case names, matching name in
// any case without allocating.
func Lookup[V any](m map[string]V, name string) (V, bool) {
	var buf NameBuffer
	if lower := Lower(&buf, name); lower != nil {
		v, ok := m[string(lower)]
		return v, ok
	}
	v, ok := m[name]
	return v, ok
}

// SameName reports whether two names are equal, ignoring ASCII case. Owners in one message
// are nearly always the very same string, which == settles without folding.
func SameName(a, b string) bool { return a == b || strings.EqualFold(a, b) }
