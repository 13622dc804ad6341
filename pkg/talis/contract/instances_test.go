package contract

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

// checkCreateBody asserts the CreateInstance body is a JSON array of §4.5
// objects (no ssh_key_name, no server-internal keys).
func checkCreateBody(t *testing.T, body []byte, n int) []map[string]json.RawMessage {
	t.Helper()
	var elems []map[string]json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		t.Fatalf("create body is not a JSON array of objects: %v (%s)", err, body)
	}
	if len(elems) != n {
		t.Fatalf("create body has %d elements, want %d", len(elems), n)
	}
	for i, el := range elems {
		keys := keysOf(el)
		if extra := subset(keys, instanceRequestKeys); len(extra) > 0 {
			t.Errorf("element %d: keys %v are not read by the server", i, extra)
		}
		for _, k := range instanceRequestRequired {
			if !slices.Contains(keys, k) {
				t.Errorf("element %d: required key %q missing", i, k)
			}
		}
		var vols []map[string]json.RawMessage
		if err := json.Unmarshal(el["volumes"], &vols); err != nil {
			t.Errorf("element %d: volumes is not an array of objects: %s", i, el["volumes"])
		}
		for _, v := range vols {
			if extra := subset(keysOf(v), volumeKeys); len(extra) > 0 {
				t.Errorf("element %d: volume keys %v are not read by the server", i, extra)
			}
		}
	}
	return elems
}

func TestInstanceLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx

	var health map[string]string
	x := e.one(t, func() { health = must(e.c.HealthCheck(ctx))(t) })
	e.checkREST(t, x, "GET /health", "/health", nil)
	if health["status"] != "healthy" || len(health) != 1 {
		t.Errorf("HealthCheck = %v", health)
	}

	proj := e.mkProject(t, "web", admin)

	// Create three tagged instances in one element (name → web-1..web-3).
	req := instReq("web", admin, "do", "web", 3, "a", "b")
	var created []*talis.Instance
	x = e.one(t, func() { created = must(e.c.CreateInstance(ctx, []talis.InstanceRequest{req}))(t) })
	e.checkREST(t, x, "POST /api/v1/instances", "/api/v1/instances", nil)
	el := checkCreateBody(t, x.Body, 1)[0]
	jsonIs(t, "owner_id", el["owner_id"], admin)
	jsonIs(t, "provider", el["provider"], "do")
	jsonIs(t, "tags", el["tags"], []string{"a", "b"})
	jsonIs(t, "number_of_instances", el["number_of_instances"], 3)
	jsonIs(t, "project_name", el["project_name"], "web")
	jsonIs(t, "volumes", el["volumes"], []map[string]any{{"name": "data", "size_gb": 10, "region": "", "filesystem": "", "mount_point": "/mnt/data"}})
	if x.Status != 201 {
		t.Errorf("create answered %d, want 201", x.Status)
	}

	if len(created) != 3 {
		t.Fatalf("created %d instances, want 3", len(created))
	}
	ledger := ledgerByID(e.srv)
	if len(ledger) != 3 {
		t.Fatalf("emulator ledger holds %d instances, want 3", len(ledger))
	}
	ids := idsOf(created)
	for i, in := range created {
		want := fmt.Sprintf("web-%d", i+1)
		if in.Name != want || in.Status != talis.InstanceStatusPending || in.Image != "" || in.ProviderID != "do" ||
			in.OwnerID != admin || in.ProjectID != proj.ID || !slices.Equal(in.Tags, []string{"a", "b"}) ||
			in.PublicIP != "" || in.PayloadStatus != talis.PayloadStatusNone || in.Region != "nyc1" ||
			in.Size != "s-1vcpu-1gb" || in.CreatedAt.IsZero() || !in.ModelCreatedAt.IsZero() || in.DeletedAt != nil {
			t.Errorf("created[%d] = %+v", i, *in)
		}
		l, ok := ledger[in.ID]
		if !ok || l.Name != in.Name || l.Project != "web" || uint(l.ProjectID) != proj.ID || uint(l.OwnerID) != admin ||
			!slices.Equal(l.Tags, in.Tags) || l.Provider != "do" || !l.CreatedAt.Equal(in.CreatedAt.Truncate(time.Microsecond)) {
			t.Errorf("created[%d] %+v does not match ledger %+v", i, *in, l)
		}
		// As upstream, the create answer has Go's nanoseconds and later
		// reads PostgreSQL's microseconds: compare them truncated.
		read := must(e.c.GetInstance(ctx, strconv.Itoa(int(in.ID))))(t)
		updated := read.Status != talis.InstanceStatusPending // the worker moved on meanwhile
		if !read.CreatedAt.Equal(l.CreatedAt) || !updated && !read.UpdatedAt.Equal(in.UpdatedAt.Truncate(time.Microsecond)) {
			t.Errorf("instance %d: created %v/%v, read %v/%v", in.ID, in.CreatedAt, in.UpdatedAt, read.CreatedAt, read.UpdatedAt)
		}
	}

	// Ready, with an IP, a provider id and (provider "do") volumes.
	ready := e.waitStatus(t, ids, talis.InstanceStatusReady)
	ledger = ledgerByID(e.srv)
	for i := range ready {
		in := &ready[i]
		if in.PublicIP == "" || in.ProviderInstanceID == 0 || len(in.VolumeIDs) != 1 || len(in.VolumeDetails) != 1 ||
			in.VolumeDetails[0].Name != "data" || in.VolumeDetails[0].SizeGB != 10 || in.VolumeDetails[0].MountPoint != "/mnt/data" ||
			in.VolumeDetails[0].ID != in.VolumeIDs[0] || in.VolumeDetails[0].Region != "nyc1" {
			t.Errorf("ready instance %+v", *in)
		}
		if l := ledger[in.ID]; l.Status != "ready" || l.PublicIP != in.PublicIP {
			t.Errorf("instance %d: client sees %s/%s, ledger %s/%s", in.ID, in.Status, in.PublicIP, l.Status, l.PublicIP)
		}
	}

	// GetInstance: wire and decoding against the emulator's own types.
	for _, id := range ids {
		var raw emulator.Instance
		e.rawGet(t, fmt.Sprintf("/api/v1/instances/%d", id), &raw)
		var got talis.Instance
		x := e.one(t, func() { got = must(e.c.GetInstance(ctx, strconv.Itoa(int(id))))(t) })
		e.checkREST(t, x, "GET /api/v1/instances/{id}", fmt.Sprintf("/api/v1/instances/%d", id), nil)
		sameInstance(t, &got, raw)
	}

	// The list, decoded, equals the emulator's list row for row.
	var rawList emulator.ListResponse[emulator.Instance]
	e.rawGet(t, "/api/v1/instances?limit=0", &rawList)
	all := must(e.c.GetInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit}))(t)
	if len(all) != len(rawList.Rows) {
		t.Fatalf("GetInstances: %d rows, emulator %d", len(all), len(rawList.Rows))
	}
	for i := range all {
		sameInstance(t, all[i], rawList.Rows[i])
	}
	// Scanned row by row, the same list.
	var scanned []*talis.Instance
	x = e.one(t, func() {
		if err := e.c.ScanInstances(ctx, &talis.ListOptions{Limit: talis.NoLimit}, func(in *talis.Instance) error {
			scanned = append(scanned, in)
			return nil
		}); err != nil {
			t.Fatalf("ScanInstances: %v", err)
		}
	})
	e.checkREST(t, x, "GET /api/v1/instances", "/api/v1/instances", url.Values{"limit": {"0"}})
	if len(scanned) != len(rawList.Rows) {
		t.Fatalf("ScanInstances: %d rows, emulator %d", len(scanned), len(rawList.Rows))
	}
	for i := range scanned {
		sameInstance(t, scanned[i], rawList.Rows[i])
	}

	status := func(s talis.InstanceStatus) *talis.InstanceStatus { return &s }
	type listCase struct {
		name  string
		opts  *talis.ListOptions
		query url.Values
		want  []uint // nil: check only the count
		count int
	}
	runList := func(t *testing.T, route, path string, call func(*talis.ListOptions) ([]*talis.Instance, error), cases []listCase) {
		t.Helper()
		for _, tc := range cases {
			var rows []*talis.Instance
			x := e.one(t, func() { rows = must(call(tc.opts))(t) })
			e.checkREST(t, x, route, path, tc.query)
			if len(rows) != tc.count {
				t.Errorf("%s %s: %d rows, want %d", path, tc.name, len(rows), tc.count)
			}
			if tc.want != nil && !slices.Equal(sortedIDs(rows), tc.want) {
				t.Errorf("%s %s: ids %v, want %v", path, tc.name, sortedIDs(rows), tc.want)
			}
		}
	}
	v := func(kv ...string) url.Values {
		q := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	runList(t, "GET /api/v1/instances", "/api/v1/instances", func(o *talis.ListOptions) ([]*talis.Instance, error) {
		return e.c.GetInstances(ctx, o)
	}, []listCase{
		{"nil", nil, nil, ids, 3},
		{"zero", &talis.ListOptions{}, nil, ids, 3},
		{"limit", &talis.ListOptions{Limit: 2}, v("limit", "2"), nil, 2},
		{"limit+offset", &talis.ListOptions{Limit: 2, Offset: 2}, v("limit", "2", "offset", "2"), nil, 1},
		{"offset", &talis.ListOptions{Offset: 1}, v("offset", "1"), nil, 2},
		{"NoLimit", &talis.ListOptions{Limit: talis.NoLimit}, v("limit", "0"), ids, 3},
		{"include_deleted", &talis.ListOptions{IncludeDeleted: true}, v("include_deleted", "true"), ids, 3},
		{"status", &talis.ListOptions{InstanceStatus: status(talis.InstanceStatusReady)}, v("status", "ready"), ids, 3},
		{"status equal", &talis.ListOptions{StatusFilter: talis.StatusFilterEqual, InstanceStatus: status(talis.InstanceStatusReady)}, v("status", "ready"), ids, 3},
		{"status pending", &talis.ListOptions{InstanceStatus: status(talis.InstanceStatusPending)}, v("status", "pending"), []uint{}, 0},
	})
	// Two pages cover the list exactly once.
	p1 := must(e.c.GetInstances(ctx, &talis.ListOptions{Limit: 2}))(t)
	p2 := must(e.c.GetInstances(ctx, &talis.ListOptions{Limit: 2, Offset: 2}))(t)
	if got := sortedIDs(append(p1, p2...)); !slices.Equal(got, ids) {
		t.Errorf("limit/offset pages cover %v, want %v", got, ids)
	}
	// "not_equal" cannot be expressed to the server: refused client-side,
	// honoured by AllInstances.
	if ex := e.capture(func() {
		_, err := e.c.GetInstances(ctx, &talis.ListOptions{StatusFilter: talis.StatusFilterNotEqual, InstanceStatus: status(talis.InstanceStatusReady)})
		if !talis.IsInvalid(err) || talis.IsAmbiguous(err) {
			t.Errorf("not_equal filter: %v", err)
		}
	}); len(ex) != 0 {
		t.Errorf("refused call reached the wire: %v", summarize(ex))
	}
	ne := must(e.c.ListAllInstances(ctx, talis.ListOptions{StatusFilter: talis.StatusFilterNotEqual, InstanceStatus: status(talis.InstanceStatusPending)}))(t)
	if !slices.Equal(sortedIDs(ne), ids) {
		t.Errorf("AllInstances not_equal pending = %v", sortedIDs(ne))
	}

	// Terminate the third instance.
	del := talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "web", InstanceIDs: []uint{ids[2]}}
	x = e.one(t, func() { noErr(t, e.c.DeleteInstances(ctx, del)) })
	e.checkREST(t, x, "DELETE /api/v1/instances", "/api/v1/instances", nil)
	var body map[string]json.RawMessage
	if err := json.Unmarshal(x.Body, &body); err != nil {
		t.Fatalf("delete body: %v", err)
	}
	if got := keysOf(body); !slices.Equal(got, []string{"instance_ids", "owner_id", "project_name"}) {
		t.Errorf("delete body keys %v", got)
	}
	jsonIs(t, "instance_ids", body["instance_ids"], []uint{ids[2]})
	jsonIs(t, "owner_id", body["owner_id"], admin)
	jsonIs(t, "project_name", body["project_name"], "web")
	e.waitStatus(t, ids[2:], talis.InstanceStatusTerminated)
	if l := ledgerByID(e.srv)[ids[2]]; l.Status != "terminated" || l.TerminatedAt == nil {
		t.Errorf("ledger after terminate: %+v", l)
	}
	terminated, _ := e.c.GetInstance(ctx, strconv.Itoa(int(ids[2])))
	if terminated.DeletedAt != nil || terminated.PublicIP == "" {
		t.Errorf("terminated row should be kept as is (DeletedAt null): %+v", terminated)
	}

	live := ids[:2]
	runList(t, "GET /api/v1/instances", "/api/v1/instances", func(o *talis.ListOptions) ([]*talis.Instance, error) {
		return e.c.GetInstances(ctx, o)
	}, []listCase{
		{"hides terminated", nil, nil, live, 2},
		{"include_deleted", &talis.ListOptions{IncludeDeleted: true}, v("include_deleted", "true"), ids, 3},
		{"status terminated", &talis.ListOptions{InstanceStatus: status(talis.InstanceStatusTerminated)}, v("status", "terminated"), ids[2:], 1},
		{"status terminated+include_deleted", &talis.ListOptions{IncludeDeleted: true, InstanceStatus: status(talis.InstanceStatusTerminated)},
			v("status", "terminated", "include_deleted", "true"), ids[2:], 1},
	})
	// all-metadata: same rows, status ignored by the server.
	runList(t, "GET /api/v1/instances/all-metadata", "/api/v1/instances/all-metadata", func(o *talis.ListOptions) ([]*talis.Instance, error) {
		return e.c.GetInstancesMetadata(ctx, o)
	}, []listCase{
		{"nil", nil, nil, live, 2},
		{"include_deleted", &talis.ListOptions{IncludeDeleted: true}, v("include_deleted", "true"), ids, 3},
		{"limit", &talis.ListOptions{Limit: 1}, v("limit", "1"), nil, 1},
		{"status ignored", &talis.ListOptions{InstanceStatus: status(talis.InstanceStatusTerminated)}, v("status", "terminated"), live, 2},
	})
	runList(t, "GET /api/v1/admin/instances", "/api/v1/admin/instances", func(*talis.ListOptions) ([]*talis.Instance, error) {
		return e.c.AdminGetInstances(ctx)
	}, []listCase{{"admin", nil, v("limit", "0"), live, 2}})
	runList(t, "GET /api/v1/admin/instances/all-metadata", "/api/v1/admin/instances/all-metadata", func(*talis.ListOptions) ([]*talis.Instance, error) {
		return e.c.AdminGetInstancesMetadata(ctx)
	}, []listCase{{"admin metadata", nil, v("limit", "0"), live, 2}})

	// Public IPs: one entry per row, no ids.
	ipOf := map[uint]string{}
	for _, in := range ready {
		ipOf[in.ID] = in.PublicIP
	}
	type ipCase struct {
		opts  *talis.ListOptions
		query url.Values
		want  []string
		pag   talis.Pagination
	}
	for _, tc := range []ipCase{
		{nil, nil, []string{ipOf[ids[0]], ipOf[ids[1]]}, talis.Pagination{Total: 2, Page: 1, Limit: 100}},
		{&talis.ListOptions{IncludeDeleted: true}, v("include_deleted", "true"), []string{ipOf[ids[0]], ipOf[ids[1]], ipOf[ids[2]]}, talis.Pagination{Total: 3, Page: 1, Limit: 100}},
		{&talis.ListOptions{Limit: 1, Offset: 1}, v("limit", "1", "offset", "1"), nil, talis.Pagination{Total: 1, Page: 1, Limit: 1, Offset: 1}},
		{&talis.ListOptions{Limit: talis.NoLimit}, v("limit", "0"), []string{ipOf[ids[0]], ipOf[ids[1]]}, talis.Pagination{Total: 2, Page: 1, Limit: 0}},
	} {
		var r talis.PublicIPsResponse
		x := e.one(t, func() { r = must(e.c.GetInstancesPublicIPs(ctx, tc.opts))(t) })
		e.checkREST(t, x, "GET /api/v1/instances/public-ips", "/api/v1/instances/public-ips", tc.query)
		var got []string
		for _, p := range r.PublicIPs {
			got = append(got, p.PublicIP)
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if (tc.want != nil && !slices.Equal(got, want)) || r.Pagination != tc.pag {
			t.Errorf("public IPs %v: %v %+v, want %v %+v", tc.query, got, r.Pagination, want, tc.pag)
		}
	}
	var rawIPs emulator.PublicIPsResponse
	e.rawGet(t, "/api/v1/instances/public-ips?include_deleted=true", &rawIPs)
	gotIPs := must(e.c.GetInstancesPublicIPs(ctx, &talis.ListOptions{IncludeDeleted: true}))(t)
	for i := range rawIPs.PublicIPs {
		if gotIPs.PublicIPs[i].PublicIP != rawIPs.PublicIPs[i].PublicIP {
			t.Errorf("public IP %d: %q, emulator %q", i, gotIPs.PublicIPs[i].PublicIP, rawIPs.PublicIPs[i].PublicIP)
		}
	}

	// project.listInstances includes the terminated row.
	var pi []*talis.Instance
	x = e.one(t, func() {
		pi = must(e.c.ListProjectInstances(ctx, talis.ProjectListInstancesParams{Name: "web", OwnerID: admin}))(t)
	})
	params := e.checkRPC(t, x, "project.listInstances")
	if _, sent := params["page"]; sent {
		t.Errorf("page 0 should be omitted")
	}
	if !slices.Equal(sortedIDs(pi), ids) {
		t.Errorf("ListProjectInstances = %v, want %v", sortedIDs(pi), ids)
	}

	// Terminate the rest (plus an already terminated id and one outside the
	// project, both ignored), then nothing is listed.
	noErr(t, e.c.DeleteInstances(ctx, talis.DeleteInstancesRequest{OwnerID: admin, ProjectName: "web", InstanceIDs: []uint{ids[0], ids[1], ids[2], 9999}}))
	e.waitStatus(t, ids, talis.InstanceStatusTerminated)
	if rows := must(e.c.GetInstances(ctx, nil))(t); len(rows) != 0 {
		t.Errorf("after terminating everything GetInstances = %v", sortedIDs(rows))
	}
	for _, l := range e.srv.Ledger() {
		if l.Status != "terminated" || l.TerminatedAt == nil {
			t.Errorf("ledger entry not terminated: %+v", l)
		}
	}
}
