package test

import (
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/steerdns/steerdns/test/harness"
)

// The overlays under examples/kubernetes/overlays: each renders a complete, applicable set
// of manifests for one kind of cluster.
var (
	kubernetesClusterOverlays = []string{"kubeadm", "custom"}
	kubernetesSidecarOverlays = []string{"kubeadm-sidecar", "custom-sidecar"}
)

// kubernetesOverlayDir returns the directory of an overlay.
func kubernetesOverlayDir(overlay string) string {
	return kubernetesDir(filepath.Join("overlays", overlay))
}

// kubernetesSettings returns an overlay's cluster settings (clusterDomain, dnsServiceIP),
// the values that only the overlays may hold.
func kubernetesSettings(t testing.TB, overlay string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(kubernetesOverlayDir(overlay), "settings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubernetesDecode(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("overlay %s settings.yaml: %v (%d objects)", overlay, err, len(objs))
	}
	cm, ok := objs[0].Obj.(*corev1.ConfigMap)
	if !ok || cm.Name != "steerdns-settings" || cm.Data["clusterDomain"] == "" || net.ParseIP(cm.Data["dnsServiceIP"]) == nil {
		t.Fatalf("overlay %s settings.yaml: want ConfigMap steerdns-settings with clusterDomain and dnsServiceIP, got %+v", overlay, objs[0].Obj)
	}
	return cm.Data
}

// kubernetesClusterPod renders a cluster DNS overlay and returns its objects and the coredns
// pod they run.
func kubernetesClusterPod(t testing.TB, overlay string) ([]kubernetesObject, *kubernetesPod) {
	t.Helper()
	objs := kubernetesRender(t, kubernetesOverlayDir(overlay))
	var file string
	for _, o := range objs {
		if d, ok := o.Obj.(*appsv1.Deployment); ok && d.Name == "coredns" {
			file = o.File
		}
	}
	d := kubernetesFind[appsv1.Deployment](t, objs, "coredns")
	spec := &d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("Deployment coredns has %d containers, want 1", len(spec.Containers))
	}
	return objs, kubernetesLoadPod(t, objs, file, d.Namespace, d.Spec.Template.Labels, spec, &spec.Containers[0])
}

// kubernetesSidecarPod renders a sidecar overlay and returns its objects and the application
// pod, whose coredns runs as the init container named dns.
func kubernetesSidecarPod(t testing.TB, overlay string) ([]kubernetesObject, *kubernetesPod) {
	t.Helper()
	objs := kubernetesRender(t, kubernetesOverlayDir(overlay))
	var file string
	for _, o := range objs {
		if _, ok := o.Obj.(*appsv1.Deployment); ok {
			file = o.File
		}
	}
	d := kubernetesFind[appsv1.Deployment](t, objs, "app")
	spec := &d.Spec.Template.Spec
	var dns *corev1.Container
	for i := range spec.InitContainers {
		if spec.InitContainers[i].Name == "dns" {
			dns = &spec.InitContainers[i]
		}
	}
	if dns == nil {
		t.Fatalf("Deployment app has no init container named dns")
	}
	return objs, kubernetesLoadPod(t, objs, file, d.Namespace, d.Spec.Template.Labels, spec, dns)
}

// TestKubernetesClusterManifests checks, for each cluster overlay, that the manifests hold
// together the way the API server and the kubelet will hold them to it.
func TestKubernetesClusterManifests(t *testing.T) {
	for _, overlay := range kubernetesClusterOverlays {
		t.Run(overlay, func(t *testing.T) { kubernetesCheckCluster(t, overlay) })
	}
}

