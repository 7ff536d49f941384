package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParsePublicJWK(t *testing.T) {
	key := newOPKey(t)
	var good map[string]any
	if err := json.Unmarshal(key.jwk(t), &good); err != nil {
		t.Fatal(err)
	}
	edit := func(e func(map[string]any)) []byte {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		e(m)
		return mustJSON(t, m)
	}
	other := newOPKey(t)
	var otherJWK map[string]any
	_ = json.Unmarshal(other.jwk(t), &otherJWK)

	for _, tt := range []struct {
		name string
		raw  []byte
		ok   bool
	}{
		{"go-jose's", key.jwk(t), true},
		{"no use, no alg", edit(func(m map[string]any) { delete(m, "use"); delete(m, "alg") }), true},
		{"key_ops verify", edit(func(m map[string]any) { m["key_ops"] = []string{"verify"} }), true},
		{"RSA", []byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"}`), false},
		{"P-384", edit(func(m map[string]any) { m["crv"] = "P-384" }), false},
		{"use enc", edit(func(m map[string]any) { m["use"] = "enc" }), false},
		{"alg RS256", edit(func(m map[string]any) { m["alg"] = "RS256" }), false},
		{"key_ops sign", edit(func(m map[string]any) { m["key_ops"] = []string{"sign"} }), false},
		{"off the curve", edit(func(m map[string]any) { m["y"] = otherJWK["y"] }), false},
		{"x short", edit(func(m map[string]any) { m["x"] = "AAAA" }), false},
		{"x padded", edit(func(m map[string]any) { m["x"] = m["x"].(string) + "=" }), false},
		{"not JSON", []byte(`hello`), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePublicJWK(tt.raw)
			if (err == nil) != tt.ok {
				t.Fatalf("parsePublicJWK = %v, want ok %v", err, tt.ok)
			}
			if tt.ok && (!got.key.Equal(&key.priv.PublicKey) || got.kid != key.kid) {
				t.Errorf("parsePublicJWK returned another key")
			}
			if tt.ok && strings.Contains(string(got.jwk), `"d"`) {
				t.Errorf("the canonical JWK has a private member")
			}
		})
	}
}

func TestKeyRefreshRateLimited(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	ctx := context.Background()
	if _, err := c.VerifyAccessToken(ctx, f.sign("at+jwt", f.accessClaims())); err != nil {
		t.Fatalf("VerifyAccessToken = %v", err)
	}
	if n := f.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetches after the first token = %d, want 1", n)
	}

	// Forged kids: one fetch in a JWKSMinRefresh window, however many tokens.
	stranger := newOPKey(t)
	f.clock.Advance(DefaultJWKSMinRefresh)
	for i := range 20 {
		forged := opSign(t, stranger, "at+jwt", f.accessClaims())
		_, err := c.VerifyAccessToken(ctx, forged)
		var te *TokenError
		if !errors.As(err, &te) || !strings.Contains(te.Reason, "does not publish") {
			t.Fatalf("forged token %d: %v, want unknown key", i, err)
		}
		f.clock.Advance(time.Second)
	}
	if n := f.jwksHits.Load(); n != 2 {
		t.Errorf("JWKS fetches after 20 forged tokens within %v = %d, want 2", DefaultJWKSMinRefresh, n)
	}

	// A rotation within the window is seen once the window has passed.
	next := f.rotate()
	token := f.sign("at+jwt", f.accessClaims())
	if _, err := c.VerifyAccessToken(ctx, token); err == nil {
		t.Fatalf("a token of the new key verified before a fetch")
	}
	f.clock.Advance(DefaultJWKSMinRefresh)
	if _, err := c.VerifyAccessToken(ctx, token); err != nil {
		t.Fatalf("a token of the new key %s after the window: %v", next.kid, err)
	}
	if n := f.jwksHits.Load(); n != 3 {
		t.Errorf("JWKS fetches = %d, want 3", n)
	}
}

func TestKeyRotationAndRetirement(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	ctx := context.Background()
	old := f.signer
	oldToken := f.sign("at+jwt", f.accessClaims())
	if _, err := c.VerifyAccessToken(ctx, oldToken); err != nil {
		t.Fatal(err)
	}
	// A token of the next key makes the cache fetch the set (once the window of
	// the first fetch has passed).
	f.rotate()
	f.clock.Advance(DefaultJWKSMinRefresh)
	newToken := f.sign("at+jwt", f.accessClaims())
	if _, err := c.VerifyAccessToken(ctx, newToken); err != nil {
		t.Fatalf("the new key's token: %v", err)
	}
	if _, err := c.VerifyAccessToken(ctx, oldToken); err != nil {
		t.Fatalf("the old key's token while both are published: %v", err)
	}
	// Retired: the next fetch drops it.
	f.retire(old)
	f.clock.Advance(DefaultJWKSMinRefresh)
	stranger := newOPKey(t)
	_, _ = c.VerifyAccessToken(ctx, opSign(t, stranger, "at+jwt", f.accessClaims())) // makes the cache fetch
	if _, err := c.VerifyAccessToken(ctx, oldToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token of a retired key = %v, want ErrInvalidToken", err)
	}
}

func TestKeyFetchFailureKeepsKeys(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	ctx := context.Background()
	good := f.sign("at+jwt", f.accessClaims())
	if _, err := c.VerifyAccessToken(ctx, good); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.jwksFail = true
	f.mu.Unlock()
	f.clock.Advance(DefaultJWKSMinRefresh)
	stranger := newOPKey(t)
	forged := opSign(t, stranger, "at+jwt", f.accessClaims())
	if _, err := c.VerifyAccessToken(ctx, forged); !errors.Is(err, ErrUnavailable) {
		t.Errorf("an unknown kid while the JWK Set fails = %v, want ErrUnavailable", err)
	}
	// Within the window, the failure is remembered without another fetch.
	hits := f.jwksHits.Load()
	if _, err := c.VerifyAccessToken(ctx, forged); !errors.Is(err, ErrUnavailable) {
		t.Errorf("again = %v, want ErrUnavailable", err)
	}
	if f.jwksHits.Load() != hits {
		t.Errorf("a failed fetch was retried within the window")
	}
	if _, err := c.VerifyAccessToken(ctx, good); err != nil {
		t.Errorf("a token of a known key while the JWK Set fails: %v", err)
	}
}

func TestKeyFetchShared(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	ctx := context.Background()
	token := f.sign("at+jwt", f.accessClaims())
	var wg sync.WaitGroup
	errs := make([]error, 30)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.VerifyAccessToken(ctx, token) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if n := f.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetches for 30 concurrent first tokens = %d, want 1", n)
	}
}
