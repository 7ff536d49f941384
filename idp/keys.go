package idp

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v3"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/ory/fosite/token/jwt"

	"github.com/fullmakt/fullmakt/idp/grants"
)

// Defaults of KeyConfig.
const (
	DefaultKeyAlgorithm   = "ES256"
	DefaultKeyRotateEvery = 30 * 24 * time.Hour
	DefaultKeyPublishLead = time.Hour
	DefaultKeyRetain      = 24 * time.Hour
)

// KeyConfig is the schedule of the token signing keys. A zero field takes its
// default (DefaultKeyConfig).
type KeyConfig struct {
	// Algorithm is the JWS algorithm of new keys. Only ES256 (ECDSA on P-256) for now.
	Algorithm string
	// RotateEvery is how long a key signs before its successor takes over.
	RotateEvery time.Duration
	// PublishLead is how long a new key is in the JWKS before it signs, so that
	// relying parties that cache the JWKS know it before they see it used.
	PublishLead time.Duration
	// Retain is how long a key stays published after it stopped signing. The server
	// sets it to the longest lifetime of anything signed (ID token, access token), so
	// that every token in flight still verifies.
	Retain time.Duration
}

// DefaultKeyConfig returns the default schedule: ES256, a new key every 30 days,
// published an hour before it signs, kept a day after.
func DefaultKeyConfig() KeyConfig {
	return KeyConfig{
		Algorithm:   DefaultKeyAlgorithm,
		RotateEvery: DefaultKeyRotateEvery,
		PublishLead: DefaultKeyPublishLead,
		Retain:      DefaultKeyRetain,
	}
}

// withDefaults returns c with its zero fields set to the defaults.
func (c KeyConfig) withDefaults() KeyConfig {
	d := DefaultKeyConfig()
	if c.Algorithm == "" {
		c.Algorithm = d.Algorithm
	}
	if c.RotateEvery == 0 {
		c.RotateEvery = d.RotateEvery
	}
	if c.PublishLead == 0 {
		c.PublishLead = d.PublishLead
	}
	if c.Retain == 0 {
		c.Retain = d.Retain
	}
	return c
}

// Validate reports every problem of the configuration at once; zero fields take
// their defaults first.
func (c KeyConfig) Validate() error {
	c = c.withDefaults()
	var errs []error
	if c.Algorithm != string(jose.ES256) {
		errs = append(errs, fmt.Errorf("idp: signing key algorithm %q is not supported (want ES256)", c.Algorithm))
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"rotation period", c.RotateEvery}, {"publish lead", c.PublishLead}, {"retention", c.Retain}} {
		if d.d < 0 {
			errs = append(errs, fmt.Errorf("idp: the signing key %s must be positive, not %s", d.name, d.d))
		}
	}
	if c.RotateEvery > 0 && c.PublishLead >= c.RotateEvery {
		errs = append(errs, fmt.Errorf("idp: the signing key publish lead (%s) must be shorter than the rotation period (%s)", c.PublishLead, c.RotateEvery))
	}
	return errors.Join(errs...)
}

// Keys holds the server's token signing keys and runs their schedule. It signs and
// verifies every JWT the server issues (ID tokens, access tokens): it is fosite's
// jwt.Signer, choosing the key to verify with by the token's kid, so that tokens
// signed before a rotation still verify until their key is retired.
//
// The keys live in the store. Refresh loads them and applies the schedule; between
// calls, Keys works from an immutable snapshot, so signing and verifying are safe
// for concurrent use, with each other and with Refresh and Rotate.
type Keys struct {
	store  grants.Store
	cfg    KeyConfig
	cfgErr error
	now    func() time.Time

	mu   sync.Mutex // serializes Refresh and Rotate: one schedule step at a time
	snap atomic.Pointer[keySnapshot]

	// verified remembers, by a hash of the whole token, tokens whose signature
	// checked out, until they expire: introspection, token exchange and the
	// decision API meet the same token again and again, and the ES256 check is
	// most of what they cost. A hit still needs the token's key to be published.
	verified *lru.Cache[[sha256.Size]byte, verifiedToken]
}

// verifiedToken is a token that passed Decode, and until when that holds.
type verifiedToken struct {
	token *jwt.Token
	kid   string
	exp   time.Time
}

// verifiedCacheSize bounds the tokens Decode remembers (a few MB).
const verifiedCacheSize = 16384

var _ jwt.Signer = (*Keys)(nil)

