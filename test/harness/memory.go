package harness

import "runtime"

// LiveHeapBytes is the heap in use after a full collection, for tests and benchmarks that
// measure what a structure keeps. It collects twice, so that what finalizers of the first
// released (closed connections, servers) is gone too.
func LiveHeapBytes() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
