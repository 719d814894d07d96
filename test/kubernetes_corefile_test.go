package test

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// kubernetesDirective is one directive line of a server block with the lines of its own
// block, if it has one ("store etcd ..." inside "override { }").
type kubernetesDirective struct {
	Args  []string // the directive's name first
	Block [][]string
}

// kubernetesServerBlock is one server block of a Corefile, as written (environment
// references such as {$CLUSTER_DNS} are kept, not expanded).
type kubernetesServerBlock struct {
	Keys       []string
	Directives []kubernetesDirective
}

// kubernetesParseCorefile splits a Corefile into server blocks and directive lines. It
// understands what our manifests use (blocks, nested blocks, # comments), no more: the real
// parse is done by starting the Corefile.
func kubernetesParseCorefile(t testing.TB, corefile string) []kubernetesServerBlock {
	t.Helper()
	var blocks []kubernetesServerBlock
	depth := 0
	for n, line := range strings.Split(corefile, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		opens := fields[len(fields)-1] == "{"
		if opens {
			fields = fields[:len(fields)-1]
		}
		switch {
		case len(fields) == 1 && fields[0] == "}":
			depth--
		case depth == 0 && opens:
			blocks = append(blocks, kubernetesServerBlock{Keys: fields})
		case depth == 1:
			b := &blocks[len(blocks)-1]
			b.Directives = append(b.Directives, kubernetesDirective{Args: fields})
		case depth >= 2:
			ds := blocks[len(blocks)-1].Directives
			d := &ds[len(ds)-1]
			d.Block = append(d.Block, fields)
		default:
			t.Fatalf("Corefile line %d: %q is outside any server block", n+1, line)
		}
		if opens {
			depth++
		}
	}
	if depth != 0 {
		t.Fatalf("Corefile has unbalanced braces:\n%s", corefile)
	}
	return blocks
}

// Directive returns the first directive named name, or nil.
func (b kubernetesServerBlock) Directive(name string) *kubernetesDirective {
	for i := range b.Directives {
		if b.Directives[i].Args[0] == name {
			return &b.Directives[i]
		}
	}
	return nil
}

// Port returns the port of the server block's keys ("53" for ".:53"); all keys of our
// blocks share one.
func (b kubernetesServerBlock) Port() string {
	_, port, err := net.SplitHostPort(b.Keys[0])
	if err != nil {
		return "53"
	}
	return port
}

// kubernetesListen returns the host and port a directive such as health, ready or prometheus
// listens on: its first argument, or def when it has none.
func kubernetesListen(t testing.TB, d *kubernetesDirective, def string) (host string, port int) {
	t.Helper()
	addr := def
	if len(d.Args) > 1 {
		addr = d.Args[1]
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s address %q: %v", d.Args[0], addr, err)
	}
	port, err = strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s address %q: port: %v", d.Args[0], addr, err)
	}
	return host, port
}

// kubernetesBlockProperty returns the first line of d's block that starts with name.
func kubernetesBlockProperty(d *kubernetesDirective, name string) []string {
	for _, l := range d.Block {
		if l[0] == name {
			return l
		}
	}
	return nil
}

// kubernetesRemoveDirective returns corefile without every directive named name, block and
// all: what the tests do to the kubernetes plugin, which needs an API server.
func kubernetesRemoveDirective(t testing.TB, corefile, name string) string {
	t.Helper()
	var out []string
	skip, found := 0, false
	for _, line := range strings.Split(corefile, "\n") {
		fields := strings.Fields(line)
		if skip == 0 && len(fields) > 0 && fields[0] == name {
			found = true
			if fields[len(fields)-1] == "{" {
				skip = 1
			}
			continue
		}
		if skip > 0 {
			if len(fields) > 0 && fields[len(fields)-1] == "{" {
				skip++
			}
			if len(fields) == 1 && fields[0] == "}" {
				skip--
			}
			continue
		}
		out = append(out, line)
	}
	if !found {
		t.Fatalf("Corefile has no %s directive to remove:\n%s", name, corefile)
	}
	return strings.Join(out, "\n")
}

// kubernetesReplace replaces every old with new in s, failing the test when old does not
// occur: a test that rewrites a manifest's Corefile must notice when the manifest changes.
func kubernetesReplace(t testing.TB, s, old, new string) string {
	t.Helper()
	if !strings.Contains(s, old) {
		t.Fatalf("%q not found in:\n%s", old, s)
	}
	return strings.ReplaceAll(s, old, new)
}

// TestKubernetesCorefileParser checks the little Corefile reader the manifest tests use.
func TestKubernetesCorefileParser(t *testing.T) {
	corefile := `.:53 {
    health {
        lameduck 5s
    }
    kubernetes cluster.local {
        pods insecure
    }
    forward . {$CLUSTER_DNS} # comment
}
example.test {
    ready :9181
}
`
	blocks := kubernetesParseCorefile(t, corefile)
	if len(blocks) != 2 || blocks[0].Port() != "53" || blocks[1].Keys[0] != "example.test" {
		t.Fatalf("blocks: %+v", blocks)
	}
	if fwd := blocks[0].Directive("forward"); fwd == nil || strings.Join(fwd.Args, " ") != "forward . {$CLUSTER_DNS}" {
		t.Errorf("forward: %+v", fwd)
	}
	if p := kubernetesBlockProperty(blocks[0].Directive("health"), "lameduck"); len(p) != 2 || p[1] != "5s" {
		t.Errorf("health lameduck: %v", p)
	}
	if host, port := kubernetesListen(t, blocks[1].Directive("ready"), ":8181"); host != "" || port != 9181 {
		t.Errorf("ready listens on %q:%d", host, port)
	}
	rest := kubernetesRemoveDirective(t, corefile, "kubernetes")
	if strings.Contains(rest, "kubernetes") || strings.Contains(rest, "pods") || !strings.Contains(rest, "forward") {
		t.Errorf("kubernetes block not removed cleanly:\n%s", rest)
	}
	if b := kubernetesParseCorefile(t, rest); len(b) != 2 || len(b[0].Directives) != 2 {
		t.Errorf("after removal: %+v", b)
	}
}