// NewKeys returns the keys kept in store, on the schedule cfg (zero fields take
// their defaults), with the clock now, which must be safe for concurrent use (as
// time.Now is). It does no I/O: call Refresh before signing.
// An invalid cfg makes Refresh and Rotate fail with cfg.Validate's error.
func NewKeys(store grants.Store, cfg KeyConfig, now func() time.Time) *Keys {
	verified, _ := lru.New[[sha256.Size]byte, verifiedToken](verifiedCacheSize) // only a size ≤ 0 fails
	return &Keys{store: store, cfg: cfg.withDefaults(), cfgErr: cfg.Validate(), now: now, verified: verified}
}

// loadedKey is a stored key with its private key parsed.
type loadedKey struct {
	id        string
	alg       jose.SignatureAlgorithm
	createdAt time.Time
	signsFrom time.Time
	private   *ecdsa.PrivateKey
}

// keySnapshot is the published keys at one Refresh. It is never modified.
type keySnapshot struct {
	keys     []*loadedKey // by SignsFrom, oldest first
	byID     map[string]*loadedKey
	jwks     jose.JSONWebKeySet
	jwksJSON []byte
}

// signer returns the key that signs at now: the newest whose SignsFrom has come.
// Should the clock stand before every key (it was set back), the oldest signs: it
// is published, and signing nothing would stop the server.
func (s *keySnapshot) signer(now time.Time) *loadedKey {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if !s.keys[i].signsFrom.After(now) {
			return s.keys[i]
		}
	}
	if len(s.keys) > 0 {
		return s.keys[0]
	}
	return nil
}

