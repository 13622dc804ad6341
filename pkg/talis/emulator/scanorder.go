/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import (
	"cmp"
	"math/rand/v2"
	"slices"
)

// Upstream lists instances and tasks with LIMIT/OFFSET and no ORDER BY,
// so rows come in PostgreSQL's heap order: an updated row that does not
// fit its page moves to the end of the table. Paging while rows change
// then skips a row (everything after a moved row slides back one place)
// and returns the moved one twice; measured upstream, one full paging in
// 50 missed a row, and task.list returned ids [2,1,4,3,5]. scanOrder
// models that heap order for one table.

// scanEntry is one position in heap order; stale once its row has moved
// on (its key no longer matches).
type scanEntry struct {
	id  uint64
	key uint64
}

// scanOrder keeps one table's rows in heap order; guarded by st.mu.
type scanOrder struct {
	moves *rand.Rand // nil: id order, rows never move
	log   []scanEntry
	keys  []uint64 // current key of each row (id-1)
	next  uint64
	stale int
}

func newScanOrder(stable bool, seed uint64) scanOrder {
	if stable {
		return scanOrder{}
	}
	return scanOrder{moves: rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))}
}

// insert places a new or moved row at the end of the heap.
func (o *scanOrder) insert(id uint64) {
	if o.moves == nil {
		return
	}
	o.next++
	for uint64(len(o.keys)) < id {
		o.keys = append(o.keys, 0)
	}
	o.keys[id-1] = o.next
	o.log = append(o.log, scanEntry{id, o.next})
}

// update moves an updated row to the end of the heap half of the time;
// the other half it fits its page (a HOT update) and stays put.
func (o *scanOrder) update(id uint64) {
	if o.moves == nil || o.moves.IntN(2) == 0 {
		return
	}
	o.stale++
	o.insert(id)
	if o.stale > len(o.log)/2+1024 {
		live := o.log[:0]
		for _, e := range o.log {
			if o.keys[e.id-1] == e.key {
				live = append(live, e)
			}
		}
		o.log, o.stale = live, 0
	}
}

// each calls fn with the ids 1..n in heap order until fn returns false.
func (o *scanOrder) each(n int, fn func(id uint64) bool) {
	if o.moves == nil {
		for i := range n {
			if !fn(uint64(i + 1)) {
				return
			}
		}
		return
	}
	for _, e := range o.log {
		if o.keys[e.id-1] == e.key && !fn(e.id) {
			return
		}
	}
}

// sorted returns ids (in id order, e.g. one project's rows) in heap
// order: the whole table's order filtered, without a full scan.
func (o *scanOrder) sorted(ids []uint64) []uint64 {
	if o.moves == nil {
		return ids
	}
	out := slices.Clone(ids)
	slices.SortFunc(out, func(a, b uint64) int { return cmp.Compare(o.keys[a-1], o.keys[b-1]) })
	return out
}
