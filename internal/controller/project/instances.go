package project

import (
	"context"
	"slices"

	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// liveInstances lists the instances of a Talis project that are not terminated, from a list
// started now: the sets that used the project are gone, so any left are nobody's in Kubernetes.
func liveInstances(ctx context.Context, conn *talisconn.Connection, projectID int64) ([]int64, error) {
	var live []int64
	err := conn.Client.ScanInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit}, func(in *talis.Instance) error {
		if int64(in.ProjectID) == projectID && in.Status != talis.InstanceStatusTerminated {
			live = append(live, int64(in.ID))
		}
		return nil
	})
	slices.Sort(live)
	return live, err
}
