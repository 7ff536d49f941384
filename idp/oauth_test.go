package idp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// TestCodeFlow drives the authorization code flow with PKCE S256 as a relying
// party does, with golang.org/x/oauth2 and go-oidc's ID token verifier, for a
// client that may receive identity numbers (web) and one that may not (nopid).
func TestCodeFlow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	provider, err := oidc.NewProvider(t.Context(), f.issuer)
	if err != nil {
		t.Fatalf("oidc.NewProvider(%s) = %v", f.issuer, err)
	}
	tests := []struct {
		name, client, secret, redirect, audience string
		pid                                      bool
	}{
		{"client with pid", "web", webSecret, webRedirect, agencyAPI, true},
		{"client without pid", "nopid", nopidSecret, nopidRedirect, navAPI, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authTime := time.Now().Add(-time.Minute).Truncate(time.Second)
			f.login.as(f.parent.ID, acrHigh, "")
			f.login.change(func(a *idp.Authentication) { a.AuthTime = authTime })
			cfg := f.oauth2Config(tt.client, tt.secret, tt.redirect, oidc.ScopeOpenID, "profile")
			nonce := oauth2.GenerateVerifier()
			tok := f.mustCodeFlow(t, cfg, oidc.Nonce(nonce))

			// The ID token, as go-oidc verifies it (signature with the JWKS, iss,
			// aud, exp).
			rawID, _ := tok.Extra("id_token").(string)
			idt, err := provider.Verifier(&oidc.Config{ClientID: tt.client}).Verify(t.Context(), rawID)
			if err != nil {
				t.Fatalf("Verify(id_token) = %v", err)
			}
			if idt.Nonce != nonce {
				t.Errorf("id_token nonce = %q, want %q", idt.Nonce, nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("id_token at_hash: VerifyAccessToken = %v", err)
			}
			var claims map[string]any
			if err := idt.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			wantSub := f.sub(f.parent)
			for name, want := range map[string]any{
				"sub": wantSub, "acr": acrHigh, "amr": []any{"hwk", "user"}, "auth_time": float64(authTime.Unix()),
			} {
				if !cmp.Equal(claims[name], want) {
					t.Errorf("id_token %s = %v, want %v", name, claims[name], want)
				}
			}
			if wantSub == string(f.parent.ID) || strings.Contains(wantSub, string(f.parent.ID)) {
				t.Errorf("sub %q is not opaque", wantSub)
			}

			// The access token: a JWT (RFC 9068) a resource server verifies alone.
			at := f.verifyJWT(t, tok.AccessToken)
			if at.typ != "at+jwt" || at.std.Subject != wantSub || !slices.Equal(at.std.Audience, []string{tt.audience}) ||
				at.claims["client_id"] != tt.client || at.claims["acr"] != acrHigh {
				t.Errorf("access token: typ %q sub %q aud %v client_id %v acr %v, want at+jwt %q [%s] %s %s",
					at.typ, at.std.Subject, at.std.Audience, at.claims["client_id"], at.claims["acr"], wantSub, tt.audience, tt.client, acrHigh)
			}

			// userinfo, through go-oidc.
			info, err := provider.UserInfo(t.Context(), oauth2.StaticTokenSource(tok))
			if err != nil {
				t.Fatalf("UserInfo = %v", err)
			}
			var infoClaims map[string]any
			if err := info.Claims(&infoClaims); err != nil {
				t.Fatal(err)
			}
			if info.Subject != wantSub || infoClaims["name"] != f.parent.Name {
				t.Errorf("userinfo sub %q name %v, want %q %q", info.Subject, infoClaims["name"], wantSub, f.parent.Name)
			}

			// pid: everywhere for a client allowed it, nowhere (not even the number)
			// for one that is not.
			self := basic(tt.client, tt.secret)
			seen := map[string]any{
				"id_token":                        claims,
				"access token":                    at.claims,
				"userinfo":                        infoClaims,
				"introspection by the client":     f.introspectAs(t, tok.AccessToken, self),
				"introspection by a pid client":   f.introspect(t, tok.AccessToken),
				"refresh token introspection":     f.introspect(t, tok.RefreshToken),
				"introspection by a plain client": f.introspectAs(t, tok.AccessToken, basic("nopid", nopidSecret)),
			}
			for where, c := range seen {
				m, _ := c.(map[string]any)
				want := tt.pid && where != "introspection by a plain client"
				raw, _ := json.Marshal(m)
				if got := strings.Contains(string(raw), string(f.parent.ID)); got != want {
					t.Errorf("%s has the identity number: %v, want %v: %s", where, got, want, raw)
				}
				if want && m["pid"] != string(f.parent.ID) {
					t.Errorf("%s pid = %v, want %s", where, m["pid"], f.parent.ID)
				}
			}
		})
	}
}

