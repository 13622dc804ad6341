package talis

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// rpcPager serves n rows for any RPC list method, RPCPageSize per page.
func rpcPager(t *testing.T, n int, rowJSON func(id int) string, usersMode bool) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		var req struct {
			Params struct {
				Page int `json:"page"`
			} `json:"params"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		page := max(req.Params.Page, 1)
		var rows []string
		for id := (page-1)*RPCPageSize + 1; id <= min(page*RPCPageSize, n); id++ {
			rows = append(rows, rowJSON(id))
		}
		list := "[" + strings.Join(rows, ",") + "]"
		if usersMode {
			users := ""
			if len(rows) > 0 {
				users = `,"users":` + list
			}
			fmt.Fprintf(w, `{"data":{"user":{"ID":0}%s,"pagination":{"total":%d,"page":%d,"limit":0,"offset":0}},"success":true}`, users, len(rows), page)
			return
		}
		fmt.Fprintf(w, `{"data":{"rows":%s,"pagination":{"total":%d,"page":%d,"limit":50,"offset":0}},"success":true}`, list, len(rows), page)
	})
}

func idRow(id int) string { return `{"ID":` + strconv.Itoa(id) + `}` }

func TestAllProjectsPagesUntilShortPage(t *testing.T) {
	for _, n := range []int{0, 49, 50, 100, 120} {
		srv := rpcPager(t, n, idRow, false)
		c := newTestClient(t, srv.URL)
		got, err := c.ListAllProjects(ctxT(t), 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n {
			t.Errorf("n=%d: got %d projects", n, len(got))
		}
		for i, p := range got {
			if p.ID != uint(i+1) || p.OwnerID != 3 {
				t.Fatalf("n=%d: row %d = %+v", n, i, p)
			}
		}
		if want := n/RPCPageSize + 1; srv.count() != want {
			t.Errorf("n=%d: %d requests, want %d", n, srv.count(), want)
		}
	}
}

func TestAllRPCIteratorsSendPages(t *testing.T) {
	srv := rpcPager(t, 60, idRow, false)
	c := newTestClient(t, srv.URL)
	insts, err := c.ListAllProjectInstances(ctxT(t), "p", 3)
	if err != nil || len(insts) != 60 {
		t.Fatalf("instances: %d %v", len(insts), err)
	}
	jsonEqual(t, srv.requests()[1].Body, `{"method":"project.listInstances","params":{"name":"p","page":2,"owner_id":3}}`)

	srv = rpcPager(t, 60, idRow, false)
	tasks, err := newTestClient(t, srv.URL).ListAllTasks(ctxT(t), "p", AdminOwnerID)
	if err != nil || len(tasks) != 60 {
		t.Fatalf("tasks: %d %v", len(tasks), err)
	}
	jsonEqual(t, srv.requests()[1].Body, `{"method":"task.list","params":{"projectName":"p","owner_id":4294967295,"page":2}}`)

	srv = rpcPager(t, 100, idRow, true)
	users, err := newTestClient(t, srv.URL).ListAllUsers(ctxT(t))
	if err != nil || len(users) != 100 || srv.count() != 3 {
		t.Fatalf("users: %d %v (%d requests)", len(users), err, srv.count())
	}
	jsonEqual(t, srv.requests()[2].Body, `{"method":"user.get","params":{"page":3}}`)
}

func TestIteratorStopsEarly(t *testing.T) {
	srv := rpcPager(t, 500, idRow, false)
	c := newTestClient(t, srv.URL)
	seen := 0
	for p, err := range c.AllProjects(ctxT(t), 1) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if p.ID == 55 {
			break
		}
	}
	if seen != 55 || srv.count() != 2 {
		t.Errorf("seen %d rows with %d requests", seen, srv.count())
	}
}

func TestIteratorDetectsServerIgnoringPages(t *testing.T) {
	var rows []string
	for i := 1; i <= RPCPageSize; i++ {
		rows = append(rows, idRow(i))
	}
	srv := newRecorder(t, fixed(200, `{"data":{"rows":[`+strings.Join(rows, ",")+`]},"success":true}`))
	got, err := newTestClient(t, srv.URL).ListAllProjects(ctxT(t), 1)
	if !errors.Is(err, errPagingStalled) || len(got) != RPCPageSize {
		t.Errorf("got %d rows, err %v", len(got), err)
	}
}

func TestIteratorPropagatesErrors(t *testing.T) {
	srv := newRecorder(t, fixed(404, string(mustRead("rpc_error_not_found.json"))))
	_, err := newTestClient(t, srv.URL).ListAllTasks(ctxT(t), "nope", 1)
	if !IsNotFound(err) {
		t.Errorf("got %v", err)
	}
}

// restPager serves n instances honouring limit (0 = all) and offset.
func restPager(t *testing.T, n int, status func(id int) string) *recorder {
	return newRecorder(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		q := r.URL.Query()
		limit := DefaultPageSize
		if v := q.Get("limit"); v != "" {
			limit, _ = strconv.Atoi(v)
		}
		offset, _ := strconv.Atoi(q.Get("offset"))
		end := n
		if limit > 0 {
			end = min(n, offset+limit)
		}
		var rows []string
		for id := offset + 1; id <= end; id++ {
			rows = append(rows, fmt.Sprintf(`{"ID":%d,"status":%q}`, id, status(id)))
		}
		fmt.Fprintf(w, `{"rows":[%s],"pagination":{"total":%d,"page":1,"limit":%d,"offset":%d}}`, strings.Join(rows, ","), len(rows), limit, offset)
	})
}

func TestAllInstancesPaging(t *testing.T) {
	ready := func(int) string { return "ready" }
	srv := restPager(t, 250, ready)
	c := newTestClient(t, srv.URL)
	got, err := c.ListAllInstances(ctxT(t), ListOptions{IncludeDeleted: true})
	if err != nil || len(got) != 250 {
		t.Fatalf("got %d, %v", len(got), err)
	}
	reqs := srv.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		wantOffset := []string{"", "100", "200"}[i]
		if r.Query.Get("limit") != "100" || r.Query.Get("offset") != wantOffset || r.Query.Get("include_deleted") != "true" {
			t.Errorf("request %d query %v", i, r.Query)
		}
	}

	srv = restPager(t, 250, ready)
	got, err = newTestClient(t, srv.URL).ListAllInstances(ctxT(t), ListOptions{Limit: NoLimit})
	if err != nil || len(got) != 250 || srv.count() != 1 || srv.requests()[0].Query.Get("limit") != "0" {
		t.Errorf("unpaged: %d rows, %v, %d requests", len(got), err, srv.count())
	}

	srv = restPager(t, 30, ready)
	got, err = newTestClient(t, srv.URL).ListAllInstances(ctxT(t), ListOptions{Limit: 10, Offset: 5})
	if err != nil || len(got) != 25 || got[0].ID != 6 || srv.count() != 3 {
		t.Errorf("offset start: %d rows, %v, %d requests", len(got), err, srv.count())
	}
}

func TestAllInstancesNotEqualFilter(t *testing.T) {
	srv := restPager(t, 30, func(id int) string {
		if id%3 == 0 {
			return "terminated"
		}
		return "ready"
	})
	got, err := newTestClient(t, srv.URL).ListAllInstances(ctxT(t), ListOptions{Limit: 10, IncludeDeleted: true,
		StatusFilter: StatusFilterNotEqual, InstanceStatus: ptrStatus(InstanceStatusTerminated)})
	if err != nil || len(got) != 20 {
		t.Fatalf("got %d, %v", len(got), err)
	}
	for _, r := range srv.requests() {
		if r.Query.Has("status") {
			t.Errorf("status must not be sent for not_equal: %v", r.Query)
		}
	}
	if srv.count() != 4 {
		t.Errorf("%d requests, want 4 (pages of 10 over 30 rows)", srv.count())
	}
}
