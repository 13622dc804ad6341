package render

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// podsSelectedBy returns the Deployments in namespace ns whose pods match selector.
func podsSelectedBy(t *testing.T, objs objects, ns string, selector labels.Selector) []*appsv1.Deployment {
	t.Helper()
	var out []*appsv1.Deployment
	for _, d := range typed[appsv1.Deployment](t, objs, "Deployment") {
		if d.Namespace == ns && !selector.Empty() && selector.Matches(labels.Set(d.Spec.Template.Labels)) {
			out = append(out, d)
		}
	}
	return out
}

// containerPort resolves a numeric or named port of a pod.
func containerPort(pod corev1.PodSpec, port intstr.IntOrString) (int32, bool) {
	for _, c := range pod.Containers {
		for _, p := range c.Ports {
			if (port.Type == intstr.Int && p.ContainerPort == port.IntVal) || (port.Type == intstr.String && p.Name == port.StrVal) {
				return p.ContainerPort, true
			}
		}
	}
	return 0, false
}

// checkServices requires every Service to select the manager's pods on a port they expose.
func checkServices(t *testing.T, objs objects) {
	t.Helper()
	for _, s := range typed[corev1.Service](t, objs, "Service") {
		where := "Service " + s.Namespace + "/" + s.Name
		deps := podsSelectedBy(t, objs, s.Namespace, labels.SelectorFromSet(s.Spec.Selector))
		if len(deps) == 0 {
			t.Errorf("%s: selector %v matches no rendered pods", where, s.Spec.Selector)
			continue
		}
		for _, p := range s.Spec.Ports {
			target := p.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(p.Port)
			}
			if _, ok := containerPort(deps[0].Spec.Template.Spec, target); !ok {
				t.Errorf("%s: port %s targets %s, which the pods do not expose", where, p.Name, target.String())
			}
		}
	}
}

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor that we render;
// decoding is strict, so a misspelt field fails.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Endpoints []struct {
			Path            string         `json:"path"`
			Port            string         `json:"port"`
			Scheme          string         `json:"scheme"`
			Interval        string         `json:"interval,omitempty"`
			BearerTokenFile string         `json:"bearerTokenFile,omitempty"`
			TLSConfig       map[string]any `json:"tlsConfig,omitempty"`
		} `json:"endpoints"`
		NamespaceSelector *struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector,omitempty"`
		Selector metav1.LabelSelector `json:"selector"`
	} `json:"spec"`
}

// checkServiceMonitors parses ServiceMonitors (their CRD is not in the test apiserver) and
// requires them to scrape a rendered Service's port with a matching scheme.
func checkServiceMonitors(t *testing.T, objs objects) {
	t.Helper()
	services := typed[corev1.Service](t, objs, "Service")
	for _, o := range objs.ofKind("ServiceMonitor") {
		where := name(o)
		if o.GetAPIVersion() != "monitoring.coreos.com/v1" {
			t.Errorf("%s: apiVersion %s, want monitoring.coreos.com/v1", where, o.GetAPIVersion())
		}
		j, err := o.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var sm serviceMonitor
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&sm); err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
		if err != nil || sel.Empty() {
			t.Errorf("%s: bad or empty selector: %v", where, err)
			continue
		}
		var svc *corev1.Service
		for _, s := range services {
			inScope := s.Namespace == o.GetNamespace()
			if ns := sm.Spec.NamespaceSelector; ns != nil && (ns.Any || len(ns.MatchNames) > 0) {
				inScope = ns.Any || slices.Contains(ns.MatchNames, s.Namespace)
			}
			if inScope && sel.Matches(labels.Set(s.Labels)) {
				svc = s
			}
		}
		if svc == nil {
			t.Errorf("%s: selects no rendered Service", where)
			continue
		}
		if len(sm.Spec.Endpoints) == 0 {
			t.Errorf("%s: no endpoints", where)
		}
		for _, ep := range sm.Spec.Endpoints {
			i := slices.IndexFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port })
			if i < 0 {
				t.Errorf("%s: port %q is not a port of Service %s", where, ep.Port, svc.Name)
				continue
			}
			if secure := svc.Spec.Ports[i].Name == "https"; secure != (ep.Scheme == "https") {
				t.Errorf("%s: scheme %q does not fit Service port %q", where, ep.Scheme, svc.Spec.Ports[i].Name)
			}
			if ep.Scheme == "https" && (ep.BearerTokenFile == "" || ep.TLSConfig == nil) {
				t.Errorf("%s: https scrape needs a bearer token and a tlsConfig", where)
			}
			if ep.Path != "/metrics" {
				t.Errorf("%s: path %q, want /metrics", where, ep.Path)
			}
		}
	}
}

// checkNetworkPolicies requires each policy to select the manager's pods and admit a port they expose.
func checkNetworkPolicies(t *testing.T, objs objects) {
	t.Helper()
	for _, np := range typed[networkingv1.NetworkPolicy](t, objs, "NetworkPolicy") {
		where := "NetworkPolicy " + np.Namespace + "/" + np.Name
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		deps := podsSelectedBy(t, objs, np.Namespace, sel)
		if len(deps) == 0 {
			t.Errorf("%s: podSelector matches no rendered pods", where)
			continue
		}
		for _, in := range np.Spec.Ingress {
			for _, p := range in.Ports {
				if p.Port == nil {
					continue
				}
				if _, ok := containerPort(deps[0].Spec.Template.Spec, *p.Port); !ok {
					t.Errorf("%s: admits port %s, which the pods do not expose", where, p.Port.String())
				}
			}
		}
	}
}