// TestNoPIDLeaks lets a client that may not receive identity numbers have a
// person act for another, who is chosen at login: no identity number reaches it,
// or a resource server, in any token or answer.
func TestNoPIDLeaks(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, f.child.ID)
	cfg := f.oauth2Config("nopid", nopidSecret, nopidRedirect, "openid", "profile", "represent")
	tok := f.mustCodeFlow(t, cfg, oauth2.SetAuthURLParam("authorization_details", `[{"type":"representation"}]`))
	at := f.verifyJWT(t, tok.AccessToken)
	if at.std.Subject != f.sub(f.child) {
		t.Fatalf("access token sub = %q, want the child's %q", at.std.Subject, f.sub(f.child))
	}
	userinfo := f.get(t, "/userinfo", tok.AccessToken)
	for where, v := range map[string]any{
		"id_token":                      unverifiedClaims(t, tok.Extra("id_token").(string)),
		"access token":                  at.claims,
		"userinfo":                      userinfo.body,
		"introspection by the client":   f.introspectAs(t, tok.AccessToken, basic("nopid", nopidSecret)),
		"introspection by a pid client": f.introspect(t, tok.AccessToken),
		"refresh token introspection":   f.introspect(t, tok.RefreshToken),
	} {
		raw, _ := json.Marshal(v)
		for _, p := range []delegation.Person{f.parent, f.child} {
			if strings.Contains(string(raw), string(p.ID)) {
				t.Errorf("%s has the identity number of %s: %s", where, p.Name, raw)
			}
		}
	}
}

// TestSubject checks that sub is opaque and stable: the same across logins,
// clients and a restart of the server, and different for different people.
func TestSubject(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	subOf := func(cfg *oauth2.Config, person delegation.PartyID) string {
		t.Helper()
		f.login.as(person, acrSubstantial, "")
		tok := f.mustCodeFlow(t, cfg)
		return unverifiedClaims(t, tok.Extra("id_token").(string))["sub"].(string)
	}
	web := f.webConfig("openid")
	nopid := f.oauth2Config("nopid", nopidSecret, nopidRedirect, "openid")
	first, second := subOf(web, f.parent.ID), subOf(web, f.parent.ID)
	other := subOf(nopid, f.parent.ID)
	stranger := subOf(web, f.stranger.ID)
	if first != second || first != other {
		t.Errorf("sub of one person: %q, %q (again), %q (another client); want one value", first, second, other)
	}
	if first == stranger {
		t.Errorf("two people have the sub %q", first)
	}
	if first != f.sub(f.parent) {
		t.Errorf("sub %q, Subject = %q", first, f.sub(f.parent))
	}
	restarted, err := idp.New(t.Context(), idp.Config{Issuer: f.issuer}, idp.Deps{
		Grants: f.store, Clients: f.clients, Decider: f.pdp, Registry: f.store, Login: f.login,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(restarted.Close)
	if got := restarted.Subject(f.parent.ID); got != first {
		t.Errorf("after a restart Subject = %q, want %q", got, first)
	}
}

// TestRefresh rotates a refresh token with golang.org/x/oauth2 and checks what
// the new tokens carry.
func TestRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	authTime := time.Now().Add(-2 * time.Minute).Truncate(time.Second)
	f.login.as(f.parent.ID, acrSubstantial, "")
	f.login.change(func(a *idp.Authentication) { a.AuthTime = authTime })
	cfg := f.webConfig("openid")
	tok := f.mustCodeFlow(t, cfg)

	expired := *tok
	expired.Expiry = time.Now().Add(-time.Hour)
	next, err := cfg.TokenSource(t.Context(), &expired).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Errorf("refresh: the tokens were not rotated")
	}
	if f.active(t, tok.AccessToken) {
		t.Errorf("the access token from before the refresh is still active")
	}
	if !f.active(t, next.AccessToken) {
		t.Errorf("the new access token is not active")
	}
	// The new ID token: the same person, the same authentication (a refresh does
	// not authenticate anyone).
	idt := unverifiedClaims(t, next.Extra("id_token").(string))
	at := f.verifyJWT(t, next.AccessToken)
	for _, c := range []map[string]any{idt, at.claims} {
		if c["sub"] != f.sub(f.parent) || c["acr"] != acrSubstantial || c["auth_time"] != float64(authTime.Unix()) {
			t.Errorf("after refresh: sub %v acr %v auth_time %v, want %s %s %d", c["sub"], c["acr"], c["auth_time"], f.sub(f.parent), acrSubstantial, authTime.Unix())
		}
	}
}

