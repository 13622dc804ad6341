package talis

import "context"

// CreateProject creates a project. Names are global across owners and stay
// reserved after deletion; a duplicate satisfies IsAlreadyExists. Never
// retried: a repeat after a lost success would report a duplicate.
func (c *APIClient) CreateProject(ctx context.Context, params ProjectCreateParams) (Project, error) {
	var p Project
	err := c.callRPC(ctx, "CreateProject", RPCProjectCreate, params, &p, true)
	if err == nil {
		p.OwnerID = params.OwnerID
	}
	return p, err
}

// GetProject reads a live project of the owner; absent → IsNotFound.
func (c *APIClient) GetProject(ctx context.Context, params ProjectGetParams) (Project, error) {
	var p Project
	err := c.callRPC(ctx, "GetProject", RPCProjectGet, params, &p, true)
	if err == nil {
		p.OwnerID = params.OwnerID
	}
	return p, err
}

// ListProjects returns one page (RPCPageSize) of the owner's projects, in no
// particular order. See AllProjects.
func (c *APIClient) ListProjects(ctx context.Context, params ProjectListParams) ([]*Project, error) {
	var l ListResponse[*Project]
	if err := c.callRPC(ctx, "ListProjects", RPCProjectList, params, &l, false); err != nil {
		return nil, err
	}
	rows := compact(l.Rows)
	for _, p := range rows {
		p.OwnerID = params.OwnerID
	}
	return rows, nil
}

// DeleteProject soft-deletes a project. It succeeds even if nothing matched
// and leaves the project's instances and tasks alone.
func (c *APIClient) DeleteProject(ctx context.Context, params ProjectDeleteParams) error {
	return c.callRPC(ctx, "DeleteProject", RPCProjectDelete, params, nil, false)
}

// ListProjectInstances returns one page (RPCPageSize) of the project's
// instances, terminated ones included. An unknown project is a 500 that
// IsNotFound recognises. See AllProjectInstances.
func (c *APIClient) ListProjectInstances(ctx context.Context, params ProjectListInstancesParams) ([]*Instance, error) {
	var l ListResponse[*Instance]
	if err := c.callRPC(ctx, "ListProjectInstances", RPCProjectListInstances, params, &l, false); err != nil {
		return nil, err
	}
	return compact(l.Rows), nil
}
