package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/sdk"
)

// The SDK against the real server: serve in-process on 127.0.0.1, the demo cast,
// and grantors revoking through the portal's pages over HTTP, as a person would.

// grant is a fullmakt from Maja Lie to a proxy of her own, for education, made
// before the server starts so that each revocation ends the only relation that
// lets its proxy act for her.
type grant struct {
	id    string
	proxy delegation.PartyID
}

// request is the question an agency asks for the grant's proxy: may they submit
// an application for student support for Maja, at level high?
func (g grant) request(maja delegation.PartyID) sdk.Request {
	return sdk.Request{
		Actor:   sdk.Actor{Party: sdk.Person(g.proxy.String()), ACR: authz.LevelHigh.ACR(), AuthTime: time.Now()},
		Party:   sdk.Person(maja.String()),
		Service: "lanekassen.studiestotte",
		Action:  "submit",
	}
}

// cast returns the demo cast member whose name starts with first.
func cast(tb testing.TB, first string) demo.Character {
	_, c := castIndex(tb, first)
	return c
}

// prepareGrants writes the demo cast and n proxies into the data directory dir,
// each proxy holding a fullmakt from Maja for the education area.
func prepareGrants(tb testing.TB, dir string, n int) (delegation.PartyID, []grant) {
	tb.Helper()
	ctx := context.Background()
	store, err := openStore(dir, time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	if _, err := loadDemoCast(ctx, store, now, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		tb.Fatal(err)
	}
	maja := cast(tb, "Maja").ID
	var grants []grant
	// Synthetic proxies born on distinct days of 1970, with individual numbers
	// from 100, which the cast (000–009) never uses.
	born := delegation.NewDate(1970, 1, 1)
	err = store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error {
		for i := 0; len(grants) < n; i++ {
			id, ok := delegation.NorwegianPersonID(born.AddDays(i/10), 100+i%10, false, true)
			if !ok {
				continue
			}
			if err := tx.PutPerson(delegation.Person{ID: id, Name: fmt.Sprintf("Proxy %d Test", len(grants)), BirthDate: born.AddDays(i / 10)}); err != nil {
				return err
			}
			grants = append(grants, grant{proxy: id})
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	for i := range grants {
		grants[i].id = fmt.Sprintf("fm-sdk-%03d", i)
		f := delegation.Fullmakt{
			ID: grants[i].id, Grantor: maja, Proxy: grants[i].proxy,
			Scope:  delegation.Scope{Areas: []string{"education"}},
			Period: delegation.Period{From: delegation.Today(now)},
			Status: delegation.StatusActive, Origin: delegation.OriginPortal,
			ConfirmedACR: authz.LevelHigh.ACR(), CreatedBy: maja, CreatedAt: now,
		}
		if err := store.CreateFullmakt(ctx, f); err != nil {
			tb.Fatal(err)
		}
	}
	return maja, grants
}

// newSDK returns an SDK client of the demo agency (client secret) on base, with
// cfg's other settings.
func newSDK(tb testing.TB, base string, cfg sdk.Config) *sdk.Client {
	tb.Helper()
	cfg.Issuer, cfg.ClientID, cfg.ClientSecret, cfg.Audience = base, demoClientID, demoClientSecret, demoAudience
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := sdk.New(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("sdk.New: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// waitForFeed waits until c follows the change feed.
func waitForFeed(tb testing.TB, c *sdk.Client) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !c.FeedConnected() {
		if time.Now().After(deadline) {
			tb.Fatal("the SDK did not connect to the change feed within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// revoke ends the fullmakt id through the portal's confirmation page, as the
// grantor logged in on client.
func revoke(tb testing.TB, client *http.Client, base, id string) {
	tb.Helper()
	_, page := get(tb, client, base+"/fullmakter/"+id+"/end")
	action := "/fullmakter/" + id + "/end"
	resp, page := postForm(tb, client, base+action, form(tb, page, action))
	if !landedOn(resp, "/fullmakter/"+id) || resp.Request.URL.Query().Get("ended") != "1" {
		tb.Fatalf("revoking %s ends at %s (%d):\n%s", id, resp.Request.URL, resp.StatusCode, page)
	}
}

// allowedAndCached checks req twice on c: allowed, and the second time from the
// cache.
func allowedAndCached(tb testing.TB, c *sdk.Client, req sdk.Request) {
	tb.Helper()
	for i, cached := range []bool{false, true} {
		d, err := c.Check(tb.Context(), req)
		if err != nil || !d.Allowed || d.Cached != cached {
			tb.Fatalf("Check %d = %+v, %v; want allowed, cached %v", i+1, d, err, cached)
		}
	}
}

// untilDenied asks c about req until it is denied and returns how long that
// took from start; it fails after limit.
func untilDenied(tb testing.TB, c *sdk.Client, req sdk.Request, start time.Time, limit time.Duration) (time.Duration, sdk.Decision) {
	tb.Helper()
	for {
		d, err := c.Check(tb.Context(), req)
		if err != nil {
			tb.Fatalf("Check: %v", err)
		}
		if !d.Allowed {
			return time.Since(start), d
		}
		if time.Since(start) > limit {
			tb.Fatalf("the SDK still allows %v after the revocation", limit)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// TestRevocationReachesTheSDKCache: a grantor revokes in the portal, and an SDK
// that had the proxy's allow cached refuses the proxy's next request; an SDK
// kept off the change feed, with the same cache, still serves the stale allow,
// which shows that the feed, not expiry, is what dropped it.
func TestRevocationReachesTheSDKCache(t *testing.T) {
	dir := t.TempDir()
	maja, grants := prepareGrants(t, dir, 3)
	base, _, _ := startServe(t, "--data", dir, "--demo")
	fresh := newSDK(t, base, sdk.Config{MaxStaleness: time.Hour})
	stale := newSDK(t, base, sdk.Config{MaxStaleness: time.Hour, NoChangeFeed: true})
	waitForFeed(t, fresh)
	grantor := logIn(t, base, "Maja")

	for i, g := range grants {
		req := g.request(maja)
		allowedAndCached(t, fresh, req)
		allowedAndCached(t, stale, req)

		start := time.Now()
		revoke(t, grantor, base, g.id)
		// A liveness bound only: without the feed the allow would stand for an
		// hour (MaxStaleness). The figures are BenchmarkRevocationPropagation's.
		took, d := untilDenied(t, fresh, req, start, 10*time.Second)
		t.Logf("revocation %d: the SDK refused %v after the grantor pressed Revoke", i+1, took.Round(time.Microsecond))
		if d.Cached || !slices.ContainsFunc(d.Reasons, func(r sdk.Reason) bool { return r.Code == "fullmakt_revoked" }) {
			t.Errorf("after the revocation Check = %+v, want a deny from Fullmakt with reason fullmakt_revoked", d)
		}
		if d, err := stale.Check(t.Context(), req); err != nil || !d.Allowed || !d.Cached {
			t.Errorf("the SDK without the feed: Check = %+v, %v; want the cached allow (for MaxStaleness)", d, err)
		}
	}
	if seq, ok := fresh.FeedSeq(); !ok || seq == 0 {
		t.Errorf("FeedSeq() = %d, %v after three revocations", seq, ok)
	}
}

// BenchmarkRevocationPropagation measures how long a revocation takes to reach
// an SDK's cache: from the moment the grantor's browser sends Revoke to the
// portal until an SDK that had the proxy's allow cached first refuses. Each of
// b.N iterations revokes another fullmakt. It reports the median and the 99th
// percentile; run it with a fixed count:
//
//	go test -run '^$' -bench RevocationPropagation -benchtime 100x ./cmd/fullmakt
func BenchmarkRevocationPropagation(b *testing.B) {
	dir := b.TempDir()
	maja, grants := prepareGrants(b, dir, b.N)
	base, _, _ := startServe(b, "--data", dir, "--demo", "--log-level", "error")
	c := newSDK(b, base, sdk.Config{MaxStaleness: time.Hour})
	waitForFeed(b, c)
	grantor := logIn(b, base, "Maja")
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		req := grants[i].request(maja)
		allowedAndCached(b, c, req)
		b.StartTimer()
		start := time.Now()
		revoke(b, grantor, base, grants[i].id)
		d, _ := untilDenied(b, c, req, start, 10*time.Second)
		took = append(took, d)
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkCheckUncached is one decision over loopback HTTP through the SDK with
// its cache off: the client's token, the AuthZEN call, the policies and the
// store, for a parent acting for a child.
func BenchmarkCheckUncached(b *testing.B) {
	base, _, _ := startServe(b, "--data", b.TempDir(), "--demo", "--log-level", "error")
	c := newSDK(b, base, sdk.Config{CacheSize: -1})
	req := sdk.Request{
		Actor:   sdk.Actor{Party: sdk.Person(cast(b, "Kari").ID.String()), ACR: authz.LevelHigh.ACR(), AuthTime: time.Now()},
		Party:   sdk.Person(cast(b, "Ola").ID.String()),
		Service: "lanekassen.studiestotte", Action: "submit",
	}
	if d, err := c.Check(b.Context(), req); err != nil || !d.Allowed {
		b.Fatalf("Check = %+v, %v; want allowed", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := c.Check(b.Context(), req); err != nil || !d.Allowed || d.Cached {
			b.Fatalf("Check = %+v, %v; want allowed, not cached", d, err)
		}
	}
}

// BenchmarkCheckCachedServer is the same check from a warm cache, against the
// real server (the SDK's own BenchmarkCheckCached uses a fake).
func BenchmarkCheckCachedServer(b *testing.B) {
	base, _, _ := startServe(b, "--data", b.TempDir(), "--demo", "--log-level", "error")
	c := newSDK(b, base, sdk.Config{})
	// The feed's first connection empties the cache: fill it afterwards.
	waitForFeed(b, c)
	req := sdk.Request{
		Actor:   sdk.Actor{Party: sdk.Person(cast(b, "Kari").ID.String()), ACR: authz.LevelHigh.ACR(), AuthTime: time.Now()},
		Party:   sdk.Person(cast(b, "Ola").ID.String()),
		Service: "lanekassen.studiestotte", Action: "submit",
	}
	allowedAndCached(b, c, req)
	b.ReportAllocs()
	for b.Loop() {
		if d, err := c.Check(b.Context(), req); err != nil || !d.Allowed || !d.Cached {
			b.Fatalf("Check = %+v, %v; want allowed from the cache", d, err)
		}
	}
}
