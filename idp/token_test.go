package idp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/idp"
)

// onBehalf logs the parent in with web to act for the child, and returns the
// tokens.
func (f *fixture) onBehalf(t *testing.T, scopes ...string) *oauth2.Token {
	t.Helper()
	f.login.as(f.parent.ID, acrSubstantial, "")
	return f.mustCodeFlow(t, f.webConfig(scopes...),
		oauth2.SetAuthURLParam("authorization_details", representation(f.child.ID, "skatteetaten.skattemelding")))
}

// TestIntrospection checks RFC 7662 answers: every member for an active token,
// pid only for callers allowed it, and nothing but active false otherwise.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.onBehalf(t, "openid", "profile")
	at := f.verifyJWT(t, tok.AccessToken)

	detail := []any{map[string]any{
		"type": "representation", "party": map[string]any{"type": "person", "id": string(f.child.ID)},
		"services": []any{"skatteetaten.skattemelding"}, "actions": []any{"read"},
	}}
	full := map[string]any{
		"active": true, "iss": f.issuer, "token_type": "Bearer", "client_id": "web", "scope": "openid profile",
		"sub": f.sub(f.child), "aud": []any{agencyAPI}, "exp": at.claims["exp"], "iat": at.claims["iat"],
		"acr": acrSubstantial, "amr": []any{"hwk", "user"}, "auth_time": at.claims["auth_time"],
		"act":      map[string]any{"sub": f.sub(f.parent), "pid": string(f.parent.ID)},
		"relation": map[string]any{"kind": "parent"}, "authorization_details": detail,
		"pid": string(f.child.ID),
	}
	withoutPID := map[string]any{}
	for k, v := range full {
		withoutPID[k] = v
	}
	delete(withoutPID, "pid")
	withoutPID["act"] = map[string]any{"sub": f.sub(f.parent)}
	withoutPID["authorization_details"] = []any{map[string]any{
		"type": "representation", "services": []any{"skatteetaten.skattemelding"}, "actions": []any{"read"},
	}}

	inactive := map[string]any{"active": false}
	revoked := f.onBehalf(t, "openid")
	if r := f.post(t, "/revoke", url.Values{"token": {revoked.AccessToken}}, basic("web", webSecret)); r.status != http.StatusOK {
		t.Fatalf("revoke = %v", r)
	}
	used := f.onBehalf(t, "openid")
	if r := f.refresh(t, used.RefreshToken, basic("web", webSecret)); r.status != http.StatusOK {
		t.Fatalf("refresh = %v", r)
	}

	tests := []struct {
		name   string
		token  string
		caller clientAuth
		want   map[string]any
	}{
		{"caller may receive pid", tok.AccessToken, basic("machine", machineSecret), full},
		{"the client itself", tok.AccessToken, basic("web", webSecret), full},
		{"caller may not receive pid", tok.AccessToken, basic("nopid", nopidSecret), withoutPID},
		{"revoked token", revoked.AccessToken, basic("machine", machineSecret), inactive},
		{"access token of a used refresh token", used.AccessToken, basic("machine", machineSecret), inactive},
		{"used refresh token", used.RefreshToken, basic("machine", machineSecret), inactive},
		{"unknown token", "not-a-token", basic("machine", machineSecret), inactive},
		{"JWT signed by someone else", unsignedJWT(t, map[string]any{"iss": f.issuer, "sub": "x"}), basic("machine", machineSecret), inactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post(t, "/introspect", url.Values{"token": {tt.token}}, tt.caller)
			if r.status != http.StatusOK {
				t.Fatalf("introspect = %v, want 200", r)
			}
			if diff := cmp.Diff(tt.want, r.body); diff != "" {
				t.Errorf("introspect (-want +got):\n%s", diff)
			}
			if tt.want["pid"] == nil && (strings.Contains(r.raw, string(f.child.ID)) || strings.Contains(r.raw, string(f.parent.ID))) {
				t.Errorf("introspect has an identity number: %s", r.raw)
			}
			if cc := r.header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
		})
	}

	// A refresh token: its own type and expiry.
	r := f.introspect(t, tok.RefreshToken)
	if r["active"] != true || r["token_type"] != "refresh_token" || r["sub"] != f.sub(f.child) || r["exp"] == nil {
		t.Errorf("introspect(refresh token) = %v, want active refresh_token for the child with exp", r)
	}

	// The caller must authenticate (RFC 7662 §2.1, §2.3).
	for name, auth := range map[string]clientAuth{
		"no authentication": nil,
		"wrong secret":      basic("machine", "fms_wrong"),
		"unknown client":    basic("nobody", machineSecret),
	} {
		r := f.post(t, "/introspect", url.Values{"token": {tok.AccessToken}}, auth)
		if r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" || r.body["active"] != nil {
			t.Errorf("introspect with %s = %v, want 401 invalid_client", name, r)
		}
	}
}

