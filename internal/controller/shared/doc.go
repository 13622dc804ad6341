// Package shared holds what the kind packages (instanceset, project, outputs) have in common.
//
//   - health.go: the health model (Health and its constructors) and how it fans out into
//     the Ready, Synced, Progressing, Reconciling, Degraded and Stalled conditions.
//   - problem.go: an error on the way to Talis as a Health.
//   - events.go: events clipped to what events.k8s.io accepts; one event per change of what
//     users read (STATUS or Ready's reason).
//   - pause.go: the paused annotation's conditions: nothing claims an unacted generation.
//   - annotations.go: reading the paused and delete-instances annotations, and what was misread.
//   - timing.go: Timing, every interval the reconcilers wait on.
//   - indexes.go: field index names, the map from an object to the sets indexing it, predicates.
//   - outputs.go: the outputs reconciler's verdicts, which the set reconciler shows.
//   - instances.go: instance helpers both the set and outputs reconcilers use (IDs in
//     messages, readiness, the set's label value).
//   - objects.go: small helpers on objects and conditions (finalizer patches, clipping).
//   - waker.go: waking objects from outside the informers (after an instance list, a sweep).
//   - orphans.go: the project's record of sets deleted with deletionPolicy Orphan.
//   - terminate.go: the terminate call a set and a project's sweep both send.
package shared
