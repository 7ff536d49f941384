package main

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/upstream"
)

// Upstream federation: one Fullmakt logs people in through another, as it would
// through ID-porten. The upstream runs with --demo (the demo cast and its demo
// eID) and knows the downstream as an OAuth client; the downstream runs with
// --upstream naming it.

const (
	// fedClientID and fedSecret are the downstream's client at the upstream.
	fedClientID = "downstream"
	fedSecret   = "fms_federation-test-secret-0123456789abcdefghij"
	// fedProvider is the upstream's id in the downstream's --upstream file.
	fedProvider = "upstream"
	// fedName is the upstream's button on the downstream's login page.
	fedName = "Upstream Fullmakt"
	// clientRedirect is demo-agency's redirect URI, where the browser stops.
	clientRedirect = "http://localhost:8080/callback"
)

// The eIDAS levels, the acr values the upstream answers a client that asks for them.
const (
	eidasSubstantial = "http://eidas.europa.eu/LoA/substantial"
	eidasHigh        = "http://eidas.europa.eu/LoA/high"
)

// freeAddr returns a loopback address with a port that was free a moment ago: a
// server whose URL must be known before it starts (the downstream's callback is
// registered at the upstream) listens there.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// writeUpstreamFile writes a --upstream file naming the upstream at issuer, with
// the acr map acr, and returns its path.
func writeUpstreamFile(t *testing.T, issuer string, acr map[string]string) string {
	t.Helper()
	file := struct {
		Providers []upstream.Config `json:"providers"`
	}{[]upstream.Config{{
		ID: fedProvider, Name: fedName, Issuer: issuer, ClientID: fedClientID, ClientSecret: fedSecret,
		ACR: acr, AllowSyntheticIDs: true, // the demo cast has synthetic numbers
	}}}
	raw, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "upstream.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := upstream.LoadConfig(path); err != nil {
		t.Fatalf("the test's upstream file: %v", err)
	}
	return path
}

// startUpstream starts `serve --demo` with the downstream's client, whose
// redirect URIs are the callbacks of the downstreams at bases, and returns its base
// URL (http://localhost:PORT).
func startUpstream(t *testing.T, bases ...string) string {
	t.Helper()
	data := t.TempDir()
	var callbacks []string
	for _, b := range bases {
		callbacks = append(callbacks, b+"/login/upstream/"+fedProvider+"/callback")
	}
	downstream := idp.Client{
		ID: fedClientID, Name: "Downstream Fullmakt", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic,
		SecretHash: idp.HashSecret(fedSecret), GrantTypes: []string{"authorization_code"},
		Scopes: []string{"openid"}, RedirectURIs: callbacks, PID: true,
	}
	if err := idp.WriteClients(filepath.Join(data, clientsFileName), []idp.Client{downstream}); err != nil {
		t.Fatal(err)
	}
	base, stderr, _ := startServe(t, "--data", data, "--demo")
	t.Cleanup(func() { nothingSecretLogged(t, "the upstream", stderr) })
	return base
}

// startDownstream starts `serve` at addr with public URL http://addr (127.0.0.1,
// so that its cookies and the upstream's, on localhost, stay apart in one jar)
// and --upstream file, plus args.
func startDownstream(t *testing.T, addr, file string, args ...string) string {
	t.Helper()
	// startServe's own --addr 127.0.0.1:0 comes first; the later one wins.
	base, stderr, _ := startServe(t, append([]string{"--addr", addr, "--public-url", "http://" + addr, "--upstream", file}, args...)...)
	if base != "http://"+addr {
		t.Fatalf("the downstream's public URL is %s, want http://%s", base, addr)
	}
	if !strings.Contains(stderr.String(), `msg="upstream login" id=`+fedProvider) {
		t.Fatalf("the downstream did not set up the upstream login:\n%s", stderr.String())
	}
	t.Cleanup(func() { nothingSecretLogged(t, "the downstream", stderr) })
	return base
}

