package test

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/steerdns/steerdns/test/harness"
)

// BenchmarkKubernetesSidecarQuery measures one application lookup through the sidecar as the
// manifests configure it: a UDP query on loopback for a weighted, health-checked name,
// answered from the cache through weighted and healthcheck. The client's own exchange is
// part of the figure, as it is for the application.
func BenchmarkKubernetesSidecarQuery(b *testing.B) {
	overlay := kubernetesSidecarOverlays[0]
	_, pod := kubernetesSidecarPod(b, overlay)
	env := pod.Env(nil)
	env["CLUSTER_DNS"] = kubernetesUpstream(b, kubernetesSettings(b, overlay)["clusterDomain"])
	run := kubernetesRun(b, pod, "", env, nil)
	kubernetesWaitReady(b, run)
	c := &dns.Client{Net: "udp"}
	m := new(dns.Msg)
	m.SetQuestion("cats.example.test.", dns.TypeA)
	b.ReportAllocs()
	for b.Loop() {
		r, _, err := c.Exchange(m, run.Srv.UDP)
		if err != nil || len(harness.Addresses(r)) != 4 {
			b.Fatalf("cats.example.test: %v %v", err, r)
		}
	}
}
