package metricsauth

import (
	"crypto/sha256"
	"sync"
	"time"
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

type cacheEntry struct {
	result
	expires time.Time
}

// decisionCache is a small TTL cache safe for concurrent use.
type decisionCache struct {
	now func() time.Time

	mu      sync.Mutex
	entries map[cacheKey]cacheEntry
}

func newDecisionCache(now func() time.Time) *decisionCache {
	return &decisionCache{now: now, entries: map[cacheKey]cacheEntry{}}
}

func (c *decisionCache) get(k cacheKey) (result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return result{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return result{}, false
	}
	return e.result, true
}

// set drops expired entries when the cache is full, and leaves r uncached if that frees no
// room: answering without the cache beats growing without bound.
func (c *decisionCache) set(k cacheKey, r result, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= maxEntries {
		for key, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= maxEntries {
			return
		}
	}
	c.entries[k] = cacheEntry{result: r, expires: now.Add(ttl)}
}
