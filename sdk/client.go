package sdk

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Defaults of Config.
const (
	DefaultClockSkew      = 30 * time.Second
	MaxClockSkew          = 5 * time.Minute
	DefaultCacheSize      = 10_000
	DefaultMaxStaleness   = 30 * time.Second
	DefaultJWKSMinRefresh = 30 * time.Second
	DefaultTimeout        = 10 * time.Second
)

// Config configures a Client. Issuer and ClientID are required, and one way to
// authenticate: PrivateKey (private_key_jwt, the better), ClientSecret
// (client_secret_basic) or, for the decision API alone, APIKey.
type Config struct {
	// Issuer is Fullmakt's issuer URL, e.g. "https://fullmakt.example". The SDK
	// reads everything else from its discovery documents.
	Issuer string
	// ClientID is the agency's client id at Fullmakt.
	ClientID string
	// PrivateKey signs the client's assertions (private_key_jwt, RFC 7523): an
	// *ecdsa.PrivateKey on P-256 (ES256) or an *rsa.PrivateKey (PS256). KeyID is
	// the kid of its public key in the JWK Set registered for the client.
	PrivateKey crypto.Signer
	KeyID      string
	// ClientSecret authenticates the client with client_secret_basic instead.
	ClientSecret string
	// APIKey authenticates calls to the decision API and the change feed with an
	// API key instead of a client credentials token (Fullmakt's --api-keys). Token
	// exchange and login still need PrivateKey or ClientSecret.
	APIKey string
	// Audience is this service's identifier: VerifyAccessToken and Require accept
	// only access tokens whose aud contains it. Required for resource servers.
	Audience string

	// ClockSkew is how far clocks may disagree when checking exp, nbf and iat
	// (default 30 s, at most 5 min).
	ClockSkew time.Duration
	// CacheSize is how many decisions are cached (default 10,000); negative turns
	// the cache off.
	CacheSize int
	// MaxStaleness is the longest a cached decision is used (default 30 s): how old
	// an answer can be should the change feed fail. While the feed is up, a change
	// at Fullmakt drops the entries it concerns within a second.
	MaxStaleness time.Duration
	// NoChangeFeed keeps the SDK off the change feed; cached decisions then live
	// MaxStaleness whatever changes.
	NoChangeFeed bool
	// JWKSMinRefresh is the least time between two fetches of the key set when a
	// token names an unknown kid (default 30 s).
	JWKSMinRefresh time.Duration
	// HTTPClient makes every request (default: a client with a 10 s timeout; the
	// change feed uses it without the timeout).
	HTTPClient *http.Client
	// Log receives the change feed's and the cache's events (default slog.Default()).
	Log *slog.Logger
	// Now is the clock for token times (default time.Now).
	Now func() time.Time
}

