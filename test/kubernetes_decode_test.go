package test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/steerdns/steerdns/test/harness"
)

// kubernetesTypes maps "apiVersion kind" to the API type a manifest document decodes into.
// A kind that is not listed is an error: every object we ship is checked against its type.
var kubernetesTypes = map[string]func() any{
	"v1 Namespace":        func() any { return &corev1.Namespace{} },
	"v1 ServiceAccount":   func() any { return &corev1.ServiceAccount{} },
	"v1 Service":          func() any { return &corev1.Service{} },
	"v1 ConfigMap":        func() any { return &corev1.ConfigMap{} },
	"v1 Secret":           func() any { return &corev1.Secret{} },
	"apps/v1 Deployment":  func() any { return &appsv1.Deployment{} },
	"apps/v1 StatefulSet": func() any { return &appsv1.StatefulSet{} },
	"rbac.authorization.k8s.io/v1 ClusterRole":        func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1 ClusterRoleBinding": func() any { return &rbacv1.ClusterRoleBinding{} },
	"networking.k8s.io/v1 NetworkPolicy":              func() any { return &networkingv1.NetworkPolicy{} },
	"policy/v1 PodDisruptionBudget":                   func() any { return &policyv1.PodDisruptionBudget{} },
	"cert-manager.io/v1 Certificate":                  func() any { return &certManagerCertificate{} },
	"cert-manager.io/v1 Issuer":                       func() any { return &certManagerIssuer{} },
}

// certManagerCertificate is the part of cert-manager's Certificate (cert-manager.io/v1) that
// the manifests use, field for field as cert-manager's API names them: decoding strictly
// into it catches a misspelt or misplaced field. (cert-manager's own Go module is too large
// a dependency for a handful of fields.)
type certManagerCertificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		IsCA        bool     `json:"isCA,omitempty"`
		CommonName  string   `json:"commonName,omitempty"`
		SecretName  string   `json:"secretName"`
		Duration    string   `json:"duration,omitempty"`
		RenewBefore string   `json:"renewBefore,omitempty"`
		Usages      []string `json:"usages,omitempty"`
		DNSNames    []string `json:"dnsNames,omitempty"`
		IPAddresses []string `json:"ipAddresses,omitempty"`
		PrivateKey  *struct {
			Algorithm string `json:"algorithm,omitempty"`
			Size      int    `json:"size,omitempty"`
		} `json:"privateKey,omitempty"`
		IssuerRef struct {
			Name  string `json:"name"`
			Kind  string `json:"kind,omitempty"`
			Group string `json:"group,omitempty"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// certManagerIssuer is the part of cert-manager's Issuer that the manifests use.
type certManagerIssuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
}

// kubernetesObject is one YAML document of a manifest, decoded into its API type.
type kubernetesObject struct {
	File string // the overlay and the position in its output, "kubeadm#003"
	Kind string
	Obj  any
}

// kubernetesDir returns the path of a directory under examples/kubernetes.
func kubernetesDir(sub string) string {
	return filepath.Join(harness.RepoRoot(), "examples", "kubernetes", sub)
}

// kubernetesRender renders the kustomization in dir (an overlay under examples/kubernetes)
// with the kustomize library, as `kubectl apply -k dir` would, and decodes every object
// strictly, in the order kustomize emits them, which is the order kubectl applies them.
func kubernetesRender(t testing.TB, dir string) []kubernetesObject {
	t.Helper()
	yml, err := kubernetesRenderYAML(dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	objs, err := kubernetesDecode(yml)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	if len(objs) == 0 {
		t.Fatalf("kustomize build %s: no objects", dir)
	}
	for i := range objs {
		// Sorts in apply order, for the Service link check of CheckEnv.
		objs[i].File = fmt.Sprintf("%s#%03d", filepath.Base(dir), i)
	}
	return objs
}

// kubernetesRenderYAML returns what `kustomize build dir` prints.
func kubernetesRenderYAML(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	return m.AsYaml()
}

// kubernetesDecode splits data into YAML documents and decodes each strictly: an unknown or
// duplicated field, or a value of the wrong type, is an error, as `kubectl apply` with
// server-side field validation would report it.
func kubernetesDecode(data []byte) ([]kubernetesObject, error) {
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []kubernetesObject
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var probe map[string]any
		if err := yaml.Unmarshal(doc, &probe); err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		if len(probe) == 0 {
			continue // only comments
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %v", n, err)
		}
		newObj, ok := kubernetesTypes[tm.APIVersion+" "+tm.Kind]
		if !ok {
			return nil, fmt.Errorf("document %d: unexpected apiVersion %q kind %q", n, tm.APIVersion, tm.Kind)
		}
		obj := newObj()
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %v", n, tm.Kind, err)
		}
		objs = append(objs, kubernetesObject{Kind: tm.Kind, Obj: obj})
	}
}

// kubernetesFind returns the object of type T named name, failing the test when there is
// none.
func kubernetesFind[T any](t testing.TB, objs []kubernetesObject, name string) *T {
	t.Helper()
	for _, o := range objs {
		obj, ok := o.Obj.(*T)
		if ok && kubernetesMeta(o.Obj).Name == name {
			return obj
		}
	}
	var zero T
	t.Fatalf("no %T named %q in the manifests", zero, name)
	return nil
}

// kubernetesAll returns every object of type T.
func kubernetesAll[T any](objs []kubernetesObject) []*T {
	var out []*T
	for _, o := range objs {
		if obj, ok := o.Obj.(*T); ok {
			out = append(out, obj)
		}
	}
	return out
}

// kubernetesMeta returns the object metadata of any of the decoded types.
func kubernetesMeta(obj any) *metav1.ObjectMeta {
	if m, ok := obj.(interface{ GetObjectMeta() metav1.Object }); ok {
		if om, ok := m.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om
		}
	}
	return &metav1.ObjectMeta{}
}

// TestKubernetesDecodeIsStrict proves that the decoder the manifest tests rely on refuses
// what a typo would produce, so that their passing means something.
func TestKubernetesDecodeIsStrict(t *testing.T) {
	bad := map[string]string{
		"unknown field": "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selectr:\n    a: b\n",
		"wrong type":    "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: fifty-three\n",
		"duplicate key": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\n  a: c\n",
		"unknown kind":  "apiVersion: v1\nkind: Servce\nmetadata:\n  name: x\n",
		"misplaced":     "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          dnsPolicy: None\n",
	}
	for what, doc := range bad {
		if _, err := kubernetesDecode([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error:\n%s", what, doc)
		}
	}
	good := "# comment only\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  selector:\n    a: b\n"
	objs, err := kubernetesDecode([]byte(good))
	if err != nil || len(objs) != 1 || objs[0].Kind != "Service" {
		t.Errorf("good manifest: %v, %d objects", err, len(objs))
	}
}