// nothingSecretLogged fails if the logs of server name have an identity number of
// the demo cast or the downstream's client secret.
func nothingSecretLogged(t *testing.T, name string, logs *syncBuffer) {
	t.Helper()
	for _, c := range demo.Cast(time.Now()) {
		if strings.Contains(logs.String(), string(c.ID)) {
			t.Errorf("%s logged %s's identity number:\n%s", name, c.Name, logs.String())
		}
	}
	if strings.Contains(logs.String(), fedSecret) {
		t.Errorf("%s logged the client secret", name)
	}
}

// federatedBrowser is a browser with a cookie jar that follows redirects between
// the servers at bases and stops at anything else (the client's redirect URI).
func federatedBrowser(t *testing.T, bases ...string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	hosts := map[string]bool{}
	for _, b := range bases {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		hosts[u.Host] = true
		jar.SetCookies(u, []*http.Cookie{{Name: "lang", Value: "en"}})
	}
	return &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !hosts[req.URL.Host] || len(via) > 20 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
}

// stopping returns a client with c's cookies that follows no redirect.
func stopping(c *http.Client) *http.Client {
	return &http.Client{Jar: c.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// toUpstream opens start (an /authorize URL of the downstream), checks that the
// downstream's login page offers the upstream, and returns the URL that sends the
// browser there.
func toUpstream(t *testing.T, client *http.Client, down, start string) string {
	t.Helper()
	resp, page := get(t, client, start)
	if !landedOn(resp, "/login/choose") || "http://"+resp.Request.URL.Host != down {
		t.Fatalf("GET %s ends at %s (%d), want the downstream's login page:\n%s", start, resp.Request.URL, resp.StatusCode, page)
	}
	flow := resp.Request.URL.Query().Get("flow")
	method := "/login/method/" + fedProvider + "?flow=" + url.QueryEscape(flow)
	if !strings.Contains(page, `href="`+method+`"`) || !strings.Contains(page, fedName) {
		t.Fatalf("the downstream's login page does not offer %s:\n%s", fedName, page)
	}
	return down + method
}

// clientAnswer returns the query of a redirect to demo-agency, failing unless
// resp is one with state.
func clientAnswer(t *testing.T, resp *http.Response, page, state string) url.Values {
	t.Helper()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound || err != nil ||
		!strings.HasPrefix(loc.String(), clientRedirect+"?") {
		t.Fatalf("want a redirect to %s, got %d at %s, Location %q:\n%s", clientRedirect, resp.StatusCode, resp.Request.URL, resp.Header.Get("Location"), page)
	}
	if loc.Query().Get("state") != state {
		t.Fatalf("redirect to %s, want state %s", loc, state)
	}
	return loc.Query()
}

// exchangeCode redeems demo-agency's code at base.
func exchangeCode(t *testing.T, base, code string) *oauth2.Token {
	t.Helper()
	cfg := oauth2.Config{
		ClientID: demoClientID, ClientSecret: demoClientSecret, RedirectURL: clientRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", AuthStyle: oauth2.AuthStyleInHeader},
	}
	tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			t.Fatalf("exchange the code at %s: %s", base, re.Body)
		}
		t.Fatalf("exchange the code at %s: %v", base, err)
	}
	return tok
}