// Validate reports every problem of the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Issuer == "" {
		bad("Issuer is empty")
	} else if u, err := url.Parse(c.Issuer); err != nil || !u.IsAbs() || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "" {
		bad("Issuer %q is not an absolute http(s) URL without query or fragment", c.Issuer)
	} else if u.Scheme == "http" && !loopback(u.Hostname()) {
		bad("Issuer %q uses http on a host that is not loopback; use https", c.Issuer)
	}
	if c.ClientID == "" {
		bad("ClientID is empty")
	}
	if c.PrivateKey != nil && c.ClientSecret != "" {
		bad("give PrivateKey or ClientSecret, not both")
	}
	if c.PrivateKey == nil && c.ClientSecret == "" && c.APIKey == "" {
		bad("give PrivateKey, ClientSecret or APIKey")
	}
	if c.PrivateKey != nil && c.KeyID == "" {
		bad("PrivateKey needs its KeyID")
	}
	if c.PrivateKey != nil {
		if _, err := assertionAlg(c.PrivateKey); err != nil {
			bad("PrivateKey: %v", err)
		}
	}
	if c.ClockSkew < 0 || c.ClockSkew > MaxClockSkew {
		bad("ClockSkew %v is not between 0 and %v", c.ClockSkew, MaxClockSkew)
	}
	if c.MaxStaleness < 0 {
		bad("MaxStaleness %v is negative", c.MaxStaleness)
	}
	if c.JWKSMinRefresh < 0 {
		bad("JWKSMinRefresh %v is negative", c.JWKSMinRefresh)
	}
	return errors.Join(errs...)
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.MaxStaleness == 0 {
		c.MaxStaleness = DefaultMaxStaleness
	}
	if c.JWKSMinRefresh == 0 {
		c.JWKSMinRefresh = DefaultJWKSMinRefresh
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	switch host {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// metadata is what discovery found: the OpenID Provider's and the decision
// point's endpoints.
type metadata struct {
	Issuer                string
	AuthorizationEndpoint string
	TokenEndpoint         string
	JWKSURI               string
	EndSessionEndpoint    string
	UserinfoEndpoint      string
	// The decision API (AuthZEN metadata).
	Evaluation  string
	Evaluations string
	SearchParty string
	// Changes is the change feed; empty when the server has none.
	Changes string
}

// Client talks to one Fullmakt. It is safe for concurrent use; create one per
// process and Close it when done.
type Client struct {
	cfg  Config
	meta metadata

	tokens    tokenState    // client.go, jwks.go: keys, the client's own token
	decisions decisionState // decide.go, cache.go, feed.go: the cache and the feed

	closeOnce sync.Once
}

// tokenState is what the client keeps of Fullmakt's OAuth side: the key set that
// signs tokens and receipts, and the client's own access token for the decision API.
type tokenState struct {
	keys keyCache // jwks.go
	own  ownToken
}

// ownToken is the client's own access token (client credentials, scope decide),
// shared by every call to the decision API. One fetch runs at a time: callers that
// find it missing or about to expire wait for the same answer.
type ownToken struct {
	mu        sync.Mutex
	token     string
	refreshAt time.Time
	flight    *tokenFlight
}

// tokenFlight is a fetch of the own token under way.
type tokenFlight struct {
	done  chan struct{}
	token string
	err   error
}

const (
	// ownTokenMargin is how long before it expires the own token is replaced, so
	// that a request never carries a token that expires on the way.
	ownTokenMargin = 30 * time.Second
	// scopeDecide is the scope of the own token: the decision API and the change feed.
	scopeDecide = "decide"
	// maxResponseBytes bounds what the SDK reads of any answer from Fullmakt.
	maxResponseBytes = 1 << 20
	// assertionLifetime is how long a client assertion is valid (RFC 7523 §3: short).
	assertionLifetime = 60 * time.Second
	// assertionType is RFC 7523 §2.2's client_assertion_type.
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// New discovers Fullmakt at cfg.Issuer (OpenID Connect Discovery 1.0, then the
// AuthZEN metadata, §9.2) and returns a client; it starts the change feed unless
// cfg.NoChangeFeed. The discovery document must name cfg.Issuer exactly.
//
// A configuration that does not validate, or a discovery document that is wrong
// (another issuer, an endpoint missing or not https), is an error matching
// ErrConfig; Fullmakt out of reach, or answering with a server error or something
// unreadable, is an error matching ErrUnavailable.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg.withDefaults()}
	meta, err := c.discover(ctx)
	if err != nil {
		return nil, err
	}
	c.meta = meta
	if err := c.startDecisions(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close stops the change feed and waits for it. It is safe to call more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(c.stopDecisions)
	return nil
}

// providerMetadata is the part of the OpenID Provider metadata (OpenID Connect
// Discovery 1.0 §3) the SDK uses.
type providerMetadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	JWKSURI               string `json:"jwks_uri"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
}

// pdpMetadata is the AuthZEN PDP metadata (§9.1) with Fullmakt's additions.
type pdpMetadata struct {
	PolicyDecisionPoint       string `json:"policy_decision_point"`
	AccessEvaluationEndpoint  string `json:"access_evaluation_endpoint"`
	AccessEvaluationsEndpoint string `json:"access_evaluations_endpoint"`
	SearchPartyEndpoint       string `json:"search_party_endpoint"`
	ChangesEndpoint           string `json:"changes_endpoint"`
}

// openIDConfigurationURL is where OpenID Connect Discovery 1.0 §4 puts the
// provider metadata: the issuer with /.well-known/openid-configuration appended.
func openIDConfigurationURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// authzenConfigurationURL is where AuthZEN §9.2 puts the PDP metadata: the
// well-known path goes between the host and the PDP identifier's path, which for
// Fullmakt is the issuer.
func authzenConfigurationURL(issuer string) string {
	u, err := url.Parse(issuer)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host + "/.well-known/authzen-configuration" + strings.TrimRight(u.EscapedPath(), "/")
}

// discover reads both metadata documents and checks them.
func (c *Client) discover(ctx context.Context) (metadata, error) {
	var op providerMetadata
	if err := c.getJSON(ctx, openIDConfigurationURL(c.cfg.Issuer), &op); err != nil {
		return metadata{}, fmt.Errorf("sdk: discovery: %w", err)
	}
	var pdp pdpMetadata
	if err := c.getJSON(ctx, authzenConfigurationURL(c.cfg.Issuer), &pdp); err != nil {
		return metadata{}, fmt.Errorf("sdk: discovery of the decision API: %w", err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: discovery: "+format, append([]any{ErrConfig}, args...)...))
	}
	if op.Issuer != c.cfg.Issuer {
		bad("the provider metadata names the issuer %q, not %q", op.Issuer, c.cfg.Issuer)
	}
	if strings.TrimRight(pdp.PolicyDecisionPoint, "/") != strings.TrimRight(c.cfg.Issuer, "/") {
		bad("the decision API's metadata names the decision point %q, not %q", pdp.PolicyDecisionPoint, c.cfg.Issuer)
	}
	for _, e := range []struct {
		name, value string
		required    bool
	}{
		{"authorization_endpoint", op.AuthorizationEndpoint, true},
		{"token_endpoint", op.TokenEndpoint, true},
		{"jwks_uri", op.JWKSURI, true},
		{"end_session_endpoint", op.EndSessionEndpoint, false},
		{"userinfo_endpoint", op.UserinfoEndpoint, false},
		{"access_evaluation_endpoint", pdp.AccessEvaluationEndpoint, false},
		{"access_evaluations_endpoint", pdp.AccessEvaluationsEndpoint, false},
		{"search_party_endpoint", pdp.SearchPartyEndpoint, false},
		{"changes_endpoint", pdp.ChangesEndpoint, false},
	} {
		switch {
		case e.value == "" && e.required:
			bad("%s is missing", e.name)
		case e.value != "":
			if err := checkEndpoint(e.value); err != nil {
				bad("%s: %v", e.name, err)
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return metadata{}, err
	}
	return metadata{
		Issuer:                op.Issuer,
		AuthorizationEndpoint: op.AuthorizationEndpoint,
		TokenEndpoint:         op.TokenEndpoint,
		JWKSURI:               op.JWKSURI,
		EndSessionEndpoint:    op.EndSessionEndpoint,
		UserinfoEndpoint:      op.UserinfoEndpoint,
		Evaluation:            pdp.AccessEvaluationEndpoint,
		Evaluations:           pdp.AccessEvaluationsEndpoint,
		SearchParty:           pdp.SearchPartyEndpoint,
		Changes:               pdp.ChangesEndpoint,
	}, nil
}

// checkEndpoint accepts an absolute https URL without fragment, or http on a
// loopback host (development and tests).
func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", v)
	case u.Fragment != "":
		return fmt.Errorf("%q has a fragment", v)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q is not https", v)
}

// getJSON fetches a JSON document. Out of reach, a server error or an unreadable
// answer is ErrUnavailable; any other status is ErrConfig (a wrong URL).
func (c *Client) getJSON(ctx context.Context, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrConfig, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	body, err := readBody(resp)
	switch {
	case err != nil:
		return fmt.Errorf("%w: GET %s: %w", ErrUnavailable, target, err)
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("%w: GET %s: HTTP %d", ErrUnavailable, target, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: GET %s: HTTP %d", ErrConfig, target, resp.StatusCode)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("%w: GET %s: not a JSON document of the expected shape: %w", ErrUnavailable, target, err)
	}
	return nil
}

// readBody reads and closes a response body of at most maxResponseBytes.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("an answer longer than %d bytes", maxResponseBytes)
	}
	return body, nil
}

// authorize sets the Authorization header of a request to the decision API or
// the change feed: the API key, or the client's own access token of scope decide
// (client credentials), fetched when missing or within 30 s of expiring. It is
// safe for concurrent use; the errors are those of the token endpoint (an
// *OAuthError, or one matching ErrUnavailable or ErrConfig) or ctx's.
func (c *Client) authorize(ctx context.Context, r *http.Request) error {
	if c.cfg.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
		return nil
	}
	token, err := c.ownAccessToken(ctx)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return nil
}

// dropOwnToken forgets the own token if it is still token: the decision API
// refused it (401), so it was revoked or its client changed, and the next call
// fetches a new one.
func (c *Client) dropOwnToken(token string) {
	o := &c.tokens.own
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == token {
		o.token, o.refreshAt = "", time.Time{}
	}
}

// ownAccessToken returns the own token, fetching it when needed. Callers that
// arrive while a fetch is under way wait for it rather than start another; the
// fetch is not cancelled when the caller that started it gives up.
func (c *Client) ownAccessToken(ctx context.Context) (string, error) {
	o := &c.tokens.own
	o.mu.Lock()
	if o.token != "" && c.cfg.Now().Before(o.refreshAt) {
		token := o.token
		o.mu.Unlock()
		return token, nil
	}
	f := o.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		o.flight = f
		go c.fetchOwnToken(context.WithoutCancel(ctx), f)
	}
	o.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", fmt.Errorf("sdk: the client's access token: %w", ctx.Err())
	}
}

// fetchOwnToken runs one client credentials request and ends the flight f.
func (c *Client) fetchOwnToken(ctx context.Context, f *tokenFlight) {
	ctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	sent := c.cfg.Now()
	tr, err := c.tokenRequest(ctx, "client credentials", url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {scopeDecide},
	})
	o := &c.tokens.own
	o.mu.Lock()
	if err == nil {
		o.token, o.refreshAt = tr.AccessToken, refreshTime(sent, tr.ExpiresIn)
		f.token = tr.AccessToken
	}
	f.err = err
	o.flight = nil
	o.mu.Unlock()
	close(f.done)
}

// refreshTime is when a token got at sent, valid expiresIn seconds, is replaced:
// ownTokenMargin before it expires, or halfway for a short-lived one. A token
// without expires_in is used for a minute at most.
func refreshTime(sent time.Time, expiresIn int64) time.Time {
	lifetime := time.Duration(expiresIn) * time.Second
	if expiresIn <= 0 || expiresIn > int64(365*24*time.Hour/time.Second) {
		lifetime = time.Minute
	}
	margin := ownTokenMargin
	if lifetime < 2*margin {
		margin = lifetime / 2
	}
	return sent.Add(lifetime - margin)
}

// tokenResponse is a successful token endpoint answer (RFC 6749 §5.1, RFC 8693
// §2.2.1, OpenID Connect Core §3.1.3.3).
type tokenResponse struct {
	AccessToken     string `json:"access_token"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in"`
	RefreshToken    string `json:"refresh_token"`
	IDToken         string `json:"id_token"`
	Scope           string `json:"scope"`
	IssuedTokenType string `json:"issued_token_type"`
}

// tokenErrorBody is an error answer of the token endpoint (RFC 6749 §5.2), with
// the RFC 9470 members Fullmakt adds to insufficient_user_authentication.
type tokenErrorBody struct {
	Error       string      `json:"error"`
	Description string      `json:"error_description"`
	ACRValues   string      `json:"acr_values"`
	MaxAge      json.Number `json:"max_age"`
}

// maxDescription bounds the error_description kept from an error answer.
const maxDescription = 300

// tokenRequest posts form to the token endpoint, authenticated as the client
// (private_key_jwt or client_secret_basic), for what (the name in errors). An
// error answer is a *StepUpError for insufficient_user_authentication and an
// *OAuthError otherwise; out of reach, or an answer it cannot read, matches
// ErrUnavailable.
func (c *Client) tokenRequest(ctx context.Context, what string, form url.Values) (*tokenResponse, error) {
	if c.cfg.PrivateKey == nil && c.cfg.ClientSecret == "" {
		return nil, fmt.Errorf("%w: %s needs PrivateKey or ClientSecret", ErrConfig, what)
	}
	if c.cfg.PrivateKey != nil {
		assertion, err := c.clientAssertion()
		if err != nil {
			return nil, fmt.Errorf("sdk: %s: sign the client assertion: %w", what, err)
		}
		form.Set("client_id", c.cfg.ClientID)
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", assertion)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrConfig, what, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.ClientSecret != "" {
		// RFC 6749 §2.3.1: both are form-encoded before they go into Basic.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sdk: %s: %w: %w", what, ErrUnavailable, err)
	}
	body, err := readBody(resp)
	if err != nil {
		return nil, fmt.Errorf("sdk: %s: %w: %w", what, ErrUnavailable, err)
	}
	if resp.StatusCode == http.StatusOK {
		var tr tokenResponse
		if err := json.Unmarshal(body, &tr); err != nil {
			return nil, fmt.Errorf("sdk: %s: %w: the answer is not a token response", what, ErrUnavailable)
		}
		if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "bearer") {
			return nil, fmt.Errorf("sdk: %s: %w: the answer has no bearer access token", what, ErrUnavailable)
		}
		return &tr, nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/json" {
		var e tokenErrorBody
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			if e.Error == "insufficient_user_authentication" {
				su := &StepUpError{StepUp{ACRValues: e.ACRValues}}
				if n, err := strconv.ParseInt(string(e.MaxAge), 10, 64); err == nil && n >= 0 && n < 1<<31 {
					su.MaxAge = time.Duration(n) * time.Second
				}
				return nil, su
			}
			return nil, &OAuthError{Status: resp.StatusCode, Code: e.Error, Description: clip(e.Description, maxDescription)}
		}
	}
	return nil, fmt.Errorf("sdk: %s: %w: HTTP %d without an OAuth error", what, ErrUnavailable, resp.StatusCode)
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// clientAssertion signs a private_key_jwt assertion (RFC 7523 §3, OpenID Connect
// Core §9): iss and sub the client, aud exactly the token endpoint, a fresh jti
// (Fullmakt accepts each once), valid for a minute.
func (c *Client) clientAssertion() (string, error) {
	alg, err := assertionAlg(c.cfg.PrivateKey)
	if err != nil {
		return "", err
	}
	now := c.cfg.Now()
	return signJWT(c.cfg.PrivateKey, alg, c.cfg.KeyID, "JWT", struct {
		Issuer   string `json:"iss"`
		Subject  string `json:"sub"`
		Audience string `json:"aud"`
		ID       string `json:"jti"`
		IssuedAt int64  `json:"iat"`
		Expiry   int64  `json:"exp"`
	}{c.cfg.ClientID, c.cfg.ClientID, c.meta.TokenEndpoint, rand.Text(), now.Unix(), now.Add(assertionLifetime).Unix()})
}

// assertionAlg is the JWS algorithm of a client key: ES256 for ECDSA on P-256,
// PS256 for RSA of 2048 bits or more.
func assertionAlg(key crypto.Signer) (string, error) {
	switch pub := key.Public().(type) {
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() {
			return "", errors.New("an ECDSA key must be on the curve P-256 (ES256)")
		}
		return "ES256", nil
	case *rsa.PublicKey:
		if pub.N.BitLen() < 2048 {
			return "", fmt.Errorf("an RSA key of %d bits is too short (2048 at least)", pub.N.BitLen())
		}
		return "PS256", nil
	}
	return "", fmt.Errorf("a %T is not supported: use ECDSA on P-256 or RSA", key.Public())
}

// signJWT signs claims as a compact JWS with key (any crypto.Signer, so that a
// key in an HSM or a cloud KMS works) under alg ES256 or PS256.
func signJWT(key crypto.Signer, alg, kid, typ string, claims any) (string, error) {
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{alg, kid, typ})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case "ES256":
		der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return "", err
		}
		// The signer answers in ASN.1; JWS wants r and s, 32 bytes each (RFC 7518 §3.4).
		var rs struct{ R, S *big.Int }
		if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) != 0 ||
			rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 256 || rs.S.BitLen() > 256 {
			return "", errors.New("the signer's ECDSA signature is not valid ASN.1")
		}
		sig = make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
	case "PS256":
		if sig, err = key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}); err != nil {
			return "", err
		}
	default:
		return "", fmt.Errorf("the algorithm %s is not supported", alg)
	}
	return input + "." + b64(sig), nil
}
