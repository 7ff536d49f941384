package login

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/fullmakt/fullmakt/delegation"
)

// limiter bounds login attempts with a token bucket per key: a person may try
// perMinute times a minute, an address twice that (several people can share
// one). It is in memory, per process: a bound on guessing and on load, not an
// account lockout (which would let anyone lock anyone out).
type limiter struct {
	perMinute int
	now       func() time.Time
	mu        sync.Mutex
	buckets   *lru.Cache[string, *bucket]
}

type bucket struct {
	tokens float64
	at     time.Time
}

// limiterSize bounds the keys remembered; the least recently used are forgotten.
const limiterSize = 1 << 16

func newLimiter(perMinute int, now func() time.Time) *limiter {
	c, err := lru.New[string, *bucket](limiterSize)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &limiter{perMinute: perMinute, now: now, buckets: c}
}

// allow takes one attempt from each key's bucket (capacity and refill per
// minute: n each, and 2n for an address key). It takes nothing unless every key
// has an attempt left, and then returns false and how long until one has.
func (l *limiter) allow(keys ...limitKey) (bool, time.Duration) {
	if l.perMinute <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	bs := make([]*bucket, len(keys))
	for i, k := range keys {
		capacity := float64(l.perMinute * k.weight)
		b, ok := l.buckets.Get(k.key)
		if !ok {
			b = &bucket{tokens: capacity, at: now}
			l.buckets.Add(k.key, b)
		}
		b.tokens = math.Min(capacity, b.tokens+now.Sub(b.at).Minutes()*capacity)
		b.at = now
		if b.tokens < 1 {
			need := time.Duration((1 - b.tokens) / capacity * float64(time.Minute))
			wait = max(wait, need)
		}
		bs[i] = b
	}
	if wait > 0 {
		return false, wait
	}
	for _, b := range bs {
		b.tokens--
	}
	return true, 0
}

// limitKey is one bucket's key and its weight (capacity in units of perMinute).
type limitKey struct {
	key    string
	weight int
}

// addressKey is the bucket of the request's remote address. The server does not
// trust X-Forwarded-For: behind a proxy, the proxy limits.
func addressKey(r *http.Request) limitKey {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return limitKey{key: "addr\x00" + host, weight: 2}
}

// personLimit is the bucket of a person (keyed without the identity number).
func (s *Service) personLimit(p delegation.PartyID) limitKey {
	return limitKey{key: "person\x00" + s.personKey(p), weight: 1}
}

// tooMany shows the "too many attempts" page for a wait.
func (s *Service) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	minutes := int(math.Ceil(wait.Minutes()))
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	// The message is plural ("%d minutes"): a wait under a minute says 2.
	s.errorPage(w, r, http.StatusTooManyRequests, "error.rate_limited", max(minutes, 2))
}