func kubernetesCheckCluster(t *testing.T, overlay string) {
	objs, pod := kubernetesClusterPod(t, overlay)
	settings := kubernetesSettings(t, overlay)

	for _, o := range objs {
		m := kubernetesMeta(o.Obj)
		clusterScoped := o.Kind == "ClusterRole" || o.Kind == "ClusterRoleBinding"
		if !clusterScoped && m.Namespace != "kube-system" {
			t.Errorf("%s %s (%s) is in namespace %q, want kube-system", o.Kind, m.Name, o.File, m.Namespace)
		}
	}

	d := kubernetesFind[appsv1.Deployment](t, objs, "coredns")
	if !kubernetesSelects(d.Spec.Selector.MatchLabels, pod.Labels) || d.Spec.Selector.MatchLabels["k8s-app"] != "kube-dns" {
		t.Errorf("Deployment selector %v must be the stock k8s-app=kube-dns and match the pod labels %v", d.Spec.Selector.MatchLabels, pod.Labels)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("Deployment coredns sets replicas %d: leave it unset, so that applying keeps the count the cluster or its autoscaler chose", *d.Spec.Replicas)
	}
	if pod.Spec.DNSPolicy != corev1.DNSDefault {
		t.Errorf("dnsPolicy %q: the cluster DNS must resolve through the node (Default), not itself", pod.Spec.DNSPolicy)
	}
	kubernetesCheckDisruption(t, objs, pod)

	kubernetesCheckRBAC(t, objs, pod)

	// The stock server block is kept, and the steered zone has our plugins.
	for _, name := range []string{"errors", "health", "ready", "kubernetes", "prometheus", "forward", "cache", "reload", "loop"} {
		if len(pod.Directives(name)) == 0 {
			t.Errorf("the cluster Corefile lost the %s plugin", name)
		}
	}
	for _, name := range []string{"override", "rrotate", "weighted", "healthcheck", "file"} {
		if len(pod.Directives(name)) == 0 {
			t.Errorf("the cluster Corefile has no %s", name)
		}
	}

	health, ready := pod.CheckProbes(t, ":8080")
	if health == ready {
		t.Errorf("health and ready share port %d", health)
	}
	pod.CheckFiles(t)
	pod.CheckEnv(t, objs)
	kubernetesCheckSecurity(t, pod.Spec, pod.DNS, "NET_BIND_SERVICE")
	if got := pod.EnvValue(t, "CLUSTER_DOMAIN"); got != settings["clusterDomain"] {
		t.Errorf("CLUSTER_DOMAIN is %q, the overlay's clusterDomain %q", got, settings["clusterDomain"])
	}
	if !strings.Contains(pod.Corefile, "kubernetes {$CLUSTER_DOMAIN} ") {
		t.Errorf("the kubernetes plugin does not serve {$CLUSTER_DOMAIN}:\n%s", pod.Corefile)
	}

	for _, b := range pod.Blocks {
		if b.Port() != "53" {
			t.Errorf("server block %v listens on port %s, the Service sends DNS to 53", b.Keys, b.Port())
		}
	}

	kube := kubernetesFind[corev1.Service](t, objs, "kube-dns")
	kubernetesCheckService(t, pod, kube, map[string]int{"53/UDP": 53, "53/TCP": 53, "9153/TCP": pod.ListenPort(t, "prometheus", "localhost:9153")})
	if kube.Spec.ClusterIP != settings["dnsServiceIP"] {
		t.Errorf("kube-dns clusterIP %q, want the overlay's dnsServiceIP %q, which the kubelets hand out", kube.Spec.ClusterIP, settings["dnsServiceIP"])
	}

	kubernetesCheckConsole(t, objs, pod)
	kubernetesCheckEtcd(t, objs, pod)
}

// kubernetesCheckDisruption checks that the DNS pods are protected during drains (a
// PodDisruptionBudget that lets one go at a time) and spread over zones and nodes.
func kubernetesCheckDisruption(t testing.TB, objs []kubernetesObject, pod *kubernetesPod) {
	t.Helper()
	var pdb *policyv1.PodDisruptionBudget
	for _, p := range kubernetesAll[policyv1.PodDisruptionBudget](objs) {
		if p.Spec.Selector != nil && kubernetesSelects(p.Spec.Selector.MatchLabels, pod.Labels) {
			pdb = p
		}
	}
	switch {
	case pdb == nil:
		t.Errorf("no PodDisruptionBudget selects the DNS pods %v", pod.Labels)
	case pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil:
		t.Errorf("PodDisruptionBudget %s: want maxUnavailable 1 (one pod at a time, whatever the replica count), got %+v", pdb.Name, pdb.Spec)
	}
	var zone bool
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.TopologyKey == "topology.kubernetes.io/zone" && c.LabelSelector != nil && kubernetesSelects(c.LabelSelector.MatchLabels, pod.Labels) {
			zone = c.WhenUnsatisfiable == corev1.ScheduleAnyway
		}
	}
	if !zone {
		t.Errorf("the DNS pods are not spread over zones (topologySpreadConstraints on topology.kubernetes.io/zone, ScheduleAnyway)")
	}
}

