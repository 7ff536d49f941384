package idp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"

	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// keysClock is a clock the test moves by hand, safe for concurrent use.
type keysClock struct {
	mu sync.Mutex
	t  time.Time
}

func newKeysClock() *keysClock {
	return &keysClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (c *keysClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *keysClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *keysClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openKeyStore(t testing.TB) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "f.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// newTestKeys returns keys on the default schedule over a fresh store, refreshed
// once at the clock's time.
func newTestKeys(t testing.TB, cfg idp.KeyConfig) (*idp.Keys, *bolt.Store, *keysClock) {
	t.Helper()
	store, clock := openKeyStore(t), newKeysClock()
	keys := idp.NewKeys(store, cfg, clock.Now)
	if err := keys.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return keys, store, clock
}

// accessClaims is an RFC 9068 access token's claim set, as the server issues one
// for a person acting for another.
func accessClaims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss":       "https://fullmakt.example.no",
		"sub":       "p-4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a99",
		"aud":       []string{"https://api.skatteetaten.example.no"},
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"jti":       "6f1c2a9e-5b7d-4c3e-9a8b-1d2e3f4a5b6c",
		"client_id": "skatteetaten-portal",
		"scope":     "openid represent",
		"auth_time": now.Add(-time.Minute).Unix(),
		"acr":       "idporten-loa-high",
		"amr":       []string{"hwk", "mfa"},
		"act":       map[string]any{"sub": "p-0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"},
		"authorization_details": []any{map[string]any{
			"type":     "representation",
			"party":    map[string]any{"type": "person", "id": "01017012345"},
			"services": []string{"skatteetaten.skattemelding"},
			"actions":  []string{"read", "submit"},
		}},
	}
}

func atHeader() *jwt.Headers { return &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}} }

// sign signs the access claims and fails the test on an error.
func sign(t testing.TB, keys *idp.Keys) (token, sig string) {
	t.Helper()
	token, sig, err := keys.Generate(context.Background(), accessClaims(), atHeader())
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return token, sig
}

// header decodes a token's JOSE header.
func header(t testing.TB, token string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func kidOf(t testing.TB, token string) string {
	t.Helper()
	kid, _ := header(t, token)["kid"].(string)
	return kid
}

func jwksKIDs(keys *idp.Keys) []string {
	var kids []string
	for _, k := range keys.JWKS().Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func TestKeyConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  idp.KeyConfig
		want []string // substrings of the error; none: valid
	}{
		{name: "zero takes the defaults", cfg: idp.KeyConfig{}},
		{name: "defaults", cfg: idp.DefaultKeyConfig()},
		{name: "short schedule", cfg: idp.KeyConfig{RotateEvery: 2 * time.Hour, PublishLead: time.Hour, Retain: time.Hour}},
		{name: "RS256", cfg: idp.KeyConfig{Algorithm: "RS256"}, want: []string{`"RS256" is not supported`}},
		{name: "negative", cfg: idp.KeyConfig{Retain: -time.Hour}, want: []string{"retention must be positive"}},
		{name: "lead too long", cfg: idp.KeyConfig{RotateEvery: time.Hour, PublishLead: time.Hour}, want: []string{"publish lead (1h0m0s) must be shorter than the rotation period (1h0m0s)"}},
		{
			name: "every problem at once",
			cfg:  idp.KeyConfig{Algorithm: "none", RotateEvery: -1, PublishLead: -1},
			want: []string{`"none" is not supported`, "rotation period must be positive", "publish lead must be positive"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate(%+v) = %v, want nil", tt.cfg, err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%+v) = %v, want an error containing %q", tt.cfg, err, w)
				}
			}
		})
	}
	keys := idp.NewKeys(openKeyStore(t), idp.KeyConfig{Algorithm: "HS256"}, time.Now)
	if err := keys.Refresh(t.Context()); err == nil {
		t.Error("Refresh with an invalid configuration = nil, want its error")
	}
}

