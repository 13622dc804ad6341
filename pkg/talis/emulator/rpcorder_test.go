/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"slices"
	"testing"
)

// rpcPageIDs reads one page (50 rows) of task.list or project.listInstances.
func rpcPageIDs(t *testing.T, base, method string, page int) []uint {
	t.Helper()
	params := map[string]any{"name": "p1", "projectName": "p1", "owner_id": admin, "page": page}
	var ids []uint
	for _, row := range decode[struct {
		Data struct{ Rows []struct{ ID uint } }
	}](t, rpc(t, base, method, params).body).Data.Rows {
		ids = append(ids, row.ID)
	}
	return ids
}

// pageRPC pages through 60 rows; after the first page it updates the rows
// read so far, as a worker would meanwhile.
func pageRPC(t *testing.T, s *Server, base, method string) []uint {
	t.Helper()
	seen := rpcPageIDs(t, base, method, 1)
	for _, id := range seen {
		if method == "task.list" {
			rpc(t, base, "task.terminate", map[string]any{"task_id": id, "owner_id": admin})
			continue
		}
		s.st.mu.Lock()
		s.st.setStatus(uint64(id), stCreated, nowNano())
		s.st.mu.Unlock()
	}
	return append(seen, rpcPageIDs(t, base, method, 2)...)
}

func missedRepeated(ids []uint, n uint) (missed, repeated int) {
	count := map[uint]int{}
	for _, id := range ids {
		count[id]++
	}
	for id := uint(1); id <= n; id++ {
		switch {
		case count[id] == 0:
			missed++
		case count[id] > 1:
			repeated++
		}
	}
	return missed, repeated
}

// task.list and project.listInstances page without ORDER BY too: measured
// upstream, task.list returned ids [2,1,4,3,5] and listInstances missed
// rows while instances changed state.
func TestRPCListOrderShiftsWhileRowsChange(t *testing.T) {
	for _, method := range []string{"task.list", "project.listInstances"} {
		t.Run(method, func(t *testing.T) {
			s, base := start(t, Config{Delays: frozen})
			mkProject(t, base, admin, "p1")
			create(t, base, instReq(admin, "p1", "n", 60, ""))
			if a, b := rpcPageIDs(t, base, method, 1), rpcPageIDs(t, base, method, 1); !slices.Equal(a, b) || !slices.IsSorted(a) {
				t.Fatalf("order changed with no row changed: %v then %v", a, b)
			}
			if missed, repeated := missedRepeated(pageRPC(t, s, base, method), 60); missed == 0 || repeated == 0 {
				t.Fatalf("paging while rows changed: %d missed, %d repeated; want both", missed, repeated)
			}
			a := append(rpcPageIDs(t, base, method, 1), rpcPageIDs(t, base, method, 2)...)
			b := append(rpcPageIDs(t, base, method, 1), rpcPageIDs(t, base, method, 2)...)
			if !slices.Equal(a, b) || len(a) != 60 || slices.IsSorted(a) {
				t.Fatalf("after the changes: %v then %v, want rows moved, stable order", a, b)
			}
		})
	}
}

func TestRPCStableListOrder(t *testing.T) {
	for _, method := range []string{"task.list", "project.listInstances"} {
		t.Run(method, func(t *testing.T) {
			s, base := start(t, Config{Delays: frozen, StableListOrder: true})
			mkProject(t, base, admin, "p1")
			create(t, base, instReq(admin, "p1", "n", 60, ""))
			ids := pageRPC(t, s, base, method)
			if missed, repeated := missedRepeated(ids, 60); missed != 0 || repeated != 0 || !slices.IsSorted(ids) {
				t.Fatalf("stable order: %d missed, %d repeated: %v", missed, repeated, ids)
			}
		})
	}
}
