package talis

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// decodeFailure wraps a malformed 2xx body: the call was applied, its result lost.
func decodeFailure(route string, err error) error {
	return &requestError{route: route, err: err, phase: responded, decode: true}
}

// HealthCheck calls GET /health, which never touches the database.
func (c *APIClient) HealthCheck(ctx context.Context) (map[string]string, error) {
	const route = "GET /health"
	resp, err := c.do(ctx, call{method: "HealthCheck", route: route, httpMethod: http.MethodGet,
		path: "/health", idempotent: true})
	if err != nil {
		return nil, err
	}
	m, err := decodeHealth(resp.body)
	if err != nil {
		return nil, decodeFailure(route, err)
	}
	return m, nil
}

// listInstances serves the four REST list routes.
func (c *APIClient) listInstances(ctx context.Context, method, path string, opts *ListOptions) ([]*Instance, error) {
	route := "GET " + path
	q, err := opts.query()
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, call{method: method, route: route, httpMethod: http.MethodGet,
		path: path, query: q, idempotent: true, list: true})
	if err != nil {
		return nil, err
	}
	rows, err := decodeInstanceList(resp.body)
	if err != nil {
		return nil, decodeFailure(route, err)
	}
	return rows, nil
}

// AdminGetInstances returns every non-terminated instance. Unlike upstream,
// which sends no limit and so silently gets at most 100 rows, it asks for
// no limit.
func (c *APIClient) AdminGetInstances(ctx context.Context) ([]*Instance, error) {
	return c.listInstances(ctx, "AdminGetInstances", "/api/v1/admin/instances", &ListOptions{Limit: NoLimit})
}

// AdminGetInstancesMetadata is AdminGetInstances on the all-metadata route.
func (c *APIClient) AdminGetInstancesMetadata(ctx context.Context) ([]*Instance, error) {
	return c.listInstances(ctx, "AdminGetInstancesMetadata", "/api/v1/admin/instances/all-metadata", &ListOptions{Limit: NoLimit})
}

// GetInstances lists instances; without a status filter terminated ones are
// hidden unless IncludeDeleted is set. See ListOptions for paging.
func (c *APIClient) GetInstances(ctx context.Context, opts *ListOptions) ([]*Instance, error) {
	return c.listInstances(ctx, "GetInstances", "/api/v1/instances", opts)
}

// GetInstancesMetadata lists instances; the server ignores the status filter here.
func (c *APIClient) GetInstancesMetadata(ctx context.Context, opts *ListOptions) ([]*Instance, error) {
	return c.listInstances(ctx, "GetInstancesMetadata", "/api/v1/instances/all-metadata", opts)
}

// GetInstancesPublicIPs lists one IP per instance row ("" when none).
func (c *APIClient) GetInstancesPublicIPs(ctx context.Context, opts *ListOptions) (PublicIPsResponse, error) {
	const path = "/api/v1/instances/public-ips"
	const route = "GET " + path
	q, err := opts.query()
	if err != nil {
		return PublicIPsResponse{}, err
	}
	resp, err := c.do(ctx, call{method: "GetInstancesPublicIPs", route: route, httpMethod: http.MethodGet,
		path: path, query: q, idempotent: true, list: true})
	if err != nil {
		return PublicIPsResponse{}, err
	}
	r, err := decodePublicIPs(resp.body)
	if err != nil {
		return PublicIPsResponse{}, decodeFailure(route, err)
	}
	return r, nil
}

// GetInstance fetches an instance by id. The server answers a missing id
// with a 500 ("record not found"); IsNotFound recognises it.
func (c *APIClient) GetInstance(ctx context.Context, id string) (Instance, error) {
	const route = "GET /api/v1/instances/{id}"
	if id == "" {
		// "/api/v1/instances/" would hit the list route.
		return Instance{}, invalidArgf("GetInstance: empty instance id")
	}
	resp, err := c.do(ctx, call{method: "GetInstance", route: route, httpMethod: http.MethodGet,
		path: "/api/v1/instances/" + url.PathEscape(id), idempotent: true})
	if err != nil {
		return Instance{}, err
	}
	in, err := decodeInstance(resp.body)
	if err != nil {
		return Instance{}, decodeFailure(route, err)
	}
	return in, nil
}

// CreateInstance posts the requests as one array; the server validates all
// of them, then inserts the instances (status pending) and one create task
// each. No task id is returned. The call is never retried, because the
// server has no idempotency key: on error consult IsAmbiguous.
func (c *APIClient) CreateInstance(ctx context.Context, req []InstanceRequest) ([]*Instance, error) {
	const route = "POST /api/v1/instances"
	if len(req) == 0 {
		return nil, invalidArgf("CreateInstance: at least one instance request is required")
	}
	resp, err := c.do(ctx, call{method: "CreateInstance", route: route, httpMethod: http.MethodPost,
		path: "/api/v1/instances", body: req})
	if err != nil {
		return nil, err
	}
	rows, err := decodeCreateResponse(resp.body)
	if err != nil {
		return nil, decodeFailure(route, err)
	}
	return rows, nil
}

// DeleteInstances queues a terminate task per listed instance of the
// project; ids outside the project are ignored. Retrying is harmless (extra
// no-op tasks). OwnerID 0 is refused: the server would then match the
// project by name alone and terminate other owners' instances.
func (c *APIClient) DeleteInstances(ctx context.Context, req DeleteInstancesRequest) error {
	const route = "DELETE /api/v1/instances"
	if req.OwnerID == 0 {
		return invalidArgf("DeleteInstances: owner_id is required")
	}
	resp, err := c.do(ctx, call{method: "DeleteInstances", route: route, httpMethod: http.MethodDelete,
		path: "/api/v1/instances", body: req, idempotent: true})
	if err != nil {
		return err
	}
	// Upstream ignores this body; only an explicit non-success slug counts.
	var s SlugResponse
	if json.Unmarshal(resp.body, &s) == nil && s.Slug != "" && s.Slug != SlugSuccess {
		return decodeFailure(route, fmt.Errorf("slug %q: %s", s.Slug, s.Error))
	}
	return nil
}
