package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
)

// get fetches base+path and returns the status and body.
func get(t testing.TB, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// demoToken gets a client-credentials token for demo-agency.
func demoToken(ctx context.Context, base string, scopes ...string) (*oauth2.Token, error) {
	cc := clientcredentials.Config{
		ClientID: demoClientID, ClientSecret: demoClientSecret, TokenURL: base + "/token",
		Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader,
	}
	return cc.Token(ctx)
}

// claims decodes a JWT's payload without verifying it (the server verified it).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWS in compact form", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// castIndex returns the position of the cast member whose name starts with first.
func castIndex(t testing.TB, first string) (int, demo.Character) {
	t.Helper()
	for i, c := range demo.Cast(time.Now()) {
		if strings.HasPrefix(c.Name, first+" ") {
			return i, c
		}
	}
	t.Fatalf("no %s in the demo cast", first)
	return 0, demo.Character{}
}

func TestServeOAuthDemo(t *testing.T) {
	base, stderr, stop := startServe(t, "--data", t.TempDir(), "--demo")
	ctx := t.Context()
	if !strings.Contains(stderr.String(), "client_secret "+demoClientSecret+" (not secret") {
		t.Errorf("serve --demo does not print the demo client's secret:\n%s", stderr.String())
	}

	t.Run("discovery", func(t *testing.T) {
		resp, body := get(t, http.DefaultClient, base+"/.well-known/openid-configuration")
		var meta idp.Metadata
		if err := json.Unmarshal([]byte(body), &meta); resp.StatusCode != 200 || err != nil {
			t.Fatalf("GET discovery = %d, %v:\n%s", resp.StatusCode, err, body)
		}
		if meta.Issuer != base || meta.TokenEndpoint != base+"/token" || meta.JWKSURI != base+"/jwks.json" {
			t.Errorf("discovery: issuer %q, token endpoint %q, jwks_uri %q; want them under %s", meta.Issuer, meta.TokenEndpoint, meta.JWKSURI, base)
		}
		resp, body = get(t, http.DefaultClient, base+"/jwks.json")
		var set struct {
			Keys []struct{ Kty, Alg, Kid, D string } `json:"keys"`
		}
		if err := json.Unmarshal([]byte(body), &set); resp.StatusCode != 200 || err != nil || len(set.Keys) == 0 {
			t.Fatalf("GET /jwks.json = %d, %v:\n%s", resp.StatusCode, err, body)
		}
		for _, k := range set.Keys {
			if k.Kty != "EC" || k.Alg != "ES256" || k.Kid == "" || k.D != "" {
				t.Errorf("JWKS key %+v: want a public EC ES256 key with a kid", k)
			}
		}
	})

	_, kari := castIndex(t, "Kari")
	_, emma := castIndex(t, "Emma")
	body := map[string]any{
		"subject":  map[string]any{"type": "person", "id": kari.ID, "properties": map[string]any{"acr": "idporten-loa-high"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": "skatteetaten.skattemelding"},
		"context":  map[string]any{"party": map[string]any{"type": "person", "id": emma.ID}},
	}

	t.Run("client credentials for the decision API", func(t *testing.T) {
		tok, err := demoToken(ctx, base, idp.ScopeDecide)
		if err != nil {
			t.Fatalf("client credentials token for %s: %v", demoClientID, err)
		}
		c := claims(t, tok.AccessToken)
		if c["iss"] != base || c["sub"] != demoClientID || c["scope"] != idp.ScopeDecide {
			t.Errorf("access token claims = %v, want iss %s, sub %s, scope decide", c, base, demoClientID)
		}
		if code, e := evaluate(t, base, tok.AccessToken, body); code != http.StatusOK || !e.Decision {
			t.Errorf("evaluation with the access token = %d %+v, want 200 and allowed", code, e)
		}
		if code, e := evaluate(t, base, demoAPIKey, body); code != http.StatusOK || !e.Decision {
			t.Errorf("evaluation with the API key = %d %+v, want 200 and allowed", code, e)
		}
		if code, _ := evaluate(t, base, tok.AccessToken+"x", body); code != http.StatusUnauthorized {
			t.Errorf("evaluation with a tampered token = %d, want 401", code)
		}
		other, err := demoToken(ctx, base, "profile")
		if err != nil {
			t.Fatal(err)
		}
		if code, _ := evaluate(t, base, other.AccessToken, body); code != http.StatusUnauthorized {
			t.Errorf("evaluation with a token without scope decide = %d, want 401", code)
		}
		if _, err := (&clientcredentials.Config{ClientID: demoClientID, ClientSecret: "wrong", TokenURL: base + "/token"}).Token(ctx); err == nil {
			t.Error("client credentials with a wrong secret succeeded")
		}
	})

	t.Run("authorization code with the demo login", func(t *testing.T) {
		tok := demoLoginFlow(t, base, "Kari", "high", "Emma")
		at := claims(t, tok.AccessToken)
		act, _ := at["act"].(map[string]any)
		if at["pid"] != string(emma.ID) || act == nil || act["pid"] != string(kari.ID) || at["acr"] != "http://eidas.europa.eu/LoA/high" {
			t.Errorf("access token claims = %v, want Emma as pid, Kari in act, acr high", at)
		}
		if id, _ := tok.Extra("id_token").(string); id == "" || !slices.Equal(claims(t, id)["aud"].([]any), []any{demoClientID}) {
			t.Errorf("no ID token for demo-agency in the token response: %v", tok.Extra("id_token"))
		}
		// A person's token speaks for the person, not for the client: the decision
		// API refuses it.
		if code, _ := evaluate(t, base, tok.AccessToken, body); code != http.StatusUnauthorized {
			t.Errorf("evaluation with a person's token = %d, want 401", code)
		}
	})

	t.Run("the demo eID page", func(t *testing.T) {
		client := browser(t, base)
		resp, page := get(t, client, authorizeURL(base, "openid represent", "a-state-of-16-chars"))
		if !landedOn(resp, "/login/choose") || !strings.Contains(page, `href="/login/method/demo?flow=`) {
			t.Fatalf("GET /authorize = %d at %s, want the login page offering the demo eID:\n%s", resp.StatusCode, resp.Request.URL, page)
		}
		flow := resp.Request.URL.Query().Get("flow")
		resp, page = get(t, client, base+"/login/method/demo?flow="+url.QueryEscape(flow))
		for _, want := range []string{`<html lang="`, "This is a test login, not a real eID", `<label for="person-0">`,
			`action="/login/demo"`, `autocomplete="username webauthn"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the demo eID page lacks %q", want)
			}
		}
		for _, not := range []string{"<script>", "style=", string(kari.ID)} {
			if strings.Contains(page, not) {
				t.Errorf("the demo eID page contains %q", not)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "form-action 'self' http://localhost:8080 http://127.0.0.1:8080") {
			t.Errorf("the demo eID page's CSP = %q, want scripts from here only and the client's redirect origins in form-action", csp)
		}
		f := form(t, page, "/login/demo")

		// A post from another site is refused.
		req, _ := http.NewRequest(http.MethodPost, base+"/login/demo", strings.NewReader(f.Encode()+"&person=0&level=high"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST /login/demo = %d, want 403", resp.StatusCode)
		}
		// A post without the form token is refused.
		bad := url.Values{"flow": f["flow"], "person": {"0"}, "level": {"high"}}
		if resp, _ := postForm(t, client, base+"/login/demo", bad); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST /login/demo without a form token = %d, want 403", resp.StatusCode)
		}

		// A form without a person comes back with the problem.
		withLevel := url.Values{"flow": f["flow"], "csrf": f["csrf"], "level": {"high"}}
		resp, page = postForm(t, client, base+"/login/demo", withLevel)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(page, "There is a problem") || !strings.Contains(page, `href="#person-0">Choose who you are`) {
			t.Errorf("POST /login/demo without a person = %d, want 422 and the error summary:\n%s", resp.StatusCode, page)
		}

		// Cancel: the client hears access_denied.
		resp, _ = postForm(t, client, base+"/login/cancel", url.Values{"flow": f["flow"], "csrf": f["csrf"]})
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Errorf("cancel = %d, Location %q; want a redirect with error=access_denied", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	t.Run("consent", func(t *testing.T) {
		client := browser(t, base)
		validTo := time.Now().AddDate(0, 1, 0)
		details := `[{"type":"consent","provider":"974761076","data_set":"skatteetaten.inntekt","purpose":"Søknad om studielån","valid_to":"` + validTo.Format(time.DateOnly) + `"}]`
		start := authorizeURL(base, "openid", "consent-state-16ch") + "&authorization_details=" + url.QueryEscape(details)
		resp, page := demoLogin(t, client, base, start, "Kari", "substantial")
		if !landedOn(resp, "/login/consent") || !strings.Contains(page, "Søknad om studielån") || !strings.Contains(page, validTo.Format("02.01.2006")) {
			t.Fatalf("after the login = %d at %s, want the consent page naming the purpose and the date:\n%s", resp.StatusCode, resp.Request.URL, page)
		}
		f := form(t, page, "/login/consent")
		resp, page = postForm(t, client, base+"/login/consent", f)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("POST /login/consent without consenting = %d, want 422:\n%s", resp.StatusCode, page)
		}
		f.Set("consent-0", "yes")
		resp, page = postForm(t, client, base+"/login/consent", f)
		codeFrom(t, resp, page, "consent-state-16ch")
	})

	t.Run("acting for someone one may not", func(t *testing.T) {
		// Jon may not act for Emma: without represent there is no picker, and a
		// client that names Emma is refused.
		client := browser(t, base)
		details := `[{"type":"representation","party":{"type":"person","id":"` + string(emma.ID) + `"}}]`
		start := authorizeURL(base, "openid", "another-state-16ch") + "&authorization_details=" + url.QueryEscape(details)
		resp, _ := demoLogin(t, client, base, start, "Jon", "high")
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Errorf("Jon acting for Emma: Location %q, want error=access_denied", resp.Header.Get("Location"))
		}
	})

	if code := stop(); code != exitOK {
		t.Errorf("serve after cancel = %d; stderr:\n%s", code, stderr.String())
	}
}

// pkceVerifier is the code verifier of the flows in these tests.
const pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-and-some-more"

func authorizeURL(base, scope, state string) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {demoClientID}, "redirect_uri": {"http://localhost:8080/callback"},
		"scope": {scope}, "state": {state}, "code_challenge": {oauth2.S256ChallengeFromVerifier(pkceVerifier)},
		"code_challenge_method": {"S256"},
	}
	return base + "/authorize?" + q.Encode()
}

// browser is an HTTP client with a cookie jar that does not follow redirects away
// from the server (to the client's redirect URI, which nobody serves here).
func browser(t testing.TB, base string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(base, "http://")
	// The pages in English (they follow the language cookie).
	if u, err := url.Parse(base); err == nil {
		jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en"}})
	}
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

func postForm(t testing.TB, client *http.Client, url string, form url.Values) (*http.Response, string) {
	t.Helper()
	resp, err := client.PostForm(url, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// demoLoginFlow runs an authorization code flow for demo-agency through the demo
// eID: person (a first name of the cast) logs in at level, acting for party (a
// first name, or "" for themself), and the code is exchanged for tokens.
func demoLoginFlow(t *testing.T, base, person, level, party string) *oauth2.Token {
	t.Helper()
	client := browser(t, base)
	state := "state-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	resp, page := demoLogin(t, client, base, authorizeURL(base, "openid profile represent", state), person, level)
	if landedOn(resp, "/login/party") {
		resp, page = chooseParty(t, client, base, resp, page, party)
	}
	code := codeFrom(t, resp, page, state)
	cfg := oauth2.Config{
		ClientID: demoClientID, ClientSecret: demoClientSecret, RedirectURL: "http://localhost:8080/callback",
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			t.Fatalf("exchange the code: %s", re.Body)
		}
		t.Fatalf("exchange the code: %v", err)
	}
	return tok
}

// TestServeWithoutAnEID: without --demo or --upstream, the only way to log in is
// a passkey; the login page says so and offers nothing else.
func TestServeWithoutAnEID(t *testing.T) {
	data := t.TempDir()
	web := idp.Client{ID: "web", Name: "Lånekassen", TokenEndpointAuthMethod: idp.AuthMethodNone,
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, RedirectURIs: []string{"http://localhost:8080/callback"}}
	if err := idp.WriteClients(filepath.Join(data, clientsFileName), []idp.Client{web}); err != nil {
		t.Fatal(err)
	}
	base, _, _ := startServe(t, "--data", data)
	q := url.Values{"response_type": {"code"}, "client_id": {"web"}, "redirect_uri": {"http://localhost:8080/callback"},
		"scope": {"openid"}, "state": {"a-state-of-16-chars"}, "code_challenge": {oauth2.S256ChallengeFromVerifier(pkceVerifier)},
		"code_challenge_method": {"S256"}}
	resp, page := get(t, browser(t, base), base+"/authorize?"+q.Encode())
	if !landedOn(resp, "/login/choose") || !strings.Contains(page, "Log in to Lånekassen") ||
		!strings.Contains(page, "/login/passkey?flow=") || strings.Contains(page, "/login/method/") {
		t.Errorf("GET /authorize without an eID = %d at %s, want the login page with passkeys only:\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	if _, err := demoToken(t.Context(), base); err == nil {
		t.Error("demo-agency got a token from a server without --demo")
	}
}

// TestServeReloadsClients changes the clients file under a running server: a new
// client can get tokens within a second or two, a broken file is logged and
// ignored, and a removed client is refused.
func TestServeReloadsClients(t *testing.T) {
	data := t.TempDir()
	base, stderr, _ := startServe(t, "--data", data, "--allow-synthetic-ids")
	const secret = "fms_test-client-secret-0123456789abcdefghijkl"
	cc := clientcredentials.Config{ClientID: "agency", ClientSecret: secret, TokenURL: base + "/token",
		Scopes: []string{idp.ScopeDecide}, AuthStyle: oauth2.AuthStyleInHeader}
	if _, err := cc.Token(t.Context()); err == nil {
		t.Fatal("a client not in any file got a token")
	}

	path := filepath.Join(data, clientsFileName)
	agency := idp.Client{ID: "agency", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic, SecretHash: idp.HashSecret(secret),
		GrantTypes: []string{"client_credentials"}, Scopes: []string{idp.ScopeDecide}}
	if err := idp.WriteClients(path, []idp.Client{agency}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stderr, regexp.MustCompile(`msg="clients file loaded" file=\S+ clients=1`), nil, 15*time.Second)
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatalf("the new client's token: %v", err)
	}
	_, kari := castIndex(t, "Kari")
	body := map[string]any{
		"subject":  map[string]any{"type": "person", "id": kari.ID, "properties": map[string]any{"acr": "idporten-loa-high"}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": "skatteetaten.skattemelding"},
	}
	// The store has no persons (no --demo), so the decision is a 200 deny; what
	// matters is that the token is accepted.
	if code, _ := evaluate(t, base, tok.AccessToken, body); code != http.StatusOK {
		t.Errorf("evaluation with the new client's token = %d, want 200", code)
	}

	write(t, path, `{"clients": [{"id": "agency", "grant_types": ["client_credentials"], "scopes": ["decide"]`)
	waitFor(t, stderr, regexp.MustCompile(`clients file change rejected; keeping the running clients.*clients.json:1:`), nil, 15*time.Second)
	if _, err := cc.Token(t.Context()); err != nil {
		t.Errorf("after a broken change the running client failed: %v", err)
	}

	if err := idp.WriteClients(path, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stderr, regexp.MustCompile(`msg="clients file loaded" file=\S+ clients=0`), nil, 15*time.Second)
	if _, err := cc.Token(t.Context()); err == nil {
		t.Error("a removed client still gets tokens")
	}
	if code, _ := evaluate(t, base, tok.AccessToken, body); code != http.StatusUnauthorized {
		t.Errorf("evaluation with a removed client's token = %d, want 401", code)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`fullmakt_oauth_clients_reloads_total{result="loaded"} 2`, `fullmakt_oauth_clients_reloads_total{result="rejected"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("GET /metrics lacks %s:\n%s", want, grepLines(string(metrics), "fullmakt_oauth"))
		}
	}
}

func TestServeClientsFlag(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.json")
	got := fullmakt(t, nil, "", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--clients", missing)
	if got.code != exitError || !strings.Contains(got.stderr, "--clients "+missing) {
		t.Errorf("serve --clients MISSING = %d, stderr:\n%s", got.code, got.stderr)
	}

	// FULLMAKT_CLIENTS names a file that declares demo-agency itself: its
	// definition wins over the built-in demo client's.
	file := filepath.Join(t.TempDir(), "clients.json")
	own := demoOAuthClient()
	own.Scopes = []string{"openid"}
	if err := idp.WriteClients(file, []idp.Client{own}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	stderr, done := background(ctx, map[string]string{"FULLMAKT_CLIENTS": file}, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--demo")
	defer func() {
		cancel()
		<-done
	}()
	base := waitFor(t, stderr, listening, done, 10*time.Second)[1]
	if _, err := demoToken(ctx, base, "openid"); err != nil {
		t.Errorf("demo-agency as the clients file declares it: %v", err)
	}
	if _, err := demoToken(ctx, base, idp.ScopeDecide); err == nil {
		t.Error("demo-agency got scope decide, which its definition in the clients file does not have")
	}
}
