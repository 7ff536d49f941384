package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	loginRedirect = "https://agency.example/callback"
	eidasHigh     = "http://eidas.europa.eu/LoA/high"
	eidasSubst    = "http://eidas.europa.eu/LoA/substantial"
	eidasLow      = "http://eidas.europa.eu/LoA/low"
)

func TestStartLogin(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	p, err := c.StartLogin(LoginOptions{
		RedirectURI: loginRedirect, Scopes: []string{"profile"}, ACRValues: eidasHigh, MaxAge: 90 * time.Second,
		Prompt: "login", Audience: "https://api.example", UILocales: "nb en",
	})
	if err != nil {
		t.Fatalf("StartLogin = %v", err)
	}
	u, err := url.Parse(p.URL)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != f.issuer()+"/authorize" {
		t.Fatalf("URL = %s, want the authorization endpoint", p.URL)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(p.Verifier))
	for name, want := range map[string]string{
		"response_type": "code", "client_id": "secret:client", "redirect_uri": loginRedirect, "scope": "openid profile",
		"state": p.State, "nonce": p.Nonce, "code_challenge": base64.RawURLEncoding.EncodeToString(sum[:]),
		"code_challenge_method": "S256", "acr_values": eidasHigh, "max_age": "90", "prompt": "login",
		"audience": "https://api.example", "ui_locales": "nb en",
	} {
		if got := q.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if len(p.Verifier) != 43 || len(p.State) < 20 || len(p.Nonce) < 20 {
		t.Errorf("verifier %d, state %d, nonce %d characters: too short", len(p.Verifier), len(p.State), len(p.Nonce))
	}
	if p.Started != f.clock.Now() || p.MaxAge != 90*time.Second || p.ACRValues != eidasHigh || p.RedirectURI != loginRedirect {
		t.Errorf("PendingLogin = %+v", p)
	}
	again, _ := c.StartLogin(LoginOptions{RedirectURI: loginRedirect})
	if again.State == p.State || again.Nonce == p.Nonce || again.Verifier == p.Verifier {
		t.Errorf("two logins share a secret")
	}
	q2, _ := url.ParseQuery(strings.SplitN(again.URL, "?", 2)[1])
	if q2.Get("scope") != "openid" || q2.Has("max_age") || q2.Has("acr_values") || q2.Has("prompt") {
		t.Errorf("a plain login's query = %v", q2)
	}
	for _, bad := range []LoginOptions{{}, {RedirectURI: "/callback"}, {RedirectURI: loginRedirect, MaxAge: -time.Second}} {
		if _, err := c.StartLogin(bad); !errors.Is(err, ErrConfig) {
			t.Errorf("StartLogin(%+v) = %v, want ErrConfig", bad, err)
		}
	}
}

// loginCase is one run of a login through the fake.
type loginCase struct {
	opts     LoginOptions
	claims   func(f *fakeOP, m map[string]any) // changes the ID token's claims
	typ      string                            // the ID token's typ; "JWT" when empty
	callback func(q url.Values)                // changes the callback's query
	pending  func(p *PendingLogin)             // changes the pending login before FinishLogin
}

// runLogin starts a login, lets the fake issue a code for an ID token, and
// finishes the login.
func runLogin(t *testing.T, f *fakeOP, c *Client, lc loginCase) (*LoginResult, error) {
	t.Helper()
	if lc.opts.RedirectURI == "" {
		lc.opts.RedirectURI = loginRedirect
	}
	p, err := c.StartLogin(lc.opts)
	if err != nil {
		t.Fatalf("StartLogin = %v", err)
	}
	u, _ := url.Parse(p.URL)
	q := u.Query()
	now := f.clock.Now()
	atHash := sha256.Sum256([]byte("at-1"))
	claims := map[string]any{
		"iss": f.issuer(), "sub": "subject-kari", "aud": []string{"secret:client"},
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "auth_time": now.Add(-10 * time.Second).Unix(),
		"nonce": q.Get("nonce"), "acr": eidasHigh, "pid": "12345678901", "amr": []string{"pwd"},
		"at_hash": base64.RawURLEncoding.EncodeToString(atHash[:16]),
	}
	if lc.claims != nil {
		lc.claims(f, claims)
	}
	typ := lc.typ
	if typ == "" {
		typ = "JWT"
	}
	if typ == "-" {
		typ = ""
	}
	idToken := f.sign(typ, claims)
	code := f.issueCode("secret:client", lc.opts.RedirectURI, q.Get("code_challenge"), idToken, "at-1", q.Get("scope"))
	f.mu.Lock()
	f.names["at-1"] = [2]string{"subject-kari", "Kari Nordmann"}
	f.mu.Unlock()
	callback := url.Values{"code": {code}, "state": {q.Get("state")}, "iss": {f.issuer()}}
	if lc.callback != nil {
		lc.callback(callback)
	}
	if lc.pending != nil {
		lc.pending(&p)
	}
	return c.FinishLogin(context.Background(), p, callback)
}

func TestFinishLogin(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	now := f.clock.Now()
	got, err := runLogin(t, f, c, loginCase{opts: LoginOptions{Scopes: []string{"profile"}, ACRValues: eidasHigh, MaxAge: time.Minute}})
	if err != nil {
		t.Fatalf("FinishLogin = %v", err)
	}
	kari := Actor{Party: Person("12345678901"), ACR: eidasHigh, AuthTime: now.Add(-10 * time.Second)}
	want := &LoginResult{
		Actor: kari, Party: kari.Party, Subject: "subject-kari", Name: "Kari Nordmann",
		AccessToken: "at-1", RefreshToken: "refresh-1", Expiry: now.Add(600 * time.Second), Scopes: []string{"openid", "profile"},
	}
	got.IDToken = ""
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FinishLogin: -want +got\n%s", diff)
	}
}

