package upstream_test

import (
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/upstream"
)

// The fake upstream's client.
const (
	fakeClient = "rp"
	fakeSecret = "rp-secret"
)

// fakeOP is an OpenID Provider small enough to misbehave on purpose: discovery,
// a JWKS with one ES256 key, an authorization endpoint that answers at once, and a
// token endpoint that checks client_secret_basic, the code, redirect_uri and the
// PKCE verifier, and returns an ID token the test may change before it is signed.
type fakeOP struct {
	srv    *httptest.Server
	issuer string
	key    *ecdsa.PrivateKey
	person delegation.PartyID

	mu      sync.Mutex
	pending map[string]url.Values // authorization requests by code
	bad     misbehaviour
}

// misbehaviour is what the current test changes; nil fields change nothing.
type misbehaviour struct {
	meta     func(m map[string]any) // the discovery document
	response func(q url.Values)     // the authorization response
	claims   func(c map[string]any) // the ID token's claims
	sign     func(payload []byte) string
	token    func(m map[string]any) // the token response
}

func newFakeOP(t testing.TB) *fakeOP {
	t.Helper()
	f := &fakeOP{key: ecKey(t), pending: map[string]url.Values{},
		person: testPerson(t, "Ola Nordmann", delegation.NewDate(1985, 5, 17), 100, false).ID}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		m := map[string]any{
			"issuer": f.issuer, "authorization_endpoint": f.issuer + "/authorize", "token_endpoint": f.issuer + "/token",
			"jwks_uri": f.issuer + "/jwks", "response_types_supported": []string{"code"},
			"id_token_signing_alg_values_supported": []string{"ES256"}, "code_challenge_methods_supported": []string{"S256"},
		}
		f.mu.Lock()
		if f.bad.meta != nil {
			f.bad.meta(m)
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, m)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := oauth2.GenerateVerifier()
		f.mu.Lock()
		f.pending[code] = q
		resp := url.Values{"code": {code}, "state": {q.Get("state")}}
		if f.bad.response != nil {
			f.bad.response(resp)
		}
		f.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?"+resp.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != fakeClient || secret != fakeSecret {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		auth, ok := f.pending[r.PostFormValue("code")]
		delete(f.pending, r.PostFormValue("code"))
		if !ok || r.PostFormValue("grant_type") != "authorization_code" || r.PostFormValue("redirect_uri") != auth.Get("redirect_uri") ||
			auth.Get("code_challenge_method") != "S256" || oauth2.S256ChallengeFromVerifier(r.PostFormValue("code_verifier")) != auth.Get("code_challenge") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now()
		c := map[string]any{
			"iss": f.issuer, "sub": "s1", "aud": fakeClient, "exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(),
			"nonce": auth.Get("nonce"), "acr": "idporten-loa-high", "pid": string(f.person),
			"auth_time": now.Add(-10 * time.Second).Unix(), "amr": []string{"pwd", "BankID"},
		}
		if f.bad.claims != nil {
			f.bad.claims(c)
		}
		payload, _ := json.Marshal(c)
		var idToken string
		if f.bad.sign != nil {
			idToken = f.bad.sign(payload)
		} else {
			idToken = signJWS(f.key, jose.ES256, "k1", payload)
		}
		m := map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 60, "id_token": idToken}
		if f.bad.token != nil {
			f.bad.token(m)
		}
		writeJSON(w, http.StatusOK, m)
	})
	return f
}

// misbehave sets what the next logins change.
func (f *fakeOP) misbehave(b misbehaviour) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bad = b
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// signJWS signs payload with key as a compact JWS.
func signJWS(key any, alg jose.SignatureAlgorithm, kid string, payload []byte) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return s
}

