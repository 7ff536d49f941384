package sdk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LoginOptions shape a login request (OpenID Connect Core §3.1.2.1).
type LoginOptions struct {
	// RedirectURI is where Fullmakt sends the browser back, exactly as registered.
	RedirectURI string
	// Scopes to ask for; openid is always asked (default: openid alone). Add
	// profile for the person's name, represent to let them pick whom they act for.
	Scopes []string
	// ACRValues are the levels of assurance acceptable, space-separated; Fullmakt
	// takes the lowest as a requirement. A step-up passes StepUp.ACRValues here.
	ACRValues string
	// MaxAge, when positive, is the oldest the authentication may be (whole
	// seconds are sent). A step-up passes StepUp.MaxAge here.
	MaxAge time.Duration
	// Prompt is OpenID Connect's prompt (login, consent, none, …), when set.
	Prompt string
	// Audience asks for an access token for another service too, when set.
	Audience string
	// UILocales are the preferred languages of the login pages (nb, en).
	UILocales string
}

// PendingLogin is a login under way. Keep it in the person's session (it holds
// secrets: store it server side or encrypted) and pass it to FinishLogin at the
// callback; send the browser to URL.
type PendingLogin struct {
	URL         string
	State       string
	Nonce       string
	Verifier    string // the PKCE code verifier (RFC 7636)
	RedirectURI string
	MaxAge      time.Duration
	ACRValues   string
	Started     time.Time
}

// LoginResult is a finished login.
type LoginResult struct {
	// Actor is the person who logged in, with the level and time of the
	// authentication; Actor.ID is empty unless the client may see identity numbers.
	Actor Actor
	// Party is whom the tokens act for: the actor, unless they chose another party
	// at the login (scope represent). Its ID is empty when the ID token does not say.
	Party Party
	// Subject is the ID token's sub: the opaque identifier of Party.
	Subject string
	// Name is the person's name when the scope profile was granted.
	Name         string
	IDToken      string
	AccessToken  string
	RefreshToken string
	// Expiry is when AccessToken expires; zero when Fullmakt did not say.
	Expiry time.Time
	Scopes []string
}

// StartLogin prepares a login with the authorization code flow, PKCE (S256) and
// a nonce: send the browser to the returned URL. It does no I/O. It needs
// Config.PrivateKey or Config.ClientSecret, which FinishLogin uses.
func (c *Client) StartLogin(opts LoginOptions) (PendingLogin, error) {
	if c.cfg.PrivateKey == nil && c.cfg.ClientSecret == "" {
		return PendingLogin{}, fmt.Errorf("%w: a login needs PrivateKey or ClientSecret", ErrConfig)
	}
	if u, err := url.Parse(opts.RedirectURI); err != nil || !u.IsAbs() || u.Fragment != "" {
		return PendingLogin{}, fmt.Errorf("%w: the login's RedirectURI %q is not an absolute URL", ErrConfig, opts.RedirectURI)
	}
	if opts.MaxAge < 0 {
		return PendingLogin{}, fmt.Errorf("%w: the login's MaxAge is negative", ErrConfig)
	}
	u, err := url.Parse(c.meta.AuthorizationEndpoint)
	if err != nil {
		return PendingLogin{}, fmt.Errorf("%w: the authorization endpoint: %v", ErrConfig, err)
	}
	scopes := opts.Scopes
	if !slices.Contains(scopes, "openid") {
		scopes = append([]string{"openid"}, scopes...)
	}
	verifier := make([]byte, 32)
	_, _ = rand.Read(verifier) // never fails (crypto/rand)
	p := PendingLogin{
		State:       rand.Text(),
		Nonce:       rand.Text(),
		Verifier:    base64.RawURLEncoding.EncodeToString(verifier),
		RedirectURI: opts.RedirectURI,
		MaxAge:      opts.MaxAge,
		ACRValues:   opts.ACRValues,
		Started:     c.cfg.Now(),
	}
	challenge := sha256.Sum256([]byte(p.Verifier))
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", c.cfg.ClientID)
	q.Set("redirect_uri", opts.RedirectURI)
	q.Set("scope", strings.Join(scopes, " "))
	q.Set("state", p.State)
	q.Set("nonce", p.Nonce)
	q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(challenge[:]))
	q.Set("code_challenge_method", "S256")
	set := func(name, value string) {
		if value != "" {
			q.Set(name, value)
		}
	}
	set("acr_values", opts.ACRValues)
	if opts.MaxAge > 0 {
		q.Set("max_age", strconv.FormatInt(int64(opts.MaxAge/time.Second), 10))
	}
	set("prompt", opts.Prompt)
	set("audience", opts.Audience)
	set("ui_locales", opts.UILocales)
	u.RawQuery = q.Encode()
	p.URL = u.String()
	return p, nil
}

