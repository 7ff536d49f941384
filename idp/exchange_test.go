package idp_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
)

// subjectToken logs person in with the web client (scope openid) at acr,
// authenticated age ago, and returns the tokens: the access token is a subject
// token the machine client may exchange (its audience is one of machine's).
func (f *fixture) subjectToken(t *testing.T, person delegation.Person, acr string, age time.Duration) *oauth2.Token {
	t.Helper()
	authTime := time.Now().Add(-age).Truncate(time.Second)
	f.login.as(person.ID, acr, "")
	f.login.change(func(a *idp.Authentication) { a.AuthTime = authTime })
	return f.mustCodeFlow(t, f.webConfig("openid"))
}

// TestTokenExchangeResourceServer exchanges a person's token for one to act for
// another party (RFC 8693) and verifies it as a resource server does that knows
// nothing but the JWKS: every claim it relies on is checked.
func TestTokenExchangeResourceServer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	subject := f.subjectToken(t, f.proxy, acrSubstantial, 3*time.Minute)
	subjectClaims := f.verifyJWT(t, subject.AccessToken)

	r := f.post(t, "/token", exchangeForm(subject.AccessToken, f.grantor.ID, "skatteetaten.skattemelding"), basic("machine", machineSecret))
	if r.status != http.StatusOK {
		t.Fatalf("token exchange = %v, want 200", r)
	}
	if r.str("issued_token_type") != tokenTypeAccess || r.str("token_type") != "bearer" {
		t.Errorf("issued_token_type %q token_type %q, want %s bearer", r.str("issued_token_type"), r.str("token_type"), tokenTypeAccess)
	}
	if r.str("refresh_token") != "" {
		t.Errorf("token exchange gave a refresh token")
	}

	// The resource server: the JWKS, go-jose v4, nothing else.
	got := f.verifyJWT(t, r.str("access_token"))
	if got.typ != "at+jwt" {
		t.Errorf("header typ = %q, want at+jwt (RFC 9068 §2.1)", got.typ)
	}
	if !slices.Equal(got.std.Audience, []string{agencyAPI}) {
		t.Errorf("aud = %v, want [%s]", got.std.Audience, agencyAPI)
	}
	if got.std.Expiry == nil || got.std.Expiry.Time().After(subjectClaims.std.Expiry.Time()) {
		t.Errorf("exp = %v, want no later than the subject token's %v", got.std.Expiry, subjectClaims.std.Expiry)
	}
	if got.std.Subject != f.sub(f.grantor) {
		t.Errorf("sub = %q, want the party's opaque sub %q", got.std.Subject, f.sub(f.grantor))
	}
	act, _ := got.claims["act"].(map[string]any)
	if act["sub"] != f.sub(f.proxy) {
		t.Errorf("act.sub = %v, want the actor's sub %q", act["sub"], f.sub(f.proxy))
	}
	if got.claims["acr"] != subjectClaims.claims["acr"] || got.claims["acr"] != acrSubstantial {
		t.Errorf("acr = %v, want the subject token's %v", got.claims["acr"], subjectClaims.claims["acr"])
	}
	if at, st := got.claims["auth_time"].(float64), subjectClaims.claims["auth_time"].(float64); at != st {
		t.Errorf("auth_time = %v, want the subject token's %v (never raised)", at, st)
	}
	want := map[string]any{
		"client_id": "machine", "scope": "openid", "relation": map[string]any{"kind": "fullmakt", "id": "fm-tax"},
		"authorization_details": []any{map[string]any{
			"type": "representation", "party": map[string]any{"type": "person", "id": string(f.grantor.ID)},
			"services": []any{"skatteetaten.skattemelding"}, "actions": []any{"read"},
		}},
	}
	for k, v := range want {
		if diff := cmp.Diff(v, got.claims[k]); diff != "" {
			t.Errorf("claim %s (-want +got):\n%s", k, diff)
		}
	}

	// An exchanged token exchanged again by the client that holds it: the client
	// becomes the actor, and the chain stays visible (RFC 8693 §4.1).
	again := f.post(t, "/token", exchangeForm(r.str("access_token"), f.grantor.ID, "skatteetaten.skattemelding"), basic("machine", machineSecret))
	if again.status != http.StatusOK {
		t.Fatalf("second exchange = %v, want 200", again)
	}
	chained := f.verifyJWT(t, again.str("access_token"))
	wantAct := map[string]any{"sub": "machine", "client_id": "machine", "act": map[string]any{"sub": f.sub(f.proxy), "pid": string(f.proxy.ID)}}
	if diff := cmp.Diff(wantAct, chained.claims["act"]); diff != "" {
		t.Errorf("chained act (-want +got):\n%s", diff)
	}
	if chained.claims["acr"] != acrSubstantial || chained.claims["auth_time"] != subjectClaims.claims["auth_time"] {
		t.Errorf("chained acr %v auth_time %v, want the first subject token's", chained.claims["acr"], chained.claims["auth_time"])
	}
}