func TestKeysSchedule(t *testing.T) {
	ctx := t.Context()
	cfg := idp.DefaultKeyConfig()
	keys, store, clock := newTestKeys(t, cfg)
	start := clock.Now()

	// The first start makes a key that signs at once.
	first := jwksKIDs(keys)
	if len(first) != 1 {
		t.Fatalf("JWKS after the first Refresh has %d keys, want 1", len(first))
	}
	oldToken, _ := sign(t, keys)
	if got := kidOf(t, oldToken); got != first[0] {
		t.Fatalf("first token's kid = %q, want %q", got, first[0])
	}
	if _, err := keys.Validate(ctx, oldToken); err != nil {
		t.Fatalf("Validate(first token) = %v", err)
	}

	// Nothing is due just before RotateEvery−PublishLead: Refresh changes nothing.
	successorAt := start.Add(cfg.RotateEvery - cfg.PublishLead)
	clock.Set(successorAt.Add(-time.Second))
	before := keys.JWKSJSON()
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := keys.JWKSJSON(); &got[0] != &before[0] {
		t.Error("Refresh with nothing due built a new JWKS")
	}

	// At RotateEvery−PublishLead the successor is published, but does not sign.
	clock.Set(successorAt)
	for range 2 { // the second Refresh must not add another successor
		if err := keys.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	kids := jwksKIDs(keys)
	if len(kids) != 2 || kids[0] != first[0] {
		t.Fatalf("JWKS at RotateEvery−PublishLead = %v, want the first key and a successor", kids)
	}
	successor := kids[1]
	infos, err := keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantInfos := []idp.KeyInfo{
		{ID: first[0], Algorithm: "ES256", CreatedAt: start, SignsFrom: start, State: idp.KeySigning},
		{ID: successor, Algorithm: "ES256", CreatedAt: successorAt, SignsFrom: successorAt.Add(cfg.PublishLead), State: idp.KeyPending},
	}
	if diff := cmp.Diff(wantInfos, infos); diff != "" {
		t.Errorf("List at RotateEvery−PublishLead (-want +got):\n%s", diff)
	}
	switchAt := start.Add(cfg.RotateEvery)
	clock.Set(switchAt.Add(-time.Nanosecond))
	if tok, _ := sign(t, keys); kidOf(t, tok) != first[0] {
		t.Errorf("just before the switch, signed with %q, want the first key %q", kidOf(t, tok), first[0])
	}

	// PublishLead later the successor signs, even before the next Refresh.
	clock.Set(switchAt)
	newToken, _ := sign(t, keys)
	if got := kidOf(t, newToken); got != successor {
		t.Errorf("at the switch, signed with %q, want the successor %q", got, successor)
	}
	for _, tok := range []string{oldToken, newToken} {
		if _, err := keys.Validate(ctx, tok); err != nil {
			t.Errorf("Validate(token of %s) after the switch = %v", kidOf(t, tok), err)
		}
	}

	// The old key stays published until Retain after the switch.
	clock.Set(switchAt.Add(cfg.Retain))
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Validate(ctx, oldToken); err != nil {
		t.Errorf("Validate(old token) at Retain after the switch = %v", err)
	}
	infos, err = keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 2 || infos[0].State != idp.KeyRetiring || !infos[0].DeleteAfter.Equal(switchAt.Add(cfg.Retain)) || infos[1].State != idp.KeySigning {
		t.Errorf("List at Retain after the switch = %+v, want the old key retiring until %s and the successor signing", infos, switchAt.Add(cfg.Retain))
	}

	// Then it is deleted, and its tokens no longer verify.
	clock.Set(switchAt.Add(cfg.Retain + time.Second))
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := jwksKIDs(keys); len(got) != 1 || got[0] != successor {
		t.Errorf("JWKS after Retain = %v, want only the successor %s", got, successor)
	}
	var ve *jwt.ValidationError
	if _, err := keys.Validate(ctx, oldToken); !errors.As(err, &ve) || !ve.Has(jwt.ValidationErrorUnverifiable) {
		t.Errorf("Validate(token of a deleted key) = %v, want an unverifiable-token error", err)
	}
	stored, err := store.SigningKeys(ctx)
	if err != nil || len(stored) != 1 || stored[0].ID != successor {
		t.Errorf("stored keys after Retain = %v, %v; want only the successor", stored, err)
	}

	// A restart over the same store takes up the same keys.
	restarted := idp.NewKeys(store, cfg, clock.Now)
	if err := restarted.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := string(restarted.JWKSJSON()), string(keys.JWKSJSON()); got != want {
		t.Errorf("JWKS after a restart = %s, want %s", got, want)
	}
	if _, err := restarted.Validate(ctx, newToken); err != nil {
		t.Errorf("Validate(token) after a restart = %v", err)
	}
}

func TestKeysRotate(t *testing.T) {
	ctx := t.Context()
	cfg := idp.DefaultKeyConfig()
	keys, store, clock := newTestKeys(t, cfg)
	oldToken, _ := sign(t, keys)
	oldKID := kidOf(t, oldToken)

	// A planned rotation: published now, signs PublishLead later.
	clock.Add(time.Hour)
	planned, err := keys.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(cfg.PublishLead); !planned.SignsFrom.Equal(want) {
		t.Errorf("Rotate(planned).SignsFrom = %s, want %s", planned.SignsFrom, want)
	}
	if tok, _ := sign(t, keys); kidOf(t, tok) != oldKID {
		t.Errorf("after a planned rotation, signed with %q, want the old key until the lead has passed", kidOf(t, tok))
	}

	// A suspected compromise: the new key signs at once, and replaces the pending one.
	clock.Add(time.Minute)
	urgent, err := keys.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !urgent.SignsFrom.Equal(clock.Now()) {
		t.Errorf("Rotate(immediate).SignsFrom = %s, want now %s", urgent.SignsFrom, clock.Now())
	}
	newToken, _ := sign(t, keys)
	if got := kidOf(t, newToken); got != urgent.ID {
		t.Errorf("after Rotate(immediate), signed with %q, want %q", got, urgent.ID)
	}
	if got, want := jwksKIDs(keys), []string{oldKID, urgent.ID}; !cmp.Equal(got, want) {
		t.Errorf("JWKS after Rotate(immediate) = %v, want %v (the pending key deleted)", got, want)
	}
	// Even past the planned key's start, the urgent key signs: the planned one is gone.
	clock.Add(cfg.PublishLead)
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if tok, _ := sign(t, keys); kidOf(t, tok) != urgent.ID {
		t.Errorf("after the planned key's start, signed with %q, want %q", kidOf(t, tok), urgent.ID)
	}

	// Tokens in flight still verify until Retain after the switch.
	if _, err := keys.Validate(ctx, oldToken); err != nil {
		t.Errorf("Validate(token of the compromised key) right after = %v", err)
	}
	clock.Set(urgent.SignsFrom.Add(cfg.Retain + time.Second))
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Validate(ctx, oldToken); err == nil {
		t.Error("Validate(token of the compromised key) after Retain = nil, want an error")
	}
	if _, err := keys.Validate(ctx, newToken); err != nil {
		t.Errorf("Validate(token of the new key) = %v", err)
	}
	if stored, err := store.SigningKeys(ctx); err != nil || len(stored) != 1 {
		t.Errorf("stored keys = %d, %v; want 1", len(stored), err)
	}
}

// TestKeysRotateAtTheSameInstant rotates at the very instant the first key was
// made (a stopped or coarse clock): the new key must still be the one that signs,
// whatever the order of the key ids.
func TestKeysRotateAtTheSameInstant(t *testing.T) {
	for i := range 16 {
		keys, _, _ := newTestKeys(t, idp.KeyConfig{})
		first := jwksKIDs(keys)[0]
		urgent, err := keys.Rotate(t.Context(), true)
		if err != nil {
			t.Fatal(err)
		}
		if tok, _ := sign(t, keys); kidOf(t, tok) != urgent.ID {
			t.Fatalf("try %d: after Rotate(immediate) at the first key's instant, signed with %q, want the new key %q (first %q)", i, kidOf(t, tok), urgent.ID, first)
		}
		infos, err := keys.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 2 || infos[0].ID != first || infos[0].State != idp.KeyRetiring || infos[1].State != idp.KeySigning {
			t.Fatalf("try %d: List = %+v, want the first key retiring and the new one signing", i, infos)
		}
	}
}

func TestKeysRotateOnEmptyStoreSignsAtOnce(t *testing.T) {
	store, clock := openKeyStore(t), newKeysClock()
	keys := idp.NewKeys(store, idp.KeyConfig{}, clock.Now)
	key, err := keys.Rotate(t.Context(), false)
	if err != nil {
		t.Fatal(err)
	}
	if !key.SignsFrom.Equal(clock.Now()) {
		t.Errorf("Rotate on an empty store: SignsFrom = %s, want now (no key would sign otherwise)", key.SignsFrom)
	}
	if tok, _ := sign(t, keys); kidOf(t, tok) != key.ID {
		t.Errorf("signed with %q, want %q", kidOf(t, tok), key.ID)
	}
}

func TestKeysBeforeRefresh(t *testing.T) {
	keys := idp.NewKeys(openKeyStore(t), idp.KeyConfig{}, time.Now)
	if _, _, err := keys.Generate(t.Context(), accessClaims(), atHeader()); err == nil {
		t.Error("Generate before Refresh = nil error, want one")
	}
	if got := string(keys.JWKSJSON()); got != `{"keys":[]}` {
		t.Errorf("JWKSJSON before Refresh = %s, want an empty set", got)
	}
	if got := keys.JWKS(); len(got.Keys) != 0 {
		t.Errorf("JWKS before Refresh has %d keys", len(got.Keys))
	}
}

func TestKeysRefuseBadStoredKey(t *testing.T) {
	ctx := t.Context()
	keys, store, _ := newTestKeys(t, idp.KeyConfig{})
	stored, err := store.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := stored[0]
	bad.ID = "not-its-thumbprint"
	bad.SignsFrom = bad.SignsFrom.Add(time.Second)
	if err := store.PutSigningKey(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if err := keys.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "thumbprint") {
		t.Errorf("Refresh with a key whose id is not its thumbprint = %v, want an error", err)
	}
	if len(keys.JWKS().Keys) != 1 {
		t.Error("a failed Refresh replaced the snapshot")
	}
}

func TestKeysGenerate(t *testing.T) {
	ctx := t.Context()
	keys, _, _ := newTestKeys(t, idp.KeyConfig{})
	kid := jwksKIDs(keys)[0]

	// The caller's typ is kept; kid and alg are the key's whatever the caller says;
	// parameters that change verification are dropped.
	hdr := &jwt.Headers{Extra: map[string]any{"typ": "at+jwt", "kid": "mine", "alg": "none", "crit": []string{"b64"}, "b64": false, "jku": "https://evil.example"}}
	token, sig, err := keys.Generate(ctx, accessClaims(), hdr)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"typ": "at+jwt", "kid": kid, "alg": "ES256"}
	if diff := cmp.Diff(want, header(t, token)); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if parts := strings.Split(token, "."); sig != parts[2] {
		t.Errorf("Generate's signature = %q, want the token's third part %q", sig, parts[2])
	}
	if got, err := keys.GetSignature(ctx, token); err != nil || got != sig {
		t.Errorf("GetSignature = %q, %v, want %q", got, err, sig)
	}
	if got, err := keys.Validate(ctx, token); err != nil || got != sig {
		t.Errorf("Validate = %q, %v, want %q", got, err, sig)
	}
	decoded, err := keys.Decode(ctx, token)
	if err != nil || !decoded.Valid() || decoded.Claims["client_id"] != "skatteetaten-portal" {
		t.Errorf("Decode = %+v, %v; want the valid token and its claims", decoded, err)
	}
	if _, err := keys.GetSignature(ctx, "a.b"); err == nil {
		t.Error("GetSignature(two parts) = nil error")
	}

	// Without a typ, the token is a JWT (an ID token).
	token, _, err = keys.Generate(ctx, jwt.MapClaims{"sub": "x"}, &jwt.Headers{})
	if err != nil {
		t.Fatal(err)
	}
	if got := header(t, token)["typ"]; got != "JWT" {
		t.Errorf("typ without one asked = %v, want JWT", got)
	}
	if _, _, err := keys.Generate(ctx, nil, &jwt.Headers{}); err == nil {
		t.Error("Generate(nil claims) = nil error")
	}

	if got, err := keys.Hash(ctx, []byte("abc")); err != nil || base64.RawURLEncoding.EncodeToString(got) != "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0" {
		t.Errorf("Hash(abc) = %x, %v, want SHA-256", got, err)
	}
	if got := keys.GetSigningMethodLength(ctx); got != 32 {
		t.Errorf("GetSigningMethodLength = %d, want 32", got)
	}
}