// kubernetesCheckRBAC checks that the pods' service account may list and watch what the
// kubernetes plugin reads, and nothing more.
func kubernetesCheckRBAC(t testing.TB, objs []kubernetesObject, pod *kubernetesPod) {
	t.Helper()
	sa := kubernetesFind[corev1.ServiceAccount](t, objs, pod.Spec.ServiceAccountName)
	var role *rbacv1.ClusterRole
	for _, b := range kubernetesAll[rbacv1.ClusterRoleBinding](objs) {
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == sa.Name && s.Namespace == sa.Namespace && b.RoleRef.Kind == "ClusterRole" {
				role = kubernetesFind[rbacv1.ClusterRole](t, objs, b.RoleRef.Name)
			}
		}
	}
	if role == nil {
		t.Fatalf("no ClusterRoleBinding gives ServiceAccount %s/%s a ClusterRole", sa.Namespace, sa.Name)
	}
	need := map[string]bool{"/endpoints": true, "/services": true, "/pods": true, "/namespaces": true, "discovery.k8s.io/endpointslices": true}
	for _, r := range role.Rules {
		for _, v := range r.Verbs {
			if v != "list" && v != "watch" {
				t.Errorf("ClusterRole %s grants %q: the kubernetes plugin only lists and watches", role.Name, v)
			}
		}
		if !slices.Contains(r.Verbs, "list") || !slices.Contains(r.Verbs, "watch") {
			continue
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				delete(need, g+"/"+res)
			}
		}
	}
	for res := range need {
		t.Errorf("ClusterRole %s does not grant list and watch on %s", role.Name, res)
	}
}

// kubernetesCheckService checks that svc selects the pod and that each of its ports reaches
// the container port want gives for "port/PROTOCOL".
func kubernetesCheckService(t testing.TB, pod *kubernetesPod, svc *corev1.Service, want map[string]int) {
	t.Helper()
	if !kubernetesSelects(svc.Spec.Selector, pod.Labels) {
		t.Errorf("Service %s selects %v, which the pods (%v) do not carry", svc.Name, svc.Spec.Selector, pod.Labels)
	}
	got := map[string]int{}
	for _, sp := range svc.Spec.Ports {
		target := sp.TargetPort
		if target.IntValue() == 0 && target.StrVal == "" {
			target.IntVal = sp.Port
		}
		key := strings.Join([]string{strconv.Itoa(int(sp.Port)), string(kubernetesProto(sp.Protocol))}, "/")
		got[key] = pod.ContainerPort(t, target, sp.Protocol)
	}
	for key, port := range want {
		if got[key] != port {
			t.Errorf("Service %s port %s reaches container port %d, want %d", svc.Name, key, got[key], port)
		}
	}
}

