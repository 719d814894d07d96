package test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// kubernetesReplica is one cluster DNS replica: a coredns process running the ConfigMap's
// Corefile, as one pod of the Deployment would.
type kubernetesReplica struct {
	DNS   string // host:port of its DNS listener
	Ports map[string]int
}

// TestKubernetesClusterReplicasShareOverrides runs two replicas of the cluster DNS as two
// coredns processes (the binary the image holds), each from the ConfigMap's Corefile,
// sharing the manifests' etcd (its own flags, TLS with client certificates) through the
// Service link variables, as the Deployment's pods do. An
// override enabled through one replica's console answers on the other, and lifting it
// through the other's console lifts it on both: the console Service may send a request to
// either.
func TestKubernetesClusterReplicasShareOverrides(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the coredns binary")
	}
	overlay := kubernetesClusterOverlays[0]
	objs, pod := kubernetesClusterPod(t, overlay)
	bin := harness.Binary(t)
	upstream := kubernetesUpstream(t, kubernetesSettings(t, overlay)["clusterDomain"])
	web := kubernetesStartWeb(t, kubernetesCheckedAddrs(pod))
	dir := kubernetesConfigDir(t, pod)
	certs := kubernetesMakeCerts(t)
	etcd := kubernetesStartEtcd(t, objs, certs, "127.0.0.1")
	pod.Mounts = map[string]string{"/etc/steerdns/etcd-tls": certs.Client}
	const token = "kubernetes-replica-token"
	env := pod.Env(etcd.Links())
	env["STEERDNS_CONSOLE_TOKEN"] = token
	for k, v := range env {
		t.Setenv(k, v) // the processes inherit the environment, as containers get theirs
	}

	a := kubernetesStartReplica(t, pod, bin, dir, "a", upstream, web.Port)
	b := kubernetesStartReplica(t, pod, bin, dir, "b", upstream, web.Port)

	pinned := kubernetesLoopbackNet + "4"
	if code, body := kubernetesHTTP("POST", a.Console()+"/api/overrides/server3/enable", token); code != http.StatusOK {
		t.Fatalf("enable server3 on replica a: %d %s", code, body)
	}
	for _, r := range []*kubernetesReplica{a, b} {
		kubernetesEventually(t, "replica "+r.DNS+" answers only the pinned "+pinned, func() (bool, string) {
			got := harness.Addresses(harness.Exchange(t, "udp", r.DNS, "cats.example.test.", dns.TypeA))
			return len(got) == 1 && got[0] == pinned, fmt.Sprint(got)
		})
	}
	if code, body := kubernetesHTTP("POST", b.Console()+"/api/groups/cats/disable", token); code != http.StatusOK {
		t.Fatalf("disable group cats on replica b: %d %s", code, body)
	}
	for _, r := range []*kubernetesReplica{a, b} {
		kubernetesEventually(t, "replica "+r.DNS+" answers all four servers again", func() (bool, string) {
			got := harness.Addresses(harness.Exchange(t, "udp", r.DNS, "cats.example.test.", dns.TypeA))
			return len(got) == 4, fmt.Sprint(got)
		})
	}
	code, body := kubernetesHTTP("GET", b.Console()+"/api/audit", token)
	if code != http.StatusOK || !strings.Contains(body, "server3") {
		t.Errorf("replica b's audit log does not show the change made on replica a: %d %s", code, body)
	}
}

// kubernetesStartReplica starts coredns with the pod's Corefile (rewritten by kubernetesLocal)
// in dir and waits until it answers and is ready.
func kubernetesStartReplica(t *testing.T, pod *kubernetesPod, bin, dir, name, upstream string, webPort int) *kubernetesReplica {
	t.Helper()
	port := harness.FreePort(t)
	corefile, ports := kubernetesLocal(t, pod, fmt.Sprint(port), upstream, webPort)
	conf := "Corefile." + name
	if err := os.WriteFile(filepath.Join(dir, conf), []byte(corefile), 0o644); err != nil {
		t.Fatal(err)
	}
	p := StartProcess(t, dir, bin, "-conf", conf)
	r := &kubernetesReplica{DNS: fmt.Sprintf("127.0.0.1:%d", port), Ports: ports}
	WaitForDNS(t, p, r.DNS)
	url := fmt.Sprintf("http://127.0.0.1:%d/ready", ports["ready"])
	kubernetesEventually(t, "replica "+name+" is ready", func() (bool, string) {
		code, body := kubernetesHTTP("GET", url, "")
		return code == http.StatusOK, fmt.Sprintf("%d %s\n%s", code, body, p.Output.String())
	})
	return r
}

// Console returns the base URL of the replica's override console.
func (r *kubernetesReplica) Console() string {
	return fmt.Sprintf("http://127.0.0.1:%d", r.Ports["console"])
}