// TestRevocation checks RFC 7009: revoking a refresh token revokes its grant's
// access tokens, and unknown tokens are answered 200.
func TestRevocation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	web := basic("web", webSecret)
	f.login.as(f.parent.ID, acrSubstantial, "")

	t.Run("refresh token", func(t *testing.T) {
		tok := f.mustCodeFlow(t, f.webConfig("openid"))
		if r := f.post(t, "/revoke", url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}, web); r.status != http.StatusOK {
			t.Fatalf("revoke = %v, want 200", r)
		}
		if f.active(t, tok.AccessToken) {
			t.Errorf("the access token of a revoked refresh token is still active")
		}
		if r := f.refresh(t, tok.RefreshToken, web); r.str("error") != "invalid_grant" {
			t.Errorf("refresh with a revoked refresh token = %v, want invalid_grant", r)
		}
	})
	t.Run("access token", func(t *testing.T) {
		tok := f.mustCodeFlow(t, f.webConfig("openid"))
		if r := f.post(t, "/revoke", url.Values{"token": {tok.AccessToken}}, web); r.status != http.StatusOK {
			t.Fatalf("revoke = %v, want 200", r)
		}
		if f.active(t, tok.AccessToken) {
			t.Errorf("a revoked access token is still active")
		}
	})
	t.Run("public client", func(t *testing.T) {
		tok := f.mustCodeFlow(t, f.oauth2Config("spa", "", spaRedirect, "openid"))
		if r := f.post(t, "/revoke", url.Values{"token": {tok.RefreshToken}}, public("spa")); r.status != http.StatusOK {
			t.Fatalf("revoke = %v, want 200", r)
		}
		if f.active(t, tok.AccessToken) || f.active(t, tok.RefreshToken) {
			t.Errorf("the spa's tokens are still active after revocation")
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		if r := f.post(t, "/revoke", url.Values{"token": {"not-a-token"}}, web); r.status != http.StatusOK {
			t.Errorf("revoke(unknown token) = %v, want 200", r)
		}
	})
	t.Run("another client's token", func(t *testing.T) {
		tok := f.mustCodeFlow(t, f.webConfig("openid"))
		if r := f.post(t, "/revoke", url.Values{"token": {tok.RefreshToken}}, basic("nopid", nopidSecret)); r.status != http.StatusBadRequest || r.str("error") != "unauthorized_client" {
			t.Errorf("revoke(another client's token) = %v, want 400 unauthorized_client", r)
		}
		if !f.active(t, tok.AccessToken) {
			t.Errorf("another client revoked web's token")
		}
	})
	t.Run("unauthenticated", func(t *testing.T) {
		tok := f.mustCodeFlow(t, f.webConfig("openid"))
		if r := f.post(t, "/revoke", url.Values{"token": {tok.RefreshToken}}, nil); r.status != http.StatusUnauthorized || r.str("error") != "invalid_client" {
			t.Errorf("revoke without authentication = %v, want 401 invalid_client", r)
		}
		if !f.active(t, tok.AccessToken) {
			t.Errorf("an unauthenticated request revoked a token")
		}
	})
}

