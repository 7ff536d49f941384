// Package idp is Fullmakt's OAuth 2.0 and OpenID Connect server, built on
// github.com/ory/fosite and the only part of the tree that imports it. It issues
// tokens that say who acts for whom: a token for acting on someone's behalf has the
// party as subject and the person acting in act (RFC 8693 §4.1), with the level of
// assurance actually reached (acr, auth_time; RFC 9470).
//
// Composed explicitly: authorization code with PKCE (S256, every client), pushed
// authorization requests (RFC 9126), refresh tokens with rotation and reuse
// detection, client credentials, token exchange (RFC 8693), introspection
// (RFC 7662), revocation (RFC 7009), OpenID Connect (ID tokens, userinfo,
// discovery, RP-initiated logout), JWT access tokens (RFC 9068), and rich
// authorization requests (RFC 9396) of types representation and consent. No
// implicit grant, no password grant.
//
// The person logs in through a Login (the login issue builds the real ones); the
// server hands it a LoginRequest that says what must be reached (level, freshness,
// whom to act for) and enforces the result itself.
package idp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/par"
	"github.com/ory/fosite/handler/pkce"
	fhmac "github.com/ory/fosite/token/hmac"
	"github.com/ory/fosite/token/jwt"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// GrantTypeTokenExchange is RFC 8693's grant type.
const GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"

// parLifetime is how long a pushed request_uri is good for (RFC 9126 §2.2: short).
const parLifetime = 90 * time.Second

// Config is the server's configuration: plain data with working defaults.
type Config struct {
	// Issuer is the server's public URL, without a trailing slash; every endpoint
	// is under it. Required.
	Issuer string
	// AccessTokenLifetime defaults to 10 minutes: short, because a revocation in the
	// portal must reach resource servers that verify JWTs without asking us.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime defaults to 12 hours.
	RefreshTokenLifetime time.Duration
	// IDTokenLifetime defaults to 5 minutes.
	IDTokenLifetime time.Duration
	// CodeLifetime defaults to 60 seconds (RFC 6749 §4.1.2: 10 minutes at most).
	CodeLifetime time.Duration
	// LoginLifetime is how long a person may take to log in; default 15 minutes.
	LoginLifetime time.Duration
	// Keys schedules the signing keys.
	Keys KeyConfig
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.AccessTokenLifetime, 10*time.Minute)
	def(&c.RefreshTokenLifetime, 12*time.Hour)
	def(&c.IDTokenLifetime, 5*time.Minute)
	def(&c.CodeLifetime, time.Minute)
	def(&c.LoginLifetime, 15*time.Minute)
	c.Issuer = strings.TrimSuffix(c.Issuer, "/")
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		errs = append(errs, errors.New("idp: the issuer URL is required"))
	case err != nil || !u.IsAbs() || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("idp: issuer %q is not an absolute URL without query or fragment", c.Issuer))
	case u.Scheme != "https" && !loopbackHost(u.Hostname()):
		errs = append(errs, fmt.Errorf("idp: issuer %q must use https (http only on a loopback address)", c.Issuer))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		max  time.Duration
	}{
		{"access token lifetime", c.AccessTokenLifetime, 24 * time.Hour},
		{"refresh token lifetime", c.RefreshTokenLifetime, 90 * 24 * time.Hour},
		{"ID token lifetime", c.IDTokenLifetime, 24 * time.Hour},
		{"code lifetime", c.CodeLifetime, 10 * time.Minute},
		{"login lifetime", c.LoginLifetime, time.Hour},
	} {
		if d.v < 0 || d.v > d.max {
			errs = append(errs, fmt.Errorf("idp: the %s %s is outside 0–%s", d.name, d.v, d.max))
		}
	}
	if err := c.Keys.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Decider is the decision engine as the server uses it (authz/pdp.PDP).
type Decider interface {
	Decide(ctx context.Context, req authz.Request, client string) (authz.Decision, error)
	DecideUnrecorded(ctx context.Context, req authz.Request) (authz.Decision, error)
	Pack() *authz.Pack
}

// Registry is what the server needs of the people and consents in the store.
type Registry interface {
	Person(ctx context.Context, id delegation.PartyID) (delegation.Person, error)
	CreateConsent(ctx context.Context, c delegation.Consent) error
}

