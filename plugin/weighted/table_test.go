package weighted

import (
	"strings"
	"testing"
)

func TestLookupIgnoresCase(t *testing.T) {
	tb := newTable(weightSpec{"dogs.example.test.": {addr("10.0.0.1"): 1}})
	for _, q := range []string{"dogs.example.test.", "DoGs.ExAmPlE.TeSt."} {
		if tb.lookup(q) == nil {
			t.Errorf("%s not found", q)
		}
	}
	if tb.lookup("cats.example.test.") != nil || tb.lookup(strings.Repeat("A", 300)) != nil {
		t.Error("found a name without weights")
	}
}