// sortKeys orders keys by when they start signing, oldest first; the later created
// comes last among keys that start at the same instant, so it wins.
func sortKeys(keys []grants.SigningKey) {
	slices.SortStableFunc(keys, func(a, b grants.SigningKey) int {
		return cmp.Or(a.SignsFrom.Compare(b.SignsFrom), a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

// signingIndex returns the index in sorted keys of the key that signs at now, as
// keySnapshot.signer chooses it, or -1 when there is no key.
func signingIndex(keys []grants.SigningKey, now time.Time) int {
	for i := len(keys) - 1; i >= 0; i-- {
		if !keys[i].SignsFrom.After(now) {
			return i
		}
	}
	if len(keys) > 0 {
		return 0
	}
	return -1
}

// Refresh loads the keys from the store and applies the schedule at now:
//   - with no key at all (the first start), it creates one that signs at once;
//   - when the newest key has signed for RotateEvery−PublishLead (counted from its
//     SignsFrom), it creates its successor, which signs PublishLead later: each key
//     signs for RotateEvery;
//   - it deletes every key whose successor started signing more than Retain ago.
//
// Every stored key is published. The server calls Refresh at start and then on a
// ticker (every minute, say); when nothing is due it reads the store once and
// keeps the snapshot it has. On an error the previous snapshot stays in use.
func (k *Keys) Refresh(ctx context.Context) error {
	if k.cfgErr != nil {
		return k.cfgErr
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return fmt.Errorf("idp: load the signing keys: %w", err)
	}
	sortKeys(stored)
	now := k.now()

	if len(stored) == 0 {
		key, err := k.create(ctx, stored, now, now)
		if err != nil {
			return err
		}
		stored = append(stored, key)
	} else if newest := stored[len(stored)-1]; !newest.SignsFrom.After(now) &&
		now.Sub(newest.SignsFrom) >= k.cfg.RotateEvery-k.cfg.PublishLead {
		key, err := k.create(ctx, stored, now, now.Add(k.cfg.PublishLead))
		if err != nil {
			return err
		}
		stored = append(stored, key)
	}

	kept := make([]grants.SigningKey, 0, len(stored))
	for i, key := range stored {
		if i+1 < len(stored) && now.Sub(stored[i+1].SignsFrom) > k.cfg.Retain {
			if err := k.store.DeleteSigningKey(ctx, key.ID); err != nil {
				return fmt.Errorf("idp: delete retired signing key %s: %w", key.ID, err)
			}
			continue
		}
		kept = append(kept, key)
	}
	return k.install(kept)
}

// Rotate creates a new key at once, out of schedule. It signs PublishLead from now,
// or at once when immediate (a suspected compromise; relying parties that cached
// the JWKS fetch it again on the unknown kid). When no key signs yet, the new one
// signs at once either way. A key that was waiting to sign is deleted: it has signed
// nothing and the new key replaces it. The key that signed until now stays published
// until Retain after the new key takes over, so tokens in flight still verify.
func (k *Keys) Rotate(ctx context.Context, immediate bool) (grants.SigningKey, error) {
	if k.cfgErr != nil {
		return grants.SigningKey{}, k.cfgErr
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return grants.SigningKey{}, fmt.Errorf("idp: load the signing keys: %w", err)
	}
	sortKeys(stored)
	now := k.now()
	signsFrom := now.Add(k.cfg.PublishLead)
	if immediate || len(stored) == 0 || stored[0].SignsFrom.After(now) {
		signsFrom = now
	}
	key, err := k.create(ctx, stored, now, signsFrom)
	if err != nil {
		return grants.SigningKey{}, err
	}
	kept := make([]grants.SigningKey, 0, len(stored)+1)
	for _, old := range stored {
		if old.SignsFrom.After(now) {
			if err := k.store.DeleteSigningKey(ctx, old.ID); err != nil {
				return grants.SigningKey{}, fmt.Errorf("idp: delete superseded signing key %s: %w", old.ID, err)
			}
			continue
		}
		kept = append(kept, old)
	}
	kept = append(kept, key)
	sortKeys(kept)
	return key, k.install(kept)
}

// KeyState says what a stored key does at a moment.
type KeyState string

// The states of a key, in the order a key goes through them.
const (
	KeyPending  KeyState = "pending"  // published, signs from SignsFrom on
	KeySigning  KeyState = "signing"  // signs every new token
	KeyRetiring KeyState = "retiring" // published until DeleteAfter, signs nothing
)

// KeyInfo describes a stored key, without its private part.
type KeyInfo struct {
	ID        string
	Algorithm string
	CreatedAt time.Time
	SignsFrom time.Time
	State     KeyState
	// DeleteAfter is when a retiring key is deleted (its successor's SignsFrom plus
	// Retain); zero for the others.
	DeleteAfter time.Time
}

// List returns every stored key with its state at now, oldest first. It only reads
// the store: the schedule is Refresh's.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("idp: load the signing keys: %w", err)
	}
	sortKeys(stored)
	signing := signingIndex(stored, k.now())
	infos := make([]KeyInfo, len(stored))
	for i, key := range stored {
		info := KeyInfo{ID: key.ID, Algorithm: key.Algorithm, CreatedAt: key.CreatedAt, SignsFrom: key.SignsFrom}
		switch {
		case i == signing:
			info.State = KeySigning
		case i > signing:
			info.State = KeyPending
		default:
			info.State = KeyRetiring
			info.DeleteAfter = stored[i+1].SignsFrom.Add(k.cfg.Retain)
		}
		infos[i] = info
	}
	return infos, nil
}

// create generates a key, stores it and returns it. It is created at now, or just
// after the latest of stored when that is not before now (a coarse or stopped
// clock): among keys that start signing at the same instant the one created last
// signs, and that must be the new one.
func (k *Keys) create(ctx context.Context, stored []grants.SigningKey, now, signsFrom time.Time) (grants.SigningKey, error) {
	createdAt := now
	for _, old := range stored {
		if !createdAt.After(old.CreatedAt) {
			createdAt = old.CreatedAt.Add(time.Nanosecond)
		}
	}
	key, err := newSigningKey(createdAt, signsFrom)
	if err != nil {
		return grants.SigningKey{}, err
	}
	if err := k.store.PutSigningKey(ctx, key); err != nil {
		return grants.SigningKey{}, fmt.Errorf("idp: store signing key %s: %w", key.ID, err)
	}
	return key, nil
}

// newSigningKey generates an ES256 key created at createdAt that signs from signsFrom.
func newSigningKey(createdAt, signsFrom time.Time) (grants.SigningKey, error) {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return grants.SigningKey{}, fmt.Errorf("idp: generate a signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return grants.SigningKey{}, fmt.Errorf("idp: encode a signing key: %w", err)
	}
	kid, err := thumbprint(&private.PublicKey)
	if err != nil {
		return grants.SigningKey{}, err
	}
	return grants.SigningKey{
		ID: kid, Algorithm: string(jose.ES256), Private: der,
		CreatedAt: createdAt.UTC(), SignsFrom: signsFrom.UTC(),
	}, nil
}

// thumbprint returns the RFC 7638 JWK thumbprint of an EC P-256 public key: the
// SHA-256 of its required members in lexicographic order, without whitespace,
// base64url-encoded without padding.
func thumbprint(pub *ecdsa.PublicKey) (string, error) {
	point, err := pub.Bytes() // 0x04 ‖ x ‖ y
	if err != nil || len(point) != 65 || pub.Curve != elliptic.P256() {
		return "", errors.New("idp: a signing key is not a P-256 key")
	}
	b64 := base64.RawURLEncoding.EncodeToString
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + b64(point[1:33]) + `","y":"` + b64(point[33:]) + `"}`))
	return b64(sum[:]), nil
}