// kubernetesCheckConsole checks the console: on loopback only (reached through kubectl
// port-forward, never through a Service or the pod IP), and with a token that comes from a
// Secret the README creates.
func kubernetesCheckConsole(t testing.TB, objs []kubernetesObject, pod *kubernetesPod) {
	t.Helper()
	ov := pod.Directives("override")
	if len(ov) == 0 {
		return
	}
	console := kubernetesBlockProperty(ov[0], "console")
	if len(console) != 2 {
		t.Fatalf("override has no console address: %v", ov[0].Block)
	}
	host, port, err := net.SplitHostPort(console[1])
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		t.Errorf("override console listens on %s: want loopback, reached with kubectl port-forward", console[1])
	}
	for _, cp := range pod.DNS.Ports {
		if fmt.Sprint(cp.ContainerPort) == port {
			t.Errorf("container port %s (%d) declares the loopback-only console", cp.Name, cp.ContainerPort)
		}
	}
	readme, err := os.ReadFile(kubernetesDir("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	forward := "kubectl -n " + pod.Namespace + " port-forward deployment/coredns " + port
	if !strings.Contains(string(readme), forward) {
		t.Errorf("examples/kubernetes/README.md does not say how to reach the console: want %q", forward)
	}

	token := kubernetesBlockProperty(ov[0], "token")
	if len(token) != 2 {
		t.Fatalf("override console %s has no token line", console[1])
	}
	m := kubernetesEnvRef.FindStringSubmatch(token[1])
	if m == nil {
		t.Fatalf("override token %q is written into the ConfigMap: read it from the environment", token[1])
	}
	var ref *corev1.SecretKeySelector
	for _, e := range pod.DNS.Env {
		if e.Name == m[1] && e.ValueFrom != nil {
			ref = e.ValueFrom.SecretKeyRef
		}
	}
	if ref == nil {
		t.Fatalf("$%s does not come from a Secret", m[1])
	}
	create := "kubectl -n " + pod.Namespace + " create secret generic " + ref.Name + " --from-literal=" + ref.Key + "="
	if !strings.Contains(string(readme), create) {
		t.Errorf("examples/kubernetes/README.md does not say how to create the Secret: want %q", create)
	}
}

// kubernetesCheckEtcd checks that the override store is the etcd the manifests run, reached
// through its Service over TLS with a client certificate that etcd requires, that the
// certificates come from somewhere (cert-manager, or the README's script), and the etcd
// StatefulSet's own details.
func kubernetesCheckEtcd(t testing.TB, objs []kubernetesObject, pod *kubernetesPod) {
	t.Helper()
	ov := pod.Directives("override")
	if len(ov) == 0 {
		return
	}
	store := kubernetesBlockProperty(ov[0], "store")
	if len(store) != 3 || store[1] != "etcd" {
		t.Fatalf("override store is %v, want one etcd endpoint shared by the replicas", store)
	}
	svc := kubernetesFind[corev1.Service](t, objs, "steerdns-etcd")
	prefix := strings.ToUpper(strings.ReplaceAll(svc.Name, "-", "_"))
	endpoint := pod.Expand(t, store[2], map[string]string{prefix + "_SERVICE_HOST": "192.0.2.99", prefix + "_SERVICE_PORT": "2379"})
	if endpoint != "https://192.0.2.99:2379" {
		t.Errorf("override store %s is, in a pod, %s: want https:// and the %s Service's link variables", store[2], endpoint, svc.Name)
	}
	tlsLine := kubernetesBlockProperty(ov[0], "tls")
	if len(tlsLine) != 4 {
		t.Fatalf("override store has tls %v: want a client certificate, its key and the CA", tlsLine)
	}
	client := pod.SecretFiles(t, pod.DNS, tlsLine[1:]...)

	sts := kubernetesFind[appsv1.StatefulSet](t, objs, "steerdns-etcd")
	if !kubernetesSelects(svc.Spec.Selector, sts.Spec.Template.Labels) {
		t.Errorf("Service %s does not select the etcd pods", svc.Name)
	}
	etcd := &sts.Spec.Template.Spec.Containers[0]
	var clientPort int32
	for _, p := range etcd.Ports {
		if p.Name == svc.Spec.Ports[0].TargetPort.StrVal {
			clientPort = p.ContainerPort
		}
	}
	if clientPort != 2379 {
		t.Errorf("Service %s reaches etcd port %d, want the client port 2379", svc.Name, clientPort)
	}
	kubernetesCheckSecurity(t, &sts.Spec.Template.Spec, etcd)

	flags := kubernetesFlags(etcd.Args)
	if flags["--client-cert-auth"] != "true" {
		t.Errorf("etcd does not require client certificates (--client-cert-auth=true): %v", etcd.Args)
	}
	for _, name := range []string{"--listen-client-urls", "--advertise-client-urls"} {
		if !strings.HasPrefix(flags[name], "https://") {
			t.Errorf("etcd %s=%s: clients must use TLS", name, flags[name])
		}
	}
	for name, v := range flags {
		if !strings.HasSuffix(name, "-urls") {
			continue
		}
		for _, raw := range strings.Split(v, ",") {
			u, err := url.Parse(raw)
			if err != nil || u.Port() == "" {
				t.Errorf("etcd %s: %q is not a URL with a port (IPv6 addresses need brackets): %v", name, raw, err)
			}
		}
	}
	server := pod.SecretFilesOf(t, &sts.Spec.Template.Spec, etcd, flags["--cert-file"], flags["--key-file"], flags["--trusted-ca-file"])
	if server == client {
		t.Errorf("etcd and the DNS pods share the Secret %s: the server key and the client key must differ", server)
	}

	headless := kubernetesFind[corev1.Service](t, objs, sts.Spec.ServiceName)
	if headless.Spec.ClusterIP != corev1.ClusterIPNone || !kubernetesSelects(headless.Spec.Selector, sts.Spec.Template.Labels) {
		t.Errorf("StatefulSet serviceName %s: want a headless Service (clusterIP None) selecting the etcd pods", sts.Spec.ServiceName)
	}
	if sts.Spec.Template.Spec.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("etcd has no kubernetes.io/os: linux nodeSelector: the image is Linux only")
	}
	if want := ":v" + strings.TrimPrefix(kubernetesModuleVersion(t, "go.etcd.io/etcd/server/v3"), "v"); !strings.HasSuffix(etcd.Image, want) {
		t.Errorf("etcd image %s: want the release the tests run (%s)", etcd.Image, want)
	}
	kubernetesCheckEtcdSize(t, sts, flags)
	kubernetesCheckCertificates(t, objs, svc, server, client)

	var guarded bool
	for _, np := range kubernetesAll[networkingv1.NetworkPolicy](objs) {
		if !kubernetesSelects(np.Spec.PodSelector.MatchLabels, sts.Spec.Template.Labels) {
			continue
		}
		guarded = true
		for _, rule := range np.Spec.Ingress {
			for _, from := range rule.From {
				if from.PodSelector == nil || !kubernetesSelects(from.PodSelector.MatchLabels, pod.Labels) {
					t.Errorf("NetworkPolicy %s lets in pods other than the DNS pods: %+v", np.Name, from)
				}
			}
		}
	}
	if !guarded {
		t.Errorf("no NetworkPolicy keeps other pods away from etcd")
	}
}

