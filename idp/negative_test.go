package idp_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/idp"
)

// TestAuthorizeErrors sends bad authorization requests. Until the client and its
// redirect URI are known to be good the answer is a page, never a redirect (RFC
// 6749 §4.1.2.1); after that, the error goes back to the client. None of them
// starts a login.
func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrHigh, "")
	tests := []struct {
		name   string
		client string // default web
		edit   func(q url.Values)
		// page is true when the answer must be a 400 page; otherwise err is the
		// error redirected to the client.
		page bool
		err  string
	}{
		{name: "no code_challenge", edit: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, err: "invalid_request"},
		{name: "code_challenge without method", edit: func(q url.Values) { q.Del("code_challenge_method") }, err: "invalid_request"},
		{name: "plain code_challenge_method", edit: func(q url.Values) { q.Set("code_challenge_method", "plain") }, err: "invalid_request"},
		{name: "unknown code_challenge_method", edit: func(q url.Values) { q.Set("code_challenge_method", "S512") }, err: "invalid_request"},
		{name: "redirect_uri not registered", edit: func(q url.Values) { q.Set("redirect_uri", "https://evil.example/callback") }, page: true},
		{name: "redirect_uri with another path", edit: func(q url.Values) { q.Set("redirect_uri", webRedirect+"/more") }, page: true},
		{name: "redirect_uri missing", edit: func(q url.Values) { q.Del("redirect_uri") }, page: true},
		{name: "unknown client", edit: func(q url.Values) { q.Set("client_id", "nobody") }, page: true},
		{name: "no client_id", edit: func(q url.Values) { q.Del("client_id") }, page: true},
		{name: "implicit grant", edit: func(q url.Values) { q.Set("response_type", "token") }, err: "unsupported_response_type"},
		{name: "hybrid flow", edit: func(q url.Values) { q.Set("response_type", "code id_token") }, err: "unsupported_response_type"},
		{name: "response_mode fragment", edit: func(q url.Values) { q.Set("response_mode", "fragment") }, err: "unsupported_response_mode"},
		{name: "scope not allowed", edit: func(q url.Values) { q.Set("scope", "openid admin") }, err: "invalid_scope"},
		{name: "audience not allowed", edit: func(q url.Values) { q.Set("audience", navAPI) }, err: "invalid_request"},
		{name: "client that must push", client: "par-only", err: "invalid_request"},
		{name: "unknown acr_values", edit: func(q url.Values) { q.Set("acr_values", "urn:example:loa:9") }, err: "invalid_request"},
		{name: "negative max_age", edit: func(q url.Values) { q.Set("max_age", "-1") }, err: "invalid_request"},
		{name: "claims not JSON", edit: func(q url.Values) { q.Set("claims", "{") }, err: "invalid_request"},
		{name: "authorization_details not JSON", edit: func(q url.Values) { q.Set("authorization_details", "[{") }, err: "invalid_authorization_details"},
		{name: "authorization_details of an unknown type", edit: func(q url.Values) {
			q.Set("authorization_details", `[{"type":"payment","amount":"10"}]`)
		}, err: "invalid_authorization_details"},
		{name: "authorization_details with an unknown service", edit: func(q url.Values) {
			q.Set("authorization_details", `[{"type":"representation","services":["nowhere.nothing"]}]`)
		}, err: "invalid_authorization_details"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, redirect := "web", webRedirect
			if tt.client == "par-only" {
				client, redirect = "par-only", parRedirect
			}
			q, _ := authParams(client, redirect, "openid")
			if tt.edit != nil {
				tt.edit(q)
			}
			_, before := f.login.request()
			res := f.authorizeWith(t, q)
			if _, after := f.login.request(); after != before {
				t.Errorf("authorize(%s) started a login", tt.name)
			}
			if tt.page {
				if res.location != nil || res.status != http.StatusBadRequest {
					t.Errorf("authorize(%s) = %v, want a 400 page and no redirect", tt.name, res)
				}
				return
			}
			if res.location == nil || res.location.Host != "127.0.0.1" {
				t.Fatalf("authorize(%s) = %v, want a redirect to the client", tt.name, res)
			}
			if got := res.param("error"); got != tt.err {
				t.Errorf("authorize(%s) error = %q (%s), want %q", tt.name, got, res.param("error_description"), tt.err)
			}
			if got := res.param("state"); got != q.Get("state") {
				t.Errorf("authorize(%s) state = %q, want %q", tt.name, got, q.Get("state"))
			}
			if res.param("code") != "" {
				t.Errorf("authorize(%s) issued a code with the error", tt.name)
			}
		})
	}
}

