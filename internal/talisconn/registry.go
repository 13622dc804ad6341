// Package talisconn turns a TalisProject's connection settings and the manager's defaults into
// Talis clients, and remembers credentials so that teardown still works after their Secret is gone.
package talisconn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Defaults are the manager-wide settings a project falls back to.
type Defaults struct {
	URL string
	// APIKey is only ever sent to URL.
	APIKey  string
	OwnerID uint
	// AllowedURLs are the endpoints projects may use besides URL; "*" allows any.
	AllowedURLs []string
	// ClusterID tells this cluster's Talis projects and instances from other clusters'.
	ClusterID string
	// Options is applied to every client (timeouts, retries, rate limit, metrics hook, TLS).
	Options func(*talis.Options)
}

// Connection is what a reconciler needs to talk to a project's Talis.
type Connection struct {
	// Key names the endpoint and credentials; connections with equal keys share snapshots.
	Key     string
	Client  *talis.APIClient
	OwnerID uint
}

// Registry builds and caches clients. It reads Secrets with a live reader (no cluster-wide
// Secret cache) and keeps the last key read per project in memory.
type Registry struct {
	defaults Defaults
	secrets  client.Reader

	now      func() time.Time
	mu       sync.Mutex
	clients  map[string]*cachedClient
	lastKeys map[types.UID]string
}

// cachedClient is a client and when ForProject last handed it out.
type cachedClient struct {
	c        *talis.APIClient
	lastUsed time.Time
}

// NewRegistry returns a registry reading Secrets through reader.
func NewRegistry(defaults Defaults, reader client.Reader) *Registry {
	return &Registry{defaults: defaults, secrets: reader, now: time.Now, clients: map[string]*cachedClient{}, lastKeys: map[types.UID]string{}}
}

// ClusterID is the manager's cluster identity.
func (r *Registry) ClusterID() string { return r.defaults.ClusterID }

// OwnerID is the owner the spec and the manager's flags ask for now.
func (r *Registry) OwnerID(p *infrav1.TalisProject) uint {
	if p.Spec.OwnerID != nil {
		return uint(*p.Spec.OwnerID)
	}
	return r.defaults.OwnerID
}

// URL is the endpoint the spec and the manager's flags ask for now.
func (r *Registry) URL(p *infrav1.TalisProject) string {
	if c := p.Spec.Connection; c != nil && c.URL != "" {
		return c.URL
	}
	return r.defaults.URL
}

// Endpoint is where the project lives: the URL recorded in its status once it has one, so that
// later edits or flag changes never send its sets elsewhere.
func (r *Registry) Endpoint(p *infrav1.TalisProject) string {
	if p.Status.Endpoint != "" {
		return p.Status.Endpoint
	}
	return r.URL(p)
}

// ForProject returns the connection of a project: its recorded endpoint and owner, and a key
// that belongs to that endpoint (the manager's key only for the manager's URL). When the API key
// Secret is gone (a namespace being deleted removes it at once), the last key this process read
// for the project is used, so instances can still be terminated.
func (r *Registry) ForProject(ctx context.Context, p *infrav1.TalisProject) (*Connection, error) {
	url := r.Endpoint(p)
	if url == "" {
		return nil, &CredentialsError{Reason: infrav1.ReasonCredentialsUnavailable, Message: "no Talis URL: set spec.connection.url or the manager's --talis-url"}
	}
	key := ""
	var ref *infrav1.SecretKeyReference
	if c := p.Spec.Connection; c != nil {
		ref = c.APIKeySecretRef
	}
	if moved := r.movedFromManager(p, url, ref); moved != nil {
		return nil, moved
	}
	if err := r.checkEndpoint(url); err != nil {
		return nil, err
	}
	switch {
	case ref != nil:
		k, err := r.readKey(ctx, p, ref, url)
		if err != nil {
			return nil, err
		}
		key = k
	case sameURL(url, r.defaults.URL):
		key = r.defaults.APIKey
	case r.defaults.APIKey != "":
		return nil, &CredentialsError{Reason: infrav1.ReasonSecretRequired, Message: fmt.Sprintf(
			"Talis URL %s is not the manager's: name a Secret holding its API key in spec.connection.apiKeySecretRef (the manager's key is only sent to the manager's URL)", redact(url))}
	}
	c, err := r.client(url, key)
	if err != nil {
		return nil, &CredentialsError{Reason: infrav1.ReasonCredentialsUnavailable, Message: err.Error()}
	}
	owner := uint(p.Status.OwnerID)
	if owner == 0 {
		owner = r.OwnerID(p)
	}
	return &Connection{Key: endpointKey(url, key), Client: c, OwnerID: owner}, nil
}

// KeySource says where the API key a project uses comes from, so that a message about a refused
// key points at what to fix.
func KeySource(p *infrav1.TalisProject) string {
	if c := p.Spec.Connection; c != nil && c.APIKeySecretRef != nil {
		key := c.APIKeySecretRef.Key
		if key == "" {
			key = "apiKey"
		}
		return fmt.Sprintf("key %q of Secret %q (spec.connection.apiKeySecretRef)", key, c.APIKeySecretRef.Name)
	}
	return "the manager's key (its --talis-api-key-file or TALIS_API_KEY; the chart's talis.apiKeySecret)"
}