func TestFinishLoginOnBehalf(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	got, err := runLogin(t, f, c, loginCase{
		opts: LoginOptions{Scopes: []string{"represent"}},
		claims: func(_ *fakeOP, m map[string]any) {
			m["sub"], m["pid"] = "subject-ola", "01010112345"
			m["act"] = map[string]any{"sub": "subject-kari", "pid": "12345678901"}
		},
	})
	if err != nil {
		t.Fatalf("FinishLogin = %v", err)
	}
	if got.Actor.Party != Person("12345678901") || got.Party != Person("01010112345") || got.Subject != "subject-ola" || got.Name != "" {
		t.Errorf("FinishLogin = actor %v, party %v, subject %s, name %q", got.Actor.Party, got.Party, got.Subject, got.Name)
	}
}

func TestFinishLoginRefusals(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	claims := func(e func(m map[string]any)) func(*fakeOP, map[string]any) {
		return func(_ *fakeOP, m map[string]any) { e(m) }
	}
	for _, tt := range []struct {
		name string
		lc   loginCase
		want func(error) bool
	}{
		{"typ absent is fine", loginCase{typ: "-"}, nil},
		{"a higher level than asked", loginCase{opts: LoginOptions{ACRValues: eidasSubst}}, nil},
		{"an ID-porten alias", loginCase{opts: LoginOptions{ACRValues: "idporten-loa-substantial"}, claims: claims(func(m map[string]any) { m["acr"] = "idporten-loa-high" })}, nil},
		{"auth_time at max_age", loginCase{opts: LoginOptions{MaxAge: 10 * time.Second}}, nil},

		{"another state", loginCase{callback: func(q url.Values) { q.Set("state", "forged") }}, isErr(ErrLoginState)},
		{"no state", loginCase{callback: func(q url.Values) { q.Del("state") }}, isErr(ErrLoginState)},
		{"another iss", loginCase{callback: func(q url.Values) { q.Set("iss", "https://evil.example") }}, isErr(ErrLoginState)},
		{"unmet requirements", loginCase{callback: func(q url.Values) {
			q.Del("code")
			q.Set("error", "unmet_authentication_requirements")
		}}, isOAuth("unmet_authentication_requirements", 400)},
		{"server error", loginCase{callback: func(q url.Values) { q.Del("code"); q.Set("error", "server_error") }}, isErr(ErrUnavailable)},
		{"denied", loginCase{callback: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }}, isErr(ErrDenied)},
		{"no code", loginCase{callback: func(q url.Values) { q.Del("code") }}, func(err error) bool { return err != nil }},
		{"another verifier", loginCase{pending: func(p *PendingLogin) { p.Verifier = strings.Repeat("A", 43) }}, isOAuth("invalid_grant", 400)},
		{"another redirect", loginCase{pending: func(p *PendingLogin) { p.RedirectURI = "https://agency.example/other" }}, isOAuth("invalid_grant", 400)},
		{"another nonce", loginCase{pending: func(p *PendingLogin) { p.Nonce = "other" }}, isReason("nonce")},
		{"no nonce", loginCase{claims: claims(func(m map[string]any) { delete(m, "nonce") })}, isReason("nonce")},
		{"typ at+jwt", loginCase{typ: "at+jwt"}, isReason("typ")},
		{"another issuer", loginCase{claims: claims(func(m map[string]any) { m["iss"] = "https://evil.example" })}, isReason("issuer")},
		{"another audience", loginCase{claims: claims(func(m map[string]any) { m["aud"] = "other" })}, isReason("aud")},
		{"another azp", loginCase{claims: claims(func(m map[string]any) { m["azp"] = "other" })}, isReason("azp")},
		{"expired", loginCase{claims: claims(func(m map[string]any) { m["exp"] = f.clock.Now().Add(-time.Minute).Unix() })}, isReason("expired")},
		{"no iat", loginCase{claims: claims(func(m map[string]any) { delete(m, "iat") })}, isReason("iat")},
		{"no sub", loginCase{claims: claims(func(m map[string]any) { delete(m, "sub") })}, isReason("sub")},
		{"a lower level than asked", loginCase{opts: LoginOptions{ACRValues: eidasSubst}, claims: claims(func(m map[string]any) { m["acr"] = eidasLow })}, isReason("acr")},
		{"an unknown level", loginCase{opts: LoginOptions{ACRValues: eidasHigh}, claims: claims(func(m map[string]any) { m["acr"] = "urn:x:gold" })}, isReason("acr")},
		{"no acr", loginCase{opts: LoginOptions{ACRValues: eidasHigh}, claims: claims(func(m map[string]any) { delete(m, "acr") })}, isReason("acr")},
		{"older than max_age", loginCase{opts: LoginOptions{MaxAge: 10 * time.Second},
			claims: claims(func(m map[string]any) { m["auth_time"] = f.clock.Now().Add(-11*time.Second - DefaultClockSkew).Unix() })}, isReason("max_age")},
		{"no auth_time with max_age", loginCase{opts: LoginOptions{MaxAge: time.Minute}, claims: claims(func(m map[string]any) { delete(m, "auth_time") })}, isReason("auth_time")},
		{"another at_hash", loginCase{claims: claims(func(m map[string]any) { m["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" })}, isReason("at_hash")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := runLogin(t, f, c, tt.lc)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("FinishLogin = %v, want a login", err)
				}
				return
			}
			if err == nil || res != nil || !tt.want(err) {
				t.Errorf("FinishLogin = %v, %v; not the refusal wanted", res, err)
			}
		})
	}
}

