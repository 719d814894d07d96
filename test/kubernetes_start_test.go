package test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/etcdtest"
	"github.com/steerdns/steerdns/test/harness"
)

// TestKubernetesClusterCorefileServes starts the cluster DNS Corefile from its ConfigMap and
// uses it as a cluster would: steered names, a forwarded name, health and readiness, metrics,
// a failed server dropped from the answers, and an override enabled through the console with
// the token the pod gets from its Secret, kept in a real etcd found through the Service link
// variables. kubernetesLocal lists what is changed to run it here.
func TestKubernetesClusterCorefileServes(t *testing.T) {
	_, pod := kubernetesClusterPod(t)
	upstream := kubernetesUpstream(t)
	const token = "kubernetes-test-token"
	env := kubernetesEtcdEnv(t, etcdtest.Start(t))
	env["STEERDNS_CONSOLE_TOKEN"] = token
	run := kubernetesRun(t, pod, upstream, env, nil)

	kubernetesWaitReady(t, run)
	kubernetesCheckSteering(t, run)
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
	if code, body := kubernetesHTTP("POST", api+"/server2/disable", token); code != http.StatusOK {
		t.Fatalf("disable server2: %d %s", code, body)
	}
	if got := harness.Addresses(run.Srv.Query(t, "cats.example.test.", dns.TypeA)); len(got) != 3 {
		t.Errorf("cats.example.test after the pin is lifted: %v, want the three healthy servers", got)
	}
}

// TestKubernetesSidecarCorefileServes starts the sidecar Corefile from its ConfigMap with the
// pod's environment, the cluster DNS address pointing at a stand-in on loopback, and checks
// what the application would see through 127.0.0.1: steered names, forwarded names, and the
// health and ready endpoints the kubelet probes.
func TestKubernetesSidecarCorefileServes(t *testing.T) {
	_, pod := kubernetesSidecarPod(t)
	env := map[string]string{}
	for _, e := range pod.DNS.Env {
		env[e.Name] = e.Value
	}
	env["CLUSTER_DNS"] = kubernetesUpstream(t)
	run := kubernetesRun(t, pod, "", env, nil)

	kubernetesWaitReady(t, run)
	kubernetesCheckSteering(t, run)
	kubernetesCheckMetrics(t, run, "coredns_rrotate_rotations_total")
	kubernetesCheckHealth(t, run)

	// A name the search list produces on its way to the answer is forwarded too, and its
	// NXDOMAIN comes back as such, so that the resolver moves on to the next suffix.
	m := run.Srv.Query(t, "cats.example.test.steerdns-demo.svc.cluster.local.", dns.TypeA)
	if m.Rcode != dns.RcodeNameError {
		t.Errorf("cats.example.test.steerdns-demo.svc.cluster.local: %s, want NXDOMAIN from the cluster DNS", dns.RcodeToString[m.Rcode])
	}
}

// kubernetesEtcdEnv returns the Service link variables through which the DNS pods find the
// steerdns-etcd Service, pointing at etcd.
func kubernetesEtcdEnv(t testing.TB, etcd *etcdtest.Server) map[string]string {
	t.Helper()
	u, err := url.Parse(etcd.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"STEERDNS_ETCD_SERVICE_HOST": u.Hostname(), "STEERDNS_ETCD_SERVICE_PORT": u.Port()}
}
