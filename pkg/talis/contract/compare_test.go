package contract

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// ---------------------------------------------------------------------------
// Raw access to the emulator with its own (independent) wire types.

func (e *env) rawGet(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodGet, e.url+path, nil)
	if e.key != "" {
		req.Header.Set("apikey", e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("raw GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("raw GET %s: %v", path, err)
	}
}

func (e *env) rawRPC(t *testing.T, method string, params, out any) {
	t.Helper()
	body, _ := json.Marshal(emulator.RPCRequest{Method: method, Params: params})
	req, _ := http.NewRequestWithContext(e.ctx, http.MethodPost, e.url+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if e.key != "" {
		req.Header.Set("apikey", e.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("raw RPC %s: %v", method, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env struct {
		Data    json.RawMessage `json:"data"`
		Success bool            `json:"success"`
	}
	if err := json.Unmarshal(b, &env); err != nil || !env.Success {
		t.Fatalf("raw RPC %s: %d %s", method, resp.StatusCode, b)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("raw RPC %s data: %v", method, err)
	}
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func sameTimePtr(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// sameInstance compares the client's decoding with the emulator's own.
func sameInstance(t *testing.T, got *talis.Instance, want emulator.Instance) {
	t.Helper()
	var vd []talis.VolumeDetails
	for _, v := range want.VolumeDetails {
		vd = append(vd, talis.VolumeDetails{ID: v.ID, Name: v.Name, Region: v.Region, SizeGB: v.SizeGB, MountPoint: v.MountPoint})
	}
	if len(got.VolumeDetails) == 0 && len(vd) == 0 {
		vd = got.VolumeDetails
	}
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.OwnerID == want.OwnerID && got.ProjectID == want.ProjectID &&
		got.Name == want.Name && got.ProviderID == want.ProviderID && got.ProviderInstanceID == want.ProviderInstanceID &&
		got.PublicIP == want.PublicIP && got.Region == want.Region && got.Size == want.Size && got.Image == want.Image &&
		slices.Equal(got.Tags, want.Tags) && string(got.Status) == want.Status && slices.Equal(got.VolumeIDs, want.VolumeIDs) &&
		reflect.DeepEqual(got.VolumeDetails, vd) && sameTime(got.CreatedAt, want.CreatedAtReal) &&
		string(got.PayloadStatus) == want.PayloadStatus
	if !ok {
		t.Errorf("instance decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}

func sameTask(t *testing.T, got *talis.Task, want emulator.Task) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.ProjectID == want.ProjectID && got.InstanceID == want.InstanceID &&
		string(got.Action) == want.Action && string(got.Status) == want.Status && bytes.Equal(got.Payload, want.Payload) &&
		bytes.Equal(got.Result, want.Result) && got.Attempts == want.Attempts && got.Logs == want.Logs &&
		got.Error == want.Error && got.WebhookURL == want.WebhookURL && got.WebhookSent == want.WebhookSent &&
		sameTime(got.CreatedAt, want.CreatedAtReal) && sameTimePtr(got.LockedAt, want.LockedAt) &&
		sameTimePtr(got.LockExpiry, want.LockExpiry) && int(got.Priority) == want.Priority && got.OwnerID == admin
	if !ok {
		t.Errorf("task decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}

func sameProject(t *testing.T, got *talis.Project, want emulator.Project, owner uint) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.Name == want.Name && got.Description == want.Description &&
		got.Config == want.Config && got.Tasks == nil && sameTime(got.CreatedAt, want.CreatedAtReal) && got.OwnerID == owner
	if !ok {
		t.Errorf("project decoded as\n %+v\nemulator holds\n %+v (owner %d)", *got, want, owner)
	}
}

func sameUser(t *testing.T, got *talis.User, want emulator.User) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.ModelCreatedAt, want.CreatedAt) && sameTime(got.ModelUpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.Username == want.Username && got.Email == want.Email &&
		int(got.Role) == int(want.Role) && got.PublicSSHKey == want.PublicSSHKey && got.CreatedAt == want.CreatedAtText &&
		got.UpdatedAt == want.UpdatedAtText
	if !ok {
		t.Errorf("user decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}

func sameSSHKey(t *testing.T, got *talis.SSHKey, want emulator.SSHKey) {
	t.Helper()
	ok := got.ID == want.ID && sameTime(got.CreatedAt, want.CreatedAt) && sameTime(got.UpdatedAt, want.UpdatedAt) &&
		sameTimePtr(got.DeletedAt, want.DeletedAt) && got.Name == want.Name && got.PublicKey == want.PublicKey &&
		got.OwnerID == want.OwnerID
	if !ok {
		t.Errorf("ssh key decoded as\n %+v\nemulator holds\n %+v", *got, want)
	}
}