// TestTokenExchangeSubjectTokenClient checks whose subject tokens a client may
// exchange: its own, or those whose audience names it or one of its audiences.
func TestTokenExchangeSubjectTokenClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.proxy.ID, acrHigh, "")
	tokens := map[string]string{
		"web":   f.mustCodeFlow(t, f.webConfig("openid")).AccessToken,                                         // aud agencyAPI
		"nopid": f.mustCodeFlow(t, f.oauth2Config("nopid", nopidSecret, nopidRedirect, "openid")).AccessToken, // aud navAPI
		"spa":   f.mustCodeFlow(t, f.oauth2Config("spa", "", spaRedirect, "openid")).AccessToken,              // aud spa
	}
	tests := []struct {
		name       string
		issuedTo   string
		exchanger  clientAuth
		audience   string
		wantStatus int
		wantErr    string
	}{
		{"issued to the same client", "nopid", basic("nopid", nopidSecret), navAPI, 200, ""},
		{"audience shared with the client", "web", basic("machine", machineSecret), agencyAPI, 200, ""},
		{"audience of another client", "nopid", basic("machine", machineSecret), agencyAPI, 400, "invalid_request"},
		{"issued to a public client for itself", "spa", basic("machine", machineSecret), agencyAPI, 400, "invalid_request"},
		{"another client's token, for the client's own audience", "web", basic("nopid", nopidSecret), navAPI, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := exchangeForm(tokens[tt.issuedTo], f.grantor.ID, "skatteetaten.skattemelding")
			form.Set("audience", tt.audience)
			r := f.post(t, "/token", form, tt.exchanger)
			if r.status != tt.wantStatus || r.str("error") != tt.wantErr {
				t.Errorf("exchange(%s) = %v, want %d %q", tt.name, r, tt.wantStatus, tt.wantErr)
			}
		})
	}
}

