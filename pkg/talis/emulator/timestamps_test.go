/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"testing"
	"time"
)

// Upstream's create answer carries Go's nanoseconds; later reads come
// from PostgreSQL, truncated to microseconds.
func TestCreateResponseTimestampsHaveNanoseconds(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	subMicro := 0
	for i := 0; i < 3; i++ { // one answer in 1000 falls on a whole microsecond
		in := create(t, base, instReq(admin, "p1", "t"+itoa(uint(i)), 1, ""))[0]
		read := getInst(t, base, in.ID)
		for _, pair := range [][2]time.Time{{in.CreatedAtReal, read.CreatedAtReal}, {in.UpdatedAt, read.UpdatedAt}} {
			created, later := pair[0], pair[1]
			if later.Nanosecond()%1000 != 0 || !created.Truncate(time.Microsecond).Equal(later) {
				t.Fatalf("create answered %v, a later read %v: want the read to be the answer truncated to µs", created, later)
			}
			if created.Nanosecond()%1000 != 0 {
				subMicro++
			}
		}
	}
	if subMicro == 0 {
		t.Fatal("no create answer carried nanoseconds")
	}
}

// project.create and sshkey.create answer with the rows they inserted,
// like the instance create: nanoseconds, microseconds on later reads.
func TestRPCCreateAnswersHaveNanoseconds(t *testing.T) {
	_, base := start(t, Config{Delays: frozen})
	type stamps struct {
		UpdatedAt time.Time `json:"UpdatedAt"`
		KeyAt     time.Time `json:"CreatedAt"`
		ProjAt    time.Time `json:"created_at"`
	}
	subMicro := 0
	check := func(what string, answered, read stamps, created func(stamps) time.Time) {
		t.Helper()
		for _, pair := range [][2]time.Time{{created(answered), created(read)}, {answered.UpdatedAt, read.UpdatedAt}} {
			if pair[1].Nanosecond()%1000 != 0 || !pair[0].Truncate(time.Microsecond).Equal(pair[1]) {
				t.Fatalf("%s answered %v, a later read %v: want the read to be the answer truncated to µs", what, pair[0], pair[1])
			}
			if pair[0].Nanosecond()%1000 != 0 {
				subMicro++
			}
		}
	}
	for i := uint(0); i < 3; i++ { // one answer in 1000 falls on a whole microsecond
		name := "t" + itoa(i)
		answered := decode[struct{ Data stamps }](t, rpc(t, base, "project.create", map[string]any{"name": name, "owner_id": 7}).body).Data
		read := decode[struct{ Data stamps }](t, rpc(t, base, "project.get", map[string]any{"name": name, "owner_id": 7}).body).Data
		check("project.create", answered, read, func(s stamps) time.Time { return s.ProjAt })

		answered = decode[struct{ Data stamps }](t, rpc(t, base, "sshkey.create", map[string]any{"name": name, "public_key": "ssh-ed25519 AAAA k", "owner_id": 7}).body).Data
		keys := decode[struct{ Data []stamps }](t, rpc(t, base, "sshkey.list", map[string]any{"owner_id": 7}).body).Data
		check("sshkey.create", answered, keys[i], func(s stamps) time.Time { return s.KeyAt })
	}
	if subMicro == 0 {
		t.Fatal("no create answer carried nanoseconds")
	}
}
