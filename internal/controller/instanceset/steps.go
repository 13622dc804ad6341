package instanceset

import "context"

// Steps after which the outside world has changed; crash tests stop the manager at each of them.
const (
	StepIntentRecorded   = "intent-recorded"   // status holds the pending create / terminations
	StepTerminateSent    = "terminate-sent"    // Talis accepted a terminate call
	StepCreateReturned   = "create-returned"   // Talis answered a create call, nothing recorded yet
	StepCreateRecorded   = "create-recorded"   // the created instances are in status
	StepFinalizerRemoved = "finalizer-removed" // the set is about to disappear
)

// StepHook is called after each step; nil in production. A test hook may stop the manager and
// never return, which is what a crash at that line looks like to everything else.
type StepHook func(ctx context.Context, step string)

func (r *Reconciler) after(ctx context.Context, step string) {
	if r.Hook != nil {
		r.Hook(ctx, step)
	}
}