// FinishLogin completes a login from the callback's query: it checks the state
// (and the iss parameter of RFC 9207, when sent), redeems the code with the PKCE
// verifier, and verifies the ID token: typ JWT (or none), ES256 with a published
// key, iss, aud containing the client id, azp (when present) the client id, exp
// and iat within the clock skew, the nonce, the acr (one of p.ACRValues, or of a
// higher level of the same family, since Fullmakt takes acr_values as a
// minimum), and auth_time within p.MaxAge of when the login started.
//
// The errors: ErrLoginState when the callback is not this login's; an
// *OAuthError when Fullmakt answered with an error (unmet_authentication_
// requirements when the person did not reach the level, access_denied, …); a
// *TokenError when the ID token does not verify; ErrUnavailable when Fullmakt
// could not be reached.
func (c *Client) FinishLogin(ctx context.Context, p PendingLogin, callback url.Values) (*LoginResult, error) {
	if p.State == "" || subtle.ConstantTimeCompare([]byte(callback.Get("state")), []byte(p.State)) != 1 {
		return nil, ErrLoginState
	}
	if iss := callback.Get("iss"); iss != "" && iss != c.cfg.Issuer {
		return nil, ErrLoginState
	}
	if code := callback.Get("error"); code != "" {
		status := http.StatusBadRequest
		if code == "server_error" || code == "temporarily_unavailable" {
			status = http.StatusServiceUnavailable
		}
		return nil, &OAuthError{Status: status, Code: clip(code, 64), Description: clip(callback.Get("error_description"), maxDescription)}
	}
	code := callback.Get("code")
	if code == "" {
		return nil, errors.New("sdk: login: the callback has neither a code nor an error")
	}
	sent := c.cfg.Now()
	tr, err := c.tokenRequest(ctx, "login", url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {p.RedirectURI},
		"code_verifier": {p.Verifier},
	})
	if err != nil {
		return nil, err
	}
	if tr.IDToken == "" {
		return nil, fmt.Errorf("sdk: login: %w: the token response has no ID token", ErrUnavailable)
	}
	cl, err := c.verifyIDToken(ctx, tr.IDToken, p, tr.AccessToken)
	if err != nil {
		return nil, err
	}
	res := &LoginResult{
		Subject:      cl.Subject,
		Name:         cl.Name,
		IDToken:      tr.IDToken,
		AccessToken:  tr.AccessToken,
		RefreshToken: tr.RefreshToken,
		Scopes:       strings.Fields(tr.Scope),
	}
	if tr.ExpiresIn > 0 {
		res.Expiry = sent.Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	res.Actor.ACR = cl.ACR
	if cl.AuthTime != nil {
		res.Actor.AuthTime = cl.AuthTime.Time
	}
	if cl.Act != nil {
		actor, _, err := actorOf(cl.Act)
		if err != nil {
			return nil, err
		}
		res.Actor.Party = Person(actor.PID)
		if cl.PID != "" {
			res.Party = Person(cl.PID)
		}
	} else {
		res.Actor.Party = Person(cl.PID)
		res.Party = res.Actor.Party
	}
	if res.Name == "" && slices.Contains(res.Scopes, "profile") {
		res.Name = c.userinfoName(ctx, tr.AccessToken, cl.Subject)
	}
	return res, nil
}

// idClaims are the ID token's claims the SDK reads (OpenID Connect Core §2, and
// Fullmakt's pid and act).
type idClaims struct {
	Issuer   string       `json:"iss"`
	Subject  string       `json:"sub"`
	Audience audience     `json:"aud"`
	AZP      string       `json:"azp"`
	Expiry   *numericDate `json:"exp"`
	IssuedAt *numericDate `json:"iat"`
	AuthTime *numericDate `json:"auth_time"`
	Nonce    string       `json:"nonce"`
	ACR      string       `json:"acr"`
	AtHash   string       `json:"at_hash"`
	PID      string       `json:"pid"`
	Act      *actClaim    `json:"act"`
	Name     string       `json:"name"`
}

