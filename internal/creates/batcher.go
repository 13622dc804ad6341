package creates

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/talis-operator/talis-operator/pkg/talis"
)

// Creator is the Talis call the create batcher makes.
type Creator interface {
	CreateInstance(ctx context.Context, req []talis.InstanceRequest) ([]*talis.Instance, error)
}

// DefaultMaxBatchInstances caps the instances one batched create call asks for.
const DefaultMaxBatchInstances = 500

// Batcher group-commits create calls per endpoint: Talis's create takes an array of requests,
// so while one call is in flight, the requests of every other set that wants to create pile up
// and go out together in the next call. Nothing waits on a timer: a lone request is sent at
// once, and under load a call carries everything that arrived during the previous one. A set's
// crash safety does not change: each request carries its own set and attempt tags and its own
// deadline, and the caller writes its intent before submitting it.
type Batcher struct {
	// MaxInstances caps the instances of one call (DefaultMaxBatchInstances if 0); the manager
	// leaves it 0, tests lower it.
	MaxInstances int

	mu     sync.Mutex
	queues map[string]*createQueue
}

type createQueue struct {
	busy    bool
	waiting []*createOp
}

type createOp struct {
	ctx      context.Context
	req      talis.InstanceRequest
	deadline time.Time
	done     func([]*talis.Instance, error)
}

// Submit queues req for the endpoint named key and returns at once; done is called (from
// another goroutine) with the instances created for req, or the call's error. The request is
// never sent once deadline has passed (done then gets talis.ErrDeadlinePassed, which is not
// ambiguous: nothing was sent), and the call that carries it ends by its deadline. Errors
// classify as the client's do; an error the client did not produce (a result that cannot be
// matched to the request) is ambiguous, so the caller looks its instances up by tag. The call
// is abandoned when every submitter's ctx has ended.
func (b *Batcher) Submit(ctx context.Context, key string, api Creator, req talis.InstanceRequest, deadline time.Time, done func([]*talis.Instance, error)) {
	op := &createOp{ctx: ctx, req: req, deadline: deadline, done: done}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.queues == nil {
		b.queues = map[string]*createQueue{}
	}
	q := b.queues[key]
	if q == nil {
		q = &createQueue{}
		b.queues[key] = q
	}
	q.waiting = append(q.waiting, op)
	if !q.busy {
		q.busy = true
		go b.drain(key, q, api)
	}
}

// drain sends the queue's requests, one call at a time, until it is empty.
func (b *Batcher) drain(key string, q *createQueue, api Creator) {
	limit := b.MaxInstances
	if limit <= 0 {
		limit = DefaultMaxBatchInstances
	}
	for {
		b.mu.Lock()
		if len(q.waiting) == 0 {
			q.busy = false
			delete(b.queues, key)
			b.mu.Unlock()
			return
		}
		n, total := 0, 0
		for n < len(q.waiting) && (n == 0 || total+q.waiting[n].req.NumberOfInstances <= limit) {
			total += q.waiting[n].req.NumberOfInstances
			n++
		}
		batch := slices.Clone(q.waiting[:n])
		q.waiting = slices.Delete(q.waiting, 0, n)
		b.mu.Unlock()
		b.send(api, batch, true)
	}
}

// send makes one call for batch and hands every request its share of the result. A call that
// was rejected without being applied (validation, unknown project) is repeated request by
// request, so that one set's bad request does not fail the others. Requests past their
// deadline are answered without a call.
func (b *Batcher) send(api Creator, batch []*createOp, split bool) {
	batch = dropExpired(batch, time.Now())
	if len(batch) == 0 {
		return
	}
	ctx, cancel := callContext(batch)
	defer cancel()
	reqs := make([]talis.InstanceRequest, len(batch))
	for i, op := range batch {
		reqs[i] = op.req
	}
	created, err := api.CreateInstance(ctx, reqs)
	if err != nil {
		if split && len(batch) > 1 && !talis.IsAmbiguous(err) && (talis.IsInvalid(err) || talis.IsNotFound(err)) {
			for _, op := range batch {
				b.send(api, []*createOp{op}, false)
			}
			return
		}
		for _, op := range batch {
			op.done(nil, err)
		}
		return
	}
	shares, err := distribute(batch, created)
	for i, op := range batch {
		if err != nil {
			op.done(nil, err)
		} else {
			op.done(shares[i], nil)
		}
	}
}

// dropExpired answers the requests whose deadline has passed and returns the others.
func dropExpired(batch []*createOp, now time.Time) []*createOp {
	kept := batch[:0:0]
	for _, op := range batch {
		if !op.deadline.IsZero() && !now.Before(op.deadline) {
			op.done(nil, fmt.Errorf("create not sent: %w", talis.ErrDeadlinePassed))
			continue
		}
		kept = append(kept, op)
	}
	return kept
}

// callContext ends the call at its earliest request's deadline (the client refuses to write a
// request past it), and when every caller has given up (the manager is stopping).
func callContext(batch []*createOp) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	stops := make([]func() bool, 0, len(batch))
	var mu sync.Mutex
	live := len(batch)
	for _, op := range batch {
		stops = append(stops, context.AfterFunc(op.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if live--; live == 0 {
				cancel()
			}
		}))
	}
	release := func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
	var earliest time.Time
	for _, op := range batch {
		if !op.deadline.IsZero() && (earliest.IsZero() || op.deadline.Before(earliest)) {
			earliest = op.deadline
		}
	}
	if earliest.IsZero() {
		return ctx, release
	}
	dctx, dcancel := context.WithDeadline(ctx, earliest)
	return dctx, func() { dcancel(); release() }
}

// ErrUnmatchedResult is returned when a batched create succeeded but its result cannot be
// told apart per request; the instances exist and must be found by their tags.
var ErrUnmatchedResult = errors.New("batched create: the created instances cannot be matched to the requests")

// distribute splits a create result among the requests. Talis returns the rows in request
// order, each request expanded to its count; that is checked against each row's tags, and
// when it does not hold the rows are matched by their (per request unique) tag sets instead.
func distribute(batch []*createOp, created []*talis.Instance) ([][]*talis.Instance, error) {
	shares := make([][]*talis.Instance, len(batch))
	want := 0
	for _, op := range batch {
		want += op.req.NumberOfInstances
	}
	if len(created) == want {
		i, ok := 0, true
		for k, op := range batch {
			rows := created[i : i+op.req.NumberOfInstances]
			i += op.req.NumberOfInstances
			for _, in := range rows {
				if in == nil || tagKey(in.Tags) != tagKey(op.req.Tags) {
					ok = false
				}
			}
			shares[k] = rows
		}
		if ok {
			return shares, nil
		}
	}
	byTags := map[string][]*talis.Instance{}
	for _, in := range created {
		if in != nil {
			byTags[tagKey(in.Tags)] = append(byTags[tagKey(in.Tags)], in)
		}
	}
	seen := map[string]bool{}
	for k, op := range batch {
		key := tagKey(op.req.Tags)
		if seen[key] || len(byTags[key]) != op.req.NumberOfInstances {
			return nil, fmt.Errorf("%w (%d rows for %d requests)", ErrUnmatchedResult, len(created), len(batch))
		}
		seen[key] = true
		shares[k] = byTags[key]
	}
	return shares, nil
}

func tagKey(tags []string) string {
	s := slices.Clone(tags)
	slices.Sort(s)
	return strings.Join(s, "\x00")
}
