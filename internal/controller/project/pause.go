package project

import (
	"context"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"

	"github.com/talis-operator/talis-operator/internal/controller/shared"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func (r *Reconciler) markPaused(ctx context.Context, p *infrav1.TalisProject) error {
	paused := shared.MarkPaused(p, &p.Status.Conditions, p.Status.ObservedGeneration)
	if !paused.Changed {
		return nil
	}
	if err := r.updateStatus(ctx, p); err != nil {
		return client.IgnoreNotFound(err)
	}
	shared.TellPaused(r.Recorder, p, paused)
	return nil
}