// kubernetesFlags maps each --name=value argument to its value.
func kubernetesFlags(args []string) map[string]string {
	flags := map[string]string{}
	for _, a := range args {
		if name, v, ok := strings.Cut(a, "="); ok {
			flags[name] = v
		}
	}
	return flags
}

// kubernetesCheckEtcdSize checks that etcd's limits fit its volume: the database quota, a
// defragmentation's copy of it, and the WAL files it keeps (64 MiB each); and that history
// is compacted, so that the database does not grow with every change.
func kubernetesCheckEtcdSize(t testing.TB, sts *appsv1.StatefulSet, flags map[string]string) {
	t.Helper()
	quota, err1 := strconv.ParseInt(flags["--quota-backend-bytes"], 10, 64)
	wals, err2 := strconv.ParseInt(flags["--max-wals"], 10, 64)
	if err1 != nil || err2 != nil || quota <= 0 || wals <= 0 {
		t.Errorf("etcd needs --quota-backend-bytes and --max-wals sized to its volume: %v", flags)
		return
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("etcd has %d volume claim templates, want 1", len(sts.Spec.VolumeClaimTemplates))
	}
	size := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().Value()
	if need := 2*quota + wals*64<<20; need > size {
		t.Errorf("etcd may need %d bytes (2 x quota %d + %d WALs of 64 MiB), its volume has %d", need, quota, wals, size)
	}
	if flags["--auto-compaction-retention"] == "" || flags["--auto-compaction-mode"] == "" {
		t.Errorf("etcd never compacts its history: set --auto-compaction-mode and --auto-compaction-retention")
	}
}

