package store

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeLogLine feeds lines of the file store's change log to its decoder: no panic, and
// whatever it accepts is normalised (it decodes to itself again).
func FuzzDecodeLogLine(f *testing.F) {
	f.Add([]byte(`{"revision":2,"put":[{"id":"s1","name":"cats.example.test.","group":"cats","addresses":["127.0.0.2"],"enabled":true}],"audit":{"action":"enable","revision":2}}`))
	f.Add([]byte(`{"revision":3,"delete":["s1"]}`))
	f.Add([]byte(`{"revision":0}`))
	f.Add([]byte(`{"revision":4,"delete":[""]}`))
	f.Add([]byte(`{"revision":5,"put":[{"id":"x","name":"*.a.test","clients":["::ffff:0:0/90"],"addresses":["10.0.0.1"]}]}`))
	f.Add([]byte(`{"revision":6,"put":[{"id":"..","name":"a.test","cname":"b.test"}]}`))
	f.Add([]byte(`{"revision":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := decodeLogLine(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(line)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeLogLine(out)
		if err != nil {
			t.Fatalf("accepted line %s is refused once written again: %v", out, err)
		}
		if back, _ := json.Marshal(again); string(back) != string(out) {
			t.Fatalf("not normalised: %s became %s", out, back)
		}
	})
}
