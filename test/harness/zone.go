package harness

import (
	"os"
	"path/filepath"
	"testing"
)

// zoneHeader is what every test zone of example.test starts with: its SOA, its NS and the
// nameserver's address.
const zoneHeader = `$ORIGIN example.test.
@     3600 IN SOA ns.example.test. hostmaster.example.test. 1 7200 3600 1209600 3600
@     3600 IN NS  ns.example.test.
ns    3600 IN A   127.0.0.1
`

// ZoneFile writes dir/example.test.zone: the zone's SOA and NS records, then records (lines of
// zone-file syntax, names relative to example.test.). It returns the file's path.
func ZoneFile(t testing.TB, dir, records string) string {
	t.Helper()
	path := filepath.Join(dir, "example.test.zone")
	if err := os.WriteFile(path, []byte(zoneHeader+records), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
