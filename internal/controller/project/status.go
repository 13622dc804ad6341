package project

import (
	"context"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// updateStatus writes status with its summary for kubectl get.
func (r *Reconciler) updateStatus(ctx context.Context, p *infrav1.TalisProject) error {
	p.Status.Reason = infrav1.StatusReason(p.Status.Conditions)
	return r.Status().Update(ctx, p)
}
