/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

package emulator

import "math/rand/v2"

// Upstream lists instances with LIMIT/OFFSET and no ORDER BY, so rows
// come in PostgreSQL's heap order: an updated row that does not fit its
// page moves to the end of the table. Paging while rows change then
// skips a row (everything after a moved row slides back one place) and
// returns the moved one twice; measured upstream, one full paging in 50
// missed a row. scanOrder models that heap order.

// scanEntry is one position in heap order; stale once its instance has
// moved on (scanKey no longer matches).
type scanEntry struct {
	id  uint64
	key uint64
}

// scanOrder keeps instances in heap order; guarded by st.mu.
type scanOrder struct {
	moves *rand.Rand // nil: id order, rows never move
	log   []scanEntry
	next  uint64
	stale int
}

func newScanOrder(stable bool, seed uint64) scanOrder {
	if stable {
		return scanOrder{}
	}
	return scanOrder{moves: rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))}
}

// insert places a new row at the end of the heap.
func (o *scanOrder) insert(id uint64, in *instance) {
	if o.moves == nil {
		return
	}
	o.next++
	in.scanKey = o.next
	o.log = append(o.log, scanEntry{id, o.next})
}

// update moves an updated row to the end of the heap half of the time;
// the other half it fits its page (a HOT update) and stays put.
func (o *scanOrder) update(id uint64, in *instance, rows []instance) {
	if o.moves == nil || o.moves.IntN(2) == 0 {
		return
	}
	o.stale++
	o.insert(id, in)
	if o.stale > len(o.log)/2+1024 {
		live := o.log[:0]
		for _, e := range o.log {
			if rows[e.id-1].scanKey == e.key {
				live = append(live, e)
			}
		}
		o.log, o.stale = live, 0
	}
}

// each calls fn with every instance id in heap order until fn returns
// false; caller holds st.mu at least for reading.
func (o *scanOrder) each(rows []instance, fn func(id uint64) bool) {
	if o.moves == nil {
		for i := range rows {
			if !fn(uint64(i + 1)) {
				return
			}
		}
		return
	}
	for _, e := range o.log {
		if rows[e.id-1].scanKey == e.key && !fn(e.id) {
			return
		}
	}
}