func TestKeysJWKS(t *testing.T) {
	keys, _, clock := newTestKeys(t, idp.KeyConfig{})
	clock.Add(time.Minute)
	if _, err := keys.Rotate(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(keys.JWKSJSON(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 {
		t.Fatalf("JWKS has %d keys, want 2 (signing and pending)", len(set.Keys))
	}
	for _, k := range set.Keys {
		var names []string
		for name := range k {
			names = append(names, name)
		}
		if len(k) != 7 || k["kty"] != "EC" || k["crv"] != "P-256" || k["use"] != "sig" || k["alg"] != "ES256" || k["x"] == nil || k["y"] == nil || k["kid"] == nil {
			t.Errorf("JWKS key has %v, want exactly kty EC, crv P-256, use sig, alg ES256, x, y and kid (no private part): %v", names, k)
		}
	}

	// The kid is the RFC 7638 thumbprint, as go-jose computes it; and a relying
	// party that knows only the JWKS verifies a token.
	token, _ := sign(t, keys)
	var jwks jose.JSONWebKeySet
	if err := json.Unmarshal(keys.JWKSJSON(), &jwks); err != nil {
		t.Fatal(err)
	}
	for _, k := range jwks.Keys {
		tp, err := k.Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.RawURLEncoding.EncodeToString(tp); got != k.KeyID {
			t.Errorf("kid %s is not the key's RFC 7638 thumbprint %s", k.KeyID, got)
		}
	}
	jws, err := jose.ParseSigned(token)
	if err != nil {
		t.Fatal(err)
	}
	found := jwks.Key(jws.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		t.Fatalf("the token's kid %q is not in the JWKS", jws.Signatures[0].Header.KeyID)
	}
	if _, err := jws.Verify(found[0].Key); err != nil {
		t.Errorf("a relying party cannot verify the token with the JWKS: %v", err)
	}
	// JWKS returns a copy.
	cp := keys.JWKS()
	cp.Keys[0].KeyID = "changed"
	if keys.JWKS().Keys[0].KeyID == "changed" {
		t.Error("JWKS returned the snapshot's own slice")
	}
}

func TestKeysExpiredToken(t *testing.T) {
	keys, _, _ := newTestKeys(t, idp.KeyConfig{})
	claims := accessClaims()
	claims["exp"] = time.Now().Add(-time.Minute).Unix()
	token, _, err := keys.Generate(t.Context(), claims, &jwt.Headers{})
	if err != nil {
		t.Fatal(err)
	}
	decoded, err := keys.Decode(t.Context(), token)
	var ve *jwt.ValidationError
	if !errors.As(err, &ve) || !ve.Has(jwt.ValidationErrorExpired) {
		t.Fatalf("Decode(expired) = %v, want ValidationErrorExpired (fosite accepts an expired id_token_hint)", err)
	}
	if decoded == nil || decoded.Claims["sub"] != claims["sub"] {
		t.Errorf("Decode(expired) returned %+v, want the token with its claims", decoded)
	}
	if _, err := keys.Validate(t.Context(), token); err == nil {
		t.Error("Validate(expired) = nil error")
	}
}

// compact builds a JWS from a header and payload, with sig as its signature part.
func compact(t *testing.T, header map[string]any, payload []byte, sig string) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(payload) + "." + sig
}

// joseSign signs payload with go-jose, as another party would.
func joseSign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, payload []byte) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestKeysRefuseBadTokens(t *testing.T) {
	ctx := t.Context()
	keys, _, _ := newTestKeys(t, idp.KeyConfig{})
	good, _ := sign(t, keys)
	kid := kidOf(t, good)
	parts := strings.Split(good, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwk := keys.JWKS().Keys[0]
	pubJSON, err := jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(payload), "skatteetaten-portal", "skatteetaten-portaX", 1)
	otherClaims := accessClaims()
	otherClaims["jti"] = "another"
	other, _, err := keys.Generate(ctx, otherClaims, atHeader())
	if err != nil {
		t.Fatal(err)
	}
	jsonSerialized := func() string {
		jws, err := jose.ParseSigned(good)
		if err != nil {
			t.Fatal(err)
		}
		return jws.FullSerialize()
	}()

	tests := []struct {
		name  string
		token string
		want  uint32 // the ValidationError bit fosite maps to an RFC 6749 error
	}{
		{name: "alg none, unsigned", token: compact(t, map[string]any{"alg": "none", "kid": kid}, payload, ""), want: jwt.ValidationErrorMalformed},
		{name: "alg none, with a signature part", token: compact(t, map[string]any{"alg": "none", "kid": kid}, payload, parts[2]), want: jwt.ValidationErrorUnverifiable},
		{name: "no kid", token: joseSign(t, jose.ES256, foreign, "", payload), want: jwt.ValidationErrorUnverifiable},
		{name: "our token without its kid", token: compact(t, map[string]any{"alg": "ES256", "typ": "at+jwt"}, payload, parts[2]), want: jwt.ValidationErrorUnverifiable},
		{name: "unknown kid", token: joseSign(t, jose.ES256, foreign, "someone-else", payload), want: jwt.ValidationErrorUnverifiable},
		{name: "a key from elsewhere under our kid", token: joseSign(t, jose.ES256, foreign, kid, payload), want: jwt.ValidationErrorSignatureInvalid},
		{name: "HS256 keyed with our public key", token: joseSign(t, jose.HS256, pubJSON, kid, payload), want: jwt.ValidationErrorUnverifiable},
		{name: "ES384 under our kid", token: compact(t, map[string]any{"alg": "ES384", "kid": kid}, payload, parts[2]), want: jwt.ValidationErrorUnverifiable},
		{name: "tampered payload", token: parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2], want: jwt.ValidationErrorSignatureInvalid},
		{name: "signature of another token", token: parts[0] + "." + parts[1] + "." + strings.Split(other, ".")[2], want: jwt.ValidationErrorSignatureInvalid},
		{name: "JSON serialization", token: jsonSerialized, want: jwt.ValidationErrorMalformed},
		{name: "padded base64", token: good + "=", want: jwt.ValidationErrorMalformed},
		{name: "two parts", token: parts[0] + "." + parts[1], want: jwt.ValidationErrorMalformed},
		{name: "empty", token: "", want: jwt.ValidationErrorMalformed},
		{name: "claims not JSON", token: "e30.bm90IGpzb24.c2ln", want: jwt.ValidationErrorClaimsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := keys.Validate(ctx, tt.token)
			var ve *jwt.ValidationError
			if err == nil || !errors.As(err, &ve) {
				t.Fatalf("Validate(%s) = %q, %v; want a *jwt.ValidationError", tt.name, sig, err)
			}
			if !ve.Has(tt.want) {
				t.Errorf("Validate(%s) = %v (bits %b), want bit %b", tt.name, err, ve.Errors, tt.want)
			}
			if tok, err := keys.Decode(ctx, tt.token); err == nil || (tok != nil && tok.Valid()) {
				t.Errorf("Decode(%s) = %+v, %v; want an error and no valid token", tt.name, tok, err)
			}
		})
	}
	if _, err := keys.Validate(ctx, good); err != nil {
		t.Errorf("Validate(good token) = %v", err)
	}
}

