package override

import (
	"encoding/json"
	"testing"

	"github.com/steerdns/steerdns/plugin/override/store"
)

// FuzzServeState: a stored table that the store accepts (decoded and checked as a store reads
// it) can be served: every override gives a pin, and the snapshot builds without a panic.
func FuzzServeState(f *testing.F) {
	f.Add([]byte(`{"revision":1,"overrides":[{"id":"a","name":"cats.example.test.","group":"g","addresses":["127.0.0.2"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":2,"overrides":[{"id":"a","name":"a.test.","addresses":["10.0.0.1"],"clients":["::ffff:0:0/90"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":2,"overrides":[{"id":"a","name":"*.a.test.","addresses":["::ffff:10.0.0.1"],"clients":["10.0.0.0/8"],"enabled":true}]}`))
	f.Add([]byte(`{"revision":3,"overrides":[{"id":"b","name":"a.test.","cname":"b.test.","enabled":true}]}`))
	f.Add([]byte(`{"overrides":[{"id":"a","name":"a.test.","addresses":["1.1.1.1"],"enabled":true},{"id":"b","name":"a.test.","addresses":["1.1.1.2"],"enabled":true}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var st store.State
		if json.Unmarshal(data, &st) != nil || st.Check() != nil {
			return
		}
		for i := range st.Overrides {
			if _, err := newPin(&st.Overrides[i]); err != nil {
				t.Fatalf("accepted override %+v cannot be served: %v", st.Overrides[i], err)
			}
		}
		newSnapshot(st)
	})
}
