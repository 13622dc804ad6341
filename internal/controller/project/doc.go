// Package project reconciles TalisProjects: it creates, adopts and deletes their Talis projects.
//
//   - controller.go: the reconciler, its reconcile (normal and delete), which writes no status
//     itself but returns an outcome, and its watches.
//   - names.go: default Talis project names.
//   - ownership.go: whether the Talis project status names may be used (checked on every
//     reconcile with internal/claims: status can be written by others), and the endpoint or owner
//     changing under it.
//   - rename.go: following spec.projectName before the project was created.
//   - instances.go: the live instances left in a project being deleted.
//   - strays.go: which live instances are strays (tagged for a set of the project that no longer
//     exists, not orphaned on purpose, newer than the project's takeover), and what the sweep
//     remembers of them between lists.
//   - sweep.go: the sweep: its tick on the drift clock, which wakes projects with new strays, and
//     the reconcile's phase that terminates them and tells it.
//   - sweep_memory.go: what the sweep remembers per project and endpoint, and set names for
//     its messages.
//   - secrets.go: waking projects when their API key Secret changes; looking again soon at a
//     Secret that is missing or not labelled (only labelled ones are watched).
//   - pause.go: the paused annotation.
//   - status.go: the one status write of a reconcile (conclude: its outcome's conditions, written
//     if anything changed, then its events), with status.reason for kubectl get. recordName in
//     rename.go is the only other: the name a create will use, stored before the call.
package project
