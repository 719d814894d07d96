package sign

import (
	"fmt"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/steerdns/steerdns/plugin/internal/answer"
)

// Keys collects the `key file KEY...` lines of a steerdns plugin's block, in the syntax of
// CoreDNS's dnssec plugin.
type Keys struct {
	keys []*key
}

// Parse reads one key line, the controller standing at its `key` token. Each key is read at
// once, so that a missing or broken file fails with the line that names it.
func (ks *Keys) Parse(c *caddy.Controller) error {
	args := c.RemainingArgs()
	if len(args) < 2 || args[0] != "file" {
		return c.Err("key wants 'file' and at least one key, as in the dnssec plugin: key file Kexample.org.+013+45330")
	}
	root := dnsserver.GetConfig(c).Root
	for _, name := range args[1:] {
		k, err := readKey(keyBase(root, name))
		if err != nil {
			return c.Errf("key file %s: %v", name, err)
		}
		ks.keys = append(ks.keys, k)
	}
	return nil
}

// Signer returns the Signer of the keys read, nil when there were none. Each key must be
// able to sign names of zones (the zones of the plugin's block): a key of a zone that
// neither holds one of them nor lies within one is a mistake.
func (ks *Keys) Signer(zones answer.Zones) (*Signer, error) {
	if len(ks.keys) == 0 {
		return nil, nil
	}
	for _, k := range ks.keys {
		if !overlaps(k.zone, zones) {
			return nil, fmt.Errorf("key %s (key tag %d) signs none of the zones %v", k.zone, k.tag, []string(zones))
		}
	}
	return shared(ks.keys), nil
}

func overlaps(zone string, zones answer.Zones) bool {
	for _, z := range zones {
		if answer.InZone(zone, z) || answer.InZone(z, zone) {
			return true
		}
	}
	return false
}
