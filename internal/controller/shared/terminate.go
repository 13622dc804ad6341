package shared

import (
	"context"

	"github.com/talis-operator/talis-operator/internal/metrics"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Terminate asks Talis to terminate ids in the named project, as the connection's owner, and
// counts them: the one terminate call both a set and a project's sweep send.
func Terminate(ctx context.Context, conn *talisconn.Connection, projectName string, ids []int64) error {
	uids := make([]uint, len(ids))
	for i, id := range ids {
		uids[i] = uint(id)
	}
	err := conn.Client.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: conn.OwnerID, ProjectName: projectName, InstanceIDs: uids})
	if err != nil {
		return err
	}
	metrics.CountTerminations(len(ids))
	return nil
}
