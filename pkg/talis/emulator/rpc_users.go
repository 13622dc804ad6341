/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"net/http"
	"net/mail"
)

// CreateUserParams are user.create's params (role is an int).
type CreateUserParams struct {
	Username     string   `json:"username"`
	Email        string   `json:"email"`
	Role         UserRole `json:"role"`
	PublicSSHKey string   `json:"public_ssh_key"`
}

// UserGetParams are user.get's params; page is never validated.
type UserGetParams struct {
	Username string `json:"username,omitempty"`
	Page     int    `json:"page,omitempty"`
}

// UserGetByIDParams are user.get.id's params.
type UserGetByIDParams struct {
	ID uint `json:"id"`
}

// DeleteUserParams are user.delete's params.
type DeleteUserParams struct {
	ID uint `json:"id"`
}

const (
	msgUserIDRequired  = "user id is required"
	msgUserNotFoundID  = "User not found with provided id"
	msgUserNotFoundUsr = "User not found with provided username"
)

// liveUser returns a non-deleted user by id (copy).
func (st *store) liveUser(id uint64) (user, bool) {
	if id == 0 || id > uint64(len(st.users)) || st.users[id-1].deletedAt != 0 {
		return user{}, false
	}
	return st.users[id-1], true
}

func (s *Server) userCreate(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[CreateUserParams](w, req)
	if !ok {
		return
	}
	if p.Username == "" {
		invalid(w, req, "username is required")
		return
	}
	if p.Email != "" {
		if _, err := mail.ParseAddress(p.Email); err != nil {
			invalid(w, req, "invalid user email format")
			return
		}
	}
	st := s.st
	st.mu.Lock()
	if id, dup := st.usernames[p.Username]; dup {
		// The handler rejects live names; the DB index also covers
		// soft-deleted users.
		detail := "username already exists"
		if st.users[id-1].deletedAt != 0 {
			detail = s.uniqueViolation("uni_users_username", "users.username")
		}
		st.mu.Unlock()
		writeRPCError(w, http.StatusInternalServerError, "Failed to create user", "failed to create user\n"+detail, req.ID)
		return
	}
	st.users = append(st.users, user{username: p.Username, email: p.Email, role: int(p.Role), sshKey: p.PublicSSHKey})
	id := uint64(len(st.users))
	st.usernames[p.Username] = id
	st.mu.Unlock()
	writeRPCOK(w, CreateUserResponse{ID: uint(id)}, req.ID)
}

func (s *Server) userGet(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[UserGetParams](w, req)
	if !ok {
		return
	}
	st := s.st
	if p.Username != "" {
		st.mu.RLock()
		id := st.usernames[p.Username]
		u, found := st.liveUser(id)
		st.mu.RUnlock()
		if !found {
			writeRPCError(w, http.StatusNotFound, msgUserNotFoundUsr, nil, req.ID)
			return
		}
		writeRPCOK(w, UserResponse{User: renderUser(id, &u)}, req.ID)
		return
	}
	page, offset := rpcPage(p.Page)
	var users []User
	st.mu.RLock()
	var ids []uint64
	for i := range st.users {
		if st.users[i].deletedAt == 0 {
			ids = append(ids, uint64(i+1))
		}
	}
	for _, id := range pageOf(ids, offset) {
		users = append(users, renderUser(id, &st.users[id-1]))
	}
	st.mu.RUnlock()
	// List mode: zero "user" object always present, limit always 0.
	writeRPCOK(w, UserResponse{Users: users, Pagination: &Pagination{
		Total: len(users), Page: page, Limit: 0, Offset: offset,
	}}, req.ID)
}

func (s *Server) userGetByID(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[UserGetByIDParams](w, req)
	if !ok {
		return
	}
	if p.ID == 0 {
		invalid(w, req, msgUserIDRequired)
		return
	}
	s.st.mu.RLock()
	u, found := s.st.liveUser(uint64(p.ID))
	s.st.mu.RUnlock()
	if !found {
		writeRPCError(w, http.StatusNotFound, msgUserNotFoundID, nil, req.ID)
		return
	}
	writeRPCOK(w, renderUser(uint64(p.ID), &u), req.ID)
}

func (s *Server) userDelete(w http.ResponseWriter, req *RPCRequest) {
	p, ok := parseParams[DeleteUserParams](w, req)
	if !ok {
		return
	}
	if p.ID == 0 {
		invalid(w, req, msgUserIDRequired)
		return
	}
	st := s.st
	st.mu.Lock()
	_, found := st.liveUser(uint64(p.ID))
	if found {
		st.users[p.ID-1].deletedAt = nowNano()
	}
	st.mu.Unlock()
	if !found {
		writeRPCError(w, http.StatusNotFound, msgUserNotFoundID, nil, req.ID)
		return
	}
	writeRPCOK(w, nil, req.ID)
}
