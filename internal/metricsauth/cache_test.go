package metricsauth

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// len is the number of entries the cache holds, expired ones included (RemoveAll visits them
// all; the predicate removes none).
func (c *decisionCache) len() int {
	n := 0
	c.lru.RemoveAll(func(any) bool { n++; return false })
	return n
}

func TestCacheKeyHoldsNoToken(t *testing.T) {
	a := attributes{path: "/metrics", verb: "get"}
	k := newCacheKey(secret, a)
	if k != newCacheKey(secret, a) {
		t.Error("the same request gave two keys")
	}
	if k == newCacheKey(secret+"x", a) || k == newCacheKey(secret, attributes{path: "/metrics", verb: "post"}) {
		t.Error("different requests share a key")
	}
}

func TestCacheExpires(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	c := newDecisionCache(clock.Now)
	k := newCacheKey(secret, attributes{path: "/metrics", verb: "get"})
	c.set(k, result{decision: allowed, user: "u"}, time.Minute)
	clock.Step(time.Minute - time.Nanosecond)
	if r, ok := c.get(k); !ok || r.decision != allowed || r.user != "u" {
		t.Errorf("get before expiry = %+v, %v", r, ok)
	}
	clock.Step(time.Nanosecond)
	if _, ok := c.get(k); ok {
		t.Error("get after expiry hit")
	}
}

func TestCacheIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	c := newDecisionCache(clock.Now)
	key := func(i int) cacheKey { return newCacheKey(strconv.Itoa(i), attributes{path: "/metrics", verb: "get"}) }
	for i := range maxEntries {
		c.set(key(i), result{decision: denied}, time.Second)
	}
	c.set(key(maxEntries), result{decision: allowed}, time.Minute)
	if _, ok := c.get(key(maxEntries)); ok || c.len() != maxEntries {
		t.Errorf("a full cache of live entries grew to %d", c.len())
	}
	// An entry already cached may still be refreshed.
	c.set(key(0), result{decision: allowed}, time.Minute)
	if r, ok := c.get(key(0)); !ok || r.decision != allowed {
		t.Errorf("refreshing a cached entry: %+v, %v", r, ok)
	}
	// Once the flood's entries expire, they make room.
	clock.Step(time.Second)
	c.set(key(maxEntries), result{decision: allowed}, time.Minute)
	if _, ok := c.get(key(maxEntries)); !ok || c.len() != 2 {
		t.Errorf("after expiry: %d entries, new one cached %v", c.len(), ok)
	}
}
