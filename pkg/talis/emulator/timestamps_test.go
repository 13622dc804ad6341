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
