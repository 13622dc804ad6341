package talis

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDecodeCreateResponse(t *testing.T) {
	rows, err := decodeCreateResponse(mustRead("instance_create_response.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("got %d rows", len(rows))
	}
	in := rows[0]
	created := mustTime(t, "2026-11-27T00:22:03.5418Z")
	switch {
	case in.ID != 1 || in.OwnerID != 1 || in.ProjectID != 1 || in.Name != "web-1":
		t.Errorf("ids/name: %+v", in)
	case in.ProviderID != "do-mock" || in.ProviderInstanceID != 0 || in.Region != "nyc1" || in.Size != "s-1vcpu-1gb" || in.Image != "":
		t.Errorf("provider fields: %+v", in)
	case in.Status != InstanceStatusPending || in.PayloadStatus != PayloadStatusNone:
		t.Errorf("status: %q %q", in.Status, in.PayloadStatus)
	case !in.CreatedAt.Equal(created) || !in.UpdatedAt.Equal(created) || !in.ModelCreatedAt.IsZero() || in.DeletedAt != nil:
		t.Errorf("times: %v %v %v %v", in.CreatedAt, in.UpdatedAt, in.ModelCreatedAt, in.DeletedAt)
	case len(in.Tags) != 2 || in.Tags[1] != "b" || in.VolumeIDs == nil || len(in.VolumeIDs) != 0 || len(in.VolumeDetails) != 0:
		t.Errorf("lists: %+v", in)
	case rows[1].Name != "web-2" || rows[1].ID != 2:
		t.Errorf("second row: %+v", rows[1])
	}
}

func TestDecodeInstance(t *testing.T) {
	in, err := decodeInstance(mustRead("instance.json"))
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != 7 || in.OwnerID != AdminOwnerID || in.ProviderInstanceID != 412345678 || in.PublicIP != "203.0.113.7" ||
		in.Status != InstanceStatusReady || in.PayloadStatus != PayloadStatusPendingCopy || in.Tags != nil {
		t.Errorf("got %+v", in)
	}
	if len(in.VolumeDetails) != 1 || in.VolumeDetails[0] != (VolumeDetails{ID: "vol-1", Name: "data", Region: "nyc1", SizeGB: 10, MountPoint: "/mnt/data"}) {
		t.Errorf("volumes: %+v", in.VolumeDetails)
	}
	if !in.UpdatedAt.Equal(mustTime(t, "2026-11-27T00:25:10.123456Z")) {
		t.Errorf("UpdatedAt %v", in.UpdatedAt)
	}
	// Re-encoding must give back the wire's key names, both "CreatedAt" and "created_at".
	out, _ := json.Marshal(in)
	for _, k := range []string{`"ID":7`, `"CreatedAt":"0001-01-01T00:00:00Z"`, `"created_at":"2026-11-27T00:22:03.5418Z"`, `"DeletedAt":null`, `"provider_id":"do"`} {
		if !strings.Contains(string(out), k) {
			t.Errorf("encoding lacks %s: %s", k, out)
		}
	}
}

func TestDecodeInstanceList(t *testing.T) {
	rows, err := decodeInstanceList(mustRead("instance_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Status != InstanceStatusReady || rows[1].Status != InstanceStatusCreated {
		t.Errorf("got %+v", rows)
	}
	var l ListResponse[Instance]
	if err := json.Unmarshal(mustRead("instance_list.json"), &l); err != nil {
		t.Fatal(err)
	}
	if l.Pagination != (Pagination{Total: 2, Page: 1, Limit: 100, Offset: 0}) {
		t.Errorf("pagination %+v", l.Pagination)
	}
}

func TestDecodePublicIPs(t *testing.T) {
	r, err := decodePublicIPs(mustRead("public_ips.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.PublicIPs) != 2 || r.PublicIPs[0].PublicIP != "203.0.113.7" || r.PublicIPs[1].PublicIP != "" || r.Pagination.Total != 2 {
		t.Errorf("got %+v", r)
	}
}

func TestDecodeTasks(t *testing.T) {
	var task Task
	if err := json.Unmarshal(mustRead("task.json"), &task); err != nil {
		t.Fatal(err)
	}
	if task.ID != 1 || task.ProjectID != 1 || task.InstanceID != 1 || task.Action != TaskActionCreateInstances ||
		task.Status != TaskStatusCompleted || task.Attempts != 1 || task.Priority != TaskPriorityHigh || task.WebhookSent ||
		!strings.HasPrefix(task.Logs, "\nCreating instance ID 1") || task.Error != "" || task.LockedAt != nil {
		t.Errorf("got %+v", task)
	}
	if !task.Status.Terminal() {
		t.Error("completed is terminal")
	}
	var payload InstanceRequest
	if err := json.Unmarshal(task.Payload, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.Provider != "digitalocean-mock" || payload.ProjectName != "adm" || len(payload.Volumes) != 1 || payload.Volumes[0].SizeGB != 10 {
		t.Errorf("payload %+v", payload)
	}

	var failed Task
	if err := json.Unmarshal(mustRead("task_failed.json"), &failed); err != nil {
		t.Fatal(err)
	}
	if failed.Status != TaskStatusFailed || failed.Error != "\nworker: instance ID 3 has no public IP, can't provision" ||
		!strings.Contains(failed.Logs, "❌ high priority worker 2 failed") {
		t.Errorf("got %+v", failed)
	}

	tasks, err := decodeTaskListSlug(mustRead("task_list_slug.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 1 || tasks[0].Action != TaskActionTerminateInstances || tasks[0].Priority != TaskPriorityLow ||
		string(tasks[0].Payload) != `{"instance_id":1}` {
		t.Errorf("got %+v", tasks)
	}
}

func TestDecodeProject(t *testing.T) {
	for _, f := range []string{"project.json"} {
		var p Project
		if err := json.Unmarshal(mustRead(f), &p); err != nil {
			t.Fatal(err)
		}
		if p.ID != 1 || p.Name != "proj-a" || p.Description != "d" || p.Config != `{"resources":{"cpu":2}}` || p.Tasks != nil ||
			!p.CreatedAt.Equal(mustTime(t, "2026-11-27T00:21:51.87Z")) || p.OwnerID != 0 {
			t.Errorf("got %+v", p)
		}
	}
	p, err := decodeRPCData[Project](mustRead("rpc_project_create.json"))
	if err != nil || p.Name != "proj-a" {
		t.Errorf("rpc create: %+v %v", p, err)
	}
	l, err := decodeRPCData[ListResponse[*Project]](mustRead("rpc_project_list.json"))
	if err != nil || len(l.Rows) != 1 || l.Pagination.Limit != RPCPageSize {
		t.Errorf("rpc list: %+v %v", l, err)
	}
}

func TestDecodeUsers(t *testing.T) {
	r, err := decodeRPCData[UserResponse](mustRead("rpc_user_list.json"))
	if err != nil {
		t.Fatal(err)
	}
	if r.User.ID != 0 || r.User.Username != "" || len(r.Users) != 2 || r.Pagination == nil || r.Pagination.Limit != 0 {
		t.Errorf("list mode: %+v", r)
	}
	if u := r.Users[0]; u.Username != "alice" || u.Role != UserRoleAdmin || u.PublicSSHKey != "ssh-ed25519 AAAA alice" || u.CreatedAt != "" {
		t.Errorf("alice: %+v", u)
	}
	single, err := decodeRPCData[UserResponse](mustRead("rpc_user_single.json"))
	if err != nil || single.User.Username != "alice" || single.Users != nil || single.Pagination != nil {
		t.Errorf("single: %+v %v", single, err)
	}
	cr, err := decodeRPCData[CreateUserResponse](mustRead("rpc_user_create.json"))
	if err != nil || cr.ID != 5 {
		t.Errorf("create: %+v %v", cr, err)
	}
	keys, err := decodeRPCData[[]SSHKey](mustRead("rpc_sshkey_list.json"))
	if err != nil || len(keys) != 1 || keys[0].Name != "k1" || keys[0].OwnerID != 7 || keys[0].CreatedAt.IsZero() {
		t.Errorf("ssh keys: %+v %v", keys, err)
	}
}

func TestDecodeEnvelopes(t *testing.T) {
	env, err := decodeRPCResponse(mustRead("rpc_delete_ok.json"))
	if err != nil || !env.Success || env.Data != nil || env.Error != nil {
		t.Errorf("delete ok: %+v %v", env, err)
	}
	env, err = decodeRPCResponse(mustRead("rpc_error_duplicate_pg.json"))
	if err != nil || env.Success || env.Error == nil || env.Error.Code != 500 || env.Error.Message != "Failed to create project" {
		t.Errorf("rpc error: %+v %v", env, err)
	}
	if _, err := decodeSlug(mustRead("slug_delete_ok.json")); err != nil {
		t.Errorf("slug ok: %v", err)
	}
	if _, err := decodeSlug(mustRead("slug_error_invalid.json")); err == nil {
		t.Error("non-success slug must be an error")
	}
	h, err := decodeHealth(mustRead("health.json"))
	if err != nil || h["status"] != "healthy" {
		t.Errorf("health: %v %v", h, err)
	}
}

func TestCreateResponseSkipsNullRows(t *testing.T) {
	rows, err := decodeCreateResponse([]byte(`{"slug":"success","error":"","data":[null,{"ID":3}]}`))
	if err != nil || len(rows) != 1 || rows[0].ID != 3 {
		t.Errorf("got %+v %v", rows, err)
	}
}
