package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/steerdns/steerdns/test/harness"
)

// kubernetesClusterPod loads the cluster DNS manifests and the coredns pod they run.
func kubernetesClusterPod(t testing.TB) ([]kubernetesObject, *kubernetesPod) {
	t.Helper()
	objs := kubernetesManifests(t, kubernetesDir("cluster"))
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

// kubernetesSidecarPod loads the sidecar manifests and the application pod, whose coredns
// runs as the init container named dns.
func kubernetesSidecarPod(t testing.TB) ([]kubernetesObject, *kubernetesPod) {
	t.Helper()
	objs := kubernetesManifests(t, kubernetesDir("sidecar"))
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

// TestKubernetesClusterManifests checks the cluster DNS manifests hold together the way the
// API server and the kubelet will hold them to it.
func TestKubernetesClusterManifests(t *testing.T) {
	objs, pod := kubernetesClusterPod(t)

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
	if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
		t.Errorf("Deployment coredns runs %v replicas, want at least 2", d.Spec.Replicas)
	}
	if pod.Spec.DNSPolicy != corev1.DNSDefault {
		t.Errorf("dnsPolicy %q: the cluster DNS must resolve through the node (Default), not itself", pod.Spec.DNSPolicy)
	}

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

	for _, b := range pod.Blocks {
		if b.Port() != "53" {
			t.Errorf("server block %v listens on port %s, the Service sends DNS to 53", b.Keys, b.Port())
		}
	}

	kube := kubernetesFind[corev1.Service](t, objs, "kube-dns")
	kubernetesCheckService(t, pod, kube, map[string]int{"53/UDP": 53, "53/TCP": 53, "9153/TCP": pod.ListenPort(t, "prometheus", "localhost:9153")})
	if net.ParseIP(kube.Spec.ClusterIP) == nil {
		t.Errorf("kube-dns clusterIP %q: the kubelets' --cluster-dns needs a fixed address", kube.Spec.ClusterIP)
	}

	kubernetesCheckConsole(t, objs, pod)
	kubernetesCheckEtcd(t, objs, pod)
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

// kubernetesCheckConsole checks the console: a ClusterIP Service on the port the Corefile's
// override console opens, and a token that comes from a Secret the README creates.
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
	_, port, err := net.SplitHostPort(console[1])
	if err != nil {
		t.Fatal(err)
	}
	svc := kubernetesFind[corev1.Service](t, objs, "steerdns-console")
	if svc.Spec.Type != "" && svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("Service steerdns-console is of type %s: the console stays inside the cluster (ClusterIP)", svc.Spec.Type)
	}
	kubernetesCheckService(t, pod, svc, map[string]int{strconv.Itoa(int(svc.Spec.Ports[0].Port)) + "/TCP": kubernetesAtoi(t, port)})

	token := kubernetesBlockProperty(ov[0], "token")
	if len(token) != 2 {
		t.Fatalf("override console %s listens beyond loopback without a token line", console[1])
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
	readme, err := os.ReadFile(kubernetesDir("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	create := "kubectl -n " + pod.Namespace + " create secret generic " + ref.Name + " --from-literal=" + ref.Key + "="
	if !strings.Contains(string(readme), create) {
		t.Errorf("examples/kubernetes/README.md does not say how to create the Secret: want %q", create)
	}
}

// kubernetesCheckEtcd checks that the override store is the etcd the manifests run, reached
// through its Service, and that only the DNS pods may talk to it.
func kubernetesCheckEtcd(t testing.TB, objs []kubernetesObject, pod *kubernetesPod) {
	t.Helper()
	ov := pod.Directives("override")
	if len(ov) == 0 {
		return
	}
	store := kubernetesBlockProperty(ov[0], "store")
	if len(store) < 3 || store[1] != "etcd" {
		t.Fatalf("override store is %v, want etcd shared by the replicas", store)
	}
	svc := kubernetesFind[corev1.Service](t, objs, "steerdns-etcd")
	host := strings.ToUpper(strings.ReplaceAll(svc.Name, "-", "_")) + "_SERVICE_HOST"
	if !strings.Contains(store[2], "{$"+host+"}") {
		t.Errorf("override store %s does not reach the %s Service by {$%s}", store[2], svc.Name, host)
	}
	sts := kubernetesFind[appsv1.StatefulSet](t, objs, "steerdns-etcd")
	if !kubernetesSelects(svc.Spec.Selector, sts.Spec.Template.Labels) {
		t.Errorf("Service %s does not select the etcd pods", svc.Name)
	}
	etcd := &sts.Spec.Template.Spec.Containers[0]
	var client int32
	for _, p := range etcd.Ports {
		if p.Name == svc.Spec.Ports[0].TargetPort.StrVal {
			client = p.ContainerPort
		}
	}
	if client != 2379 {
		t.Errorf("Service %s reaches etcd port %d, want the client port 2379", svc.Name, client)
	}
	kubernetesCheckSecurity(t, &sts.Spec.Template.Spec, etcd)

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
		t.Errorf("no NetworkPolicy keeps other pods away from etcd, which has no authentication")
	}
}

// TestKubernetesSidecarManifests checks the per-pod DNS sidecar: the pod's resolver is the
// sidecar, which is up before the application and forwards what it does not steer to the
// cluster DNS, with the least privilege it needs.
func TestKubernetesSidecarManifests(t *testing.T) {
	objs, pod := kubernetesSidecarPod(t)

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
	wantSearch := []string{pod.Namespace + ".svc.cluster.local", "svc.cluster.local", "cluster.local"}
	if !slices.Equal(spec.DNSConfig.Searches, wantSearch) {
		t.Errorf("search domains %v, want the namespace's %v", spec.DNSConfig.Searches, wantSearch)
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

// TestKubernetesDockerfile checks that the Dockerfile builds the image the manifests run: a
// static binary of ./coredns-build, with the capability for port 53, as the non-root UID
// that the pods' runAsUser names. (There is no Docker engine here to build it.)
func TestKubernetesDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, want := range []string{"CGO_ENABLED=0 go build", "./coredns-build", "setcap cap_net_bind_service=+ep /coredns", `ENTRYPOINT ["/coredns"]`} {
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
	_, cluster := kubernetesClusterPod(t)
	_, sidecar := kubernetesSidecarPod(t)
	for _, pod := range []*kubernetesPod{cluster, sidecar} {
		if got := fmt.Sprint(*pod.Spec.SecurityContext.RunAsUser); got != uid {
			t.Errorf("%s runs as UID %s, the image as %s", pod.File, got, uid)
		}
		if tag := "docker build -t " + pod.DNS.Image + " ."; !strings.Contains(df, tag) {
			t.Errorf("%s runs image %s, which the Dockerfile's build command (%q) does not tag", pod.File, pod.DNS.Image, tag)
		}
	}
}
