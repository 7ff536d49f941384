package sdk

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestCacheStamps(t *testing.T) {
	now := time.Hour
	req := kariReq()
	other := kariReq()
	other.Actor.ID, other.Party.ID = "02027012345", "02020512345"
	tests := []struct {
		name  string
		after func(c *cache) // between the stamp and the put
		drop  func(c *cache) // after the put
		want  bool           // req still cached
		other bool           // other still cached
	}{
		{name: "nothing happens", want: true, other: true},
		{name: "the party changes", drop: func(c *cache) { c.dropTag(partyTag(sara)) }, other: true},
		{name: "the actor changes", drop: func(c *cache) { c.dropTag(partyTag(kari)) }, other: true},
		{name: "someone else changes", drop: func(c *cache) { c.dropTag(partyTag(other.Party.ID)) }, want: true},
		{name: "a reset", drop: func(c *cache) { c.dropAll() }},
		{name: "the party changes in flight", after: func(c *cache) { c.dropTag(partyTag(sara)) }, other: true},
		{name: "a reset in flight", after: func(c *cache) { c.dropAll() }, other: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCache(10, time.Minute)
			c.now = func() time.Duration { return now }
			for _, r := range []Request{req, other} {
				s := c.stamp(r)
				if tt.after != nil && r == req {
					tt.after(c)
				}
				c.put(keyOf(r), s, Decision{Allowed: true}, now, 0)
			}
			if tt.drop != nil {
				tt.drop(c)
			}
			if _, got := c.get(keyOf(req)); got != tt.want {
				t.Errorf("get(req) = %v, want %v", got, tt.want)
			}
			if _, got := c.get(keyOf(other)); got != tt.other {
				t.Errorf("get(other) = %v, want %v", got, tt.other)
			}
		})
	}
}

func TestCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := newCache(2, time.Minute)
	reqs := make([]Request, 3)
	for i := range reqs {
		reqs[i] = kariReq()
		reqs[i].Action = fmt.Sprint("a", i)
	}
	put := func(r Request) { c.put(keyOf(r), c.stamp(r), Decision{Allowed: true}, c.now(), 0) }
	put(reqs[0])
	put(reqs[1])
	c.get(keyOf(reqs[0]))
	put(reqs[2])
	for i, want := range []bool{true, false, true} {
		if _, got := c.get(keyOf(reqs[i])); got != want {
			t.Errorf("get(%d) = %v, want %v", i, got, want)
		}
	}
}

// TestCacheConcurrent runs checks, changes and resets at once, for the race
// detector.
func TestCacheConcurrent(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				req := kariReq()
				req.Action = fmt.Sprint("a", (g+i)%5)
				if d, err := c.Check(context.Background(), req); err != nil || !d.Allowed {
					t.Errorf("Check = %+v, %v", d, err)
					return
				}
				switch i % 50 {
				case 10:
					c.decisions.cache.dropTag(partyTag(sara))
				case 20:
					c.decisions.cache.dropAll()
				}
			}
		}()
	}
	wg.Wait()
}

// benchClient is a client with req cached.
func benchClient(b *testing.B) (*Client, Request) {
	f := newFakePDP(b)
	c, _ := f.client(b, false)
	req := kariReq()
	req.Actor.AuthTime = time.Unix(1795445177, 0)
	if _, err := c.Check(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	return c, req
}

func BenchmarkCheckCached(b *testing.B) {
	c, req := benchClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		d, err := c.Check(ctx, req)
		if err != nil || !d.Cached {
			b.Fatalf("Check = %+v, %v; want a cached decision", d, err)
		}
	}
}

func BenchmarkCheckCachedParallel(b *testing.B) {
	c, req := benchClient(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d, err := c.Check(ctx, req)
			if err != nil || !d.Cached {
				b.Errorf("Check = %+v, %v; want a cached decision", d, err)
				return
			}
		}
	})
}

// BenchmarkCheckUncached is a check over loopback against the fake decision
// point: the SDK's own cost of a miss, with HTTP, without the server's policy
// evaluation.
func BenchmarkCheckUncached(b *testing.B) {
	f := newFakePDP(b)
	c, _ := f.client(b, false, func(cfg *Config) { cfg.CacheSize = -1 })
	ctx := context.Background()
	req := kariReq()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Check(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
