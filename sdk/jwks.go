package sdk

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// keyCache holds Fullmakt's public signing keys (its JWK Set at jwks_uri) by kid.
// A token or receipt that names a kid the cache does not hold makes it fetch the
// set again, at most once per Config.JWKSMinRefresh: Fullmakt publishes a new key
// an hour before it signs with it, so an unknown kid is either a rotation the
// cache has not seen or a forgery, and forgeries must not make the SDK hammer
// Fullmakt. Callers that need a fetch while one is under way share it. A failed
// fetch keeps the keys the cache had.
type keyCache struct {
	set atomic.Pointer[keySet] // nil until the first fetch that succeeded

	mu      sync.Mutex
	last    time.Time // when the last fetch started
	lastErr error     // how it ended
	flight  *keyFlight
}

// keySet is one fetched JWK Set: the usable keys by kid. It is never modified.
type keySet struct {
	byID    map[string]*publicKey
	fetched time.Time
}

// keySetMaxAge is how long a fetched key set is used before it is fetched again
// (Fullmakt's JWKS is cacheable for five minutes), so that a key Fullmakt has
// retired stops verifying even when no token names an unknown kid.
const keySetMaxAge = 5 * time.Minute

// publicKey is one usable key: ES256, ECDSA on P-256.
type publicKey struct {
	kid string
	key *ecdsa.PublicKey
	// jwk is the key as a public JWK in canonical form, for a receipt's archive.
	jwk json.RawMessage
}

// keyFlight is a fetch of the key set under way.
type keyFlight struct {
	done chan struct{}
	err  error
}

// lookup returns the cached key kid names, or nil.
func (k *keyCache) lookup(kid string) *publicKey {
	if set := k.set.Load(); set != nil {
		return set.byID[kid]
	}
	return nil
}

// verificationKey returns the published key named kid. An unknown kid makes it
// fetch the key set (within the rate limit); a kid still unknown is a
// *TokenError, unless the key set could not be fetched, which matches
// ErrUnavailable.
func (c *Client) verificationKey(ctx context.Context, kid string) (*publicKey, error) {
	if set := c.tokens.keys.set.Load(); set != nil && c.cfg.Now().Sub(set.fetched) >= keySetMaxAge {
		// Stale: fetch again (within the rate limit). On failure the keys known stay.
		if err := c.refreshKeys(ctx); err != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("sdk: fetch the signing keys: %w", err)
		}
	}
	if key := c.tokens.keys.lookup(kid); key != nil {
		return key, nil
	}
	fetchErr := c.refreshKeys(ctx)
	if key := c.tokens.keys.lookup(kid); key != nil {
		return key, nil
	}
	if fetchErr != nil {
		return nil, fmt.Errorf("sdk: fetch the signing keys: %w", fetchErr)
	}
	return nil, &TokenError{Reason: "signed with a key Fullmakt does not publish"}
}

// refreshKeys fetches the key set unless a fetch started less than
// JWKSMinRefresh ago, in which case it returns how that one ended; it joins a
// fetch under way. The fetch is not cancelled when the caller gives up.
func (c *Client) refreshKeys(ctx context.Context) error {
	k := &c.tokens.keys
	k.mu.Lock()
	f := k.flight
	if f == nil {
		now := c.cfg.Now()
		if !k.last.IsZero() && now.Before(k.last.Add(c.cfg.JWKSMinRefresh)) {
			err := k.lastErr
			k.mu.Unlock()
			return err
		}
		k.last = now
		f = &keyFlight{done: make(chan struct{})}
		k.flight = f
		go c.fetchKeys(context.WithoutCancel(ctx), f)
	}
	k.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fetchKeys fetches the key set, installs it when it holds a usable key, and
// ends the flight f.
func (c *Client) fetchKeys(ctx context.Context, f *keyFlight) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	set, err := c.fetchKeySet(ctx)
	k := &c.tokens.keys
	k.mu.Lock()
	if err == nil {
		k.set.Store(set)
	} else {
		c.cfg.Log.Warn("sdk: fetching Fullmakt's signing keys failed; keeping the keys known", "err", err)
	}
	k.lastErr, f.err = err, err
	k.flight = nil
	k.mu.Unlock()
	close(f.done)
}

// fetchKeySet fetches and parses the JWK Set. Keys the SDK cannot use (another
// type, curve, algorithm or use, or no kid) are skipped; a set without a usable
// key is an error.
func (c *Client) fetchKeySet(ctx context.Context) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := c.getJSON(ctx, c.meta.JWKSURI, &doc); err != nil {
		return nil, err
	}
	set := &keySet{byID: make(map[string]*publicKey, len(doc.Keys)), fetched: c.cfg.Now()}
	for _, raw := range doc.Keys {
		key, err := parsePublicJWK(raw)
		if err != nil || key.kid == "" {
			continue
		}
		set.byID[key.kid] = key
	}
	if len(set.byID) == 0 {
		return nil, fmt.Errorf("%w: the JWK Set at %s has no ES256 key with a kid", ErrUnavailable, c.meta.JWKSURI)
	}
	return set, nil
}

// jwk is the members of a JSON Web Key (RFC 7517, RFC 7518 §6.2) the SDK reads.
type jwk struct {
	Kty    string   `json:"kty"`
	Crv    string   `json:"crv"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
	Kid    string   `json:"kid,omitempty"`
	Use    string   `json:"use,omitempty"`
	Alg    string   `json:"alg,omitempty"`
	KeyOps []string `json:"key_ops,omitempty"`
}

// parsePublicJWK reads an EC P-256 public key for ES256 signatures: use sig or
// none, alg ES256 or none, key_ops (when given) including verify. Private
// members are ignored; the point must be on the curve.
func parsePublicJWK(raw []byte) (*publicKey, error) {
	var j jwk
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, errors.New("not a JSON object")
	}
	switch {
	case j.Kty != "EC" || j.Crv != "P-256":
		return nil, errors.New("not an EC key on P-256")
	case j.Use != "" && j.Use != "sig":
		return nil, errors.New("not a signing key")
	case j.Alg != "" && j.Alg != "ES256":
		return nil, errors.New("not an ES256 key")
	case j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify"):
		return nil, errors.New("not a key to verify with")
	}
	dec := base64.RawURLEncoding.Strict()
	x, errX := dec.DecodeString(j.X)
	y, errY := dec.DecodeString(j.Y)
	if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
		return nil, errors.New("x and y are not 32 bytes each in base64url")
	}
	point := append(append([]byte{4}, x...), y...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		return nil, errors.New("the point is not on the curve")
	}
	canonical, err := json.Marshal(jwk{Kty: "EC", Crv: "P-256", X: j.X, Y: j.Y, Kid: j.Kid, Use: "sig", Alg: "ES256"})
	if err != nil {
		return nil, err
	}
	return &publicKey{kid: j.Kid, key: pub, jwk: canonical}, nil
}
