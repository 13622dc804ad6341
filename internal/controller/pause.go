package controller

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

const pausedMessage = "paused by the " + infrav1.PausedAnnotation + "=\"true\" annotation: no Talis calls are made until it is removed"

// markPaused applies pausedHealth and reports whether that changed anything. Ready keeps its
// status (a paused fleet is as ready as it was last observed) and takes the reason Paused,
// which kubectl get prints.
func markPaused(conds *[]metav1.Condition, gen int64) bool {
	before := append([]metav1.Condition(nil), *conds...)
	pausedHealth().apply(conds, gen)
	return !equality.Semantic.DeepEqual(before, *conds)
}

func (r *TalisProjectReconciler) markPaused(ctx context.Context, p *infrav1.TalisProject) error {
	if !markPaused(&p.Status.Conditions, p.Generation) {
		return nil
	}
	if err := r.Status().Update(ctx, p); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.Recorder.Eventf(p, nil, "Normal", infrav1.ReasonPaused, "Pause", "%s", pausedMessage)
	return nil
}