// Deps are the server's collaborators.
type Deps struct {
	Grants   grants.Store
	Clients  *ClientRegistry
	Decider  Decider
	Registry Registry
	Login    Login
	Log      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the OAuth 2.0 / OpenID Connect server. It is safe for concurrent use.
type Server struct {
	cfg      Config
	fcfg     *fosite.Config
	provider fosite.OAuth2Provider
	store    *storage
	grants   grants.Store
	keys     *Keys
	clients  *ClientRegistry
	decider  Decider
	registry Registry
	login    Login
	log      *slog.Logger
	now      func() time.Time
	// subjects keys the HMAC that turns a party id into its opaque sub.
	subjects  []byte
	errorPage *template.Template
}

// New builds the server: it loads (or creates, the first time) its secrets and
// signing keys from the store.
func New(ctx context.Context, cfg Config, d Deps) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Grants == nil || d.Clients == nil || d.Decider == nil || d.Registry == nil || d.Login == nil {
		return nil, errors.New("idp: New needs Grants, Clients, Decider, Registry and Login")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	random32 := func() ([]byte, error) {
		b := make([]byte, 32)
		_, err := rand.Read(b)
		return b, err
	}
	global, err := d.Grants.Secret(ctx, "hmac", random32)
	if err != nil {
		return nil, fmt.Errorf("idp: the token HMAC secret: %w", err)
	}
	subjects, err := d.Grants.Secret(ctx, "subject", random32)
	if err != nil {
		return nil, fmt.Errorf("idp: the subject secret: %w", err)
	}
	kc := cfg.Keys
	if kc.Retain == 0 {
		kc.Retain = max(cfg.AccessTokenLifetime, cfg.IDTokenLifetime) + time.Hour
	}
	keys := NewKeys(d.Grants, kc, d.Now)
	if err := keys.Refresh(ctx); err != nil {
		return nil, fmt.Errorf("idp: signing keys: %w", err)
	}

	s := &Server{
		cfg: cfg, grants: d.Grants, keys: keys, clients: d.Clients, decider: d.Decider,
		registry: d.Registry, login: d.Login, log: d.Log, now: d.Now, subjects: subjects,
	}
	if s.errorPage, err = template.New("error").Parse(errorPageSource); err != nil {
		return nil, fmt.Errorf("idp: the error page: %w", err)
	}
	s.store = &storage{grants: d.Grants, clients: d.Clients, now: d.Now, behind: newWriteBehind(d.Grants, d.Log)}
	s.fcfg = &fosite.Config{
		AccessTokenLifespan:            cfg.AccessTokenLifetime,
		RefreshTokenLifespan:           cfg.RefreshTokenLifetime,
		IDTokenLifespan:                cfg.IDTokenLifetime,
		AuthorizeCodeLifespan:          cfg.CodeLifetime,
		PushedAuthorizeContextLifespan: parLifetime,
		AccessTokenIssuer:              cfg.Issuer,
		IDTokenIssuer:                  cfg.Issuer,
		TokenURL:                       cfg.Issuer + "/token",
		GlobalSecret:                   global,
		HashCost:                       0,
		ClientSecretsHasher:            SecretHasher{},
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.ExactAudienceMatchingStrategy,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		// A refresh token for every code exchange of a client allowed the grant,
		// not only when offline_access is asked for.
		RefreshTokenScopes:  []string{},
		JWTScopeClaimKey:    jwt.JWTScopeFieldString,
		MinParameterEntropy: fosite.MinParameterEntropy,
		// What the token endpoint needs from the authorization request besides the
		// defaults: the redirect URI, so that RFC 6749 §4.1.3's check happens.
		SanitationWhiteList:             []string{"redirect_uri"},
		PushedAuthorizeRequestURIPrefix: "urn:ietf:params:oauth:request_uri:",
		SendDebugMessagesToClients:      false,
		OmitRedirectScopeParam:          false,
	}
	hmacStrategy := oauth2.NewHMACSHAStrategy(&fhmac.HMACStrategy{Config: s.fcfg}, s.fcfg)
	core := &oauth2.DefaultJWTStrategy{Signer: keys, HMACSHAStrategy: hmacStrategy, Config: s.fcfg}
	idTokens := &openid.DefaultStrategy{Signer: keys, Config: s.fcfg}

	explicit := &oauth2.AuthorizeExplicitGrantHandler{
		AccessTokenStrategy: core, RefreshTokenStrategy: core, AuthorizeCodeStrategy: core,
		CoreStorage: s.store, TokenRevocationStorage: s.store, Config: s.fcfg,
	}
	refresh := &oauth2.RefreshTokenGrantHandler{
		AccessTokenStrategy: core, RefreshTokenStrategy: core,
		TokenRevocationStorage: s.store, Config: s.fcfg,
	}
	clientCredentials := &oauth2.ClientCredentialsGrantHandler{
		HandleHelper: &oauth2.HandleHelper{AccessTokenStrategy: core, AccessTokenStorage: s.store, Config: s.fcfg},
		Config:       s.fcfg,
	}
	exchange := &tokenExchange{
		HandleHelper: &oauth2.HandleHelper{AccessTokenStrategy: core, AccessTokenStorage: s.store, Config: s.fcfg},
		server:       s,
	}
	oidcExplicit := &openid.OpenIDConnectExplicitHandler{
		OpenIDConnectRequestStorage:   s.store,
		IDTokenHandleHelper:           &openid.IDTokenHandleHelper{IDTokenStrategy: idTokens},
		OpenIDConnectRequestValidator: openid.NewOpenIDConnectRequestValidator(keys, s.fcfg),
		Config:                        s.fcfg,
	}
	oidcRefresh := &openid.OpenIDConnectRefreshHandler{
		IDTokenHandleHelper: &openid.IDTokenHandleHelper{IDTokenStrategy: idTokens},
		Config:              s.fcfg,
	}
	introspection := &oauth2.CoreValidator{CoreStrategy: core, CoreStorage: s.store, Config: s.fcfg}
	revocation := &oauth2.TokenRevocationHandler{
		TokenRevocationStorage: s.store, AccessTokenStrategy: core, RefreshTokenStrategy: core,
	}
	pkceHandler := &pkce.Handler{AuthorizeCodeStrategy: core, Storage: s.store, Config: s.fcfg}
	parHandler := &par.PushedAuthorizeHandler{Storage: s.store, Config: s.fcfg}

	// Order matters (LIBRARIES.md §1.2): the OAuth 2.0 handlers first, then OpenID
	// Connect (at_hash needs the access token), then PKCE (it needs the code), PAR.
	s.fcfg.AuthorizeEndpointHandlers = fosite.AuthorizeEndpointHandlers{explicit, oidcExplicit, pkceHandler}
	s.fcfg.TokenEndpointHandlers = fosite.TokenEndpointHandlers{explicit, refresh, clientCredentials, exchange, oidcExplicit, oidcRefresh, pkceHandler}
	s.fcfg.TokenIntrospectionHandlers = fosite.TokenIntrospectionHandlers{introspection}
	s.fcfg.RevocationHandlers = fosite.RevocationHandlers{revocation}
	s.fcfg.PushedAuthorizeEndpointHandlers = fosite.PushedAuthorizeEndpointHandlers{parHandler}
	s.provider = fosite.NewOAuth2Provider(s.store, s.fcfg)
	return s, nil
}

// Maintain runs the signing-key schedule and collects expired records until ctx
// ends. cmd runs it in a goroutine.
func (s *Server) Maintain(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.keys.Refresh(ctx); err != nil {
				s.log.Error("idp: signing keys", "err", err)
			}
			if n, err := s.grants.CollectGrants(ctx, s.now()); err != nil {
				s.log.Error("idp: collect expired grants", "err", err)
			} else if n > 0 {
				s.log.Debug("idp: collected expired grants", "n", n)
			}
		}
	}
}

// Close writes the access-token records still waiting to be written. Call it
// before closing the store; the server must not be used afterwards.
func (s *Server) Close() {
	s.store.behind.close()
}

// Keys returns the signing keys.
func (s *Server) Keys() *Keys { return s.keys }

// Subject returns the stable, opaque sub of a party: the same for every client and
// across restarts, and no way back to the identity number without the server's
// secret.
func (s *Server) Subject(p delegation.PartyID) string {
	m := hmac.New(sha256.New, s.subjects)
	m.Write([]byte(p))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// loopbackHost reports whether host is a loopback name or address.
func loopbackHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
