package talis

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Client is the Talis API surface: the upstream client's methods plus the
// SSH-key RPCs. Pagination helpers live on *APIClient only.
type Client interface {
	// AdminGetInstances returns every non-terminated instance of every owner.
	AdminGetInstances(ctx context.Context) ([]*Instance, error)
	// AdminGetInstancesMetadata is AdminGetInstances on the "all-metadata"
	// route; the server returns the same full objects.
	AdminGetInstancesMetadata(ctx context.Context) ([]*Instance, error)
	// HealthCheck returns the server's {"status":"healthy"}.
	HealthCheck(ctx context.Context) (map[string]string, error)
	// GetInstances lists instances of every owner; opts may be nil.
	GetInstances(ctx context.Context, opts *ListOptions) ([]*Instance, error)
	// GetInstancesMetadata is GetInstances on the "all-metadata" route, where
	// the server ignores the status filter.
	GetInstancesMetadata(ctx context.Context, opts *ListOptions) ([]*Instance, error)
	// GetInstancesPublicIPs returns one entry per instance row, in row order,
	// without ids; the server ignores the status filter here too.
	GetInstancesPublicIPs(ctx context.Context, opts *ListOptions) (PublicIPsResponse, error)
	// GetInstance fetches one instance by its numeric id; a missing id is
	// reported by the server as a 500 that IsNotFound recognises.
	GetInstance(ctx context.Context, id string) (Instance, error)
	// CreateInstance creates instances asynchronously; they come back pending.
	// It is never retried: see IsAmbiguous.
	CreateInstance(ctx context.Context, req []InstanceRequest) ([]*Instance, error)
	// DeleteInstances queues termination tasks for instances of one project.
	DeleteInstances(ctx context.Context, req DeleteInstancesRequest) error

	GetUserByID(ctx context.Context, params UserGetByIDParams) (User, error)
	GetUsers(ctx context.Context, params UserGetParams) (UserResponse, error)
	CreateUser(ctx context.Context, params CreateUserParams) (CreateUserResponse, error)
	DeleteUser(ctx context.Context, params DeleteUserParams) error

	CreateProject(ctx context.Context, params ProjectCreateParams) (Project, error)
	GetProject(ctx context.Context, params ProjectGetParams) (Project, error)
	// ListProjects returns one page of at most RPCPageSize projects.
	ListProjects(ctx context.Context, params ProjectListParams) ([]*Project, error)
	DeleteProject(ctx context.Context, params ProjectDeleteParams) error
	// ListProjectInstances returns one page, terminated instances included.
	ListProjectInstances(ctx context.Context, params ProjectListInstancesParams) ([]*Instance, error)

	// Task reads only ever see tasks owned by AdminOwnerID (server quirk).
	GetTask(ctx context.Context, params TaskGetParams) (Task, error)
	ListTasks(ctx context.Context, params TaskListParams) ([]*Task, error)
	// ListTasksByInstanceID lists an instance's tasks, newest first; ownerID
	// is sent for compatibility but the server ignores it.
	ListTasksByInstanceID(ctx context.Context, ownerID uint, instanceID uint, actionFilter string, opts *ListOptions) ([]*Task, error)
	TerminateTask(ctx context.Context, params TaskTerminateParams) error
	// UpdateTaskStatus always fails with an error matching ErrUnsupported:
	// the server recognises task.updateStatus but does not implement it.
	UpdateTaskStatus(ctx context.Context, params TaskUpdateStatusParams) error

	CreateSSHKey(ctx context.Context, params SSHKeyCreateParams) (SSHKey, error)
	ListSSHKeys(ctx context.Context, params SSHKeyListParams) ([]SSHKey, error)
	DeleteSSHKey(ctx context.Context, params SSHKeyDeleteParams) error
}

var _ Client = (*APIClient)(nil)

// APIClient implements Client over HTTP. It is safe for concurrent use.
type APIClient struct {
	origin    string // scheme://host[:port]
	endpoint  string // origin in lower case, for CallInfo
	root      string // escaped path prefix without trailing slash, may be ""
	http      *http.Client
	timeout   time.Duration
	userAgent string
	retry     RetryPolicy
	limiter   *rate.Limiter
	observer  func(CallInfo)
	hold      *retryAfterHold // nil unless Options.HoldOnRetryAfter
	maxList   int64           // Options.MaxListBytes
	maxBody   int64           // Options.MaxResponseBytes
	ownsHTTP  bool            // http was built here, so its idle connections are ours to close
	// The key is unexported and atomic so SetAPIKey can race with calls and
	// so printing the client cannot reveal it.
	apiKey atomic.Pointer[string]
}

