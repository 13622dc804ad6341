//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// hpaObjects is a set of 1 and an autoscaling/v2 HPA with minReplicas 3 targeting it. The node runs
// no metrics adapter, so the metric cannot be read; the HPA controller enforces minReplicas anyway
// ("Current number of replicas below Spec.MinReplicas" comes before any metric in
// pkg/controller/podautoscaler), through the set's scale subresource.
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
  template: {provider: do, region: nyc1, size: s-1vcpu-1gb, image: ubuntu-22-04-x64}
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

// hpa lets kube-controller-manager's HPA controller scale a set through its scale subresource: the
// controller raises spec.replicas from 1 to minReplicas 3, the operator converges, and Talis holds
// exactly 3 instances. The HPA's conditions show it could read and update the scale (AbleToScale) and
// that the scale's selector was accepted: what fails is only the metric, which no adapter serves.
func (e env) hpa(t *testing.T, talisURL string) {
	e.kIn(t, hpaObjects, "apply", "-f", "-")
	e.waitSetReady(t, "talis-e2e", "autoscaled", 1)

	var scale struct {
		Spec   struct{ Replicas int32 } `json:"spec"`
		Status struct {
			Replicas int32  `json:"replicas"`
			Selector string `json:"selector"`
		} `json:"status"`
	}
	raw := e.k(t, "get", "--raw", "/apis/infra.talis.io/v1alpha1/namespaces/talis-e2e/talisinstancesets/autoscaled/scale")
	if err := json.Unmarshal([]byte(raw), &scale); err != nil {
		t.Fatal(err)
	}
	if scale.Status.Selector != "infra.talis.io/instanceset=autoscaled" || scale.Spec.Replicas != 1 {
		t.Fatalf("the scale subresource serves %s, want replicas 1 and selector infra.talis.io/instanceset=autoscaled", raw)
	}

	e.kIn(t, hpaObject, "apply", "-f", "-")
	eventually(t, 2*time.Minute, "the HPA controller raising spec.replicas to minReplicas", func() error {
		var s instanceSet
		e.getJSON(t, &s, "-n", "talis-e2e", "talisinstanceset", "autoscaled")
		if s.Spec.Replicas != 3 {
			return fmt.Errorf("spec.replicas %d", s.Spec.Replicas)
		}
		return nil
	})
	s := e.waitSetReady(t, "talis-e2e", "autoscaled", 3)
	checkLedger(t, talisURL, s.Status.ProjectName, 3)

	// Once at minReplicas the controller reads the scale's selector, then the metric.
	var h hpaStatus
	eventually(t, 2*time.Minute, "the HPA's conditions after a metric computation", func() error {
		h = hpaStatus{}
		e.getJSON(t, &h, "-n", "talis-e2e", "hpa", "autoscaled")
		cond := map[string]string{}
		for _, c := range h.Status.Conditions {
			cond[c.Type] = c.Status + "/" + c.Reason
		}
		if !strings.HasPrefix(cond["AbleToScale"], "True/") {
			return fmt.Errorf("AbleToScale %q; conditions %+v", cond["AbleToScale"], h.Status.Conditions)
		}
		if cond["ScalingActive"] != "False/FailedGetExternalMetric" {
			return fmt.Errorf("ScalingActive %q, want False/FailedGetExternalMetric (selector read, metric not served); conditions %+v",
				cond["ScalingActive"], h.Status.Conditions)
		}
		return nil
	})
	events := e.k(t, "-n", "talis-e2e", "events", "--for", "hpa/autoscaled")
	t.Logf("HPA events:\n%s", events)
	for _, bad := range []string{"SelectorRequired", "InvalidSelector", "FailedGetScale", "FailedRescale", "selector is required"} {
		if contains(events, bad) {
			t.Errorf("HPA event %s:\n%s", bad, events)
		}
	}
	if !contains(events, "SuccessfulRescale") || !contains(events, "below Spec.MinReplicas") {
		t.Errorf("no SuccessfulRescale event for minReplicas:\n%s", events)
	}
	if h.Status.CurrentReplicas != 3 {
		t.Errorf("HPA status.currentReplicas %d, want 3 (read from the scale subresource)", h.Status.CurrentReplicas)
	}
	e.k(t, "-n", "talis-e2e", "delete", "hpa", "autoscaled")
}