func isErr(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func isOAuth(code string, status int) func(error) bool {
	return func(err error) bool {
		var oe *OAuthError
		return errors.As(err, &oe) && oe.Code == code && oe.Status == status
	}
}

func isReason(part string) func(error) bool {
	return func(err error) bool {
		var te *TokenError
		return errors.As(err, &te) && strings.Contains(te.Reason, part)
	}
}

func TestFinishLoginStrangerKey(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	stranger := newOPKey(t)
	p, _ := c.StartLogin(LoginOptions{RedirectURI: loginRedirect})
	u, _ := url.Parse(p.URL)
	q := u.Query()
	now := f.clock.Now()
	idToken := opSign(t, stranger, "JWT", map[string]any{
		"iss": f.issuer(), "sub": "s", "aud": "secret:client", "exp": now.Add(time.Minute).Unix(), "iat": now.Unix(), "nonce": q.Get("nonce"),
	})
	code := f.issueCode("secret:client", loginRedirect, q.Get("code_challenge"), idToken, "at-1", "openid")
	_, err := c.FinishLogin(context.Background(), p, url.Values{"code": {code}, "state": {q.Get("state")}})
	if !isReason("does not publish")(err) {
		t.Errorf("FinishLogin with an ID token of another key = %v", err)
	}
}

func TestACRSatisfies(t *testing.T) {
	for _, tt := range []struct {
		acr   string
		asked string
		want  bool
	}{
		{eidasHigh, eidasHigh, true},
		{eidasHigh, eidasSubst, true},
		{eidasSubst, eidasHigh, false},
		{eidasSubst, eidasHigh + " " + eidasSubst, true},
		{"idporten-loa-high", eidasSubst, true},
		{"urn:custom", "urn:custom", true},
		{"urn:custom", eidasLow, false},
		{eidasHigh, "urn:custom", false},
		{"", eidasLow, false},
	} {
		if got := acrSatisfies(tt.acr, strings.Fields(tt.asked)); got != tt.want {
			t.Errorf("acrSatisfies(%q, %q) = %v, want %v", tt.acr, tt.asked, got, tt.want)
		}
	}
}

func TestLogoutURL(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	got, err := url.Parse(c.LogoutURL("id-token", "https://agency.example/", "st"))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{"client_id": {"secret:client"}, "id_token_hint": {"id-token"}, "post_logout_redirect_uri": {"https://agency.example/"}, "state": {"st"}}
	if got.Path != "/logout" || !cmp.Equal(got.Query(), want) {
		t.Errorf("LogoutURL = %s", got)
	}
	if q, _ := url.Parse(c.LogoutURL("", "", "")); q.Query().Has("state") || q.Query().Has("id_token_hint") {
		t.Errorf("LogoutURL without values = %s", q)
	}
	f2 := newFakeOP(t)
	f2.metaEdit = func(m map[string]any) { delete(m, "end_session_endpoint") }
	if got := f2.client().LogoutURL("x", "", ""); got != "" {
		t.Errorf("LogoutURL without an end_session_endpoint = %q, want empty", got)
	}
}