// TestIDToken runs logins against an upstream that gets one thing wrong at a
// time, and checks that each is caught.
func TestIDToken(t *testing.T) {
	fake := newFakeOP(t)
	s := newRP(t)
	s.http.Start()
	other := ecKey(t)
	synthetic := testPerson(t, "Test Testesen", delegation.NewDate(1985, 5, 17), 100, true).ID
	org, _ := delegation.OrganizationNumber(91000000)
	badDigit := []byte(fake.person)
	badDigit[10] = '0' + (badDigit[10]-'0'+1)%10

	set := func(name string, v any) func(map[string]any) {
		return func(m map[string]any) { m[name] = v }
	}
	del := func(name string) func(map[string]any) {
		return func(m map[string]any) { delete(m, name) }
	}
	tests := []struct {
		name   string
		level  authz.Level
		maxAge time.Duration // -1: none
		bad    misbehaviour
		want   error
		check  func(t *testing.T, res upstream.Result)
	}{
		{name: "good", want: nil, check: func(t *testing.T, res upstream.Result) {
			if res.Person != fake.person || res.Level != authz.LevelHigh || !slices.Equal(res.AMR, []string{"pwd"}) {
				t.Errorf("Callback = %+v, want the person at high with amr [pwd]", res)
			}
		}},
		{name: "wrong nonce", bad: misbehaviour{claims: set("nonce", "another")}, want: errAny},
		{name: "no nonce", bad: misbehaviour{claims: del("nonce")}, want: errAny},
		{name: "wrong audience", bad: misbehaviour{claims: set("aud", "another-client")}, want: errAny},
		{name: "several audiences without azp", bad: misbehaviour{claims: set("aud", []string{fakeClient, "another-client"})}, want: errAny},
		{name: "several audiences, azp ours", bad: misbehaviour{claims: func(m map[string]any) {
			m["aud"], m["azp"] = []string{fakeClient, "another-client"}, fakeClient
		}}},
		{name: "several audiences, azp another", bad: misbehaviour{claims: func(m map[string]any) {
			m["aud"], m["azp"] = []string{fakeClient, "another-client"}, "another-client"
		}}, want: errAny},
		{name: "wrong issuer", bad: misbehaviour{claims: set("iss", "https://evil.example")}, want: errAny},
		{name: "expired", bad: misbehaviour{claims: set("exp", time.Now().Add(-time.Minute).Unix())}, want: errAny},
		{name: "signed by a key not in the JWKS", bad: misbehaviour{sign: func(p []byte) string { return signJWS(other, jose.ES256, "k1", p) }}, want: errAny},
		{name: "unsigned", bad: misbehaviour{sign: func(p []byte) string {
			return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
		}}, want: errAny},
		{name: "no ID token", bad: misbehaviour{token: del("id_token")}, want: errAny},
		{name: "acr below the level asked", level: authz.LevelHigh, bad: misbehaviour{claims: set("acr", "idporten-loa-substantial")}, want: upstream.ErrLevelNotReached},
		{name: "acr at the level asked", level: authz.LevelSubstantial, bad: misbehaviour{claims: set("acr", "idporten-loa-substantial")}, check: func(t *testing.T, res upstream.Result) {
			if res.Level != authz.LevelSubstantial {
				t.Errorf("Level = %v, want substantial", res.Level)
			}
		}},
		{name: "no acr", bad: misbehaviour{claims: del("acr")}, want: errAny},
		{name: "an acr not in the map", bad: misbehaviour{claims: set("acr", "Level4")}, want: errAny},
		{name: "no pid", bad: misbehaviour{claims: del("pid")}, want: errAny},
		{name: "pid not a string", bad: misbehaviour{claims: set("pid", 12345678901)}, want: errAny},
		{name: "pid with a wrong control digit", bad: misbehaviour{claims: set("pid", string(badDigit))}, want: errAny},
		{name: "pid synthetic, not allowed", bad: misbehaviour{claims: set("pid", string(synthetic))}, want: errAny},
		{name: "pid an organisation number", bad: misbehaviour{claims: set("pid", string(org))}, want: errAny},
		{name: "no auth_time", bad: misbehaviour{claims: del("auth_time")}, check: func(t *testing.T, res upstream.Result) {
			if d := time.Since(res.AuthTime); d < 0 || d > 5*time.Second {
				t.Errorf("AuthTime = %v, want now", res.AuthTime)
			}
		}},
		{name: "no auth_time when max_age was sent", maxAge: time.Hour, bad: misbehaviour{claims: del("auth_time")}, want: errAny},
		{name: "auth_time older than max_age", maxAge: time.Minute, bad: misbehaviour{claims: set("auth_time", time.Now().Add(-10*time.Minute).Unix())}, want: upstream.ErrLevelNotReached},
		{name: "auth_time within max_age", maxAge: time.Minute, check: func(t *testing.T, res upstream.Result) {
			if d := time.Since(res.AuthTime); d < 9*time.Second || d > 20*time.Second {
				t.Errorf("AuthTime = %v, want 10 s ago", res.AuthTime)
			}
		}},
		{name: "auth_time in the future", bad: misbehaviour{claims: set("auth_time", time.Now().Add(10*time.Minute).Unix())}, want: errAny},
		{name: "auth_time a little ahead", bad: misbehaviour{claims: set("auth_time", time.Now().Add(20*time.Second).Unix())}, check: func(t *testing.T, res upstream.Result) {
			if res.AuthTime.After(time.Now()) {
				t.Errorf("AuthTime = %v, in the future", res.AuthTime)
			}
		}},
		{name: "auth_time not a number", bad: misbehaviour{claims: set("auth_time", "yesterday")}, want: errAny},
		{name: "amr filtered", bad: misbehaviour{claims: set("amr", []string{"BankID", "otp", "pwd", "otp", "Minid-PIN"})}, check: func(t *testing.T, res upstream.Result) {
			if !slices.Equal(res.AMR, []string{"otp", "pwd"}) {
				t.Errorf("AMR = %v, want [otp pwd]", res.AMR)
			}
		}},
		{name: "amr not a list", bad: misbehaviour{claims: set("amr", "pwd")}, check: func(t *testing.T, res upstream.Result) {
			if len(res.AMR) != 0 {
				t.Errorf("AMR = %v, want none", res.AMR)
			}
		}},
		{name: "another issuer in the authorization response", bad: misbehaviour{response: func(q url.Values) { q.Set("iss", "https://evil.example") }}, want: errAny},
		{name: "iss announced and missing", bad: misbehaviour{meta: set("authorization_response_iss_parameter_supported", true)}, want: errAny},
		{name: "iss announced and given", bad: misbehaviour{
			meta:     set("authorization_response_iss_parameter_supported", true),
			response: func(q url.Values) { q.Set("iss", fake.issuer) },
		}},
		{name: "no code", bad: misbehaviour{response: func(q url.Values) { q.Del("code") }}, want: errAny},
		{name: "another code", bad: misbehaviour{response: func(q url.Values) { q.Set("code", "made-up") }}, want: errAny},
		{name: "unmet_authentication_requirements", bad: misbehaviour{response: func(q url.Values) {
			q.Del("code")
			q.Set("error", "unmet_authentication_requirements")
		}}, want: upstream.ErrLevelNotReached},
		{name: "access_denied", bad: misbehaviour{response: func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
		}}, want: upstream.ErrCancelled},
		{name: "server_error", bad: misbehaviour{response: func(q url.Values) {
			q.Del("code")
			q.Set("error", "server_error")
		}}, want: errAny},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.misbehave(tt.bad)
			defer fake.misbehave(misbehaviour{})
			// A provider per case: discovery is cached, and some cases change it.
			s.add(t, upstream.Config{ID: "fake", Name: "Fake", Issuer: fake.issuer, ClientID: fakeClient, ClientSecret: fakeSecret,
				ACR: idportenACR})
			maxAge := -1
			if tt.maxAge > 0 {
				maxAge = int(tt.maxAge / time.Second)
			}
			flow := "flow-" + string(rune('a'+i%26))
			b := newBrowser(t)
			pg := b.get(t, s.begin("fake", flow, tt.level, maxAge, false), nil)
			if err := s.takeBeginErr(); err != nil {
				t.Fatalf("Begin: %v", err)
			}
			if !atCallback(pg.url) {
				t.Fatalf("login ended at %s (%d %s), want our callback", pg.url, pg.status, pg.body)
			}
			o := s.last(t)
			wantErr(t, "Callback", o.err, tt.want)
			if o.flow != flow {
				t.Errorf("Callback flow = %q, want %q", o.flow, flow)
			}
			if tt.check != nil {
				tt.check(t, o.res)
			}
			if o.err != nil && o.res.Person != "" {
				t.Errorf("Callback returned a person with the error %v", o.err)
			}
		})
	}
}