// TestFederation logs people in at a downstream Fullmakt through an upstream
// one: the upstream proves who the person is and at which level; the downstream
// lets them choose whom to act for and issues the tokens.
func TestFederation(t *testing.T) {
	downAddr := freeAddr(t)
	down := "http://" + downAddr
	up := startUpstream(t, down)
	down = startDownstream(t, downAddr,
		writeUpstreamFile(t, up, map[string]string{eidasSubstantial: "substantial", eidasHigh: "high"}), "--data", t.TempDir(), "--demo")
	_, kari := castIndex(t, "Kari")
	_, emma := castIndex(t, "Emma")

	t.Run("Kari acts for Emma", func(t *testing.T) {
		client := federatedBrowser(t, up, down)
		const state = "federation-state-1"
		method := toUpstream(t, client, down, authorizeURL(down, "openid represent", state))
		// The upstream's login page, its demo eID, and back to the downstream.
		resp, page := demoLogin(t, client, up, method, "Kari", "high")
		if "http://"+resp.Request.URL.Host != down {
			t.Fatalf("after the upstream's login the browser is at %s, want the downstream:\n%s", resp.Request.URL, page)
		}
		if !strings.Contains(page, "Emma Nordmann") || !strings.Contains(page, "Ola Nordmann") || !strings.Contains(page, "Kari Nordmann") {
			t.Errorf("the downstream's party picker does not list Kari, Emma and Ola:\n%s", page)
		}
		resp, page = chooseParty(t, client, down, resp, page, "Emma")
		tok := exchangeCode(t, down, clientAnswer(t, resp, page, state).Get("code"))

		at := claims(t, tok.AccessToken)
		act, _ := at["act"].(map[string]any)
		if at["iss"] != down || at["pid"] != string(emma.ID) || at["sub"] == nil || at["sub"] == act["sub"] ||
			act == nil || act["pid"] != string(kari.ID) || at["acr"] != eidasHigh {
			t.Errorf("access token claims = %v, want the downstream's, Emma as pid, Kari in act, acr high", at)
		}
		id, _ := tok.Extra("id_token").(string)
		if id == "" {
			t.Fatal("no ID token in the token response")
		}
		if c := claims(t, id); c["sub"] != at["sub"] || c["pid"] != string(emma.ID) || c["acr"] != eidasHigh {
			t.Errorf("ID token claims = %v, want Emma's sub and pid, acr high", c)
		}
	})

	t.Run("the level asked for goes upstream", func(t *testing.T) {
		client := federatedBrowser(t, up, down)
		const state = "federation-state-2"
		start := authorizeURL(down, "openid", state) + "&acr_values=" + url.QueryEscape(eidasHigh)
		method := toUpstream(t, client, down, start)
		resp, _ := get(t, stopping(client), method)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || err != nil || !strings.HasPrefix(loc.String(), up+"/authorize?") {
			t.Fatalf("GET %s = %d, Location %q; want a redirect to the upstream's /authorize", method, resp.StatusCode, resp.Header.Get("Location"))
		}
		q := loc.Query()
		if q.Get("acr_values") != eidasHigh || q.Get("client_id") != fedClientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("redirect_uri") != down+"/login/upstream/"+fedProvider+"/callback" || q.Get("nonce") == "" || q.Get("state") == "" {
			t.Errorf("the upstream's authorization request = %v, want acr_values %s, the downstream's client and callback, PKCE, nonce and state", q, eidasHigh)
		}

		// The upstream's demo eID offers high only, and refuses substantial.
		resp, page := get(t, client, loc.String())
		if !landedOn(resp, "/login/choose") || "http://"+resp.Request.URL.Host != up {
			t.Fatalf("the upstream's /authorize ends at %s (%d), want its login page:\n%s", resp.Request.URL, resp.StatusCode, page)
		}
		flow := resp.Request.URL.Query().Get("flow")
		_, page = get(t, client, up+"/login/method/demo?flow="+url.QueryEscape(flow))
		if strings.Contains(page, `name="level" value="substantial"`) || !strings.Contains(page, `name="level" value="high"`) {
			t.Errorf("the upstream's demo eID page should offer high only:\n%s", page)
		}
		f := form(t, page, "/login/demo")
		f.Set("person", radio(t, page, "person", "Kari"))
		f.Set("level", "substantial")
		if resp, page := postForm(t, client, up+"/login/demo", f); resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("the upstream's demo eID at substantial, high asked = %d at %s, want 422:\n%s", resp.StatusCode, resp.Request.URL, page)
		}
		f.Set("level", "high")
		resp, page = postForm(t, client, up+"/login/demo", f)
		tok := exchangeCode(t, down, clientAnswer(t, resp, page, state).Get("code"))
		if at := claims(t, tok.AccessToken); at["acr"] != eidasHigh || at["pid"] != string(kari.ID) || at["act"] != nil {
			t.Errorf("access token claims = %v, want Kari at high, acting for herself", at)
		}
	})

	t.Run("cancel at the upstream", func(t *testing.T) {
		client := federatedBrowser(t, up, down)
		const state = "federation-state-3"
		resp, page := get(t, client, toUpstream(t, client, down, authorizeURL(down, "openid represent", state)))
		if !landedOn(resp, "/login/choose") || "http://"+resp.Request.URL.Host != up {
			t.Fatalf("want the upstream's login page, got %s (%d):\n%s", resp.Request.URL, resp.StatusCode, page)
		}
		resp, page = postForm(t, client, up+"/login/cancel", form(t, page, "/login/cancel"))
		if q := clientAnswer(t, resp, page, state); q.Get("error") != "access_denied" || q.Get("code") != "" {
			t.Errorf("cancel at the upstream: the client got %v, want error=access_denied", q)
		}
	})
}

