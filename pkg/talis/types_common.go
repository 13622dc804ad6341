package talis

import (
	"encoding/json"
	"net/url"
	"strconv"
)

const (
	// DefaultPageSize is the limit the server applies to REST lists when
	// none is sent.
	DefaultPageSize = 100
	// RPCPageSize is the fixed page size of RPC lists (no limit parameter).
	RPCPageSize = 50
	// NoLimit as ListOptions.Limit asks for every row in one response.
	NoLimit = -1
)

// Slug values of the slug envelope.
const (
	SlugSuccess      = "success"
	SlugInvalidInput = "invalid-input"
	SlugServerError  = "server-error"
)

// Pagination echoes paging parameters. Total counts the rows of this
// response only, and Page is always 1 on instance lists: neither can tell a
// caller whether more rows exist.
type Pagination struct {
	Total  int `json:"total"`
	Page   int `json:"page"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// ListResponse is the {rows, pagination} list body.
type ListResponse[T any] struct {
	Rows       []T        `json:"rows"`
	Pagination Pagination `json:"pagination"`
}

// SlugResponse is the {slug, error, data} envelope of the instance routes.
type SlugResponse struct {
	Slug  string          `json:"slug"`
	Error string          `json:"error"`
	Data  json.RawMessage `json:"data"`
}

// Status filter modes of ListOptions.StatusFilter.
const (
	StatusFilterEqual    = "equal"
	StatusFilterNotEqual = "not_equal"
)

// ListOptions filters and pages REST instance lists and instance tasks.
//
// Limit: > 0 sends limit=N; 0 sends nothing, so the server's default of
// DefaultPageSize rows applies; < 0 (NoLimit) sends limit=0, which the server
// reads as "no limit" — the only way to get a consistent full listing, since
// the server does not order rows. Offset is sent only when > 0.
type ListOptions struct {
	Limit          int  `json:"limit"`
	Offset         int  `json:"offset"`
	IncludeDeleted bool `json:"include_deleted"`
	// StatusFilter is "" or "equal" (match InstanceStatus). The server cannot
	// exclude a status, so "not_equal" is rejected by the list calls and only
	// honoured, client-side, by AllInstances.
	StatusFilter   string          `json:"status_filter,omitempty"`
	InstanceStatus *InstanceStatus `json:"instance_status,omitempty"`
}

// query renders the options the way the server reads them (it reads the
// status as `status`, not `instance_status`).
func (o *ListOptions) query() (url.Values, error) {
	q := url.Values{}
	if o == nil {
		return q, nil
	}
	switch {
	case o.Limit > 0:
		q.Set("limit", strconv.Itoa(o.Limit))
	case o.Limit < 0:
		q.Set("limit", "0")
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if o.IncludeDeleted {
		q.Set("include_deleted", "true")
	}
	switch o.StatusFilter {
	case "", StatusFilterEqual:
	case StatusFilterNotEqual:
		return nil, invalidArgf("status filter %q is not supported by the server; use AllInstances", o.StatusFilter)
	default:
		return nil, invalidArgf("unknown status filter %q", o.StatusFilter)
	}
	if o.InstanceStatus != nil {
		q.Set("status", string(*o.InstanceStatus))
	}
	return q, nil
}