// parseSigningKey decodes a stored key and checks that its id is its thumbprint.
func parseSigningKey(key grants.SigningKey) (*loadedKey, error) {
	if key.Algorithm != string(jose.ES256) {
		return nil, fmt.Errorf("idp: signing key %s: algorithm %q is not supported", key.ID, key.Algorithm)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(key.Private)
	if err != nil {
		return nil, fmt.Errorf("idp: signing key %s: %w", key.ID, err)
	}
	private, ok := parsed.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("idp: signing key %s: a %T, not an ECDSA key", key.ID, parsed)
	}
	kid, err := thumbprint(&private.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("idp: signing key %s: %w", key.ID, err)
	}
	if kid != key.ID {
		return nil, fmt.Errorf("idp: signing key %s: the id is not the key's thumbprint (%s)", key.ID, kid)
	}
	return &loadedKey{id: key.ID, alg: jose.ES256, createdAt: key.CreatedAt, signsFrom: key.SignsFrom, private: private}, nil
}

// install makes sorted keys the snapshot, unless the current snapshot already
// holds the same keys on the same schedule. Keys already parsed are reused.
func (k *Keys) install(keys []grants.SigningKey) error {
	old := k.snap.Load()
	if old != nil && len(old.keys) == len(keys) {
		same := true
		for i, key := range keys {
			o := old.keys[i]
			if o.id != key.ID || !o.signsFrom.Equal(key.SignsFrom) || !o.createdAt.Equal(key.CreatedAt) {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	snap := &keySnapshot{
		keys: make([]*loadedKey, 0, len(keys)),
		byID: make(map[string]*loadedKey, len(keys)),
		jwks: jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))},
	}
	for _, key := range keys {
		var lk *loadedKey
		if old != nil && old.byID[key.ID] != nil {
			reused := *old.byID[key.ID]
			reused.createdAt, reused.signsFrom = key.CreatedAt, key.SignsFrom
			lk = &reused
		} else {
			var err error
			if lk, err = parseSigningKey(key); err != nil {
				return err
			}
		}
		snap.keys = append(snap.keys, lk)
		snap.byID[lk.id] = lk
		snap.jwks.Keys = append(snap.jwks.Keys, jose.JSONWebKey{
			Key: &lk.private.PublicKey, KeyID: lk.id, Algorithm: string(lk.alg), Use: "sig",
		})
	}
	var err error
	if snap.jwksJSON, err = json.Marshal(snap.jwks); err != nil {
		return fmt.Errorf("idp: encode the JWKS: %w", err)
	}
	k.snap.Store(snap)
	return nil
}

// JWKS returns the published public keys: pending, signing and retiring, each with
// use "sig", its alg and its kid. Empty before the first Refresh.
func (k *Keys) JWKS() jose.JSONWebKeySet {
	snap := k.snap.Load()
	if snap == nil {
		return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	}
	return jose.JSONWebKeySet{Keys: slices.Clone(snap.jwks.Keys)}
}

// JWKSJSON returns JWKS encoded as JSON, computed once per snapshot: the JWKS
// endpoint serves it as it is. The caller must not modify it.
func (k *Keys) JWKSJSON() []byte {
	snap := k.snap.Load()
	if snap == nil {
		return []byte(`{"keys":[]}`)
	}
	return snap.jwksJSON
}

// reservedHeader reports whether name is a JOSE header parameter that Generate
// sets itself or that would change how the token is signed or verified; a caller's
// value of it is dropped.
func reservedHeader(name string) bool {
	switch name {
	case "alg", "kid", "jwk", "jku", "x5c", "x5u", "x5t", "x5t#S256", "crit", "b64", "zip", "enc":
		return true
	}
	return false
}

