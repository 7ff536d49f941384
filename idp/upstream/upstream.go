// Package upstream is the login method "upstream OpenID Connect": how ID-porten,
// BankID and other national eIDs plug into Fullmakt. Fullmakt is a relying party
// of the upstream OpenID Provider (authorization code flow with PKCE S256, state,
// nonce, and client_secret_basic or private_key_jwt); the person is the one whose
// identity number the upstream's ID token carries (the pid claim), at the level of
// assurance the upstream's acr maps to.
//
// A Provider sends the browser to the upstream (Begin) and takes it back
// (Callback). Between the two, what the callback must come back to (the flow, the
// nonce, the PKCE verifier, the level asked for) is a one-time grants.Ceremony
// record keyed by a hash of the state, bound to the browser by a cookie.
//
// The package does not import package idp or fosite: the login orchestrator
// (idp/login) calls it and turns its Result into an idp.Authentication. It logs
// nothing; its errors carry no identity number, code or token.
package upstream

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// Errors callers branch on, with errors.Is.
var (
	// ErrCancelled: the upstream answered access_denied; the person cancelled.
	ErrCancelled = errors.New("upstream: the person cancelled the login")
	// ErrLevelNotReached: the upstream authenticated the person below the level,
	// or less recently than the max_age, that Begin asked for (or answered
	// unmet_authentication_requirements, RFC 9470 §4); or no acr value of the
	// provider reaches the level asked for.
	ErrLevelNotReached = errors.New("upstream: the level of assurance asked for was not reached")
	// ErrState: the callback's state is unknown, used, expired, of another
	// provider, or not bound to this browser. Show "start again".
	ErrState = errors.New("upstream: the login's state is unknown, used, expired or not this browser's")
)

// Limits and lifetimes.
const (
	// ceremonyLifetime is how long the person has at the upstream.
	ceremonyLifetime = 10 * time.Minute
	// assertionLifetime is a private_key_jwt assertion's (ID-porten: 120 s at most).
	assertionLifetime = time.Minute
	// clockSkew is how far the upstream's clock may be from ours, for auth_time.
	clockSkew = time.Minute
	// defaultTimeout is the timeout of the default HTTP client.
	defaultTimeout = 10 * time.Second
)

// Cookie names: the __Host- prefix (RFC 6265bis §4.1.3.2) needs Secure, so plain
// http on a loopback host (development) uses the name without it.
const (
	cookieName     = "__Host-fullmakt-upstream"
	cookieNameHTTP = "fullmakt-upstream"
)

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// amrNames are the RFC 8176 §2 authentication method reference values.
var amrNames = []string{
	"face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin",
	"pwd", "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
}

// Result is what the upstream proved.
type Result struct {
	// Person is whose identity number the ID token carries.
	Person delegation.PartyID
	// Level is the level the upstream's acr maps to.
	Level authz.Level
	// AMR are the upstream's amr values that are RFC 8176 names; others (such as
	// ID-porten's "BankID") are left out.
	AMR []string
	// AuthTime is when the person authenticated at the upstream (auth_time), or
	// when the callback came if the ID token has none.
	AuthTime time.Time
}

// Provider is one configured upstream. It is safe for concurrent use.
type Provider struct {
	cfg      Config
	callback string
	store    grants.Store
	client   *http.Client
	now      func() time.Time
	levels   map[string]authz.Level
	ids      delegation.IDRules
	pidClaim string
	scopes   []string
	key      *clientKey // nil for client_secret_basic
	cookie   string
	secure   bool

	// mu serializes discovery; disc is nil until it succeeded.
	mu   sync.Mutex
	disc *discovered
}

// discovered is what the upstream's discovery document says.
type discovered struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
	// issParam: the upstream puts iss in authorization responses (RFC 9207).
	issParam bool
}

