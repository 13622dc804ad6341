package metricsauth

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const secret = "s3cr3t-Token.value" //nolint:gosec // a test token

type (
	tokenReactor func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error)
	sarReactor   func(*authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error)
)

func authenticated(user authenticationv1.UserInfo) tokenReactor {
	return func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) {
		return &authenticationv1.TokenReview{Status: authenticationv1.TokenReviewStatus{Authenticated: true, User: user}}, nil
	}
}

func sarStatus(st authorizationv1.SubjectAccessReviewStatus) sarReactor {
	return func(*authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error) {
		return &authorizationv1.SubjectAccessReview{Status: st}, nil
	}
}

var (
	prometheus = authenticationv1.UserInfo{Username: "system:serviceaccount:monitoring:prometheus", UID: "u-1"}
	allow      = sarStatus(authorizationv1.SubjectAccessReviewStatus{Allowed: true})
)

// fixture runs the filter against a fake clientset and records what it logs and serves.
type fixture struct {
	t       *testing.T
	cs      *fake.Clientset
	f       *filter
	handler http.Handler
	served  atomic.Int32
	// lastAuthorization is the Authorization header the wrapped handler saw.
	lastAuthorization atomic.Value

	mu   sync.Mutex
	logs bytes.Buffer
	// Reactors may be swapped while the test runs.
	tokens tokenReactor
	sars   sarReactor
}

func newFixture(t *testing.T, tokens tokenReactor, sars sarReactor) *fixture {
	t.Helper()
	fx := &fixture{t: t, cs: fake.NewClientset(), tokens: tokens, sars: sars}
	fx.cs.PrependReactor("create", "tokenreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		in := a.(k8stesting.CreateAction).GetObject().(*authenticationv1.TokenReview)
		fx.mu.Lock()
		react := fx.tokens
		fx.mu.Unlock()
		out, err := react(in.DeepCopy())
		return true, out, err
	})
	fx.cs.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		in := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		fx.mu.Lock()
		react := fx.sars
		fx.mu.Unlock()
		out, err := react(in.DeepCopy())
		return true, out, err
	})
	fx.f = newFilter(fx.cs.AuthenticationV1().TokenReviews(), fx.cs.AuthorizationV1().SubjectAccessReviews())
	fx.f.backoff = wait.Backoff{Steps: 3}
	log := funcr.New(func(prefix, args string) {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		fx.logs.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})
	h, err := fx.f.wrap(log, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		fx.served.Add(1)
		fx.lastAuthorization.Store(req.Header.Get("Authorization"))
		_, _ = io.WriteString(w, "metrics")
	}))
	if err != nil {
		t.Fatal(err)
	}
	fx.handler = h
	return fx
}

func (fx *fixture) react(tokens tokenReactor, sars sarReactor) {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	fx.tokens, fx.sars = tokens, sars
}

func (fx *fixture) do(method, path, authorization string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	rec := httptest.NewRecorder()
	fx.handler.ServeHTTP(rec, req)
	return rec
}

func (fx *fixture) get(authorization string) *httptest.ResponseRecorder {
	return fx.do(http.MethodGet, "/metrics", authorization)
}

// created returns the objects the filter created of resource, in order.
func (fx *fixture) created(resource string) []runtime.Object {
	var out []runtime.Object
	for _, a := range fx.cs.Actions() {
		if c, ok := a.(k8stesting.CreateAction); ok && a.GetResource().Resource == resource {
			out = append(out, c.GetObject())
		}
	}
	return out
}

func (fx *fixture) calls() (tokenReviews, sars int) {
	return len(fx.created("tokenreviews")), len(fx.created("subjectaccessreviews"))
}

func (fx *fixture) expect(rec *httptest.ResponseRecorder, code int) {
	fx.t.Helper()
	if rec.Code != code {
		fx.t.Errorf("status %d, want %d (body %q)", rec.Code, code, rec.Body.String())
	}
	if code != http.StatusOK && fx.served.Load() != 0 {
		fx.t.Errorf("the wrapped handler was called")
	}
}

func (fx *fixture) expectCalls(tokenReviews, sars int) {
	fx.t.Helper()
	if gotT, gotS := fx.calls(); gotT != tokenReviews || gotS != sars {
		fx.t.Errorf("%d TokenReviews and %d SubjectAccessReviews, want %d and %d", gotT, gotS, tokenReviews, sars)
	}
}