// TestKeysWithFositeJWTStrategy runs Keys as the signer of fosite's JWT access
// token strategy: the storage key is the signature, and a token signed before a
// rotation still validates (DefaultSigner would refuse it), until its key is retired.
func TestKeysWithFositeJWTStrategy(t *testing.T) {
	ctx := t.Context()
	cfg := idp.DefaultKeyConfig()
	keys, _, clock := newTestKeys(t, cfg)
	strategy := &oauth2.DefaultJWTStrategy{Signer: keys, Config: &fosite.Config{AccessTokenIssuer: "https://fullmakt.example.no"}}
	req := fosite.NewAccessRequest(&oauth2.JWTSession{
		JWTClaims: &jwt.JWTClaims{Subject: "p-1", Extra: map[string]any{"client_id": "c"}},
		JWTHeader: &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}},
		ExpiresAt: map[fosite.TokenType]time.Time{fosite.AccessToken: time.Now().Add(time.Hour)},
	})
	token, sig, err := strategy.GenerateAccessToken(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if got := strategy.AccessTokenSignature(ctx, token); got != sig {
		t.Errorf("AccessTokenSignature = %q, Generate's signature %q: the stored token would not be found", got, sig)
	}
	urgent, err := keys.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := strategy.ValidateAccessToken(ctx, req, token); err != nil {
		t.Errorf("ValidateAccessToken(token of the previous key) = %v", err)
	}
	clock.Set(urgent.SignsFrom.Add(cfg.Retain + time.Second))
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := strategy.ValidateAccessToken(ctx, req, token); !errors.Is(err, fosite.ErrTokenSignatureMismatch) {
		t.Errorf("ValidateAccessToken(token of a retired key) = %v, want %v", err, fosite.ErrTokenSignatureMismatch)
	}
}