// Generate implements jwt.Signer: it signs claims with the key that signs now and
// returns the token and its signature (the third part, the storage key of a JWT
// access token). The header carries the key's alg and kid and the caller's other
// parameters (typ: at+jwt); typ defaults to JWT.
func (k *Keys) Generate(ctx context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	if claims == nil || header == nil {
		return "", "", errors.New("idp: sign a token: claims or header is nil")
	}
	snap := k.snap.Load()
	if snap == nil || len(snap.keys) == 0 {
		return "", "", errors.New("idp: sign a token: no signing key (Refresh has not run)")
	}
	key := snap.signer(k.now())
	token := jwt.NewWithClaims(key.alg, claims)
	for name, v := range header.ToMap() {
		if !reservedHeader(name) {
			token.Header[name] = v
		}
	}
	token.Header["kid"] = key.id
	raw, err := token.SignedString(key.private)
	if err != nil {
		return "", "", fmt.Errorf("idp: sign a token: %w", err)
	}
	sig, err := k.GetSignature(ctx, raw)
	return raw, sig, err
}

// Decode implements jwt.Signer: it verifies token with the published key its kid
// names and checks exp, iat and nbf. A token without kid, with an unknown kid, with
// alg none or any alg other than its key's is refused. The errors are
// *jwt.ValidationError, as fosite expects: an expired token comes back with its
// claims and ValidationErrorExpired (an expired id_token_hint is fine).
func (k *Keys) Decode(_ context.Context, token string) (*jwt.Token, error) {
	if !isCompactJWS(token) {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed,
			Inner: errors.New("idp: a token is three base64url parts separated by dots")}
	}
	snap := k.snap.Load()
	sum := sha256.Sum256([]byte(token))
	if v, ok := k.verified.Get(sum); ok && k.now().Before(v.exp) && snap != nil && snap.byID[v.kid] != nil {
		// A copy: callers may change the maps they get.
		t := *v.token
		t.Header = maps.Clone(v.token.Header)
		t.Claims = maps.Clone(v.token.Claims)
		return &t, nil
	}
	t, err := jwt.ParseWithClaims(token, jwt.MapClaims{}, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if kid == "" {
			return nil, errors.New("idp: the token names no key (kid)")
		}
		var key *loadedKey
		if snap != nil {
			key = snap.byID[kid]
		}
		if key == nil {
			return nil, errors.New("idp: the token's key (kid) is not one of ours, or has been retired")
		}
		if t.Method != key.alg {
			return nil, fmt.Errorf("idp: the token's alg is not its key's %s", key.alg)
		}
		return &key.private.PublicKey, nil
	})
	if err == nil {
		kid, _ := t.Header["kid"].(string)
		if exp, ok := claimTime(t.Claims["exp"]); ok {
			cached := *t
			cached.Header = maps.Clone(t.Header)
			cached.Claims = maps.Clone(t.Claims)
			k.verified.Add(sum, verifiedToken{token: &cached, kid: kid, exp: exp})
		}
	}
	return t, err
}

// claimTime reads a NumericDate claim (RFC 7519 §2) as JSON decoding left it.
func claimTime(v any) (time.Time, bool) {
	switch n := v.(type) {
	case float64:
		return time.Unix(int64(n), 0), true
	case int64:
		return time.Unix(n, 0), true
	case json.Number:
		i, err := n.Int64()
		return time.Unix(i, 0), err == nil
	}
	return time.Time{}, false
}

// Validate implements jwt.Signer: Decode, then the token's signature.
func (k *Keys) Validate(ctx context.Context, token string) (string, error) {
	if _, err := k.Decode(ctx, token); err != nil {
		return "", err
	}
	return k.GetSignature(ctx, token)
}

// GetSignature implements jwt.Signer as fosite's DefaultSigner does: the third of
// the token's three dot-separated parts, as it is (fosite's JWT strategy keys
// stored access tokens by it).
func (k *Keys) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("idp: header, body and signature must all be set")
	}
	return parts[2], nil
}

// Hash implements jwt.Signer: SHA-256, the hash of ES256.
func (k *Keys) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

// GetSigningMethodLength implements jwt.Signer: the size of a SHA-256 hash, as
// fosite's DefaultSigner reports for every key.
func (k *Keys) GetSigningMethodLength(context.Context) int { return crypto.SHA256.Size() }

// isCompactJWS reports whether token has the JWS compact form: three non-empty
// base64url parts. go-jose also parses the JSON serialization, which a token here
// never uses.
func isCompactJWS(token string) bool {
	parts := 0
	n := 0
	for i := range len(token) {
		c := token[i]
		switch {
		case c == '.':
			if n == 0 {
				return false
			}
			parts++
			n = 0
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			n++
		default:
			return false
		}
	}
	return parts == 2 && n > 0
}