// TestRefreshReuse replays a rotated refresh token: the replay fails, and the
// whole grant is revoked (RFC 9700 §4.14.2), including the tokens of the refresh
// that rotated it.
func TestRefreshReuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	tok := f.mustCodeFlow(t, f.webConfig("openid"))
	web := basic("web", webSecret)

	first := f.refresh(t, tok.RefreshToken, web)
	if first.status != http.StatusOK {
		t.Fatalf("refresh = %v, want 200", first)
	}
	replay := f.refresh(t, tok.RefreshToken, web)
	if replay.status != http.StatusBadRequest || replay.str("error") != "invalid_grant" {
		t.Errorf("refresh with the used token = %v, want 400 invalid_grant", replay)
	}
	if f.active(t, first.str("access_token")) {
		t.Errorf("after reuse, the access token of the rotation is still active")
	}
	if r := f.refresh(t, first.str("refresh_token"), web); r.status != http.StatusBadRequest || r.str("error") != "invalid_grant" {
		t.Errorf("after reuse, refresh with the rotated token = %v, want 400 invalid_grant", r)
	}
}

// TestParallelRefresh sends two refreshes of one token that both read it before
// either commits: exactly one succeeds, and its tokens stay good.
func TestParallelRefresh(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	tok := f.mustCodeFlow(t, f.webConfig("openid"))
	web := basic("web", webSecret)

	const n = 2
	f.grants.barrier(grants.Refresh, n)
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = f.refresh(t, tok.RefreshToken, web) })
	}
	wg.Wait()
	f.grants.hold.Store(nil)

	var won []response
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			won = append(won, r)
		case r.str("error") != "invalid_grant":
			t.Errorf("the losing refresh = %v, want invalid_grant (not advice to retry, which would be reuse)", r)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d of %d parallel refreshes succeeded, want 1: %v", len(won), n, results)
	}
	if !f.active(t, won[0].str("access_token")) {
		t.Errorf("the winner's access token is not active")
	}
	if r := f.refresh(t, won[0].str("refresh_token"), web); r.status != http.StatusOK {
		t.Errorf("refresh with the winner's refresh token = %v, want 200", r)
	}
}

// TestCodeReuse redeems a code twice: the second fails with invalid_grant and
// revokes the tokens of the first (RFC 6749 §4.1.2).
func TestCodeReuse(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	cfg := f.webConfig("openid")
	q, verifier := authParams("web", webRedirect, "openid")
	code := f.code(t, q)

	tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("first redemption: %v", err)
	}
	_, err = cfg.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if got := errorCode(err); got != "invalid_grant" {
		t.Errorf("second redemption: error %q (%v), want invalid_grant", got, err)
	}
	if got := f.introspect(t, tok.AccessToken); !cmp.Equal(got, map[string]any{"active": false}) {
		t.Errorf("introspect(first access token) = %v, want only active false", got)
	}
	if r := f.refresh(t, tok.RefreshToken, basic("web", webSecret)); r.str("error") != "invalid_grant" {
		t.Errorf("refresh with the first refresh token = %v, want invalid_grant", r)
	}
}

// TestParallelCodeRedemption redeems one code in parallel requests that all read
// it before any commits: exactly one succeeds.
func TestParallelCodeRedemption(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	cfg := f.webConfig("openid")
	q, verifier := authParams("web", webRedirect, "openid")
	code := f.code(t, q)

	const n = 4
	f.grants.barrier(grants.Code, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
		})
	}
	wg.Wait()
	f.grants.hold.Store(nil)
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errorCode(err) != "invalid_grant":
			t.Errorf("a losing redemption: %v, want invalid_grant", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d parallel redemptions succeeded, want 1: %v", ok, n, errs)
	}
}