func TestRefusesRequestsWithoutBearerToken(t *testing.T) {
	for _, header := range []string{"", "Basic dXNlcjpwYXNz", secret, "Bearer", "Bearer ", "Bearer  " + secret, "Token " + secret} {
		t.Run(header, func(t *testing.T) {
			fx := newFixture(t, authenticated(prometheus), allow)
			fx.expect(fx.get(header), http.StatusUnauthorized)
			fx.expectCalls(0, 0)
		})
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		t.Run(scheme, func(t *testing.T) {
			fx := newFixture(t, authenticated(prometheus), allow)
			fx.expect(fx.get(scheme+" "+secret), http.StatusOK)
			trs := fx.created("tokenreviews")
			if len(trs) != 1 || trs[0].(*authenticationv1.TokenReview).Spec.Token != secret {
				t.Errorf("TokenReviews %v, want one of the token", trs)
			}
		})
	}
}

func TestUnauthenticatedTokenIs401(t *testing.T) {
	fx := newFixture(t, func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) {
		return &authenticationv1.TokenReview{Status: authenticationv1.TokenReviewStatus{Error: "invalid bearer token"}}, nil
	}, allow)
	fx.expect(fx.get("Bearer "+secret), http.StatusUnauthorized)
	fx.expectCalls(1, 0)
}

func TestNotAllowedIs403(t *testing.T) {
	for name, st := range map[string]authorizationv1.SubjectAccessReviewStatus{
		"denied":     {Denied: true, Reason: "no"},
		"no opinion": {},
	} {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, authenticated(prometheus), sarStatus(st))
			rec := fx.get("Bearer " + secret)
			fx.expect(rec, http.StatusForbidden)
			if !strings.Contains(rec.Body.String(), prometheus.Username) {
				t.Errorf("body %q does not name the user", rec.Body.String())
			}
		})
	}
}

func TestAllowedIsServedWithoutToken(t *testing.T) {
	fx := newFixture(t, authenticated(prometheus), allow)
	rec := fx.get("Bearer " + secret)
	fx.expect(rec, http.StatusOK)
	if rec.Body.String() != "metrics" || fx.served.Load() != 1 {
		t.Errorf("handler served %d times, body %q", fx.served.Load(), rec.Body.String())
	}
	if got := fx.lastAuthorization.Load(); got != "" {
		t.Errorf("the wrapped handler saw Authorization %q", got)
	}
}

func TestSubjectAccessReviewCarriesUserAndRequest(t *testing.T) {
	user := authenticationv1.UserInfo{Username: "alice", UID: "u-2", Groups: []string{"team"},
		Extra: map[string]authenticationv1.ExtraValue{"scopes": {"a", "b"}}}
	tests := []struct {
		method, path string
		user         authenticationv1.UserInfo
		want         authorizationv1.SubjectAccessReviewSpec
	}{{
		method: http.MethodGet, path: "/metrics", user: user,
		want: authorizationv1.SubjectAccessReviewSpec{User: "alice", UID: "u-2", Groups: []string{"team", groupAuthenticated},
			Extra:                 map[string]authorizationv1.ExtraValue{"scopes": {"a", "b"}},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"}},
	}, {
		method: http.MethodPost, path: "/debug/pprof/profile", user: authenticationv1.UserInfo{Username: "bob", Groups: []string{groupAuthenticated, "x"}},
		want: authorizationv1.SubjectAccessReviewSpec{User: "bob", Groups: []string{groupAuthenticated, "x"},
			NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/debug/pprof/profile", Verb: "post"}},
	}}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			fx := newFixture(t, authenticated(tt.user), allow)
			fx.expect(fx.do(tt.method, tt.path, "Bearer "+secret), http.StatusOK)
			sars := fx.created("subjectaccessreviews")
			if len(sars) != 1 {
				t.Fatalf("%d SubjectAccessReviews, want 1", len(sars))
			}
			if got := sars[0].(*authorizationv1.SubjectAccessReview).Spec; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SubjectAccessReview spec\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestAPIErrorsAre500AndNotCached(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "authentication.k8s.io", Resource: "tokenreviews"}, "", errors.New("RBAC: no"))
	tests := map[string]struct {
		tokens tokenReactor
		sars   sarReactor
	}{
		"TokenReview": {tokens: func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) { return nil, forbidden }, sars: allow},
		"SubjectAccessReview": {tokens: authenticated(prometheus), sars: func(*authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error) {
			return nil, forbidden
		}},
		"allowed and denied": {tokens: authenticated(prometheus), sars: sarStatus(authorizationv1.SubjectAccessReviewStatus{Allowed: true, Denied: true})},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, tt.tokens, tt.sars)
			rec := fx.get("Bearer " + secret)
			fx.expect(rec, http.StatusInternalServerError)
			if strings.Contains(rec.Body.String(), "RBAC") || strings.Contains(rec.Body.String(), "allowed") {
				t.Errorf("body %q tells the caller the cause", rec.Body.String())
			}
			fx.react(authenticated(prometheus), allow)
			fx.expect(fx.get("Bearer "+secret), http.StatusOK)
		})
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	var n atomic.Int32
	fx := newFixture(t, func(tr *authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) {
		if n.Add(1) == 1 {
			return nil, apierrors.NewInternalError(errors.New("etcd hiccup"))
		}
		return authenticated(prometheus)(tr)
	}, allow)
	fx.expect(fx.get("Bearer "+secret), http.StatusOK)
	fx.expectCalls(2, 1)
}

