package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// demoRedirectURI is the demo client's redirect URI. Nobody needs to serve it: the
// tool reads the code from the redirect.
const demoRedirectURI = "http://localhost:8080/callback"

var loginField = regexp.MustCompile(`name="login" value="([A-Za-z0-9_-]+)"`)

// demoLoginToken gets an access token for -actor, at level high, through the demo
// login of `fullmakt serve --demo`, as a browser would: an authorization request
// with PKCE, the login form, the code exchanged at the token endpoint. It knows the
// form's fields (login, person, acr, party, action), so it follows the demo login
// of the same version of Fullmakt.
func demoLoginToken(ctx context.Context, cfg config, auth string) (string, error) {
	actor, err := castMember(cfg.actor)
	if err != nil {
		return "", err
	}
	server, err := url.Parse(cfg.url)
	if err != nil {
		return "", err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Host != server.Host {
			return http.ErrUseLastResponse // the redirect URI: read the code from it
		}
		return nil
	}}
	verifier, state := random(), random()
	challenge := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {cfg.clientID}, "redirect_uri": {demoRedirectURI},
		"scope": {"openid"}, "state": {state}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(challenge[:])},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.url+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return "", err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := loginField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("GET /authorize = %d, and no demo login form (is the server running with --demo?)", resp.StatusCode)
	}
	form := url.Values{
		"login": {string(m[1])}, "person": {strconv.Itoa(castIndex(actor.ID))},
		"acr": {"http://eidas.europa.eu/LoA/high"}, "party": {"self"}, "action": {"login"},
	}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, cfg.url+"/login/demo", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = browser.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return "", fmt.Errorf("POST /login/demo = %d, Location %q: no code", resp.StatusCode, resp.Header.Get("Location"))
	}
	var a tokenAnswer
	err = post(browser, cfg.url+"/token", auth, url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {demoRedirectURI}, "code_verifier": {verifier},
	}.Encode(), &a)
	if err != nil {
		return "", fmt.Errorf("exchange the code: %w", err)
	}
	if a.AccessToken == "" {
		return "", errors.New("exchange the code: no access token")
	}
	return a.AccessToken, nil
}

// random returns 32 random bytes, base64url.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
