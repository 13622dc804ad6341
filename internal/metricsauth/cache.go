package metricsauth

import (
	"crypto/sha256"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/cache"
)

// controller-runtime's filter caches TokenReviews for a minute whatever the answer, and
// SubjectAccessReviews for 5 minutes when allowed and 30 seconds when denied. One cache holds
// the outcome of both here, so an allowed request is kept no longer than its token would be
// there: a revoked token stops working within the minute either way.
const (
	unauthenticatedTTL = time.Minute
	allowedTTL         = time.Minute
	deniedTTL          = 30 * time.Second
)

// maxEntries bounds the cache against a flood of distinct tokens or paths. Prometheus needs a
// handful.
const maxEntries = 1024

type decision int

const (
	unauthenticated decision = iota
	denied
	allowed
)

// attributes is what a request asks to do.
type attributes struct {
	path, verb string
}

// result is a decision and what the log says about it.
type result struct {
	decision decision
	user     string
	reason   string
}

// cacheKey holds a hash of the token, so that the cache never keeps the token itself.
type cacheKey struct {
	token [sha256.Size]byte
	attributes
}

func newCacheKey(token string, attrs attributes) cacheKey {
	return cacheKey{token: sha256.Sum256([]byte(token)), attributes: attrs}
}

// decisionCache keeps decisions for their TTL in an LRUExpireCache, safe for concurrent use.
// It differs from a bare LRUExpireCache in two ways:
//   - an entry ends at its expiry instant, not a nanosecond after it;
//   - a new entry never evicts a live one: when the cache holds maxEntries live decisions, a
//     new one is left uncached. A flood of distinct tokens or paths thus cannot push out the
//     decision a real scraper relies on, and answering without the cache beats growing without
//     bound.
type decisionCache struct {
	mu  sync.Mutex // makes set's room check and its Add one step
	lru *cache.LRUExpireCache
}

func newDecisionCache(now func() time.Time) *decisionCache {
	return &decisionCache{lru: cache.NewLRUExpireCacheWithClock(maxEntries, clockFunc(now))}
}

// clockFunc is a cache.Clock.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

func (c *decisionCache) get(k cacheKey) (result, bool) {
	v, ok := c.lru.Get(k)
	if !ok {
		return result{}, false
	}
	return v.(result), true
}

// set caches r for ttl. A new key drops the expired entries first and is left uncached if the
// live ones fill the cache.
func (c *decisionCache) set(k cacheKey, r result, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, cached := c.lru.Get(k); !cached {
		live := c.lru.Keys()
		if len(live) >= maxEntries {
			return
		}
		alive := make(map[any]struct{}, len(live))
		for _, key := range live {
			alive[key] = struct{}{}
		}
		c.lru.RemoveAll(func(key any) bool {
			_, ok := alive[key]
			return !ok
		})
	}
	// LRUExpireCache still returns an entry at its expiry instant.
	c.lru.Add(k, r, ttl-time.Nanosecond)
}
