package talisconn

import (
	"fmt"
	"net/url"
	"strings"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
)

// checkEndpoint refuses URLs the cluster admin has not allowed; nothing is sent to them.
func (r *Registry) checkEndpoint(u string) error {
	if sameURL(u, r.defaults.URL) {
		return nil
	}
	for _, a := range r.defaults.AllowedURLs {
		if a == "*" || sameURL(u, a) {
			return nil
		}
	}
	return &CredentialsError{Reason: infrav1.ReasonEndpointNotAllowed, Message: fmt.Sprintf(
		"Talis URL %s is not allowed by the manager (--allowed-talis-urls); ask the cluster admin to allow it", redact(u))}
}

// sameURL compares endpoints as Talis sees them: scheme and host case-insensitively, the path
// without a trailing slash. An empty URL equals nothing.
func sameURL(a, b string) bool {
	na, ok1 := normalizeURL(a)
	nb, ok2 := normalizeURL(b)
	return ok1 && ok2 && na == nb
}

func normalizeURL(s string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", false
	}
	u.Scheme, u.Host = strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath, u.Fragment = "", ""
	return u.String(), true
}

// redact drops user info from a URL before it goes into a condition or event.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// SameURL reports whether two URLs name the same Talis endpoint.
func SameURL(a, b string) bool { return sameURL(a, b) }

// Redact is a URL without user info, fit for conditions and events.
func Redact(s string) string { return redact(s) }

// NormalURL is the form of a URL in which two URLs of the same endpoint are equal (SameURL); an
// unparsable URL is returned as it is.
func NormalURL(s string) string {
	if n, ok := normalizeURL(s); ok {
		return n
	}
	return s
}