// TestUserinfo checks the userinfo endpoint (OIDC Core §5.3) and its bearer token
// errors (RFC 6750 §3.1).
func TestUserinfo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	onBehalf := f.onBehalf(t, "openid", "profile")
	f.login.as(f.parent.ID, acrSubstantial, "")
	noOpenID := f.mustCodeFlow(t, f.webConfig("profile"))
	clientToken := f.post(t, "/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, basic("machine", machineSecret)).str("access_token")

	t.Run("on behalf", func(t *testing.T) {
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			req, err := http.NewRequest(method, f.issuer+"/userinfo", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+onBehalf.AccessToken)
			r := f.do(t, req)
			want := map[string]any{
				"sub": f.sub(f.child), "pid": string(f.child.ID), "name": f.child.Name, "birthdate": f.child.BirthDate.String(),
				"act": map[string]any{"sub": f.sub(f.parent), "pid": string(f.parent.ID)},
			}
			if diff := cmp.Diff(want, r.body); r.status != http.StatusOK || diff != "" {
				t.Errorf("%s /userinfo: %d (-want +got):\n%s", method, r.status, diff)
			}
		}
	})
	tests := []struct {
		name      string
		token     string
		status    int
		challenge string // in WWW-Authenticate
	}{
		{"token without openid", noOpenID.AccessToken, http.StatusForbidden, `error="insufficient_scope"`},
		{"client's own token", clientToken, http.StatusForbidden, `error="insufficient_scope"`},
		{"not a token", "not-a-token", http.StatusUnauthorized, `error="invalid_token"`},
		{"refresh token", onBehalf.RefreshToken, http.StatusUnauthorized, `error="invalid_token"`},
		{"no token", "", http.StatusUnauthorized, "Bearer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.get(t, "/userinfo", tt.token)
			if r.status != tt.status || !strings.Contains(r.header.Get("WWW-Authenticate"), tt.challenge) {
				t.Errorf("GET /userinfo = %d WWW-Authenticate %q, want %d with %s", r.status, r.header.Get("WWW-Authenticate"), tt.status, tt.challenge)
			}
		})
	}
}

// TestMetadataDocuments checks that both metadata addresses serve one document
// that go-oidc accepts, and that it says what the server does.
func TestMetadataDocuments(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	oidcDoc := f.get(t, "/.well-known/openid-configuration", "")
	oauthDoc := f.get(t, "/.well-known/oauth-authorization-server", "")
	if oidcDoc.status != http.StatusOK || oauthDoc.status != http.StatusOK {
		t.Fatalf("metadata: %d and %d, want 200", oidcDoc.status, oauthDoc.status)
	}
	if oidcDoc.raw != oauthDoc.raw {
		t.Errorf("the OpenID and OAuth metadata differ:\n%s\n%s", oidcDoc.raw, oauthDoc.raw)
	}
	var md idp.Metadata
	if err := json.Unmarshal([]byte(oidcDoc.raw), &md); err != nil {
		t.Fatal(err)
	}
	for name, list := range map[string][]string{
		"response_types_supported":                      md.ResponseTypesSupported,
		"code_challenge_methods_supported":              md.CodeChallengeMethodsSupported,
		"grant_types_supported":                         md.GrantTypesSupported,
		"authorization_details_types_supported":         md.AuthorizationDetailsTypesSupported,
		"id_token_signing_alg_values_supported":         md.IDTokenSigningAlgValuesSupported,
		"token_endpoint_auth_methods_supported":         md.TokenEndpointAuthMethodsSupported,
		"introspection_endpoint_auth_methods_supported": md.IntrospectionEndpointAuthMethodsSupported,
	} {
		if len(list) == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	for _, acr := range []string{acrSubstantial, acrHigh, "idporten-loa-high"} {
		if !slices.Contains(md.ACRValuesSupported, acr) {
			t.Errorf("acr_values_supported = %v, want %s in it", md.ACRValuesSupported, acr)
		}
	}
	for _, bad := range []string{"implicit", "password"} {
		if slices.Contains(md.GrantTypesSupported, bad) {
			t.Errorf("grant_types_supported has %s", bad)
		}
	}
	if slices.Contains(md.CodeChallengeMethodsSupported, "plain") || slices.Contains(md.ResponseTypesSupported, "token") {
		t.Errorf("metadata offers plain PKCE or the implicit flow")
	}
	// Every acr value the metadata names is understood at /authorize.
	for _, acr := range md.ACRValuesSupported {
		q, _ := authParams("web", webRedirect, "openid")
		q.Set("acr_values", acr)
		q.Set("prompt", "none") // stop before the login: only the parameters are checked
		if res := f.authorizeWith(t, q); res.param("error") != "login_required" {
			t.Errorf("authorize with acr_values %s = %v, want the request accepted (then login_required)", acr, res)
		}
	}
}