// New builds a provider from a valid cfg. callbackURL is our redirect URI
// registered at the upstream (e.g.
// https://fullmakt.example/login/upstream/idporten/callback); https, or http on a
// loopback host. Discovery ({issuer}/.well-known/openid-configuration) happens on
// first use and is retried after a failure, so an upstream that is down when we
// start does not stop us. client is the HTTP client for the upstream (nil: one with
// a 10 s timeout); now is the clock (nil: time.Now).
func New(cfg Config, callbackURL string, store grants.Store, client *http.Client, now func() time.Time) (*Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if store == nil {
		return nil, errors.New("upstream: New needs a grants store")
	}
	cb, err := url.Parse(callbackURL)
	if err != nil || !cb.IsAbs() || cb.Host == "" || cb.Fragment != "" {
		return nil, fmt.Errorf("upstream: provider %s: the callback URL %q is not an absolute URL", cfg.ID, callbackURL)
	}
	p := &Provider{cfg: cfg, callback: callbackURL, store: store, client: client, now: now,
		levels: map[string]authz.Level{}, ids: delegation.IDRules{AllowSynthetic: cfg.AllowSyntheticIDs},
		pidClaim: cfg.PIDClaim}
	switch {
	case cb.Scheme == "https":
		p.cookie, p.secure = cookieName, true
	case cb.Scheme == "http" && loopbackHost(cb.Hostname()):
		p.cookie = cookieNameHTTP
	default:
		return nil, fmt.Errorf("upstream: provider %s: the callback URL %q must use https (http only on a loopback host)", cfg.ID, callbackURL)
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: defaultTimeout}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.pidClaim == "" {
		p.pidClaim = "pid"
	}
	p.scopes = []string{oidc.ScopeOpenID}
	for _, s := range cfg.Scopes {
		if !slices.Contains(p.scopes, s) {
			p.scopes = append(p.scopes, s)
		}
	}
	for acr, name := range cfg.ACR {
		p.levels[acr], _ = levelNamed(name)
	}
	if cfg.PrivateKeyFile != "" {
		if p.key, err = loadKey(cfg.PrivateKeyFile); err != nil {
			return nil, fmt.Errorf("upstream: provider %s: %w", cfg.ID, err)
		}
	}
	return p, nil
}

// ID returns the provider's id.
func (p *Provider) ID() string { return p.cfg.ID }

// Name returns the provider's name, the label of its button.
func (p *Provider) Name() string { return p.cfg.Name }

// MaxLevel returns the highest level the provider's acr values map to: a login
// that needs more cannot use this provider.
func (p *Provider) MaxLevel() authz.Level {
	var top authz.Level
	for _, l := range p.levels {
		top = max(top, l)
	}
	return top
}

// PublicJWKS returns the JWK Set of the private_key_jwt key's public half, to
// register at the upstream; nil for a provider with a client secret.
func (p *Provider) PublicJWKS() []byte {
	if p.key == nil {
		return nil
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: p.key.private.Public(), KeyID: p.key.kid, Algorithm: string(p.key.alg), Use: "sig",
	}}}
	b, err := json.Marshal(set)
	if err != nil {
		return nil
	}
	return b
}

// acrValues returns the upstream acr values that reach at least level, lowest
// level first (then by name); every mapped value when level is 0.
func (p *Provider) acrValues(level authz.Level) []string {
	var out []string
	for acr, l := range p.levels {
		if l >= level {
			out = append(out, acr)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := p.levels[a] - p.levels[b]; c != 0 {
			return int(c)
		}
		return strings.Compare(a, b)
	})
	return out
}

// discover returns the upstream's discovered configuration, fetching it the first
// time, and again after a failure.
func (p *Provider) discover(ctx context.Context) (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	op, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("upstream: provider %s: discovery at %s: %w", p.cfg.ID, p.cfg.Issuer, err)
	}
	var meta struct {
		IssParam   bool     `json:"authorization_response_iss_parameter_supported"`
		PKCE       []string `json:"code_challenge_methods_supported"`
		Algorithms []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := op.Claims(&meta); err != nil {
		return nil, fmt.Errorf("upstream: provider %s: discovery document: %w", p.cfg.ID, err)
	}
	ep := op.Endpoint()
	for _, e := range []struct{ name, url string }{{"authorization_endpoint", ep.AuthURL}, {"token_endpoint", ep.TokenURL}} {
		if msg := checkEndpoint(e.url); msg != "" {
			return nil, fmt.Errorf("upstream: provider %s: discovery: %s %q %s", p.cfg.ID, e.name, e.url, msg)
		}
	}
	if len(meta.PKCE) > 0 && !slices.Contains(meta.PKCE, "S256") {
		return nil, fmt.Errorf("upstream: provider %s: discovery: the upstream does not offer PKCE S256", p.cfg.ID)
	}
	if len(meta.Algorithms) == 0 {
		// go-oidc would then accept RS256 only; say why a login will fail.
		meta.Algorithms = []string{oidc.RS256}
	}
	ep.AuthStyle = oauth2.AuthStyleInHeader
	if p.key != nil {
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	d := &discovered{
		oauth: oauth2.Config{
			ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret,
			Endpoint: ep, RedirectURL: p.callback, Scopes: p.scopes,
		},
		// The verifier checks iss, aud (our client id), exp, and the signature by
		// a key of the upstream's JWKS with an algorithm its discovery document
		// lists in id_token_signing_alg_values_supported.
		verifier: op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, SupportedSigningAlgs: meta.Algorithms, Now: p.now}),
		issParam: meta.IssParam,
	}
	p.disc = d
	return d, nil
}

