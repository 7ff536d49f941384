package sdk

import (
	"crypto/sha256"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// The decision cache.
//
// An entry is the answer to one whole Request. It is dropped not by finding it
// (the feed names parties, not requests) but by generations: every party tag (the
// first two bytes of SHA-256 over the identity or organisation number, as the
// server's change feed names parties) has a counter, and so has the cache as a
// whole (the epoch). An entry records the counters of its actor's and its party's
// tags and the epoch as they were before its request was sent; a change event
// bumps the counters of the tags it names, a reset bumps the epoch, and an entry
// whose counters no longer match is a miss. Reading the counters before sending
// closes the race with a change that the server makes while the request is in
// flight: its event bumps a counter the entry has already recorded, so the answer
// that may predate the change is never served.
//
// The LRU is the plain (not the expirable) one of golang-lru: every entry carries
// its own deadline (the request's start plus the shorter of MaxStaleness and the
// decision's valid_for), checked on every hit, and the expirable LRU's cleanup
// goroutine can never be stopped, which would leak it, and the whole cache with
// it, past Close.

// tagCount is the number of party tags: two bytes.
const tagCount = 1 << 16

// cacheKey is the whole Request, in comparable form. A Party equal to the actor
// has already been made zero (normalize), so that both ways of asking about the
// actor themself share an entry.
type cacheKey struct {
	actorType PartyType
	actorID   string
	acr       string
	authTime  int64 // unix seconds, 0 when unknown
	partyType PartyType
	partyID   string
	service   string
	action    string
}

func keyOf(req Request) cacheKey {
	return cacheKey{
		actorType: req.Actor.Type, actorID: req.Actor.ID, acr: req.Actor.ACR, authTime: authTimeOf(req.Actor),
		partyType: req.Party.Type, partyID: req.Party.ID, service: req.Service, action: req.Action,
	}
}

// authTimeOf is the actor's auth_time in unix seconds as sent, 0 when unknown.
func authTimeOf(a Actor) int64 {
	if a.AuthTime.IsZero() {
		return 0
	}
	return a.AuthTime.Unix()
}

// stamp is what an entry must still match to be served: the epoch and the
// generations of its actor's and party's tags, read before the request was sent.
type stamp struct {
	epoch              uint64
	actorTag, partyTag uint16
	actorGen, partyGen uint64
}

// cacheEntry is one cached decision. Entries are never modified once added.
type cacheEntry struct {
	d        Decision
	stamp    stamp
	deadline time.Duration // on the cache's clock
}

// cache is the decision cache and the generations the change feed bumps.
type cache struct {
	lru *lru.Cache[cacheKey, *cacheEntry]
	ttl time.Duration // MaxStaleness
	// now is the cache's clock: the monotonic time since it was made. One
	// clock read, where time.Now makes two: it is on every hit.
	now   func() time.Duration
	epoch atomic.Uint64
	gens  *[tagCount]atomic.Uint64
}

// newCache returns a cache of size entries, each used at most ttl.
func newCache(size int, ttl time.Duration) *cache {
	l, err := lru.New[cacheKey, *cacheEntry](size)
	if err != nil { // only for a size below 1, which the caller rules out
		panic("sdk: " + err.Error())
	}
	start := time.Now()
	return &cache{lru: l, ttl: ttl, now: func() time.Duration { return time.Since(start) }, gens: new([tagCount]atomic.Uint64)}
}

// get returns the cached decision for key, with Cached set. It allocates
// nothing: the decision's slices and pointers are the cached ones.
func (c *cache) get(key cacheKey) (Decision, bool) {
	e, ok := c.lru.Get(key)
	if !ok {
		return Decision{}, false
	}
	if !c.current(e.stamp) || c.now() >= e.deadline {
		// Stale for good: its counters only grow, and time only passes.
		c.lru.Remove(key)
		return Decision{}, false
	}
	d := e.d
	d.Cached = true
	return d, true
}

// current reports whether nothing that s depends on has changed since s was
// taken.
func (c *cache) current(s stamp) bool {
	return s.epoch == c.epoch.Load() &&
		s.actorGen == c.gens[s.actorTag].Load() &&
		s.partyGen == c.gens[s.partyTag].Load()
}

// stamp reads the counters req depends on. Call it before sending req.
func (c *cache) stamp(req Request) stamp {
	s := stamp{actorTag: partyTag(req.Actor.ID), partyTag: partyTag(forParty(req).ID)}
	// The epoch first: a reset between the reads leaves the entry stale, never
	// current.
	s.epoch = c.epoch.Load()
	s.actorGen = c.gens[s.actorTag].Load()
	s.partyGen = c.gens[s.partyTag].Load()
	return s
}

// put caches d, the answer to the request of key whose counters s were read
// before it was sent at sent (on the cache's clock); validFor > 0 bounds its life further. Decisions
// that must not be cached (receipts, a valid_for of zero) are the caller's to
// leave out. An answer that is stale already is not stored.
func (c *cache) put(key cacheKey, s stamp, d Decision, sent, validFor time.Duration) {
	life := c.ttl
	if validFor > 0 && validFor < life {
		life = validFor
	}
	if !c.current(s) {
		return
	}
	d.Cached = false
	c.lru.Add(key, &cacheEntry{d: d, stamp: s, deadline: sent + life})
}

// dropTag makes every entry whose actor or party has tag a miss.
func (c *cache) dropTag(tag uint16) { c.gens[tag].Add(1) }

// dropAll makes every entry a miss.
func (c *cache) dropAll() { c.epoch.Add(1) }

// partyTag is the server's tag of a party: the first two bytes of SHA-256 over
// its identity or organisation number. The server hashes the canonical form; the
// forms that differ from it only by spaces or a "no:" prefix are made canonical
// here, so that a change still finds them.
func partyTag(id string) uint16 {
	id = strings.TrimSpace(id)
	if len(id) > 3 && strings.EqualFold(id[:3], "no:") {
		id = id[3:]
	}
	sum := sha256.Sum256([]byte(id))
	return uint16(sum[0])<<8 | uint16(sum[1])
}

// parseTag reads a tag as the feed writes it: four lowercase hex digits.
func parseTag(s string) (uint16, bool) {
	if len(s) != 4 {
		return 0, false
	}
	var v uint16
	for i := 0; i < 4; i++ {
		ch := s[i]
		var n byte
		switch {
		case ch >= '0' && ch <= '9':
			n = ch - '0'
		case ch >= 'a' && ch <= 'f':
			n = ch - 'a' + 10
		case ch >= 'A' && ch <= 'F':
			n = ch - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(n)
	}
	return v, true
}
