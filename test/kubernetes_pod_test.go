package test

import (
	"maps"
	"net"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// kubernetesPod is a pod template that runs coredns, tied to the Corefile it runs.
type kubernetesPod struct {
	File      string // manifest file of the workload
	Namespace string
	Labels    map[string]string
	Spec      *corev1.PodSpec
	DNS       *corev1.Container // the coredns container
	MountPath string            // where the ConfigMap is mounted
	Files     []string          // the ConfigMap's keys as they appear under MountPath
	ConfigMap *corev1.ConfigMap
	Corefile  string
	Blocks    []kubernetesServerBlock
	// Mounts maps a mount path in the container to the local directory that stands in for
	// it when the test runs the Corefile (a Secret's files).
	Mounts map[string]string
}

// kubernetesLoadPod follows the coredns container's -conf argument to its volume mount, the
// volume to its ConfigMap, and the ConfigMap key to the Corefile. Each link must hold.
func kubernetesLoadPod(t testing.TB, objs []kubernetesObject, file, namespace string, labels map[string]string, spec *corev1.PodSpec, dns *corev1.Container) *kubernetesPod {
	t.Helper()
	p := &kubernetesPod{File: file, Namespace: namespace, Labels: labels, Spec: spec, DNS: dns}
	i := slices.Index(dns.Args, "-conf")
	if i < 0 || i+1 >= len(dns.Args) {
		t.Fatalf("container %s: no -conf argument in %v", dns.Name, dns.Args)
	}
	conf := dns.Args[i+1]
	var mount *corev1.VolumeMount
	for k := range dns.VolumeMounts {
		if m := &dns.VolumeMounts[k]; strings.HasPrefix(conf, strings.TrimSuffix(m.MountPath, "/")+"/") {
			mount = m
		}
	}
	if mount == nil {
		t.Fatalf("container %s: -conf %s is not under any volume mount", dns.Name, conf)
	}
	p.MountPath = mount.MountPath
	var vol *corev1.Volume
	for k := range spec.Volumes {
		if spec.Volumes[k].Name == mount.Name {
			vol = &spec.Volumes[k]
		}
	}
	if vol == nil || vol.ConfigMap == nil {
		t.Fatalf("volume %q mounted at %s is missing or not a ConfigMap", mount.Name, mount.MountPath)
	}
	p.ConfigMap = kubernetesFind[corev1.ConfigMap](t, objs, vol.ConfigMap.Name)
	if p.ConfigMap.Namespace != namespace {
		t.Errorf("ConfigMap %s is in namespace %q, the pod in %q", p.ConfigMap.Name, p.ConfigMap.Namespace, namespace)
	}
	rel := strings.TrimPrefix(conf, strings.TrimSuffix(mount.MountPath, "/")+"/")
	key := rel
	if len(vol.ConfigMap.Items) > 0 {
		key = ""
		for _, it := range vol.ConfigMap.Items {
			if _, ok := p.ConfigMap.Data[it.Key]; !ok {
				t.Errorf("volume %s mounts key %q, which ConfigMap %s does not have", vol.Name, it.Key, p.ConfigMap.Name)
			}
			p.Files = append(p.Files, it.Path)
			if it.Path == rel {
				key = it.Key
			}
		}
	} else {
		for k := range p.ConfigMap.Data {
			p.Files = append(p.Files, k)
		}
	}
	corefile, ok := p.ConfigMap.Data[key]
	if key == "" || !ok {
		t.Fatalf("-conf %s: ConfigMap %s mounted at %s has no key for %q", conf, p.ConfigMap.Name, mount.MountPath, rel)
	}
	p.Corefile = corefile
	p.Blocks = kubernetesParseCorefile(t, corefile)
	return p
}

// Directives returns every directive named name, across server blocks.
func (p *kubernetesPod) Directives(name string) []*kubernetesDirective {
	var out []*kubernetesDirective
	for _, b := range p.Blocks {
		for i := range b.Directives {
			if b.Directives[i].Args[0] == name {
				out = append(out, &b.Directives[i])
			}
		}
	}
	return out
}

// ListenPort returns the port the directive name listens on, checking that every server
// block that has it agrees and that it is reachable from the kubelet (not loopback only).
func (p *kubernetesPod) ListenPort(t testing.TB, name, def string) int {
	t.Helper()
	ds := p.Directives(name)
	if len(ds) == 0 {
		t.Fatalf("the Corefile has no %s directive:\n%s", name, p.Corefile)
	}
	host, port := kubernetesListen(t, ds[0], def)
	for _, d := range ds[1:] {
		if h, q := kubernetesListen(t, d, def); h != host || q != port {
			t.Errorf("%s listens on %s:%d in one server block and %s:%d in another", name, host, port, h, q)
		}
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.Errorf("%s listens on %s: kubelet probes come to the pod IP and cannot reach it", name, host)
	}
	return port
}

// ContainerPort resolves a probe's or a Service's target port (number or name) against the
// coredns container's declared ports.
func (p *kubernetesPod) ContainerPort(t testing.TB, port intstr.IntOrString, proto corev1.Protocol) int {
	t.Helper()
	if port.Type == intstr.Int {
		return port.IntValue()
	}
	for _, cp := range p.DNS.Ports {
		if cp.Name == port.StrVal && kubernetesProto(cp.Protocol) == kubernetesProto(proto) {
			return int(cp.ContainerPort)
		}
	}
	t.Fatalf("container %s has no %s port named %q", p.DNS.Name, kubernetesProto(proto), port.StrVal)
	return 0
}

// kubernetesProto applies the API's default protocol.
func kubernetesProto(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// CheckProbe checks that probe is an HTTP GET of path on the port the Corefile's directive
// (health or ready) opens.
func (p *kubernetesPod) CheckProbe(t testing.TB, what string, probe *corev1.Probe, path string, port int) {
	t.Helper()
	if probe == nil || probe.HTTPGet == nil {
		t.Errorf("container %s: %s is not an HTTP GET probe", p.DNS.Name, what)
		return
	}
	if probe.HTTPGet.Path != path {
		t.Errorf("container %s: %s probes %s, want %s", p.DNS.Name, what, probe.HTTPGet.Path, path)
	}
	if got := p.ContainerPort(t, probe.HTTPGet.Port, corev1.ProtocolTCP); got != port {
		t.Errorf("container %s: %s probes port %d, the Corefile opens %s on %d", p.DNS.Name, what, got, path, port)
	}
	if probe.HTTPGet.Host != "" {
		t.Errorf("container %s: %s probes host %q instead of the pod IP", p.DNS.Name, what, probe.HTTPGet.Host)
	}
}

// CheckProbes checks liveness on /health and readiness on /ready against the Corefile.
func (p *kubernetesPod) CheckProbes(t testing.TB, healthDefault string) (health, ready int) {
	t.Helper()
	health = p.ListenPort(t, "health", healthDefault)
	ready = p.ListenPort(t, "ready", ":8181")
	p.CheckProbe(t, "livenessProbe", p.DNS.LivenessProbe, "/health", health)
	p.CheckProbe(t, "readinessProbe", p.DNS.ReadinessProbe, "/ready", ready)
	return health, ready
}

// CheckFiles checks that the pod runs in the mounted directory, so that each relative path
// the Corefile names (zone files) is one of the ConfigMap's keys.
func (p *kubernetesPod) CheckFiles(t testing.TB) {
	t.Helper()
	if path.Clean(p.DNS.WorkingDir) != path.Clean(p.MountPath) {
		t.Errorf("container %s runs in %q, the Corefile's relative paths need %s", p.DNS.Name, p.DNS.WorkingDir, p.MountPath)
	}
	for _, d := range p.Directives("file") {
		if len(d.Args) < 2 {
			t.Errorf("file directive without a path: %v", d.Args)
			continue
		}
		f := d.Args[1]
		if strings.HasPrefix(f, "/") {
			f = strings.TrimPrefix(f, strings.TrimSuffix(p.MountPath, "/")+"/")
		}
		if !slices.Contains(p.Files, f) {
			t.Errorf("file %s: not among the mounted ConfigMap keys %v", d.Args[1], p.Files)
		}
	}
}

// kubernetesEnvRef matches the Corefile's environment references, {$NAME}.
var kubernetesEnvRef = regexp.MustCompile(`\{\$([A-Za-z0-9_]+)\}`)

// CheckEnv checks that every {$NAME} in the Corefile is set in the container: by its env
// list, or as a Service link (NAME_SERVICE_HOST/PORT) of a Service of the pod's namespace
// that is applied before the pod. An unset variable would silently become "".
func (p *kubernetesPod) CheckEnv(t testing.TB, objs []kubernetesObject) {
	t.Helper()
	set := map[string]bool{}
	for _, e := range p.DNS.Env {
		set[e.Name] = true
	}
	if p.Spec.EnableServiceLinks == nil || *p.Spec.EnableServiceLinks {
		for _, o := range objs {
			svc, ok := o.Obj.(*corev1.Service)
			if !ok || svc.Namespace != p.Namespace || o.File > p.File || svc.Spec.ClusterIP == corev1.ClusterIPNone {
				continue
			}
			prefix := strings.ToUpper(strings.ReplaceAll(svc.Name, "-", "_"))
			set[prefix+"_SERVICE_HOST"], set[prefix+"_SERVICE_PORT"] = true, true
		}
	}
	for _, m := range kubernetesEnvRef.FindAllStringSubmatch(p.Corefile, -1) {
		if !set[m[1]] {
			t.Errorf("the Corefile reads {$%s}, which container %s does not have", m[1], p.DNS.Name)
		}
	}
	// $(NAME) in an env value is expanded by the kubelet from the variables before it and
	// the Service links; one it cannot resolve stays as written, silently.
	before := map[string]bool{}
	for k, v := range set {
		before[k] = v && !slices.ContainsFunc(p.DNS.Env, func(e corev1.EnvVar) bool { return e.Name == k })
	}
	for _, e := range p.DNS.Env {
		for _, m := range kubernetesKubeletRef.FindAllStringSubmatch(e.Value, -1) {
			if !before[m[1]] {
				t.Errorf("env %s=%q refers to $(%s), which is not defined before it", e.Name, e.Value, m[1])
			}
		}
		before[e.Name] = true
	}
}

// kubernetesKubeletRef matches the kubelet's variable references in env values, $(NAME).
var kubernetesKubeletRef = regexp.MustCompile(`\$\(([A-Za-z0-9_]+)\)`)

// EnvValue returns the literal value of the coredns container's variable name.
func (p *kubernetesPod) EnvValue(t testing.TB, name string) string {
	t.Helper()
	for _, e := range p.DNS.Env {
		if e.Name == name {
			return e.Value
		}
	}
	t.Fatalf("container %s has no variable %s", p.DNS.Name, name)
	return ""
}

// Env returns the coredns container's environment as the kubelet builds it: links (the
// Service link variables and whatever else the test stands in for), then the env list in
// order, each $(NAME) in a value expanded from what is defined so far. Values from Secrets
// are left out; the test supplies its own.
func (p *kubernetesPod) Env(links map[string]string) map[string]string {
	env := map[string]string{}
	maps.Copy(env, links)
	for _, e := range p.DNS.Env {
		if e.ValueFrom != nil {
			continue
		}
		env[e.Name] = kubernetesKubeletRef.ReplaceAllStringFunc(e.Value, func(ref string) string {
			if v, ok := env[ref[2:len(ref)-1]]; ok {
				return v
			}
			return ref
		})
	}
	return env
}

// Expand returns s with each {$NAME} replaced as CoreDNS would in the pod, from Env(links).
func (p *kubernetesPod) Expand(t testing.TB, s string, links map[string]string) string {
	t.Helper()
	env := p.Env(links)
	return kubernetesEnvRef.ReplaceAllStringFunc(s, func(ref string) string {
		v, ok := env[ref[2:len(ref)-1]]
		if !ok {
			t.Errorf("%s: %s is not set in the pod", s, ref)
		}
		return v
	})
}

// kubernetesTLSKeys are the keys of a TLS Secret, as cert-manager writes them and the
// README's kubectl commands create them.
var kubernetesTLSKeys = []string{"tls.crt", "tls.key", "ca.crt"}

// SecretFiles is SecretFilesOf for the pod's own spec.
func (p *kubernetesPod) SecretFiles(t testing.TB, c *corev1.Container, paths ...string) string {
	t.Helper()
	return p.SecretFilesOf(t, p.Spec, c, paths...)
}

// SecretFilesOf checks that every path is a key of one Secret mounted in container c of
// spec, and returns the Secret's name.
func (p *kubernetesPod) SecretFilesOf(t testing.TB, spec *corev1.PodSpec, c *corev1.Container, paths ...string) string {
	t.Helper()
	var secret string
	for _, f := range paths {
		var mount *corev1.VolumeMount
		for i := range c.VolumeMounts {
			if m := &c.VolumeMounts[i]; strings.HasPrefix(f, strings.TrimSuffix(m.MountPath, "/")+"/") {
				mount = m
			}
		}
		if mount == nil {
			t.Errorf("container %s: %s is not under any volume mount", c.Name, f)
			continue
		}
		var vol *corev1.Volume
		for i := range spec.Volumes {
			if spec.Volumes[i].Name == mount.Name {
				vol = &spec.Volumes[i]
			}
		}
		if vol == nil || vol.Secret == nil {
			t.Errorf("container %s: %s is on volume %s, which is not a Secret", c.Name, f, mount.Name)
			continue
		}
		if secret != "" && vol.Secret.SecretName != secret {
			t.Errorf("container %s: %s comes from Secret %s, the others from %s", c.Name, f, vol.Secret.SecretName, secret)
		}
		secret = vol.Secret.SecretName
		if key := path.Base(f); !slices.Contains(kubernetesTLSKeys, key) || path.Dir(f) != path.Clean(mount.MountPath) {
			t.Errorf("container %s: %s is not one of the keys %v of Secret %s", c.Name, f, kubernetesTLSKeys, secret)
		}
		if !mount.ReadOnly {
			t.Errorf("container %s: Secret %s is mounted read-write", c.Name, secret)
		}
	}
	return secret
}

// kubernetesCheckSecurity checks least privilege: non-root, no privilege escalation, a
// read-only root filesystem, and no capability but those in add.
func kubernetesCheckSecurity(t testing.TB, pod *corev1.PodSpec, c *corev1.Container, add ...corev1.Capability) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("container %s: no securityContext", c.Name)
		return
	}
	nonRoot := (pod.SecurityContext != nil && pod.SecurityContext.RunAsNonRoot != nil && *pod.SecurityContext.RunAsNonRoot) ||
		(sc.RunAsNonRoot != nil && *sc.RunAsNonRoot)
	if !nonRoot {
		t.Errorf("container %s: runAsNonRoot is not set", c.Name)
	}
	uid := sc.RunAsUser
	if uid == nil && pod.SecurityContext != nil {
		uid = pod.SecurityContext.RunAsUser
	}
	if uid == nil || *uid == 0 {
		t.Errorf("container %s: no non-zero runAsUser", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container %s: readOnlyRootFilesystem is not true", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("container %s: privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container %s: capabilities do not drop ALL", c.Name)
	}
	var got []corev1.Capability
	if sc.Capabilities != nil {
		got = sc.Capabilities.Add
	}
	if !slices.Equal(got, add) {
		t.Errorf("container %s: adds capabilities %v, want exactly %v", c.Name, got, add)
	}
}

// kubernetesSelects reports whether selector (a Service's or a policy's) picks pods that
// carry labels.
func kubernetesSelects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
