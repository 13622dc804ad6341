//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// hpaObjects is a set of 1 the HPA step scales.
const hpaObjects = `apiVersion: infra.talis.io/v1alpha1
kind: TalisProject
metadata: {name: autoscaled, namespace: talis-e2e}
spec: {description: scaled by an HPA}
---
apiVersion: infra.talis.io/v1alpha1
kind: TalisInstanceSet
metadata: {name: autoscaled, namespace: talis-e2e}
spec:
  projectRef: {name: autoscaled}
  replicas: 1
  template:
    {provider: do, region: nyc1, size: s-1vcpu-1gb, image: ubuntu-22-04-x64, volumes: [{name: data, sizeGB: 10}]}
`

const hpaObject = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: autoscaled, namespace: talis-e2e}
spec:
  scaleTargetRef: {apiVersion: infra.talis.io/v1alpha1, kind: TalisInstanceSet, name: autoscaled}
  minReplicas: 3
  maxReplicas: 6
  metrics:
  - type: External
    external:
      metric: {name: talis_e2e_queue_depth}
      target: {type: AverageValue, averageValue: "10"}
`

// hpaStatus is the part of a HorizontalPodAutoscaler the checks read.
type hpaStatus struct {
	Status struct {
		CurrentReplicas int32 `json:"currentReplicas"`
		DesiredReplicas int32 `json:"desiredReplicas"`
		Conditions      []struct {
			Type, Status, Reason, Message string
		} `json:"conditions"`
	} `json:"status"`
}

// hpa lets kube-controller-manager's HPA controller scale a set through its scale subresource, on
// an External metric served by the e2e's adapter (hack/e2e/extmetrics behind an APIService). With the
// metric at 0 the controller first raises spec.replicas from 1 to minReplicas 3 ("Current number of
// replicas below Spec.MinReplicas", decided before any metric in pkg/controller/podautoscaler), then
// reads the scale's selector and the metric (ScalingActive); at 50 with a target average of 10 it
// scales to 5. Each time the operator converges and Talis holds exactly that many instances.
func (e env) hpa(t *testing.T, talisURL string) {
	adapter := filepath.Join(e.root, "test/e2e/testdata/external-metrics.yaml")
	e.k(t, "apply", "-f", adapter)
	e.k(t, "-n", "talis-e2e", "rollout", "status", "deploy/external-metrics", "--timeout=3m")
	e.k(t, "wait", "apiservice/v1beta1.external.metrics.k8s.io", "--for=condition=Available", "--timeout=2m")
	metricURL := "https://" + e.k(t, "-n", "talis-e2e", "get", "svc", "external-metrics", "-o", "jsonpath={.spec.clusterIP}") + "/value"
	got := e.k(t, "get", "--raw", "/apis/external.metrics.k8s.io/v1beta1/namespaces/talis-e2e/talis_e2e_queue_depth")
	if !contains(got, `"value":"0"`) {
		t.Fatalf("the external metric through the aggregator: %s", got)
	}

	e.kIn(t, hpaObjects, "apply", "-f", "-")
	e.waitSetReady(t, "talis-e2e", "autoscaled", 1)
	var scale struct {
		Spec   struct{ Replicas int32 } `json:"spec"`
		Status struct {
			Selector string `json:"selector"`
		} `json:"status"`
	}
	raw := e.k(t, "get", "--raw", "/apis/infra.talis.io/v1alpha1/namespaces/talis-e2e/talisinstancesets/autoscaled/scale")
	if err := json.Unmarshal([]byte(raw), &scale); err != nil {
		t.Fatal(err)
	}
	if scale.Status.Selector != "infra.talis.io/instanceset=autoscaled" || scale.Spec.Replicas != 1 {
		t.Errorf("the scale subresource serves %s, want replicas 1 and selector infra.talis.io/instanceset=autoscaled", raw)
	}

	e.kIn(t, hpaObject, "apply", "-f", "-")
	e.waitHPAScaled(t, talisURL, 3)
	e.waitHPAConditions(t, "ScalingActive", "True/ValidMetricFound")
	if ev := e.k(t, "-n", "talis-e2e", "events", "--for", "hpa/autoscaled"); !contains(ev, "below Spec.MinReplicas") {
		t.Errorf("no rescale event for minReplicas:\n%s", ev)
	}

	if code, body, err := put(metricURL, "50"); err != nil || code != http.StatusOK {
		t.Fatalf("setting the metric: %d %v %s", code, err, body)
	}
	e.waitHPAScaled(t, talisURL, 5)
	ev := e.k(t, "-n", "talis-e2e", "events", "--for", "hpa/autoscaled")
	t.Logf("HPA events:\n%s", ev)
	if !contains(ev, "talis_e2e_queue_depth") || !contains(ev, "above target") {
		t.Errorf("no rescale event for the external metric:\n%s", ev)
	}
	for _, bad := range []string{"SelectorRequired", "InvalidSelector", "FailedGetScale", "FailedRescale", "FailedGetExternalMetric"} {
		if contains(ev, bad) {
			t.Errorf("HPA event %s:\n%s", bad, ev)
		}
	}

	e.k(t, "-n", "talis-e2e", "delete", "hpa", "autoscaled")
	e.k(t, "delete", "-f", adapter, "--wait", "--timeout=2m")
}

// waitHPAScaled waits for the HPA controller to set the set's spec.replicas to n, for the set to be
// Ready with n, and checks that Talis has exactly n instances, and the HPA reads n from the scale.
func (e env) waitHPAScaled(t *testing.T, talisURL string, n int32) {
	t.Helper()
	eventually(t, 2*time.Minute, fmt.Sprintf("the HPA controller setting spec.replicas to %d", n), func() error {
		var s instanceSet
		e.getJSON(t, &s, "-n", "talis-e2e", "talisinstanceset", "autoscaled")
		if s.Spec.Replicas != n {
			return fmt.Errorf("spec.replicas %d", s.Spec.Replicas)
		}
		return nil
	})
	s := e.waitSetReady(t, "talis-e2e", "autoscaled", n)
	checkLedger(t, talisURL, s.Status.ProjectName, int(n))
	eventually(t, time.Minute, fmt.Sprintf("the HPA's status.currentReplicas %d", n), func() error {
		var h hpaStatus
		e.getJSON(t, &h, "-n", "talis-e2e", "hpa", "autoscaled")
		if h.Status.CurrentReplicas != n {
			return fmt.Errorf("currentReplicas %d", h.Status.CurrentReplicas)
		}
		return nil
	})
	e.waitHPAConditions(t, "AbleToScale", "True/")
}

// waitHPAConditions waits until the HPA's condition typ has status/reason starting with want.
func (e env) waitHPAConditions(t *testing.T, typ, want string) {
	t.Helper()
	eventually(t, 2*time.Minute, fmt.Sprintf("HPA condition %s %s", typ, want), func() error {
		var h hpaStatus
		e.getJSON(t, &h, "-n", "talis-e2e", "hpa", "autoscaled")
		for _, c := range h.Status.Conditions {
			if c.Type == typ && strings.HasPrefix(c.Status+"/"+c.Reason, want) {
				return nil
			}
		}
		return fmt.Errorf("conditions %+v", h.Status.Conditions)
	})
}