// checkEndpoint says what is wrong with an endpoint of the discovery document, or "".
func checkEndpoint(s string) string {
	u, err := url.Parse(s)
	switch {
	case s == "":
		return "is missing"
	case err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil:
		return "is not an absolute URL without fragment or user"
	case u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname())):
		return "must use https (http only on a loopback host)"
	}
	return ""
}

// ceremony is the Ceremony record's data: what the callback must come back to.
type ceremony struct {
	V        int           `json:"v"`
	Provider string        `json:"provider"`
	Flow     string        `json:"flow"`
	Nonce    string        `json:"nonce"`
	Verifier string        `json:"verifier"`
	Level    authz.Level   `json:"level,omitempty"`
	MaxAge   time.Duration `json:"max_age"` // negative: not asked
	Binding  string        `json:"binding"` // hash of the browser cookie's value
}

// Begin sends the browser to the upstream's authorization endpoint for the login
// flow flowID (OpenID Connect Core §3.1.2.1): response_type=code, PKCE S256, a
// state and a nonce of 32 random bytes each, acr_values = the upstream acr values
// that reach at least level (lowest first; all of them when level is 0), max_age
// when maxAge >= 0 (in whole seconds), prompt=login when forceLogin.
//
// It stores what the callback needs as a one-time Ceremony record keyed by a hash
// of the state, expiring in 10 minutes, and binds it to this browser with a cookie
// (Secure, HttpOnly, SameSite=Lax, Path=/) whose value's hash is in the record.
//
// On error nothing was written to w and the caller shows a page: the upstream's
// discovery failed (it is tried again on the next call), the store failed, or no
// acr value of the provider reaches level (ErrLevelNotReached).
func (p *Provider) Begin(w http.ResponseWriter, r *http.Request, flowID string, level authz.Level, maxAge time.Duration, forceLogin bool) error {
	ctx := r.Context()
	if flowID == "" {
		return fmt.Errorf("upstream: provider %s: Begin needs a flow id", p.cfg.ID)
	}
	level = max(level, 0)
	acrs := p.acrValues(level)
	if len(acrs) == 0 {
		return fmt.Errorf("%w: provider %s gives at most %s, %s was asked", ErrLevelNotReached, p.cfg.ID, p.MaxLevel(), level)
	}
	d, err := p.discover(ctx)
	if err != nil {
		return err
	}
	var secrets [4]string
	for i := range secrets {
		if secrets[i], err = random(); err != nil {
			return fmt.Errorf("upstream: provider %s: %w", p.cfg.ID, err)
		}
	}
	state, nonce, verifier, binding := secrets[0], secrets[1], secrets[2], secrets[3]
	if maxAge < 0 {
		maxAge = -1
	}
	data, err := json.Marshal(ceremony{V: 1, Provider: p.cfg.ID, Flow: flowID, Nonce: nonce, Verifier: verifier,
		Level: level, MaxAge: maxAge, Binding: hash(binding)})
	if err != nil {
		return fmt.Errorf("upstream: provider %s: %w", p.cfg.ID, err)
	}
	rec := grants.Record{Kind: grants.Ceremony, Key: hash(state), ExpiresAt: p.now().Add(ceremonyLifetime), Active: true, Data: data}
	if err := p.store.ApplyGrants(ctx, grants.Put(rec)); err != nil {
		return fmt.Errorf("upstream: provider %s: store the login's state: %w", p.cfg.ID, err)
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", nonce),
		oauth2.SetAuthURLParam("acr_values", strings.Join(acrs, " ")),
	}
	if maxAge >= 0 {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", strconv.FormatInt(int64(maxAge/time.Second), 10)))
	}
	if forceLogin {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	http.SetCookie(w, &http.Cookie{Name: p.cookie, Value: binding, Path: "/", MaxAge: int(ceremonyLifetime / time.Second),
		Secure: p.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, d.oauth.AuthCodeURL(state, opts...), http.StatusSeeOther)
	return nil
}

// Callback handles the upstream's answer, GET {callbackURL}?code&state (or
// ?error&state), OpenID Connect Core §3.1.2.5–§3.1.3.7:
//
//   - it takes the state's Ceremony record, good once, and checks it is this
//     provider's, bound to this browser (the cookie, in constant time; the cookie is
//     then cleared) and not expired; otherwise ErrState;
//   - an error answer is ErrCancelled for access_denied, ErrLevelNotReached for
//     unmet_authentication_requirements, another error otherwise;
//   - an iss parameter (RFC 9207) must be the upstream's issuer, and is required
//     when its discovery document says it sends one;
//   - it exchanges the code (golang.org/x/oauth2, with the PKCE verifier and the
//     configured client authentication) and verifies the ID token with go-oidc
//     (issuer, audience = our client id, azp when there are several audiences,
//     expiry, the signature by the upstream's JWKS with an algorithm its discovery
//     lists), then the nonce;
//   - it maps acr through Config.ACR (an acr not in the map is an error; a level
//     below what Begin asked is ErrLevelNotReached), reads the pid claim (a valid
//     person identity number, required), auth_time (required, and recent enough,
//     when Begin sent max_age; otherwise now when missing) and amr.
//
// It returns the flow id whenever the state was this provider's and bound to this
// browser (even if the login then failed or had expired), so that the caller can
// end that flow with an error; an empty flow id otherwise.
func (p *Provider) Callback(w http.ResponseWriter, r *http.Request) (flowID string, res Result, err error) {
	ctx := r.Context()
	q := r.URL.Query()
	cer, err := p.takeState(w, r, q.Get("state"))
	if cer == nil {
		return "", Result{}, err
	}
	flowID = cer.Flow
	if err != nil {
		return flowID, Result{}, err
	}
	if e := q.Get("error"); e != "" {
		return flowID, Result{}, p.answerError(e)
	}
	d, err := p.discover(ctx)
	if err != nil {
		return flowID, Result{}, err
	}
	if iss, ok := q["iss"]; ok || d.issParam {
		if !ok || len(iss) != 1 || iss[0] != p.cfg.Issuer {
			return flowID, Result{}, fmt.Errorf("upstream: provider %s: the authorization response's iss is not the upstream's issuer (RFC 9207)", p.cfg.ID)
		}
	}
	code := q.Get("code")
	if code == "" {
		return flowID, Result{}, fmt.Errorf("upstream: provider %s: the authorization response has neither a code nor an error", p.cfg.ID)
	}
	res, err = p.redeem(ctx, d, code, cer)
	return flowID, res, err
}

// takeState uses the state's record and checks it. It returns the record's data
// when the record was this provider's and this browser's (with ErrState if it had
// expired), or nil and ErrState.
func (p *Provider) takeState(w http.ResponseWriter, r *http.Request, state string) (*ceremony, error) {
	ctx := r.Context()
	if state == "" {
		return nil, fmt.Errorf("%w: the answer has no state", ErrState)
	}
	key := hash(state)
	rec, err := p.store.Grant(ctx, grants.Ceremony, key)
	switch {
	case errors.Is(err, grants.ErrNotFound):
		return nil, fmt.Errorf("%w: unknown state", ErrState)
	case errors.Is(err, grants.ErrInactive):
		return nil, fmt.Errorf("%w: the state was used before", ErrState)
	case err != nil:
		return nil, fmt.Errorf("upstream: provider %s: read the login's state: %w", p.cfg.ID, err)
	}
	var cer ceremony
	if err := json.Unmarshal(rec.Data, &cer); err != nil || cer.V != 1 {
		return nil, fmt.Errorf("%w: an unreadable state record", ErrState)
	}
	if cer.Provider != p.cfg.ID {
		return nil, fmt.Errorf("%w: the state belongs to another provider", ErrState)
	}
	// Good once: of concurrent callbacks with this state, one uses it.
	if err := p.store.ApplyGrants(ctx, grants.Use(grants.Ceremony, key)); err != nil {
		if errors.Is(err, grants.ErrInactive) || errors.Is(err, grants.ErrNotFound) {
			return nil, fmt.Errorf("%w: the state was used before", ErrState)
		}
		return nil, fmt.Errorf("upstream: provider %s: use the login's state: %w", p.cfg.ID, err)
	}
	c, err := r.Cookie(p.cookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(hash(c.Value)), []byte(cer.Binding)) != 1 {
		// Not this browser's login (a forged callback, or another browser's): its
		// own cookie, if any, belongs to its own login and stays.
		return nil, fmt.Errorf("%w: the state is not bound to this browser", ErrState)
	}
	http.SetCookie(w, &http.Cookie{Name: p.cookie, Value: "", Path: "/", MaxAge: -1,
		Secure: p.secure, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if p.now().After(rec.ExpiresAt) {
		return &cer, fmt.Errorf("%w: the login at the upstream took longer than %s", ErrState, ceremonyLifetime)
	}
	return &cer, nil
}

var errorCode = regexp.MustCompile(`^[a-z0-9_.-]{1,64}$`)

// answerError turns an error answer (RFC 6749 §4.1.2.1) into an error.
func (p *Provider) answerError(code string) error {
	switch code {
	case "access_denied":
		return fmt.Errorf("%w: provider %s answered access_denied", ErrCancelled, p.cfg.ID)
	case "unmet_authentication_requirements":
		return fmt.Errorf("%w: provider %s answered unmet_authentication_requirements", ErrLevelNotReached, p.cfg.ID)
	}
	if !errorCode.MatchString(code) {
		code = "an unreadable error"
	}
	return fmt.Errorf("upstream: provider %s answered %s", p.cfg.ID, code)
}

// redeem exchanges the code and checks the ID token.
func (p *Provider) redeem(ctx context.Context, d *discovered, code string, cer *ceremony) (Result, error) {
	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(cer.Verifier)}
	if p.key != nil {
		aud := d.oauth.Endpoint.TokenURL
		if p.cfg.ClientAssertionAudience == AudienceIssuer {
			aud = p.cfg.Issuer
		}
		assertion, err := p.assertion(aud)
		if err != nil {
			return Result{}, err
		}
		opts = append(opts, oauth2.SetAuthURLParam("client_assertion_type", assertionType),
			oauth2.SetAuthURLParam("client_assertion", assertion))
	}
	tok, err := d.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, p.client), code, opts...)
	if err != nil {
		// The error's text may quote the upstream's answer; keep its code only.
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			c := re.ErrorCode
			if !errorCode.MatchString(c) {
				c = "HTTP " + strconv.Itoa(re.Response.StatusCode)
			}
			return Result{}, fmt.Errorf("upstream: provider %s: the token endpoint refused the code: %s", p.cfg.ID, c)
		}
		return Result{}, fmt.Errorf("upstream: provider %s: the token endpoint could not be reached", p.cfg.ID)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Result{}, fmt.Errorf("upstream: provider %s: the token response has no ID token", p.cfg.ID)
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		return Result{}, fmt.Errorf("upstream: provider %s: the ID token: %w", p.cfg.ID, err)
	}
	var claims map[string]json.RawMessage
	if err := idt.Claims(&claims); err != nil {
		return Result{}, fmt.Errorf("upstream: provider %s: the ID token's claims: %w", p.cfg.ID, err)
	}
	if len(idt.Audience) > 1 {
		// OpenID Connect Core §3.1.3.7 items 4–5.
		var azp string
		if json.Unmarshal(claims["azp"], &azp) != nil || azp != p.cfg.ClientID {
			return Result{}, fmt.Errorf("upstream: provider %s: the ID token has several audiences and azp is not our client id", p.cfg.ID)
		}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(cer.Nonce)) != 1 {
		return Result{}, fmt.Errorf("upstream: provider %s: the ID token's nonce is not the one sent", p.cfg.ID)
	}
	res, err := p.result(claims, cer)
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// result reads what the ID token proves.
func (p *Provider) result(claims map[string]json.RawMessage, cer *ceremony) (Result, error) {
	now := p.now()
	var res Result
	var acr string
	if json.Unmarshal(claims["acr"], &acr) != nil || acr == "" {
		return res, fmt.Errorf("upstream: provider %s: the ID token has no acr", p.cfg.ID)
	}
	level, ok := p.levels[acr]
	if !ok {
		return res, fmt.Errorf("upstream: provider %s: the ID token's acr %q is not in the provider's acr map", p.cfg.ID, acr)
	}
	if level < cer.Level {
		return res, fmt.Errorf("%w: provider %s authenticated the person at %s (%s), %s was asked", ErrLevelNotReached, p.cfg.ID, level, acr, cer.Level)
	}
	res.Level = level

	var pid string
	if json.Unmarshal(claims[p.pidClaim], &pid) != nil || pid == "" {
		return res, fmt.Errorf("upstream: provider %s: the ID token has no %s claim with an identity number", p.cfg.ID, p.pidClaim)
	}
	person, err := p.ids.ParsePerson(pid)
	if err != nil {
		// The error says why without the number.
		return res, fmt.Errorf("upstream: provider %s: the ID token's %s claim: %w", p.cfg.ID, p.pidClaim, err)
	}
	res.Person = person

	var authTime float64
	switch raw, ok := claims["auth_time"]; {
	case !ok || string(raw) == "null":
		if cer.MaxAge >= 0 {
			return res, fmt.Errorf("upstream: provider %s: max_age was sent and the ID token has no auth_time (OpenID Connect Core §2)", p.cfg.ID)
		}
		res.AuthTime = now
	case json.Unmarshal(raw, &authTime) != nil || math.IsNaN(authTime) || authTime <= 0 || authTime > 1<<40:
		return res, fmt.Errorf("upstream: provider %s: the ID token's auth_time is not a time", p.cfg.ID)
	default:
		res.AuthTime = time.Unix(int64(authTime), 0)
	}
	switch {
	case res.AuthTime.After(now.Add(clockSkew)):
		return res, fmt.Errorf("upstream: provider %s: the ID token's auth_time is in the future", p.cfg.ID)
	case res.AuthTime.After(now):
		res.AuthTime = now // the upstream's clock is a little ahead
	}
	if cer.MaxAge >= 0 && now.Sub(res.AuthTime) > cer.MaxAge+clockSkew {
		return res, fmt.Errorf("%w: provider %s: the person authenticated %s ago, max_age was %s", ErrLevelNotReached, p.cfg.ID,
			now.Sub(res.AuthTime).Round(time.Second), cer.MaxAge)
	}

	var amr []string
	if json.Unmarshal(claims["amr"], &amr) == nil {
		for _, m := range amr {
			if slices.Contains(amrNames, m) && !slices.Contains(res.AMR, m) {
				res.AMR = append(res.AMR, m)
			}
		}
	}
	return res, nil
}

// assertion returns a private_key_jwt client assertion for aud (RFC 7523 §3).
func (p *Provider) assertion(aud string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: p.key.alg, Key: jose.JSONWebKey{Key: p.key.private, KeyID: p.key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("upstream: provider %s: client assertion: %w", p.cfg.ID, err)
	}
	jti, err := random()
	if err != nil {
		return "", fmt.Errorf("upstream: provider %s: client assertion: %w", p.cfg.ID, err)
	}
	now := p.now()
	claims := josejwt.Claims{
		Issuer: p.cfg.ClientID, Subject: p.cfg.ClientID, Audience: josejwt.Audience{aud}, ID: jti,
		IssuedAt: josejwt.NewNumericDate(now), NotBefore: josejwt.NewNumericDate(now),
		Expiry: josejwt.NewNumericDate(now.Add(assertionLifetime)),
	}
	s, err := josejwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("upstream: provider %s: client assertion: %w", p.cfg.ID, err)
	}
	return s, nil
}

// random returns 32 random bytes, base64url.
func random() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// hash is the SHA-256 of s, base64url: the key of a state, the binding of a cookie.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
