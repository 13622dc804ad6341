package contract

import (
	"slices"
	"testing"

	"github.com/talis-operator/talis-operator/pkg/talis"
	"github.com/talis-operator/talis-operator/pkg/talis/emulator"
)

func TestUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, emulator.Config{}, nil)
	ctx := e.ctx

	// user.create: role is an int, the result only an id.
	var alice talis.CreateUserResponse
	x := e.one(t, func() {
		alice = must(e.c.CreateUser(ctx, talis.CreateUserParams{Username: "alice", Email: "alice@example.com",
			Role: talis.UserRoleAdmin, PublicSSHKey: "ssh-ed25519 AAAA alice"}))(t)
	})
	params := e.checkRPC(t, x, "user.create")
	jsonIs(t, "role", params["role"], 1)
	jsonIs(t, "username", params["username"], "alice")
	jsonIs(t, "email", params["email"], "alice@example.com")
	jsonIs(t, "public_ssh_key", params["public_ssh_key"], "ssh-ed25519 AAAA alice")
	if alice.ID == 0 {
		t.Fatal("user.create returned id 0")
	}
	bob := must(e.c.CreateUser(ctx, talis.CreateUserParams{Username: "bob"}))(t)

	// user.get.id
	var u talis.User
	x = e.one(t, func() { u = must(e.c.GetUserByID(ctx, talis.UserGetByIDParams{ID: alice.ID}))(t) })
	params = e.checkRPC(t, x, "user.get.id")
	jsonIs(t, "id", params["id"], alice.ID)
	var rawU emulator.User
	e.rawRPC(t, "user.get.id", map[string]any{"id": alice.ID}, &rawU)
	sameUser(t, &u, rawU)
	if u.Username != "alice" || u.Role != talis.UserRoleAdmin || u.Email != "alice@example.com" || u.CreatedAt != "" {
		t.Errorf("user = %+v", u)
	}

	// user.get by name
	var r talis.UserResponse
	x = e.one(t, func() { r = must(e.c.GetUsers(ctx, talis.UserGetParams{Username: "alice"}))(t) })
	if got := keysOf(e.checkRPC(t, x, "user.get")); !slices.Equal(got, []string{"username"}) {
		t.Errorf("user.get params %v", got)
	}
	if r.User.ID != alice.ID || r.Users != nil || r.Pagination != nil {
		t.Errorf("user.get by name = %+v", r)
	}

	// user.get list mode: a zero "user", limit 0.
	x = e.one(t, func() { r = must(e.c.GetUsers(ctx, talis.UserGetParams{}))(t) })
	if got := keysOf(e.checkRPC(t, x, "user.get")); len(got) != 0 {
		t.Errorf("list-mode user.get params %v, want {}", got)
	}
	var rawR emulator.UserResponse
	e.rawRPC(t, "user.get", map[string]any{}, &rawR)
	if r.User.ID != 0 || r.Pagination == nil || *r.Pagination != (talis.Pagination{Total: 2, Page: 1, Limit: 0, Offset: 0}) ||
		len(r.Users) != 2 || len(rawR.Users) != 2 {
		t.Fatalf("list mode = %+v", r)
	}
	for i := range r.Users {
		sameUser(t, &r.Users[i], rawR.Users[i])
	}
	x = e.one(t, func() { r = must(e.c.GetUsers(ctx, talis.UserGetParams{Page: 2}))(t) })
	jsonIs(t, "page", e.checkRPC(t, x, "user.get")["page"], 2)
	if len(r.Users) != 0 || r.Pagination == nil || r.Pagination.Page != 2 || r.Pagination.Offset != 50 {
		t.Errorf("page 2 = %+v", r)
	}

	// user.delete, then every read says not found; never retried.
	x = e.one(t, func() { noErr(t, e.c.DeleteUser(ctx, talis.DeleteUserParams{ID: bob.ID})) })
	jsonIs(t, "id", e.checkRPC(t, x, "user.delete")["id"], bob.ID)
	_, err := e.c.GetUserByID(ctx, talis.UserGetByIDParams{ID: bob.ID})
	if ae := wantNotFound(t, err, 404); ae.Message != "User not found with provided id" {
		t.Errorf("get deleted user: %v", err)
	}
	_, err = e.c.GetUsers(ctx, talis.UserGetParams{Username: "bob"})
	if ae := wantNotFound(t, err, 404); ae.Message != "User not found with provided username" {
		t.Errorf("get deleted user by name: %v", err)
	}
	e.one(t, func() {
		err := e.c.DeleteUser(ctx, talis.DeleteUserParams{ID: bob.ID})
		wantNotFound(t, err, 404)
	})
	if l := must(e.c.ListAllUsers(ctx))(t); len(l) != 1 || l[0].ID != alice.ID {
		t.Errorf("users after delete: %v", l)
	}

	// Usernames stay reserved, live or deleted.
	for _, name := range []string{"alice", "bob"} {
		e.one(t, func() {
			_, err := e.c.CreateUser(ctx, talis.CreateUserParams{Username: name})
			wantAlreadyExists(t, err, 500)
		})
	}

	// Validation.
	_, err = e.c.CreateUser(ctx, talis.CreateUserParams{Email: "x@example.com"})
	wantInvalid(t, err, 400, "username is required")
	_, err = e.c.CreateUser(ctx, talis.CreateUserParams{Username: "carol", Email: "not-an-email"})
	wantInvalid(t, err, 400, "invalid user email format")
	_, err = e.c.GetUserByID(ctx, talis.UserGetByIDParams{})
	wantInvalid(t, err, 400, "user id is required")
	wantInvalid(t, e.c.DeleteUser(ctx, talis.DeleteUserParams{}), 400, "user id is required")
}