// TestKeysConcurrent signs and verifies from several goroutines while the clock
// runs through many rotations and Refresh and Rotate swap snapshots (run with -race).
func TestKeysConcurrent(t *testing.T) {
	ctx := t.Context()
	cfg := idp.KeyConfig{RotateEvery: 5 * time.Hour, PublishLead: time.Hour, Retain: 3 * time.Hour}
	keys, _, clock := newTestKeys(t, cfg)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	signed, failed := 0, []error{}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				token, _, err := keys.Generate(ctx, accessClaims(), atHeader())
				if err == nil {
					_, err = keys.Validate(ctx, token)
					// The key may have been retired between the two calls only if the
					// clock ran past Retain meanwhile; anything else is a failure.
					if err != nil && strings.Contains(err.Error(), "retired") {
						err = nil
					}
				}
				mu.Lock()
				signed++
				if err != nil {
					failed = append(failed, err)
				}
				mu.Unlock()
			}
		})
	}
	for i := range 200 {
		clock.Add(10 * time.Minute)
		var err error
		if i%50 == 49 {
			_, err = keys.Rotate(ctx, i%100 == 99)
		} else {
			err = keys.Refresh(ctx)
		}
		if err != nil {
			t.Error(err)
		}
		_ = keys.JWKSJSON()
	}
	close(stop)
	wg.Wait()
	if len(failed) > 0 {
		t.Errorf("%d of %d concurrent sign-and-verify failed, first: %v", len(failed), signed, failed[0])
	}
	if signed == 0 {
		t.Error("no token was signed")
	}
	if n := len(keys.JWKS().Keys); n < 1 || n > 4 {
		t.Errorf("JWKS has %d keys after many rotations, want 1 to 4", n)
	}
}

// BenchmarkKeysGenerate signs one RFC 9068 access token.
func BenchmarkKeysGenerate(b *testing.B) {
	keys, _, _ := newTestKeys(b, idp.KeyConfig{})
	ctx, claims, hdr := context.Background(), accessClaims(), atHeader()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := keys.Generate(ctx, claims, hdr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeysValidate verifies one RFC 9068 access token.
func BenchmarkKeysValidate(b *testing.B) {
	keys, _, _ := newTestKeys(b, idp.KeyConfig{})
	token, _ := sign(b, keys)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := keys.Validate(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

var _ grants.Store = (*bolt.Store)(nil)
