package talis

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seeds beyond testdata/fuzz: every captured sample of its kind.
func addSeeds(f *testing.F, files ...string) {
	for _, name := range files {
		f.Add(readTestdata(f, name))
	}
	f.Add([]byte(`null`))
	f.Add([]byte(`{}`))
}

// roundTrip re-encodes v and decodes it again; the wire types must survive.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode: %v", err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("re-decode %s: %v", b, err)
	}
	return out
}

func FuzzDecodeInstance(f *testing.F) {
	addSeeds(f, "instance.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := decodeInstance(b)
		if err != nil {
			return
		}
		again := roundTrip(t, in)
		if again.ID != in.ID || again.Status != in.Status || again.Name != in.Name || !again.CreatedAt.Equal(in.CreatedAt) {
			t.Fatalf("round trip changed %+v into %+v", in, again)
		}
	})
}

func FuzzDecodeInstanceList(f *testing.F) {
	addSeeds(f, "instance_list.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := decodeInstanceList(b)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r == nil {
				t.Fatal("nil row")
			}
		}
		roundTrip(t, rows)
	})
}

func FuzzDecodePublicIPs(f *testing.F) {
	addSeeds(f, "public_ips.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodePublicIPs(b)
		if err != nil {
			return
		}
		if again := roundTrip(t, r); len(again.PublicIPs) != len(r.PublicIPs) || again.Pagination != r.Pagination {
			t.Fatalf("round trip changed %+v", r)
		}
	})
}

func FuzzDecodeProject(f *testing.F) {
	addSeeds(f, "rpc_project_create.json")
	f.Add([]byte(`{"data":{"name":"x","owner_id":5},"success":true}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodeRPCData[Project](b)
		if err != nil {
			return
		}
		if p.OwnerID != 0 {
			t.Fatal("owner_id must never be read from the wire")
		}
		out, _ := json.Marshal(p)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["owner_id"]; ok {
			t.Fatal("owner_id must never be written")
		}
	})
}

func FuzzDecodeTaskListSlug(f *testing.F) {
	addSeeds(f, "task_list_slug.json", "slug_delete_ok.json", "slug_error_invalid.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		tasks, err := decodeTaskListSlug(b)
		if err != nil {
			if tasks != nil {
				t.Fatal("rows returned with an error")
			}
			return
		}
		for _, task := range tasks {
			if task == nil {
				t.Fatal("nil task")
			}
			again := roundTrip(t, task)
			if again.ID != task.ID || again.Status != task.Status || again.Action != task.Action {
				t.Fatalf("round trip changed %+v", task)
			}
		}
	})
}

func FuzzDecodeUserResponse(f *testing.F) {
	addSeeds(f, "rpc_user_list.json", "rpc_user_single.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRPCData[UserResponse](b)
		if err != nil {
			return
		}
		if again := roundTrip(t, r); len(again.Users) != len(r.Users) || (again.Pagination == nil) != (r.Pagination == nil) {
			t.Fatalf("round trip changed %+v", r)
		}
	})
}

func FuzzDecodeRPCResponse(f *testing.F) {
	addSeeds(f, "rpc_delete_ok.json", "rpc_error_duplicate_pg.json", "rpc_error_unknown_task_method.json", "rpc_sshkey_list.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := decodeRPCResponse(b)
		if err != nil {
			return
		}
		if len(env.Data) > 0 && !json.Valid(env.Data) {
			t.Fatal("invalid raw data kept")
		}
		roundTrip(t, env)
	})
}

func FuzzDecodeCreateResponse(f *testing.F) {
	addSeeds(f, "instance_create_response.json", "slug_error_project_not_found.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := decodeCreateResponse(b)
		if err != nil {
			return
		}
		var s SlugResponse
		if json.Unmarshal(b, &s) != nil || s.Slug != SlugSuccess {
			t.Fatal("accepted a body that is not a success slug")
		}
		for _, r := range rows {
			if r == nil {
				t.Fatal("nil row")
			}
		}
	})
}

func FuzzParseErrorBody(f *testing.F) {
	for _, name := range []string{"rpc_error_validation.json", "rpc_error_duplicate_pg.json", "slug_error_invalid.json",
		"plain_error_instance_not_found.json", "gateway_error.json", "plain_error_route.json"} {
		f.Add(500, readTestdata(f, name))
	}
	f.Add(404, []byte("Cannot GET /x"))
	f.Add(429, []byte(`{"message":"`+testKey+`"}`))
	f.Add(200, []byte(`{"error":{"code":"x","message":5},"success":false}`))
	f.Fuzz(func(t *testing.T, status int, b []byte) {
		e := newAPIError(status, nil, b, testKey, "M", "RPC x", true)
		msg := e.Error()
		if !strings.HasPrefix(msg, "talis: RPC x: ") || !utf8.ValidString(msg) {
			t.Fatalf("bad message %q", msg)
		}
		if strings.Contains(msg, testKey) {
			t.Fatalf("key leaked: %q", msg)
		}
		if len(e.Message) > maxErrorText+len("…") || len(e.Detail) > maxErrorText+len("…") ||
			(e.Message == "" && http.StatusText(e.StatusCode) != "") {
			t.Fatalf("message bounds: %d/%d %q", len(e.Message), len(e.Detail), e.Message)
		}
		if status >= 400 && e.StatusCode != status {
			t.Fatalf("status changed from %d to %d", status, e.StatusCode)
		}
		// Classifiers must not panic, and a definite miss is never ambiguous.
		if IsNotFound(e) && IsAmbiguous(e) {
			t.Fatal("not-found cannot be ambiguous")
		}
		_, _ = IsAlreadyExists(e), IsInvalid(e)
		_, _ = IsRetryable(e), IsUnauthorized(e)
	})
}