func TestCacheSavesReviews(t *testing.T) {
	t.Run("allowed", func(t *testing.T) {
		fx := newFixture(t, authenticated(prometheus), allow)
		fx.expect(fx.get("Bearer "+secret), http.StatusOK)
		fx.expect(fx.get("Bearer "+secret), http.StatusOK)
		fx.expectCalls(1, 1)
		// Another path or verb is another question.
		fx.expect(fx.do(http.MethodGet, "/debug", "Bearer "+secret), http.StatusOK)
		fx.expect(fx.do(http.MethodHead, "/metrics", "Bearer "+secret), http.StatusOK)
		fx.expectCalls(3, 3)
		// So is another token.
		fx.expect(fx.get("Bearer other"), http.StatusOK)
		fx.expectCalls(4, 4)
	})
	t.Run("unauthenticated", func(t *testing.T) {
		fx := newFixture(t, func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) {
			return &authenticationv1.TokenReview{}, nil
		}, allow)
		fx.expect(fx.get("Bearer "+secret), http.StatusUnauthorized)
		fx.expect(fx.get("Bearer "+secret), http.StatusUnauthorized)
		fx.expectCalls(1, 0)
	})
	t.Run("denied", func(t *testing.T) {
		fx := newFixture(t, authenticated(prometheus), sarStatus(authorizationv1.SubjectAccessReviewStatus{Denied: true}))
		fx.expect(fx.get("Bearer "+secret), http.StatusForbidden)
		fx.expect(fx.get("Bearer "+secret), http.StatusForbidden)
		fx.expectCalls(1, 1)
	})
}

func TestCachedDecisionsExpire(t *testing.T) {
	for name, tt := range map[string]struct {
		sars sarReactor
		code int
		ttl  time.Duration
	}{
		"allowed": {sars: allow, code: http.StatusOK, ttl: allowedTTL},
		"denied":  {sars: sarStatus(authorizationv1.SubjectAccessReviewStatus{}), code: http.StatusForbidden, ttl: deniedTTL},
	} {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, authenticated(prometheus), tt.sars)
			clock := &fakeClock{t: time.Now()}
			fx.f.cache = newDecisionCache(clock.Now)
			fx.expect(fx.get("Bearer "+secret), tt.code)
			clock.Step(tt.ttl - time.Second)
			fx.expect(fx.get("Bearer "+secret), tt.code)
			fx.expectCalls(1, 1)
			clock.Step(time.Second)
			fx.expect(fx.get("Bearer "+secret), tt.code)
			fx.expectCalls(2, 2)
		})
	}
}

func TestTokenIsNeverLogged(t *testing.T) {
	echo := errors.New("cannot review token " + secret)
	fx := newFixture(t, authenticated(prometheus), allow)
	for _, r := range []struct {
		tokens tokenReactor
		sars   sarReactor
	}{
		{tokens: func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) { return nil, echo }},
		{tokens: func(*authenticationv1.TokenReview) (*authenticationv1.TokenReview, error) {
			return &authenticationv1.TokenReview{Status: authenticationv1.TokenReviewStatus{Error: "bad token " + secret}}, nil
		}},
		{tokens: authenticated(prometheus), sars: sarStatus(authorizationv1.SubjectAccessReviewStatus{Denied: true, Reason: "no"})},
		{tokens: authenticated(prometheus), sars: func(*authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error) {
			return nil, apierrors.NewBadRequest("nope")
		}},
	} {
		fx.react(r.tokens, r.sars)
		fx.f.cache = newDecisionCache(time.Now)
		if rec := fx.get("Bearer " + secret); strings.Contains(rec.Body.String(), secret) {
			t.Errorf("response %d carries the token: %q", rec.Code, rec.Body.String())
		}
	}
	fx.mu.Lock()
	defer fx.mu.Unlock()
	logs := fx.logs.String()
	if strings.Contains(logs, secret) {
		t.Errorf("the token is in the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "[redacted]") || !strings.Contains(logs, "Authorization denied") {
		t.Errorf("expected an error with the token redacted and a denial in the logs:\n%s", logs)
	}
}

func TestConcurrentRequests(t *testing.T) {
	fx := newFixture(t, authenticated(prometheus), allow)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			token := "Bearer " + secret
			if i%2 == 0 {
				token += "-even"
			}
			if rec := fx.get(token); rec.Code != http.StatusOK {
				t.Errorf("status %d", rec.Code)
			}
		})
	}
	wg.Wait()
}