// TestTokenExchangeErrors sends token exchange requests that must fail, each with
// its RFC 8693 (or RFC 6749, RFC 9470) error.
func TestTokenExchangeErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	machine := basic("machine", machineSecret)
	proxyHigh := f.subjectToken(t, f.proxy, acrHigh, 0)
	strangerHigh := f.subjectToken(t, f.stranger, acrHigh, 0)
	parentSubstantial := f.subjectToken(t, f.parent, acrSubstantial, 0)
	revoked := f.subjectToken(t, f.proxy, acrHigh, 0)
	if r := f.post(t, "/revoke", url.Values{"token": {revoked.AccessToken}}, basic("web", webSecret)); r.status != http.StatusOK {
		t.Fatalf("revoke = %v, want 200", r)
	}
	clientToken := f.post(t, "/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, machine).str("access_token")

	grantorTax := func(edit func(form url.Values)) func() url.Values {
		return func() url.Values {
			form := exchangeForm(proxyHigh.AccessToken, f.grantor.ID, "skatteetaten.skattemelding")
			if edit != nil {
				edit(form)
			}
			return form
		}
	}
	tests := []struct {
		name    string
		form    func() url.Values
		auth    clientAuth
		status  int
		wantErr string
		// want are more members of the error body.
		want map[string]any
	}{
		{name: "a party the actor may not act for", auth: machine, status: 400, wantErr: "access_denied",
			form: func() url.Values {
				return exchangeForm(strangerHigh.AccessToken, f.grantor.ID, "skatteetaten.skattemelding")
			}},
		{name: "an action the fullmakt does not cover", auth: machine, status: 400, wantErr: "access_denied",
			form: func() url.Values {
				return exchangeForm(proxyHigh.AccessToken, f.grantor.ID, "lanekassen.studiestotte")
			}},
		{name: "a health service with a substantial token", auth: machine, status: 400, wantErr: "insufficient_user_authentication",
			want: map[string]any{"acr_values": acrHigh},
			form: func() url.Values {
				return exchangeForm(parentSubstantial.AccessToken, f.child.ID, "helsenorge.journal")
			}},
		{name: "revoked subject token", auth: machine, status: 400, wantErr: "invalid_request",
			form: func() url.Values {
				return exchangeForm(revoked.AccessToken, f.grantor.ID, "skatteetaten.skattemelding")
			}},
		{name: "subject token of a client acting for itself", auth: machine, status: 400, wantErr: "invalid_request",
			form: func() url.Values {
				return exchangeForm(clientToken, f.grantor.ID, "skatteetaten.skattemelding")
			}},
		{name: "refresh token as subject token", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) { form.Set("subject_token", proxyHigh.RefreshToken) })},
		{name: "no subject_token_type", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) { form.Del("subject_token_type") })},
		{name: "no subject_token", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) { form.Del("subject_token") })},
		{name: "subject_token_type id_token", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) { form.Set("subject_token_type", "urn:ietf:params:oauth:token-type:id_token") })},
		{name: "actor token", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) {
				form.Set("actor_token", clientToken)
				form.Set("actor_token_type", tokenTypeAccess)
			})},
		{name: "requested_token_type refresh token", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) {
				form.Set("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token")
			})},
		{name: "audience not allowed", auth: machine, status: 400, wantErr: "invalid_target",
			form: grantorTax(func(form url.Values) { form.Set("audience", navAPI) })},
		{name: "no audience", auth: machine, status: 400, wantErr: "invalid_target",
			form: grantorTax(func(form url.Values) { form.Del("audience") })},
		{name: "resource indicator", auth: machine, status: 400, wantErr: "invalid_target",
			form: grantorTax(func(form url.Values) { form.Set("resource", "https://api.lanekassen.example/v1") })},
		{name: "service the client may not ask about", auth: machine, status: 400, wantErr: "invalid_target",
			form: func() url.Values { return exchangeForm(proxyHigh.AccessToken, f.grantor.ID, "skatteetaten.mva") }},
		{name: "scope wider than the subject token", auth: machine, status: 400, wantErr: "invalid_scope",
			form: grantorTax(func(form url.Values) { form.Set("scope", "openid profile") })},
		{name: "no authorization_details", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) { form.Del("authorization_details") })},
		{name: "representation without a party", auth: machine, status: 400, wantErr: "invalid_request",
			form: grantorTax(func(form url.Values) {
				form.Set("authorization_details", representation("", "skatteetaten.skattemelding"))
			})},
		{name: "authorization_details not valid", auth: machine, status: 400, wantErr: "invalid_authorization_details",
			form: grantorTax(func(form url.Values) { form.Set("authorization_details", `[{"type":"consent"}]`) })},
		{name: "client not allowed token exchange", auth: basic("web", webSecret), status: 400, wantErr: "unauthorized_client",
			form: grantorTax(nil)},
		{name: "unauthenticated", status: 401, wantErr: "invalid_client", form: grantorTax(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.post(t, "/token", tt.form(), tt.auth)
			if r.status != tt.status || r.str("error") != tt.wantErr {
				t.Errorf("exchange(%s) = %v, want %d %s", tt.name, r, tt.status, tt.wantErr)
			}
			for k, v := range tt.want {
				if r.body[k] != v {
					t.Errorf("exchange(%s) %s = %v, want %v", tt.name, k, r.body[k], v)
				}
			}
			if r.str("access_token") != "" {
				t.Errorf("exchange(%s) issued a token", tt.name)
			}
		})
	}
	// The subject token works, so the failures above are the requests' own.
	if r := f.post(t, "/token", grantorTax(nil)(), machine); r.status != http.StatusOK {
		t.Errorf("the good exchange = %v, want 200", r)
	}
}
