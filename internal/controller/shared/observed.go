package shared

import (
	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/observer"
)

// ObservedProject is the Talis project a TalisProject's status names, as the observer lists
// it. Only a status whose claim was verified against Talis (ID, name and owner together) may
// be handed to the observer: it pages through projects by name and keeps rows by ID.
func ObservedProject(p *infrav1.TalisProject) observer.Project {
	return observer.Project{ID: uint(p.Status.ProjectID), Name: p.Status.ProjectName, OwnerID: uint(p.Status.OwnerID)}
}
