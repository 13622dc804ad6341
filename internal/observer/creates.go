package observer

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
// crash safety does not change: each request carries its own set and attempt tags, and the
// caller writes its intent before submitting it.
type Batcher struct {
	// MaxInstances caps the instances of one call (DefaultMaxBatchInstances if 0).
	MaxInstances int
	// Budget bounds, from the moment a request is submitted, how long its call may take in
	// all (queueing, rate-limiter wait, the HTTP exchange); 0 means no bound. With the client
	// timeout here, a create can only land within the caller's ambiguity window, however long
	// it queued.
	Budget time.Duration

	mu     sync.Mutex
	queues map[string]*createQueue
	now    func() time.Time
}

type createQueue struct {
	busy    bool
	waiting []*createOp
}

type createOp struct {
	ctx    context.Context
	req    talis.InstanceRequest
	queued time.Time
	done   func([]*talis.Instance, error)
}

// NewBatcher returns a batcher whose calls end at most budget after their oldest request
// was submitted.
func NewBatcher(budget time.Duration) *Batcher {
	return &Batcher{Budget: budget}
}

// Create asks the endpoint named key to create what req describes, batched with the requests
// of other callers, and returns the instances created for req. See Submit.
func (b *Batcher) Create(ctx context.Context, key string, api Creator, req talis.InstanceRequest) ([]*talis.Instance, error) {
	type result struct {
		created []*talis.Instance
		err     error
	}
	ch := make(chan result, 1)
	b.Submit(ctx, key, api, req, func(created []*talis.Instance, err error) { ch <- result{created, err} })
	// The call is bounded by Budget and the client timeout; waiting for it, rather than for
	// ctx, keeps a caller from ever reporting a create as not sent while it is still queued.
	r := <-ch
	return r.created, r.err
}

// Submit queues req for the endpoint named key and returns at once; done is called (from
// another goroutine) with the instances created for req, or the call's error. Errors classify
// as the client's do; an error the client did not produce (a result that cannot be matched
// to the request) is ambiguous, so the caller looks its instances up by tag. The call is
// abandoned when every submitter's ctx has ended.
func (b *Batcher) Submit(ctx context.Context, key string, api Creator, req talis.InstanceRequest, done func([]*talis.Instance, error)) {
	op := &createOp{ctx: ctx, req: req, queued: b.clock(), done: done}
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

func (b *Batcher) clock() time.Time {
	if b.now != nil {
		return b.now()
	}
	return time.Now()
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
// request, so that one set's bad request does not fail the others.
func (b *Batcher) send(api Creator, batch []*createOp, split bool) {
	ctx, cancel := b.callContext(batch)
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

// callContext ends the call Budget after its oldest request was queued, and when every
// caller has given up (the manager is stopping).
func (b *Batcher) callContext(batch []*createOp) (context.Context, context.CancelFunc) {
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
	if b.Budget <= 0 {
		return ctx, release
	}
	oldest := batch[0].queued
	for _, op := range batch {
		if op.queued.Before(oldest) {
			oldest = op.queued
		}
	}
	dctx, dcancel := context.WithDeadline(ctx, oldest.Add(b.Budget))
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
