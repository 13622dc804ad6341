package contract

import (
	"net/http"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// formLabel sends the client's JSON bodies labelled as a form, as a
// misconfigured proxy might.
type formLabel struct{ next http.RoundTripper }

func (f formLabel) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Content-Type") != "" {
		req = req.Clone(req.Context())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return f.next.RoundTrip(req)
}

// A form body gets each handler's own error, and the client reads each
// as the server's refusal.
func TestFormEncodedBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx
	e.mkProject(t, "forms", admin)
	c := e.newClient(func(o *talis.Options) {
		o.HTTPClient.Transport = formLabel{o.HTTPClient.Transport}
	})

	var err error
	x := e.one(t, func() {
		_, err = c.CreateInstance(ctx, []talis.InstanceRequest{instReq("forms", admin, "do-mock", "", 1)})
	})
	wantInvalid(t, err, 400, "failed to decode: schema: interface must be a pointer to struct")
	if ae := apiErr(t, err); ae.Slug != talis.SlugInvalidInput || talis.IsAmbiguous(err) || x.Status != 400 {
		t.Errorf("create: slug %q, status %d, ambiguous %v", ae.Slug, x.Status, talis.IsAmbiguous(err))
	}
	err = c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "forms", InstanceIDs: []uint{1}})
	wantInvalid(t, err, 400, "project name and instance IDs are required")
	_, err = c.ListProjects(ctx, talis.ProjectListParams{OwnerID: admin})
	wantInvalid(t, err, 400, "Method is required")
	if n := len(e.srv.Ledger()); n != 0 {
		t.Errorf("form creates reached the store: %d instances", n)
	}
}
