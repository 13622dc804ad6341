// Package metricsauth protects the metrics endpoint as controller-runtime's
// filters.WithAuthenticationAndAuthorization does: a caller presents a bearer token, which a
// TokenReview turns into a user, and needs the request's verb on its path, which a
// SubjectAccessReview decides. It uses client-go's typed clients only; controller-runtime's
// filter builds on k8s.io/apiserver, which brings otel, grpc and cel-go into the binary.
package metricsauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/wait"
	authenticationv1client "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationv1client "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// WithAuthenticationAndAuthorization is a metricsserver.Options.FilterProvider. The manager
// needs create on tokenreviews and subjectaccessreviews; a scraper needs get on the
// non-resource URL /metrics.
func WithAuthenticationAndAuthorization(config *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authenticationv1client.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	authz, err := authorizationv1client.NewForConfigAndClient(config, httpClient)
	if err != nil {
		return nil, err
	}
	return newFilter(authn.TokenReviews(), authz.SubjectAccessReviews()).wrap, nil
}

// filter asks the API server about each caller and remembers the answers for a while.
type filter struct {
	tokens authenticationv1client.TokenReviewInterface
	sars   authorizationv1client.SubjectAccessReviewInterface
	cache  *decisionCache
	// timeout bounds both reviews of one request, retries included.
	timeout time.Duration
	backoff wait.Backoff
}

func newFilter(tokens authenticationv1client.TokenReviewInterface, sars authorizationv1client.SubjectAccessReviewInterface) *filter {
	return &filter{
		tokens: tokens,
		sars:   sars,
		cache:  newDecisionCache(time.Now),
		// controller-runtime gives the TokenReview 10s and both reviews the API server's
		// default webhook retry backoff; the same values here.
		timeout: 10 * time.Second,
		backoff: wait.Backoff{Duration: 500 * time.Millisecond, Factor: 1.5, Jitter: 0.2, Steps: 5},
	}
}

// wrap is a metricsserver.Filter.
func (f *filter) wrap(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, ok := bearerToken(req)
		if !ok {
			log.V(4).Info("Request without a bearer token")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		// The API server's request info uses the lowercased method as the verb of a
		// non-resource request ("get" for GET).
		res, err := f.check(req.Context(), token, attributes{path: req.URL.Path, verb: strings.ToLower(req.Method)})
		if err != nil {
			// The caller learns nothing of the cause; the error never carries the token.
			log.Error(err, "Cannot authenticate or authorize a request")
			http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			return
		}
		switch res.decision {
		case unauthenticated:
			log.V(4).Info("Token not authenticated")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		case denied:
			msg := fmt.Sprintf("Authorization denied for user %s", res.user)
			log.V(4).Info(msg, "reason", res.reason)
			http.Error(w, msg, http.StatusForbidden)
			return
		}
		// As in the API server, nothing past authentication has a use for the token.
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
		next.ServeHTTP(w, req)
	}), nil
}

// check answers from the cache, or asks the API server and caches the answer. Errors are not
// cached, so a transient failure does not outlive its request.
func (f *filter) check(ctx context.Context, token string, attrs attributes) (result, error) {
	key := newCacheKey(token, attrs)
	if res, ok := f.cache.get(key); ok {
		return res, nil
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	user, ok, err := f.authenticate(ctx, token)
	if err != nil {
		return result{}, err
	}
	if !ok {
		res := result{decision: unauthenticated}
		f.cache.set(key, res, unauthenticatedTTL)
		return res, nil
	}
	res, err := f.authorize(ctx, user, attrs)
	if err != nil {
		return result{}, err
	}
	ttl := allowedTTL
	if res.decision != allowed {
		ttl = deniedTTL
	}
	f.cache.set(key, res, ttl)
	return res, nil
}

// bearerToken parses "Authorization: Bearer <token>" as the API server does: scheme
// case-insensitive, one space, anything after a further space ignored, empty token refused.
func bearerToken(req *http.Request) (string, bool) {
	parts := strings.SplitN(strings.TrimSpace(req.Header.Get("Authorization")), " ", 3)
	if len(parts) < 2 || !strings.EqualFold(parts[0], "bearer") || parts[1] == "" {
		return "", false
	}
	return parts[1], true
}
