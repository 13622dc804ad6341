/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"slices"
	"testing"
)

// pageAll pages through the instance list 5 at a time; after the first
// page it updates the rows already read, as a worker would meanwhile.
func pageAll(t *testing.T, s *Server, base string, updateRead bool) []uint {
	t.Helper()
	var seen []uint
	for off := 0; ; off += 5 {
		r := do(t, "GET", base+"/api/v1/instances?limit=5&offset="+itoa(uint(off)), "")
		rows := decode[struct{ Rows []wireInst }](t, r.body).Rows
		for _, in := range rows {
			seen = append(seen, in.ID)
		}
		if off == 0 && updateRead {
			s.st.mu.Lock()
			for _, id := range seen {
				s.st.setStatus(uint64(id), stCreated, nowNano())
			}
			s.st.mu.Unlock()
		}
		if len(rows) < 5 {
			return seen
		}
	}
}

func listIDs(t *testing.T, base string) []uint {
	t.Helper()
	var ids []uint
	for _, in := range decode[struct{ Rows []wireInst }](t, do(t, "GET", base+"/api/v1/instances?limit=0", "").body).Rows {
		ids = append(ids, in.ID)
	}
	return ids
}

func countIDs(ids []uint) (missed, repeated int) {
	n := map[uint]int{}
	for _, id := range ids {
		n[id]++
	}
	for id := uint(1); id <= 20; id++ {
		switch {
		case n[id] == 0:
			missed++
		case n[id] > 1:
			repeated++
		}
	}
	return missed, repeated
}

// Upstream pages without ORDER BY: rows updated during a paging move in
// heap order, so the paging misses and repeats rows.
func TestListOrderShiftsWhileRowsChange(t *testing.T) {
	s, base := start(t, Config{Delays: frozen})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "n", 20, ""))
	if a, b := listIDs(t, base), listIDs(t, base); !slices.Equal(a, b) || len(a) != 20 {
		t.Fatalf("order changed with no row changed: %v then %v", a, b)
	}
	missed, repeated := countIDs(pageAll(t, s, base, true))
	if missed == 0 || repeated == 0 {
		t.Fatalf("paging while rows changed: %d missed, %d repeated; want both", missed, repeated)
	}
	if a, b := listIDs(t, base), listIDs(t, base); !slices.Equal(a, b) || len(a) != 20 || slices.IsSorted(a) {
		t.Fatalf("after the changes: %v then %v, want one moved, stable order", a, b)
	}
}

func TestStableListOrder(t *testing.T) {
	s, base := start(t, Config{Delays: frozen, StableListOrder: true})
	mkProject(t, base, admin, "p1")
	create(t, base, instReq(admin, "p1", "n", 20, ""))
	if missed, repeated := countIDs(pageAll(t, s, base, true)); missed != 0 || repeated != 0 {
		t.Fatalf("stable order: %d missed, %d repeated", missed, repeated)
	}
	if ids := listIDs(t, base); !slices.IsSorted(ids) || len(ids) != 20 {
		t.Fatal(ids)
	}
}