// TestTokenEndpointErrors sends bad token requests; each gets its RFC error and
// status.
func TestTokenEndpointErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrHigh, "")
	web := basic("web", webSecret)
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// codeRequest is the token request for a fresh code of web, changed by edit.
	codeRequest := func(t *testing.T, edit func(form url.Values)) url.Values {
		q, verifier := authParams("web", webRedirect, "openid")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {f.code(t, q)}, "redirect_uri": {webRedirect}, "code_verifier": {verifier}}
		if edit != nil {
			edit(form)
		}
		return form
	}
	machineCC := func(edit func(form url.Values)) url.Values {
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"decide"}}
		if edit != nil {
			edit(form)
		}
		return form
	}
	jwtCC := url.Values{"grant_type": {"client_credentials"}, "scope": {"decide"}}
	tests := []struct {
		name    string
		request func(t *testing.T) (url.Values, clientAuth)
		status  int
		err     string
	}{
		{"wrong PKCE verifier", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, func(form url.Values) { form.Set("code_verifier", oauth2.GenerateVerifier()) }), web
		}, 400, "invalid_grant"},
		{"no PKCE verifier", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, func(form url.Values) { form.Del("code_verifier") }), web
		}, 400, "invalid_grant"},
		{"redirect_uri differs from the authorization request", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, func(form url.Values) { form.Set("redirect_uri", "http://127.0.0.1/other") }), web
		}, 400, "invalid_grant"},
		{"redirect_uri missing", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, func(form url.Values) { form.Del("redirect_uri") }), web
		}, 400, "invalid_grant"},
		{"code of another client", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, nil), basic("nopid", nopidSecret)
		}, 400, "invalid_grant"},
		{"unknown code", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, func(form url.Values) { form.Set("code", "ory_ac_bm90LWEtY29kZQ.bm90LWEtc2lnbmF0dXJl") }), web
		}, 400, "invalid_grant"},
		{"wrong client secret", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, nil), basic("web", "fms_wrong")
		}, 401, "invalid_client"},
		{"unknown client", func(t *testing.T) (url.Values, clientAuth) {
			return machineCC(nil), basic("nobody", machineSecret)
		}, 401, "invalid_client"},
		{"no client authentication", func(t *testing.T) (url.Values, clientAuth) {
			return machineCC(nil), nil
		}, 401, "invalid_client"},
		{"confidential client without its secret", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, nil), public("web")
		}, 401, "invalid_client"},
		{"audience not registered (client credentials)", func(t *testing.T) (url.Values, clientAuth) {
			return machineCC(func(form url.Values) { form.Set("audience", navAPI) }), basic("machine", machineSecret)
		}, 400, "invalid_request"},
		{"scope not allowed (client credentials)", func(t *testing.T) (url.Values, clientAuth) {
			return machineCC(func(form url.Values) { form.Set("scope", "admin") }), basic("machine", machineSecret)
		}, 400, "invalid_scope"},
		{"public client with client credentials", func(t *testing.T) (url.Values, clientAuth) {
			return machineCC(func(form url.Values) { form.Set("scope", "openid") }), public("spa")
		}, 400, "unauthorized_client"},
		{"client not registered for client credentials", func(t *testing.T) (url.Values, clientAuth) {
			return machineCC(func(form url.Values) { form.Set("scope", "openid") }), web
		}, 400, "unauthorized_client"},
		{"client not registered for the code grant", func(t *testing.T) (url.Values, clientAuth) {
			return codeRequest(t, nil), basic("machine", machineSecret)
		}, 400, "unauthorized_client"},
		{"password grant", func(t *testing.T) (url.Values, clientAuth) {
			return url.Values{"grant_type": {"password"}, "username": {string(f.parent.ID)}, "password": {"secret"}}, web
		}, 400, "unsupported_grant_type"},
		{"unknown grant type", func(t *testing.T) (url.Values, clientAuth) {
			return url.Values{"grant_type": {"urn:example:grant"}}, web
		}, 400, "unsupported_grant_type"},
		{"implicit grant type", func(t *testing.T) (url.Values, clientAuth) {
			return url.Values{"grant_type": {"implicit"}}, web
		}, 400, "unsupported_grant_type"},
		{"no grant type", func(t *testing.T) (url.Values, clientAuth) {
			return url.Values{"scope": {"openid"}}, web
		}, 400, "invalid_request"},
		{"unknown refresh token", func(t *testing.T) (url.Values, clientAuth) {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ory_rt_bm90.bm90"}}, web
		}, 400, "invalid_grant"},
		{"refresh token of another client", func(t *testing.T) (url.Values, clientAuth) {
			tok := f.mustCodeFlow(t, f.webConfig("openid"))
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, basic("nopid", nopidSecret)
		}, 400, "invalid_grant"},

		// private_key_jwt (RFC 7523 §3, RFC 7521 §4.2: errors are invalid_client).
		{"replayed client assertion jti", func(t *testing.T) (url.Values, clientAuth) {
			a := f.clientAssertion(t, f.assertionKey, nil)
			if r := f.post(t, "/token", jwtCC, assertion(a)); r.status != http.StatusOK {
				t.Fatalf("first use of the assertion = %v, want 200", r)
			}
			return jwtCC, assertion(a)
		}, 401, "invalid_client"},
		{"new assertion with a used jti", func(t *testing.T) (url.Values, clientAuth) {
			jti := oauth2.GenerateVerifier()
			withJTI := func(c map[string]any) { c["jti"] = jti }
			if r := f.post(t, "/token", jwtCC, assertion(f.clientAssertion(t, f.assertionKey, withJTI))); r.status != http.StatusOK {
				t.Fatalf("first use of the jti = %v, want 200", r)
			}
			return jwtCC, assertion(f.clientAssertion(t, f.assertionKey, func(c map[string]any) { withJTI(c); c["exp"] = time.Now().Add(2 * time.Minute).Unix() }))
		}, 401, "invalid_client"},
		{"assertion with alg none", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(unsignedJWT(t, map[string]any{
				"iss": "jwt-client", "sub": "jwt-client", "aud": f.issuer + "/token",
				"jti": oauth2.GenerateVerifier(), "exp": time.Now().Add(time.Minute).Unix(),
			}))
		}, 401, "invalid_client"},
		{"assertion signed by another key", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(f.clientAssertion(t, other, nil))
		}, 401, "invalid_client"},
		{"assertion for the issuer, not the token endpoint", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(f.clientAssertion(t, f.assertionKey, func(c map[string]any) { c["aud"] = f.issuer }))
		}, 401, "invalid_client"},
		{"assertion for another server", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(f.clientAssertion(t, f.assertionKey, func(c map[string]any) { c["aud"] = "https://other.example/token" }))
		}, 401, "invalid_client"},
		{"expired assertion", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(f.clientAssertion(t, f.assertionKey, func(c map[string]any) {
				c["iat"] = time.Now().Add(-time.Hour).Unix()
				c["exp"] = time.Now().Add(-30 * time.Minute).Unix()
			}))
		}, 401, "invalid_client"},
		{"assertion without jti", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(f.clientAssertion(t, f.assertionKey, func(c map[string]any) { delete(c, "jti") }))
		}, 401, "invalid_client"},
		{"assertion naming another client", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, assertion(f.clientAssertion(t, f.assertionKey, func(c map[string]any) { c["iss"], c["sub"] = "machine", "machine" }))
		}, 401, "invalid_client"},
		{"secret for a private_key_jwt client", func(t *testing.T) (url.Values, clientAuth) {
			return jwtCC, basic("jwt-client", machineSecret)
		}, 401, "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form, auth := tt.request(t)
			r := f.post(t, "/token", form, auth)
			if r.status != tt.status || r.str("error") != tt.err {
				t.Errorf("token(%s) = %v, want %d %s", tt.name, r, tt.status, tt.err)
			}
			if r.str("access_token") != "" {
				t.Errorf("token(%s) issued an access token with the error", tt.name)
			}
		})
	}
}

// unsignedJWT is an "alg": "none" JWT (RFC 7519 §6).
func unsignedJWT(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// TestExpiredCode redeems a code after its lifetime: invalid_grant. fosite times
// codes with time.Now, so the test waits (the only test that sleeps).
func TestExpiredCode(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *idp.Config) { c.CodeLifetime = time.Second })
	f.login.as(f.parent.ID, acrSubstantial, "")
	q, verifier := authParams("web", webRedirect, "openid")
	code := f.code(t, q)
	time.Sleep(2 * time.Second)
	_, err := f.webConfig("openid").Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if got := errorCode(err); got != "invalid_grant" {
		t.Errorf("exchange of an expired code: error %q (%v), want invalid_grant", got, err)
	}
}
