package test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/steerdns/steerdns/test/harness"
)

// TestKubernetesClusterCorefileServes starts, for each cluster overlay, the cluster DNS
// Corefile from its ConfigMap with the pod's environment and uses it as a cluster would:
// steered names, a forwarded name, health and readiness, metrics, a failed server dropped
// from the answers, and an override enabled through the console with the token the pod gets
// from its Secret, kept in the overlay's own etcd (its StatefulSet's flags, TLS with client
// certificates) found through the Service link variables. kubernetesLocal lists what is
// changed to run it here.
func TestKubernetesClusterCorefileServes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs etcd processes")
	}
	for _, overlay := range kubernetesClusterOverlays {
		t.Run(overlay, func(t *testing.T) { kubernetesServeCluster(t, overlay) })
	}
}

func kubernetesServeCluster(t *testing.T, overlay string) {
	objs, pod := kubernetesClusterPod(t, overlay)
	domain := kubernetesSettings(t, overlay)["clusterDomain"]
	upstream := kubernetesUpstream(t, domain)
	certs := kubernetesMakeCerts(t)
	etcd := kubernetesStartEtcd(t, objs, certs, "127.0.0.1")
	pod.Mounts = map[string]string{"/etc/steerdns/etcd-tls": certs.Client}
	const token = "kubernetes-test-token"
	env := pod.Env(etcd.Links())
	env["STEERDNS_CONSOLE_TOKEN"] = token
	run := kubernetesRun(t, pod, upstream, env, nil)

	kubernetesWaitReady(t, run)
	kubernetesCheckSteering(t, run, domain)
	kubernetesCheckMetrics(t, run, "coredns_rrotate_rotations_total")
	kubernetesCheckHealth(t, run)

	api := fmt.Sprintf("http://127.0.0.1:%d/api/overrides", run.Ports["console"])
	if code, _ := kubernetesHTTP("GET", api, ""); code != http.StatusUnauthorized {
		t.Errorf("GET %s without the token: %d, want 401", api, code)
	}
	if code, body := kubernetesHTTP("GET", api, "wrong-"+token); code != http.StatusUnauthorized {
		t.Errorf("GET %s with a wrong token: %d %s, want 401", api, code, body)
	}
	code, body := kubernetesHTTP("GET", api, token)
	if code != http.StatusOK || !strings.Contains(body, "server2") {
		t.Fatalf("GET %s with the token: %d %s, want 200 and the declared overrides", api, code, body)
	}

	// Server 2 (192.0.2.3) is down, which is when an operator pins it to diagnose it: the
	// pin is final and not health filtered.
	if code, body := kubernetesHTTP("POST", api+"/server2/enable", token); code != http.StatusOK {
		t.Fatalf("enable server2: %d %s", code, body)
	}
	for _, network := range []string{"udp", "tcp"} {
		_, tcp := run.Srv.Addrs(0)
		addr := map[string]string{"udp": run.Srv.UDP, "tcp": tcp}[network]
		m := harness.Exchange(t, network, addr, "cats.example.test.", dns.TypeA)
		if got := harness.Addresses(m); len(got) != 1 || got[0] != kubernetesLoopbackNet+"3" {
			t.Errorf("cats.example.test over %s with server2 pinned: %v, want only %s3", network, got, kubernetesLoopbackNet)
		} else if ttl := m.Answer[0].Header().Ttl; ttl > 5 {
			t.Errorf("pinned answer has TTL %d, want the override TTL (5 s at most)", ttl)
		}
	}
	// The pin is in the TLS etcd, where the DNS pods' certificate reads it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := etcd.Client(t, certs, certs.Client).Get(ctx, "/steerdns/override/", clientv3.WithPrefix())
	if err != nil || !strings.Contains(fmt.Sprint(kv.Kvs), "server2") {
		t.Errorf("the override table in etcd: %v %v, want server2 in it", err, kv)
	}
	if code, body := kubernetesHTTP("POST", api+"/server2/disable", token); code != http.StatusOK {
		t.Fatalf("disable server2: %d %s", code, body)
	}
	if got := harness.Addresses(run.Srv.Query(t, "cats.example.test.", dns.TypeA)); len(got) != 3 {
		t.Errorf("cats.example.test after the pin is lifted: %v, want the three healthy servers", got)
	}
}

// TestKubernetesSidecarCorefileServes starts, for each sidecar overlay, the sidecar Corefile
// from its ConfigMap with the pod's environment, the cluster DNS address pointing at a
// stand-in on loopback, and checks what the application would see through 127.0.0.1:
// steered names, forwarded names, and the health and ready endpoints the kubelet probes.
func TestKubernetesSidecarCorefileServes(t *testing.T) {
	for _, overlay := range kubernetesSidecarOverlays {
		t.Run(overlay, func(t *testing.T) { kubernetesServeSidecar(t, overlay) })
	}
}

func kubernetesServeSidecar(t *testing.T, overlay string) {
	_, pod := kubernetesSidecarPod(t, overlay)
	domain := kubernetesSettings(t, overlay)["clusterDomain"]
	env := pod.Env(nil)
	env["CLUSTER_DNS"] = kubernetesUpstream(t, domain)
	run := kubernetesRun(t, pod, "", env, nil)

	kubernetesWaitReady(t, run)
	kubernetesCheckSteering(t, run, domain)
	kubernetesCheckMetrics(t, run, "coredns_rrotate_rotations_total")
	kubernetesCheckHealth(t, run)

	// A name the search list produces on its way to the answer is forwarded too, and its
	// NXDOMAIN comes back as such, so that the resolver moves on to the next suffix.
	name := "cats.example.test." + pod.Spec.DNSConfig.Searches[0] + "."
	m := run.Srv.Query(t, name, dns.TypeA)
	if m.Rcode != dns.RcodeNameError {
		t.Errorf("%s: %s, want NXDOMAIN from the cluster DNS", name, dns.RcodeToString[m.Rcode])
	}
}