// TestRSAJWKS: an RS256 ID token verifies when the upstream announces RS256 and
// publishes the key, so that the case above fails for the algorithm alone.
func TestRSAJWKS(t *testing.T) {
	key := rsaKey(t, 2048)
	fake := newFakeOP(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "r1", Algorithm: "RS256", Use: "sig"}}})
	})
	keys := httptest.NewServer(mux)
	t.Cleanup(keys.Close)
	s := newRP(t)
	s.http.Start()
	for _, tt := range []struct {
		name string
		algs []string
		want error
	}{
		{"RS256 announced", []string{"ES256", "RS256"}, nil},
		{"only ES256 announced", []string{"ES256"}, errAny},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake.misbehave(misbehaviour{
				meta: func(m map[string]any) {
					m["jwks_uri"] = keys.URL + "/jwks"
					m["id_token_signing_alg_values_supported"] = tt.algs
				},
				sign: func(p []byte) string { return signJWS(key, jose.RS256, "r1", p) },
			})
			s.add(t, upstream.Config{ID: "fake", Name: "Fake", Issuer: fake.issuer, ClientID: fakeClient, ClientSecret: fakeSecret, ACR: idportenACR})
			newBrowser(t).get(t, s.begin("fake", "flow", 0, -1, false), nil)
			wantErr(t, "Callback", s.last(t).err, tt.want)
		})
	}
}

// TestDiscoveryChecks: Begin refuses an upstream whose discovery document does
// not allow a safe login, before anyone is sent there.
func TestDiscoveryChecks(t *testing.T) {
	fake := newFakeOP(t)
	s := newRP(t)
	s.http.Start()
	tests := []struct {
		name string
		meta func(m map[string]any)
	}{
		{"no PKCE S256", func(m map[string]any) { m["code_challenge_methods_supported"] = []string{"plain"} }},
		{"another issuer", func(m map[string]any) { m["issuer"] = "https://evil.example" }},
		{"http token endpoint on a public host", func(m map[string]any) { m["token_endpoint"] = "http://evil.example/token" }},
		{"no authorization endpoint", func(m map[string]any) { delete(m, "authorization_endpoint") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.misbehave(misbehaviour{meta: tt.meta})
			defer fake.misbehave(misbehaviour{})
			s.add(t, upstream.Config{ID: "fake", Name: "Fake", Issuer: fake.issuer, ClientID: fakeClient, ClientSecret: fakeSecret, ACR: idportenACR})
			pg := newBrowser(t).get(t, s.begin("fake", "flow", 0, -1, false), nil)
			if err := s.takeBeginErr(); err == nil || pg.status != http.StatusBadGateway {
				t.Errorf("Begin = %v (%d at %s), want an error", err, pg.status, pg.url)
			}
		})
	}
}
