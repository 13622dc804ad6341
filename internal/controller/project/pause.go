package project

import (
	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/controller/shared"
)

// paused marks a paused project's conditions; nothing else of it is looked at.
func paused(p *infrav1.TalisProject) outcome {
	marked := shared.MarkPaused(p, &p.Status.Conditions, p.Status.ObservedGeneration)
	return outcome{paused: &marked}
}
