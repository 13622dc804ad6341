package project

import (
	"context"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"

	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func (r *Reconciler) markPaused(ctx context.Context, p *infrav1.TalisProject) error {
	if !shared.MarkPaused(&p.Status.Conditions, p.Generation) {
		return nil
	}
	if err := r.Status().Update(ctx, p); err != nil {
		return client.IgnoreNotFound(err)
	}
	r.Recorder.Eventf(p, nil, "Normal", infrav1.ReasonPaused, "Pause", "%s", shared.PausedMessage)
	return nil
}
