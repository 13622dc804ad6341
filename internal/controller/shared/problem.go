package shared

import (
	"errors"
	"fmt"

	infrav1 "github.com/talis-operator/talis-operator/api/v1alpha1"
	"github.com/talis-operator/talis-operator/internal/talisconn"
	"github.com/talis-operator/talis-operator/pkg/talis"
)

// problem turns an error on the way to Talis into what the user reads in conditions and events.
func Problem(action string, err error) Health {
	var cred *talisconn.CredentialsError
	switch {
	case errors.As(err, &cred):
		return StalledOn(cred.Reason, cred.Message)
	case talis.IsUnauthorized(err):
		return StalledOn(infrav1.ReasonInvalidCredentials, fmt.Sprintf("Talis refused the API key while %s: %v", action, err))
	case talis.IsInvalid(err):
		return StalledOn(infrav1.ReasonTalisRejected, fmt.Sprintf("Talis rejected the request while %s: %v", action, err))
	default:
		return Retrying(infrav1.ReasonTalisUnavailable, fmt.Sprintf("Talis call failed while %s (will retry): %v", action, err))
	}
}

// NameKey says whose key Talis refused, so the message points at what to fix: the Secret the
// project names, or the manager's own key.
func NameKey(h Health, p *infrav1.TalisProject) Health {
	if h.Reason == infrav1.ReasonInvalidCredentials && p != nil {
		h.Message += "; the key is " + talisconn.KeySource(p)
	}
	return h
}