// verifyIDToken verifies the ID token of the login p (OpenID Connect Core
// §3.1.3.7) and, when it carries at_hash, that it belongs with accessToken.
func (c *Client) verifyIDToken(ctx context.Context, raw string, p PendingLogin, accessToken string) (*idClaims, error) {
	j, terr := parseCompactJWS(raw)
	if terr != nil {
		return nil, refuse("ID token: %s", terr.Reason)
	}
	if j.header.Typ != "" && !typeIs(j.header.Typ, "jwt") {
		return nil, refuse("ID token: typ is not JWT")
	}
	if _, err := c.verifySignature(ctx, j); err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			return nil, refuse("ID token: %s", te.Reason)
		}
		return nil, err
	}
	var cl idClaims
	if !jsonObject(j.payload) || json.Unmarshal(j.payload, &cl) != nil {
		return nil, refuse("ID token: the claims are not of the expected shape")
	}
	now, skew := c.cfg.Now(), c.cfg.ClockSkew
	switch {
	case cl.Issuer != c.cfg.Issuer:
		return nil, refuse("ID token: issued by another issuer")
	case !cl.Audience.contains(c.cfg.ClientID):
		return nil, refuse("ID token: not for this client (aud)")
	case cl.AZP != "" && cl.AZP != c.cfg.ClientID:
		return nil, refuse("ID token: authorized for another client (azp)")
	case cl.Subject == "":
		return nil, refuse("ID token: no subject (sub)")
	case cl.IssuedAt == nil:
		return nil, refuse("ID token: no iat")
	case p.Nonce == "" || subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(p.Nonce)) != 1:
		return nil, refuse("ID token: the nonce is not this login's")
	}
	if terr := c.checkTimes(cl.Expiry, nil, cl.IssuedAt, true); terr != nil {
		return nil, refuse("ID token: %s", terr.Reason)
	}
	if p.ACRValues != "" && !acrSatisfies(cl.ACR, strings.Fields(p.ACRValues)) {
		return nil, refuse("ID token: the level of assurance (acr) is not one asked for")
	}
	if p.MaxAge > 0 {
		started := p.Started
		if started.IsZero() {
			started = now
		}
		switch {
		case cl.AuthTime == nil:
			return nil, refuse("ID token: no auth_time, though max_age was asked")
		case cl.AuthTime.Before(started.Add(-p.MaxAge - skew)):
			return nil, refuse("ID token: the authentication is older than max_age")
		case cl.AuthTime.After(now.Add(skew)):
			return nil, refuse("ID token: auth_time is in the future")
		}
	}
	if cl.AtHash != "" {
		sum := sha256.Sum256([]byte(accessToken))
		want := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
		if subtle.ConstantTimeCompare([]byte(cl.AtHash), []byte(want)) != 1 {
			return nil, refuse("ID token: at_hash does not match the access token")
		}
	}
	return &cl, nil
}

// acrLevels orders the levels of assurance by the last word of an acr value:
// eIDAS's http://eidas.europa.eu/LoA/substantial and ID-porten's
// idporten-loa-substantial are both "substantial".
var acrLevels = map[string]int{"low": 1, "substantial": 2, "high": 3}

// acrLevel is the level of an acr value, 0 when unknown.
func acrLevel(acr string) int {
	return acrLevels[acr[strings.LastIndexAny(acr, "/-")+1:]]
}

// acrSatisfies reports whether acr is one of asked, or a known level at least as
// high as the lowest known level asked (Fullmakt answers with the level reached,
// which may be above the one asked for).
func acrSatisfies(acr string, asked []string) bool {
	if acr == "" {
		return false
	}
	if slices.Contains(asked, acr) {
		return true
	}
	got := acrLevel(acr)
	lowest := 0
	for _, a := range asked {
		if l := acrLevel(a); l > 0 && (lowest == 0 || l < lowest) {
			lowest = l
		}
	}
	return got > 0 && lowest > 0 && got >= lowest
}

// userinfoName asks the userinfo endpoint for the name of subject. The name is
// for show: a failure is logged and leaves it empty.
func (c *Client) userinfoName(ctx context.Context, accessToken, subject string) string {
	if c.meta.UserinfoEndpoint == "" {
		return ""
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.meta.UserinfoEndpoint, nil)
	if err != nil {
		return ""
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		c.cfg.Log.Warn("sdk: userinfo failed", "err", err)
		return ""
	}
	body, err := readBody(resp)
	if err != nil || resp.StatusCode != http.StatusOK {
		c.cfg.Log.Warn("sdk: userinfo failed", "status", resp.StatusCode)
		return ""
	}
	var info struct {
		Subject string `json:"sub"`
		Name    string `json:"name"`
	}
	// OpenID Connect Core §5.3.2: the answer must be about the ID token's subject.
	if json.Unmarshal(body, &info) != nil || info.Subject != subject {
		c.cfg.Log.Warn("sdk: userinfo answered for another subject or unreadably")
		return ""
	}
	return info.Name
}

// LogoutURL is where to send the browser to log the person out of Fullmakt too
// (OpenID Connect RP-Initiated Logout 1.0): the end_session_endpoint with the ID
// token as a hint, and where to come back to (registered exactly) with state.
// Empty values are left out; the result is empty when Fullmakt has no logout.
func (c *Client) LogoutURL(idTokenHint, postLogoutRedirectURI, state string) string {
	if c.meta.EndSessionEndpoint == "" {
		return ""
	}
	u, err := url.Parse(c.meta.EndSessionEndpoint)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", c.cfg.ClientID)
	for name, v := range map[string]string{"id_token_hint": idTokenHint, "post_logout_redirect_uri": postLogoutRedirectURI, "state": state} {
		if v != "" {
			q.Set(name, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
