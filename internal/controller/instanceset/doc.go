// Package instanceset reconciles TalisInstanceSets: it keeps their instances alive in Talis.
//
// A reconcile reads top to bottom in controller.go (fetch, pause, finalizer, project) and
// reconcile.go (observe → decide → record → act).
//
// The phases write no status: each returns an outcome (the health to show, when to look again,
// what to tell once written), and conclude (conclude.go) writes it once at the end, as
// cluster-api's deferred patch does. The one other write is recordIntent's, the protocol's
// record of a decision (a create's intent, terminates) before any call; a terminate that then
// fails is concluded with its conditions on top. conclude_test.go keeps it that way.
//
//   - controller.go: the reconciler, Reconcile and its phases before Talis (pause, finalizer,
//     project), watches.
//   - conclude.go: a reconcile's outcome and its one status write.
//   - reconcile.go: the phases of one poll; the order is what makes a crash safe.
//   - create.go: the create protocol's Kubernetes side: the request, submitting it to the
//     batcher, its outcome, a refused create (see internal/creates for the rest).
//   - sync.go: folding a Talis snapshot into status.
//   - plan.go: scale, rollout and replacement decisions.
//   - status.go: counters, health, and the events a poll's findings make.
//   - backoff.go: failed creates, their backoff and Stalled.
//   - tasks.go: create task look-ups for late instances, and for instances terminated before
//     their create was known done, whose watch ends when the task can no longer write them
//     (the rule itself, watchRule, is in sync.go).
//   - pacing.go: which status changes are detail, written at most every Timing.DetailWrite.
//   - memory.go: what the process remembers of each set between reconciles (last snapshot, poll
//     backoff, versions written over, last status write, warnings told), in one struct per set
//     made on first use and forgotten in one place. Protocol memory (create outcomes, the send
//     log) is internal/creates'; task look-ups are per instance (tasks.go).
//   - drift.go: the drift watch that wakes steady sets when Talis contradicts them.
//   - steps.go: the steps crash tests stop at.
//   - project.go: the set's view of its TalisProject.
//   - orphan.go: what a deletion leaves: the Orphan record in the project's status, and what the
//     Deleted event may claim.
//   - identity.go: the set's identity, recorded once and only ever one the operator derives.
//   - template.go, summary.go, metrics.go: the template hash,
//     IP summary and selector, and instance metrics.
package instanceset