// NewClient builds a client; nil opts means DefaultOptions().
func NewClient(opts *Options) (*APIClient, error) {
	if opts == nil {
		opts = DefaultOptions()
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	origin, root, err := splitBaseURL(o.BaseURL, o.PathPrefix)
	if err != nil {
		return nil, err
	}
	c := &APIClient{
		origin:    origin,
		endpoint:  strings.ToLower(origin),
		root:      root,
		http:      o.HTTPClient,
		timeout:   o.Timeout,
		userAgent: o.UserAgent,
		retry:     o.Retry,
		observer:  o.Observer,
		maxList:   o.MaxListBytes,
		maxBody:   o.MaxResponseBytes,
	}
	if c.http == nil {
		c.http, c.ownsHTTP = defaultHTTPClient(), true
	}
	if o.HoldOnRetryAfter {
		c.hold = &retryAfterHold{}
	}
	if o.RateLimit > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(o.RateLimit), o.Burst)
	}
	c.SetAPIKey(o.APIKey)
	return c, nil
}

// defaultHTTPClient does not follow redirects: net/http would forward the
// custom apikey header to whatever host a redirect names, and would turn a
// redirected POST into a GET. A 3xx therefore surfaces as an *APIError.
func defaultHTTPClient() *http.Client {
	var rt http.RoundTripper = http.DefaultTransport
	if t, ok := rt.(*http.Transport); ok {
		rt = t.Clone()
	}
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CloseIdleConnections closes the kept-alive connections of a client that is no longer used,
// unless they belong to an Options.HTTPClient shared with others.
func (c *APIClient) CloseIdleConnections() {
	if c.ownsHTTP {
		c.http.CloseIdleConnections()
	}
}

// RequestsAvailable is how many requests the client's rate limiter would let through at once
// now (+Inf without a limit): callers that could make one call or many choose by it.
func (c *APIClient) RequestsAvailable() float64 {
	if c.limiter == nil {
		return math.Inf(1)
	}
	return c.limiter.Tokens()
}

// SetAPIKey replaces the key sent as the `apikey` header; "" stops sending it.
func (c *APIClient) SetAPIKey(apiKey string) {
	c.apiKey.Store(&apiKey)
}

func (c *APIClient) key() string {
	if p := c.apiKey.Load(); p != nil {
		return *p
	}
	return ""
}

// String describes the client without its API key.
func (c *APIClient) String() string {
	return fmt.Sprintf("talis.APIClient{URL:%q APIKey:%s}", c.origin+c.root, redactedMark(c.key()))
}

// GoString keeps %#v from dumping the client's fields.
func (c *APIClient) GoString() string { return c.String() }

// splitBaseURL validates the base URL and returns its origin and the escaped
// path prefix (base path + PathPrefix) every route is appended to.
func splitBaseURL(base, prefix string) (origin, root string, err error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", "", fmt.Errorf("talis: invalid BaseURL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("talis: invalid BaseURL %q: scheme must be http or https", base)
	case u.Host == "":
		return "", "", fmt.Errorf("talis: invalid BaseURL %q: missing host", base)
	case u.User != nil:
		return "", "", fmt.Errorf("talis: invalid BaseURL: credentials in the URL are not supported, use APIKey")
	case u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("talis: invalid BaseURL %q: query and fragment are not allowed", base)
	}
	p, err := url.Parse(prefix)
	if err != nil || p.Scheme != "" || p.Host != "" || p.RawQuery != "" || p.Fragment != "" {
		return "", "", fmt.Errorf("talis: invalid PathPrefix %q", prefix)
	}
	root = strings.TrimRight(u.EscapedPath(), "/")
	if pp := strings.Trim(p.EscapedPath(), "/"); pp != "" {
		root += "/" + pp
	}
	return u.Scheme + "://" + u.Host, root, nil
}
