package render

import (
	"fmt"
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// checkPodSecurity requires the "restricted" Pod Security Standard's container settings, taking
// pod-level defaults into account.
func checkPodSecurity(t *testing.T, objs objects) {
	t.Helper()
	deps := typed[appsv1.Deployment](t, objs, "Deployment")
	if len(deps) == 0 {
		t.Error("no Deployment rendered")
	}
	for _, d := range deps {
		pod := d.Spec.Template.Spec
		psc := pod.SecurityContext
		if psc == nil {
			psc = &corev1.PodSecurityContext{}
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Errorf("Deployment %s/%s uses host namespaces", d.Namespace, d.Name)
		}
		for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
			where := fmt.Sprintf("Deployment %s/%s container %s", d.Namespace, d.Name, c.Name)
			sc := c.SecurityContext
			if sc == nil {
				sc = &corev1.SecurityContext{}
			}
			if !deref(first(sc.RunAsNonRoot, psc.RunAsNonRoot)) {
				t.Errorf("%s: runAsNonRoot is not true", where)
			}
			if u := first(sc.RunAsUser, psc.RunAsUser); u != nil && *u == 0 {
				t.Errorf("%s: runs as user 0", where)
			}
			if !deref(sc.ReadOnlyRootFilesystem) {
				t.Errorf("%s: readOnlyRootFilesystem is not true", where)
			}
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("%s: allowPrivilegeEscalation is not false", where)
			}
			if deref(sc.Privileged) {
				t.Errorf("%s: privileged", where)
			}
			if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
				t.Errorf("%s: capabilities do not drop ALL", where)
			} else if len(sc.Capabilities.Add) > 0 {
				t.Errorf("%s: adds capabilities %v", where, sc.Capabilities.Add)
			}
			sp := first(sc.SeccompProfile, psc.SeccompProfile)
			if sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("%s: seccompProfile is not RuntimeDefault", where)
			}
		}
	}
}

func first[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			return p
		}
	}
	return nil
}

func deref(p *bool) bool { return p != nil && *p }