// kubernetesCheckCertificates checks that the Secrets etcd and the DNS pods mount are issued:
// by cert-manager Certificates in the overlay (the server one naming the Service IP the DNS
// pods dial), or else by the README's make-certs.sh and kubectl commands.
func kubernetesCheckCertificates(t testing.TB, objs []kubernetesObject, svc *corev1.Service, server, client string) {
	t.Helper()
	certs := map[string]*certManagerCertificate{}
	for _, c := range kubernetesAll[certManagerCertificate](objs) {
		certs[c.Spec.SecretName] = c
	}
	if len(certs) == 0 {
		readme, err := os.ReadFile(kubernetesDir("README.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"etcd-tls/make-certs.sh", "create secret generic " + server + " ", "create secret generic " + client + " "} {
			if !strings.Contains(string(readme), want) {
				t.Errorf("no Certificate issues the etcd Secrets and README.md does not show %q", want)
			}
		}
		return
	}
	srv, cli := certs[server], certs[client]
	if srv == nil || cli == nil {
		t.Fatalf("cert-manager Certificates write %v, want Secrets %s and %s", slices.Collect(maps.Keys(certs)), server, client)
	}
	if svc.Spec.ClusterIP == "" || !slices.Contains(srv.Spec.IPAddresses, svc.Spec.ClusterIP) {
		t.Errorf("Certificate %s names IPs %v: the DNS pods dial the Service IP %q, which must be fixed and among them", srv.Name, srv.Spec.IPAddresses, svc.Spec.ClusterIP)
	}
	if !slices.Contains(srv.Spec.Usages, "server auth") || !slices.Contains(cli.Spec.Usages, "client auth") {
		t.Errorf("Certificate usages: server %v needs server auth, client %v client auth", srv.Spec.Usages, cli.Spec.Usages)
	}
	if srv.Spec.IssuerRef != cli.Spec.IssuerRef {
		t.Errorf("the server and client certificates come from different issuers (%v, %v): etcd trusts one CA", srv.Spec.IssuerRef, cli.Spec.IssuerRef)
	}
}

// kubernetesModuleVersion returns the version of a module that go.mod requires.
func kubernetesModuleVersion(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == path {
			return f[1]
		}
	}
	t.Fatalf("go.mod does not require %s", path)
	return ""
}

// TestKubernetesSidecarManifests checks the per-pod DNS sidecar: the pod's resolver is the
// sidecar, which is up before the application and forwards what it does not steer to the
// cluster DNS, with the least privilege it needs.
func TestKubernetesSidecarManifests(t *testing.T) {
	for _, overlay := range kubernetesSidecarOverlays {
		t.Run(overlay, func(t *testing.T) { kubernetesCheckSidecar(t, overlay) })
	}
}

