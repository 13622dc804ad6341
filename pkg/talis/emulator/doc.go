/*
Copyright 2026 The talis-operator Authors.

Licensed under the Apache License, Version 2.0.
*/

// Package emulator is an in-memory emulator of the Talis API server that
// speaks its wire protocol (quirks included, see docs/talis-client.md),
// runs an asynchronous lifecycle worker and injects faults for tests.
// It is an independent implementation: it must not import pkg/talis.
//
// Modelled as upstream (Fiber v2 on PostgreSQL) answers, byte for byte
// where a client can see it:
//   - routing: case-insensitive, trailing slash ignored, HEAD for every
//     GET; 404 "Cannot GET /…"; 405 with Fiber's Allow header (the path's
//     other registered methods in Fiber's order, e.g. "GET, HEAD, POST,
//     DELETE").
//   - bodies: JSON types decode; application/x-www-form-urlencoded goes
//     through Fiber's form decoder (form.go); any other type is
//     "Unprocessable Entity". XML and multipart bodies are not modelled.
//   - list order: instance lists, project.listInstances and task.list
//     come in heap order, so paging while rows change skips and repeats
//     rows (scanorder.go; Config.StableListOrder turns it off).
//   - timestamps: create answers (instances, projects, SSH keys) carry
//     nanoseconds, stored rows microseconds.
//   - tasks: payloads in jsonb key order (jsonb.go); a failed create logs
//     its failure line twice, a failed terminate once.
//   - the create-overwrites-terminate race (Config.DisableRaceQuirk).
//
// Not modelled: upstream's dispatcher handing a running task whose lock
// has expired (Config.LockDuration, 5 minutes) to another worker; such a
// task (NeverReady) stays running, its lock_expiry past. Also not modelled:
// the order of response header lines (Go's net/http writes
// them sorted, then Date; Fiber writes Date, Content-Type,
// Content-Length, then the rest), since no HTTP client API exposes it;
// and which error a form with several bad keys reports first (upstream
// picks by map order; the emulator takes the first key in byte order).
package emulator