// TestClientCredentials gets tokens for a client acting for itself, with a
// secret and with a private_key_jwt assertion (ES256, go-jose v4).
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		name   string
		client string
		token  func(t *testing.T) (string, error)
	}{
		{"client_secret_basic", "machine", func(t *testing.T) (string, error) {
			cc := clientcredentials.Config{ClientID: "machine", ClientSecret: machineSecret, TokenURL: f.issuer + "/token",
				Scopes: []string{"decide"}, AuthStyle: oauth2.AuthStyleInHeader}
			tok, err := cc.Token(t.Context())
			if err != nil {
				return "", err
			}
			if tok.RefreshToken != "" {
				t.Errorf("client credentials gave a refresh token")
			}
			return tok.AccessToken, nil
		}},
		{"private_key_jwt", "jwt-client", func(t *testing.T) (string, error) {
			r := f.post(t, "/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"decide"}},
				assertion(f.clientAssertion(t, f.assertionKey, nil)))
			if r.status != http.StatusOK {
				t.Fatalf("token = %v, want 200", r)
			}
			return r.str("access_token"), nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := tt.token(t)
			if err != nil {
				t.Fatalf("token: %v", err)
			}
			at := f.verifyJWT(t, raw)
			got := map[string]any{"typ": at.typ, "sub": at.std.Subject, "aud": []string(at.std.Audience),
				"client_id": at.claims["client_id"], "scope": at.claims["scope"]}
			want := map[string]any{"typ": "at+jwt", "sub": tt.client, "aud": []string{agencyAPI}, "client_id": tt.client, "scope": "decide"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("client credentials access token (-want +got):\n%s", diff)
			}
			if _, ok := at.claims["act"]; ok {
				t.Errorf("a client's own token has act: %v", at.claims["act"])
			}
		})
	}
}

// TestPublicClient runs the code flow for a public client: PKCE and no secret.
func TestPublicClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	cfg := f.oauth2Config("spa", "", spaRedirect, "openid")
	tok := f.mustCodeFlow(t, cfg)
	if tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("spa: access token %q refresh token %q, want both", tok.AccessToken, tok.RefreshToken)
	}
	if got := f.verifyJWT(t, tok.AccessToken).std.Audience; !slices.Equal(got, []string{"spa"}) {
		t.Errorf("spa access token aud = %v, want [spa] (a client without audiences gets its own id)", got)
	}
	if r := f.refresh(t, tok.RefreshToken, public("spa")); r.status != http.StatusOK {
		t.Errorf("spa refresh = %v, want 200", r)
	}
}

// TestPushedAuthorization sends the authorization request of a client that must
// push it (RFC 9126) to /par, and uses the request_uri once.
func TestPushedAuthorization(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	q, verifier := authParams("par-only", parRedirect, "openid")
	pushed := f.post(t, "/par", q, basic("par-only", parSecret))
	if pushed.status != http.StatusCreated || !strings.HasPrefix(pushed.str("request_uri"), "urn:ietf:params:oauth:request_uri:") {
		t.Fatalf("POST /par = %v, want 201 with a request_uri", pushed)
	}
	if exp, _ := pushed.body["expires_in"].(float64); exp <= 0 || exp > 600 {
		t.Errorf("POST /par expires_in = %v, want a short positive lifetime", pushed.body["expires_in"])
	}
	front := url.Values{"client_id": {"par-only"}, "request_uri": {pushed.str("request_uri")}}
	res := f.authorizeWith(t, front)
	if res.param("code") == "" || res.param("state") != q.Get("state") {
		t.Fatalf("authorize with request_uri = %v, want a code and the pushed state", res)
	}
	cfg := f.oauth2Config("par-only", parSecret, parRedirect, "openid")
	if _, err := cfg.Exchange(t.Context(), res.param("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("exchange the code: %v", err)
	}
	// A request_uri is good once (RFC 9126 §4): the second use gets a page, since
	// the request behind it is no longer known.
	if again := f.authorizeWith(t, front); again.location != nil || again.status != http.StatusBadRequest {
		t.Errorf("authorize with a used request_uri = %v, want a 400 page", again)
	}
	// The pushed request is checked when it is pushed.
	bad := cloneValues(q)
	bad.Del("code_challenge")
	if r := f.post(t, "/par", bad, basic("par-only", parSecret)); r.status != http.StatusBadRequest || r.str("error") != "invalid_request" {
		t.Errorf("POST /par without code_challenge = %v, want 400 invalid_request", r)
	}
	if r := f.post(t, "/par", q, basic("par-only", "wrong")); r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" {
		t.Errorf("POST /par with a wrong secret = %v, want 401 invalid_client", r)
	}
}
