package test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestKubernetesOverlaysRender renders every overlay under examples/kubernetes/overlays and
// checks what holds for all of them: every object decodes strictly (kubernetesRender), no
// placeholder of the bases is left, every image is fully qualified with a version tag, and
// the overlay's settings stay out of what is applied.
func TestKubernetesOverlaysRender(t *testing.T) {
	dirs, err := os.ReadDir(kubernetesDir("overlays"))
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		seen = append(seen, d.Name())
		t.Run(d.Name(), func(t *testing.T) {
			dir := kubernetesOverlayDir(d.Name())
			yml, err := kubernetesRenderYAML(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, placeholder := range []string{"REGISTRY/", ":VERSION\n", "value: CLUSTER_DOMAIN\n", ".CLUSTER_DOMAIN", "DNS_SERVICE_IP", "ETCD_SERVICE_IP"} {
				if bytes.Contains(yml, []byte(placeholder)) {
					t.Errorf("the rendered overlay still holds the placeholder %q", strings.TrimSpace(placeholder))
				}
			}
			objs := kubernetesRender(t, dir)
			for _, o := range objs {
				if kubernetesMeta(o.Obj).Name == "steerdns-settings" {
					t.Errorf("the settings ConfigMap is applied to the cluster: it must stay local-config")
				}
				for _, c := range kubernetesContainers(o.Obj) {
					kubernetesCheckImage(t, c)
				}
			}
		})
	}
	for _, want := range append(slices.Clone(kubernetesClusterOverlays), kubernetesSidecarOverlays...) {
		if !slices.Contains(seen, want) {
			t.Errorf("overlay %s, which the tests run, is missing", want)
		}
	}
}

// kubernetesContainers returns the containers and init containers of a workload.
func kubernetesContainers(obj any) []corev1.Container {
	var spec *corev1.PodSpec
	switch w := obj.(type) {
	case *appsv1.Deployment:
		spec = &w.Spec.Template.Spec
	case *appsv1.StatefulSet:
		spec = &w.Spec.Template.Spec
	default:
		return nil
	}
	return append(slices.Clone(spec.InitContainers), spec.Containers...)
}

// kubernetesCheckImage checks that an image reference names its registry (a host with a dot
// or a port, so that no default registry is guessed) and a version tag (not latest, not a
// mutable dev tag).
func kubernetesCheckImage(t testing.TB, c corev1.Container) {
	t.Helper()
	ref := c.Image
	host, rest, ok := strings.Cut(ref, "/")
	if !ok || !strings.ContainsAny(host, ".:") || host != strings.ToLower(host) {
		t.Errorf("container %s: image %q does not name its registry host: it would be looked up on a default registry", c.Name, ref)
	}
	_, tag, ok := strings.Cut(rest, ":")
	if !ok || tag == "" || tag == "latest" || tag == "dev" {
		t.Errorf("container %s: image %q has no version tag", c.Name, ref)
	}
}

// kubernetesClusterValue matches what is specific to one cluster: a cluster domain, or an
// address of a Service network.
var kubernetesClusterValue = regexp.MustCompile(`cluster\.local|k8s\.corp\.example|\b10\.\d+\.\d+\.\d+\b`)

// TestKubernetesNoClusterValuesOutsideOverlays checks that the bases and components hold no
// cluster domain or Service IP: those live in the overlays only, where an operator sets them.
func TestKubernetesNoClusterValuesOutsideOverlays(t *testing.T) {
	root := kubernetesDir("")
	var checked int
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() && rel == "overlays" {
			return filepath.SkipDir
		}
		if d.IsDir() || rel == "README.md" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(data), "\n") {
			if m := kubernetesClusterValue.FindString(line); m != "" {
				t.Errorf("%s:%d holds the cluster-specific %q: move it to the overlays", rel, i+1, m)
			}
		}
		return nil
	})
	if err != nil || checked < 10 {
		t.Fatalf("walking %s: %v (%d files)", root, err, checked)
	}
}

// kubeadmCorefile is kubeadm's CoreDNS ConfigMap Corefile template, as in kubernetes/kubernetes
// cmd/kubeadm/app/phases/addons/dns/manifests.go (CoreDNSConfigMap) since
// kubernetes/kubernetes#128359 turned caching off for the cluster domain. Compare it with a
// new kubeadm release's before upgrading the stock block.
const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes {{ .DNSDomain }} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    {{- if .DNSDomain }} {
       disable success {{ .DNSDomain }}
       disable denial {{ .DNSDomain }}
    }
    {{- end }}
    loop
    reload
    loadbalance
}
`

// TestKubernetesStockCorefileIsKubeadms checks that the first server block of each cluster
// overlay's Corefile, with the cluster domain the pod gets, is the server block kubeadm
// writes for that domain, line for line: "drop-in" means nothing the stock add-on does is
// lost or changed, including not caching the cluster's own answers.
func TestKubernetesStockCorefileIsKubeadms(t *testing.T) {
	tmpl := template.Must(template.New("corefile").Parse(kubeadmCorefile))
	for _, overlay := range kubernetesClusterOverlays {
		t.Run(overlay, func(t *testing.T) {
			_, pod := kubernetesClusterPod(t, overlay)
			domain := kubernetesSettings(t, overlay)["clusterDomain"]
			var want bytes.Buffer
			if err := tmpl.Execute(&want, map[string]string{"DNSDomain": domain}); err != nil {
				t.Fatal(err)
			}
			end := strings.Index(pod.Corefile, "\n}\n")
			if end < 0 {
				t.Fatalf("no server block in:\n%s", pod.Corefile)
			}
			got := pod.Expand(t, pod.Corefile[:end+3], nil)
			if got != want.String() {
				t.Errorf("the stock server block differs from kubeadm's for %s:\n--- ours\n%s--- kubeadm\n%s", domain, got, want.String())
			}
		})
	}
}