func kubernetesCheckSidecar(t *testing.T, overlay string) {
	objs, pod := kubernetesSidecarPod(t, overlay)
	settings := kubernetesSettings(t, overlay)

	ns := kubernetesFind[corev1.Namespace](t, objs, pod.Namespace)
	for _, o := range objs {
		if m := kubernetesMeta(o.Obj); o.Kind != "Namespace" && m.Namespace != ns.Name {
			t.Errorf("%s %s is in namespace %q, want %q", o.Kind, m.Name, m.Namespace, ns.Name)
		}
	}

	spec := pod.Spec
	if spec.DNSPolicy != corev1.DNSNone {
		t.Errorf("dnsPolicy %q, want None so that resolv.conf comes from dnsConfig alone", spec.DNSPolicy)
	}
	if spec.DNSConfig == nil {
		t.Fatal("no dnsConfig")
	}
	if !slices.Equal(spec.DNSConfig.Nameservers, []string{"127.0.0.1"}) {
		t.Errorf("nameservers %v, want the sidecar alone: [127.0.0.1]", spec.DNSConfig.Nameservers)
	}
	domain := settings["clusterDomain"]
	wantSearch := []string{pod.Namespace + ".svc." + domain, "svc." + domain, domain}
	if !slices.Equal(spec.DNSConfig.Searches, wantSearch) {
		t.Errorf("search domains %v, want the namespace's %v", spec.DNSConfig.Searches, wantSearch)
	}
	var ndots string
	for _, o := range spec.DNSConfig.Options {
		if o.Name == "ndots" && o.Value != nil {
			ndots = *o.Value
		}
	}
	if ndots != "5" {
		t.Errorf("ndots %q: want 5, what ClusterFirst gives, so that short Service names resolve as before", ndots)
	}
	if got := pod.EnvValue(t, "CLUSTER_DNS"); got != settings["dnsServiceIP"] {
		t.Errorf("CLUSTER_DNS is %q, want the overlay's dnsServiceIP %q", got, settings["dnsServiceIP"])
	}

	// A native sidecar gated on /ready.
	if pod.DNS.RestartPolicy == nil || *pod.DNS.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("init container dns is not a native sidecar: restartPolicy must be Always")
	}
	if spec.InitContainers[0].Name != pod.DNS.Name {
		t.Errorf("init container dns must come first, before anything that resolves names")
	}
	_, ready := pod.CheckProbes(t, ":8080")
	pod.CheckProbe(t, "startupProbe", pod.DNS.StartupProbe, "/ready", ready)

	// DNS on loopback only, on the port resolv.conf implies; health and ready on the pod IP.
	for _, b := range pod.Blocks {
		if b.Port() != "53" {
			t.Errorf("server block %v listens on %s: resolv.conf can only name port 53", b.Keys, b.Port())
		}
		bind := b.Directive("bind")
		if bind == nil || !slices.Equal(bind.Args[1:], spec.DNSConfig.Nameservers) {
			t.Errorf("server block %v: want 'bind 127.0.0.1', the pod's nameserver and nothing else", b.Keys)
		}
	}

	// Forwarding to the cluster DNS Service, never to /etc/resolv.conf (which is itself).
	fwd := pod.Directives("forward")
	if len(fwd) == 0 {
		t.Fatal("the sidecar Corefile does not forward")
	}
	for _, f := range fwd {
		for _, to := range f.Args[2:] {
			if strings.Contains(to, "resolv.conf") {
				t.Errorf("forward to %s: resolv.conf names the sidecar itself", to)
				continue
			}
			m := kubernetesEnvRef.FindStringSubmatch(to)
			if m == nil {
				continue
			}
			var val string
			for _, e := range pod.DNS.Env {
				if e.Name == m[1] {
					val = e.Value
				}
			}
			if net.ParseIP(val) == nil {
				t.Errorf("forward to {$%s} = %q: want the cluster DNS Service IP", m[1], val)
			}
		}
	}
	for _, name := range []string{"rrotate", "weighted", "healthcheck", "cache", "file", "prometheus"} {
		if len(pod.Directives(name)) == 0 {
			t.Errorf("the sidecar Corefile has no %s", name)
		}
	}
	pod.CheckFiles(t)
	pod.CheckEnv(t, objs)

	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken: neither container needs the Kubernetes API")
	}
	kubernetesCheckSecurity(t, spec, pod.DNS, "NET_BIND_SERVICE")
	for i := range spec.Containers {
		kubernetesCheckSecurity(t, spec, &spec.Containers[i])
	}
}

// kubernetesAtoi parses a port number the manifests give as text.
func kubernetesAtoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("port %q: %v", s, err)
	}
	return n
}

// TestKubernetesDockerfile checks that the Dockerfile, for people with Docker, builds the
// image the manifests run: a static binary of ./coredns-build stamped with its version, with
// the capability for port 53, as the non-root UID that the pods' runAsUser names. (The path
// tested here is examples/image/build.sh with podman: TestKubernetesImage.)
func TestKubernetesDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, want := range []string{"CGO_ENABLED=0 go build", "-X main.version=${VERSION}", "./coredns-build", "setcap cap_net_bind_service=+ep /coredns", `ENTRYPOINT ["/coredns"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	var user string
	for _, line := range strings.Split(df, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "USER" {
			user = f[1] // the last USER is the final stage's
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Fatalf("Dockerfile USER %q: want a numeric non-root UID, which runAsNonRoot can verify", user)
	}
	_, cluster := kubernetesClusterPod(t, kubernetesClusterOverlays[0])
	_, sidecar := kubernetesSidecarPod(t, kubernetesSidecarOverlays[0])
	for _, pod := range []*kubernetesPod{cluster, sidecar} {
		if got := fmt.Sprint(*pod.Spec.SecurityContext.RunAsUser); got != uid {
			t.Errorf("%s runs as UID %s, the image as %s", pod.File, got, uid)
		}
	}
}
