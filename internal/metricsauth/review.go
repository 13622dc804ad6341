package metricsauth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
)

// Groups the API server's authenticator adds (k8s.io/apiserver/pkg/authentication/user).
const (
	groupAuthenticated   = "system:authenticated"
	groupUnauthenticated = "system:unauthenticated"
	userAnonymous        = "system:anonymous"
)

// authenticate asks the API server whose token this is. A token it does not accept is not an
// error: ok is false.
func (f *filter) authenticate(ctx context.Context, token string) (user authenticationv1.UserInfo, ok bool, err error) {
	var review *authenticationv1.TokenReview
	err = f.retry(ctx, func(ctx context.Context) error {
		var err error
		review, err = f.tokens.Create(ctx, &authenticationv1.TokenReview{
			Spec: authenticationv1.TokenReviewSpec{Token: token},
		}, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return user, false, fmt.Errorf("TokenReview: %w", redact(err, token))
	}
	if !review.Status.Authenticated {
		return user, false, nil
	}
	return review.Status.User, true, nil
}

// authorize asks the API server whether user may use attrs.verb on the non-resource URL
// attrs.path. Neither allowed nor denied ("no opinion") is a denial.
func (f *filter) authorize(ctx context.Context, user authenticationv1.UserInfo, attrs attributes) (result, error) {
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user.Username,
		UID:    user.UID,
		Groups: withAuthenticatedGroup(user),
		Extra:  extra(user.Extra),
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{
			Path: attrs.path,
			Verb: attrs.verb,
		},
	}}
	var review *authorizationv1.SubjectAccessReview
	err := f.retry(ctx, func(ctx context.Context) error {
		var err error
		review, err = f.sars.Create(ctx, sar, metav1.CreateOptions{})
		return err
	})
	if err != nil {
		return result{}, fmt.Errorf("SubjectAccessReview for user %s: %w", user.Username, err)
	}
	st := review.Status
	if st.Allowed && st.Denied {
		return result{}, fmt.Errorf("SubjectAccessReview for user %s: both allowed and denied", user.Username)
	}
	res := result{decision: denied, user: user.Username, reason: st.Reason}
	if st.Allowed {
		res.decision = allowed
	}
	return res, nil
}

// withAuthenticatedGroup adds system:authenticated as the API server's authenticator does
// (group.AuthenticatedGroupAdder), so bindings to all authenticated users apply.
func withAuthenticatedGroup(user authenticationv1.UserInfo) []string {
	if user.Username == userAnonymous ||
		slices.Contains(user.Groups, groupAuthenticated) || slices.Contains(user.Groups, groupUnauthenticated) {
		return user.Groups
	}
	return append(slices.Clip(user.Groups), groupAuthenticated)
}

func extra(in map[string]authenticationv1.ExtraValue) map[string]authorizationv1.ExtraValue {
	if in == nil {
		return nil
	}
	out := make(map[string]authorizationv1.ExtraValue, len(in))
	for k, v := range in {
		out[k] = authorizationv1.ExtraValue(v)
	}
	return out
}

// retry calls call until it succeeds, fails for good, or f.backoff or ctx runs out, and then
// returns call's last error, which says more than the backoff's.
func (f *filter) retry(ctx context.Context, call func(context.Context) error) error {
	var last error
	err := wait.ExponentialBackoffWithContext(ctx, f.backoff, func(ctx context.Context) (bool, error) {
		last = call(ctx)
		if last != nil && transient(last) {
			return false, nil
		}
		return last == nil, last
	})
	if last != nil {
		return last
	}
	return err
}

// transient follows the API server's rule for retrying its webhooks
// (k8s.io/apiserver/pkg/util/webhook.DefaultShouldRetry).
func transient(err error) bool {
	if utilnet.IsConnectionReset(err) || utilnet.IsHTTP2ConnectionLost(err) ||
		apierrors.IsInternalError(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) {
		return true
	}
	_, retry := apierrors.SuggestsClientDelay(err)
	return retry
}

// redact keeps the token out of an error that is going to be logged, should anything on the
// way ever echo the request.
func redact(err error, token string) error {
	if !strings.Contains(err.Error(), token) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), token, "[redacted]"))
}