// movedFromManager: a project that follows the manager's URL (none of its own) and uses the
// manager's key was created at a --talis-url the manager no longer has. Its instances live there,
// but the manager's key only goes to its own URL: say what changed, not that a Secret or an
// allowed URL is missing.
func (r *Registry) movedFromManager(p *infrav1.TalisProject, url string, ref *infrav1.SecretKeyReference) *CredentialsError {
	if ref != nil || r.defaults.APIKey == "" || sameURL(url, r.defaults.URL) {
		return nil
	}
	if c := p.Spec.Connection; c != nil && c.URL != "" {
		return nil
	}
	return &CredentialsError{Reason: infrav1.ReasonEndpointChanged, Message: fmt.Sprintf(
		"the project was created at %s, the manager's --talis-url then; the manager's URL is now %s and its key only goes there, so nothing can reach this project's instances (deletion waits too): restore --talis-url, or name a Secret with a key for %s in spec.connection.apiKeySecretRef",
		redact(url), redact(r.defaults.URL), redact(url))}
}

// Forget drops what the registry remembers of a project once it is gone.
func (r *Registry) Forget(uid types.UID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.lastKeys, uid)
}

func (r *Registry) readKey(ctx context.Context, p *infrav1.TalisProject, ref *infrav1.SecretKeyReference, url string) (string, error) {
	keyName := ref.Key
	if keyName == "" {
		keyName = "apiKey"
	}
	var s corev1.Secret
	// Only the project's own namespace: a reference cannot name another.
	err := r.secrets.Get(ctx, client.ObjectKey{Namespace: p.Namespace, Name: ref.Name}, &s)
	if err == nil && s.Labels[infrav1.CredentialsLabel] != "true" {
		return "", &CredentialsError{Reason: infrav1.ReasonSecretNotLabeled, Message: fmt.Sprintf(
			"Secret %q is not labelled %s=true: the operator only reads Secrets labelled for it", ref.Name, infrav1.CredentialsLabel)}
	}
	if err == nil {
		v, ok := s.Data[keyName]
		if !ok || len(strings.TrimSpace(string(v))) == 0 {
			return "", &CredentialsError{Reason: infrav1.ReasonCredentialsUnavailable,
				Message: fmt.Sprintf("Secret %q has no key %q with an API key", ref.Name, keyName)}
		}
		k := strings.TrimSpace(string(v))
		r.mu.Lock()
		r.lastKeys[p.UID] = k
		r.mu.Unlock()
		return k, nil
	}
	r.mu.Lock()
	last, ok := r.lastKeys[p.UID]
	r.mu.Unlock()
	if apierrors.IsNotFound(err) && !p.DeletionTimestamp.IsZero() {
		// Teardown must not hang on a Secret deleted together with the project.
		if ok {
			return last, nil
		}
		if r.defaults.APIKey != "" && sameURL(url, r.defaults.URL) {
			return r.defaults.APIKey, nil
		}
	}
	if apierrors.IsNotFound(err) {
		return "", &CredentialsError{Reason: infrav1.ReasonCredentialsUnavailable,
			Message: fmt.Sprintf("Secret %q with the Talis API key not found (it must also carry the label %s=true: the operator reads no other Secret)", ref.Name, infrav1.CredentialsLabel)}
	}
	return "", fmt.Errorf("reading Secret %q: %w", ref.Name, err)
}

func (r *Registry) client(url, key string) (*talis.APIClient, error) {
	id := endpointKey(url, key)
	r.mu.Lock()
	defer r.mu.Unlock()
	if cc, ok := r.clients[id]; ok {
		cc.lastUsed = r.now()
		return cc.c, nil
	}
	opts := talis.DefaultOptions()
	opts.BaseURL = url
	opts.APIKey = key
	if r.defaults.Options != nil {
		r.defaults.Options(opts)
	}
	// One client serves every set and project of its endpoint: a Retry-After concerns them all.
	opts.HoldOnRetryAfter = true
	c, err := talis.NewClient(opts)
	if err != nil {
		return nil, err
	}
	r.clients[id] = &cachedClient{c: c, lastUsed: r.now()}
	return c, nil
}

// Prune drops the clients whose Connection.Key keep rejects (closing their idle connections)
// and returns how many it dropped: an endpoint and key no project uses any more (the project
// deleted, its key rotated, its URL changed before it had one recorded) would otherwise keep
// its client, limiter and connections for the manager's lifetime. A project that still uses
// the key gets a new client on its next ForProject.
func (r *Registry) Prune(keep func(key string) bool) int {
	return r.prune(func(id string, _ *cachedClient) bool { return keep(id) })
}

// PruneIdle drops the clients ForProject has not handed out within idle. Every set and project
// asks for its connection on each reconcile, so idle must exceed the longest time an object
// goes unreconciled (a steady set: --resync, 10 minutes, plus jitter).
func (r *Registry) PruneIdle(idle time.Duration) int {
	cutoff := r.now().Add(-idle)
	return r.prune(func(_ string, cc *cachedClient) bool { return cc.lastUsed.After(cutoff) })
}

func (r *Registry) prune(keep func(string, *cachedClient) bool) int {
	r.mu.Lock()
	var dropped []*talis.APIClient
	for id, cc := range r.clients {
		if !keep(id, cc) {
			delete(r.clients, id)
			dropped = append(dropped, cc.c)
		}
	}
	r.mu.Unlock()
	for _, c := range dropped {
		c.CloseIdleConnections()
	}
	return len(dropped)
}

// Len is the number of clients kept.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.clients)
}

// endpointKey never contains the key itself: it ends up in logs and metrics labels.
func endpointKey(url, key string) string {
	sum := sha256.Sum256([]byte(key))
	return url + "#" + hex.EncodeToString(sum[:6])
}

// CredentialsError is a connection problem the user must fix; Reason is a condition reason.
type CredentialsError struct {
	Reason  string
	Message string
}

func (e *CredentialsError) Error() string { return e.Message }
