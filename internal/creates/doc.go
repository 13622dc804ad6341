// Package creates holds the rules of an instance set's create lifecycle, the part of the operator
// whose order of steps decides whether an instance can ever be created twice. The reconciler in
// internal/controller/instanceset carries the steps out; where each one is:
//
//	step                  rule here                     carried out in instanceset
//	1. intent             Window.Promise                decide, recordIntent (reconcile.go)
//	2. send               Batcher, Window.Deadline      submitCreate (create.go)
//	3. outcome            Results                       createResult, createFailed (create.go);
//	                                                    observe (reconcile.go) records it
//	4. confirmation       Tags, ParseOwnership, Judge   syncWithSnapshot (sync.go)
//	5. late arrivals      Classify                      syncWithSnapshot (sync.go)
//	6. terminate-settle   Window (the create window)    watchRule (reconcile.go, sync.go),
//	                                                    task look-ups (tasks.go)
//
// The steps:
//
//  1. Intent: before a create call, the set's status records a PendingCreate (attempt, count,
//     RequestedAt, and the sender's promise SendBy and LandBy: Window.Promise), written with the
//     resourceVersion the decision was based on.
//  2. Send: the call is batched with other sets' creates (Batcher) and is never sent after its
//     deadline, RequestedAt + Window.Send; the client refuses to write the body past it.
//  3. Outcome: a reply is held in memory (Results) until a later reconcile records it.
//  4. Confirmation by tag: every instance carries its set's identity and its attempt (Tags);
//     without a reply, a snapshot shows whether the attempt made anything. Only a snapshot that
//     started after Window.LandBy may say "not applied" (Judge): the later of the sender's LandBy
//     and RequestedAt + the judge's own Window.Land, plus Window.Skew and TimestampPrecision.
//     The judge need not be the sender (a restart with a shorter --talis-timeout, a leader
//     handover during an upgrade), and its clock may be ahead of the sender's, whose clock
//     every recorded time is on, by up to Skew (--max-clock-skew, DefaultMaxClockSkew).
//  5. Late arrivals: an instance of an attempt already resolved, which a request held somewhere
//     past its deadline can still make, is recognised by its tag (Classify) and counted like any
//     other instance of the set, so the set's own scale-down removes any surplus.
//  6. Terminate-settle: an instance terminated before its create finished is watched until Talis
//     says the create task is done (or, where tasks are hidden, until the create could have
//     finished by the window), since the worker may still write it back to life.
package creates