// TestFederationUnmet: a downstream that trusts its upstream only to substantial
// (it maps both of the upstream's levels to substantial), and has no other eID.
// A person logged in through the upstream cannot reach high there, and a client
// asking for high gets unmet_authentication_requirements (RFC 9470).
func TestFederationUnmet(t *testing.T) {
	downAddr := freeAddr(t)
	down := "http://" + downAddr
	up := startUpstream(t, down)

	// The downstream has the demo cast in its register, but not the demo eID.
	data := t.TempDir()
	feed, _ := castFeed(t)
	file := filepath.Join(t.TempDir(), "cast.jsonl")
	if err := os.WriteFile(file, []byte(strings.Join(feed, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := fullmakt(t, nil, "", "import", "--data", data, "--allow-synthetic-ids", file); got.code != exitOK {
		t.Fatalf("import the cast = %d:\n%s", got.code, got.stderr)
	}
	agency := idp.Client{ID: demoClientID, Name: "Agency", TokenEndpointAuthMethod: idp.AuthMethodNone,
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, RedirectURIs: []string{clientRedirect}}
	if err := idp.WriteClients(filepath.Join(data, clientsFileName), []idp.Client{agency}); err != nil {
		t.Fatal(err)
	}
	down = startDownstream(t, downAddr, writeUpstreamFile(t, up, map[string]string{eidasSubstantial: "substantial", eidasHigh: "substantial"}),
		"--data", data, "--allow-synthetic-ids")

	client := federatedBrowser(t, up, down)
	// Kari logs in through the upstream (at high there: here it is substantial).
	resp, page := demoLogin(t, client, up, toUpstream(t, client, down, authorizeURL(down, "openid", "federation-state-4")), "Kari", "high")
	code := clientAnswer(t, resp, page, "federation-state-4").Get("code")
	cfg := oauth2.Config{ClientID: demoClientID, RedirectURL: clientRedirect,
		Endpoint: oauth2.Endpoint{TokenURL: down + "/token", AuthStyle: oauth2.AuthStyleInParams}}
	tok, err := cfg.Exchange(t.Context(), code, oauth2.VerifierOption(pkceVerifier))
	if err != nil {
		t.Fatalf("exchange the first login's code: %v", err)
	}
	if at := claims(t, tok.AccessToken); at["acr"] != eidasSubstantial {
		t.Errorf("the first login's access token has acr %v, want substantial (the most the downstream trusts its upstream for)", at["acr"])
	}

	// The client asks for high: the step-up page has no way to reach it.
	const state = "federation-state-5"
	resp, page = get(t, client, authorizeURL(down, "openid", state)+"&acr_values="+url.QueryEscape(eidasHigh))
	if !landedOn(resp, "/login/step-up") || strings.Contains(page, "/login/method/"+fedProvider) {
		t.Fatalf("asking for high = %d at %s, want the step-up page offering no way to reach it:\n%s", resp.StatusCode, resp.Request.URL, page)
	}
	f := form(t, page, "/login/cancel")
	if f.Get("unmet") == "" {
		t.Errorf("the step-up page's form does not say the level cannot be reached: %v", f)
	}
	resp, page = postForm(t, client, down+"/login/cancel", f)
	if q := clientAnswer(t, resp, page, state); q.Get("error") != "unmet_authentication_requirements" {
		t.Errorf("the client got %v, want error=unmet_authentication_requirements", q)
	}
}
