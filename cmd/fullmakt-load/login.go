package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
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

// maxPage bounds a login page read.
const maxPage = 1 << 20

var (
	demoForm   = regexp.MustCompile(`(?s)<form\b[^>]*\baction="/login/demo"[^>]*>(.*?)</form>`)
	inputTag   = regexp.MustCompile(`<input\b[^>]*>`)
	attribute  = regexp.MustCompile(`\b([a-z-]+)="([^"]*)"`)
	labelTag   = regexp.MustCompile(`(?s)<label\b[^>]*\bfor="([^"]+)"[^>]*>(.*?)</label>`)
	htmlMarkup = regexp.MustCompile(`<[^>]*>`)
)

// demoLoginToken gets an access token for -actor, at level high, through the demo
// eID of `fullmakt serve --demo`, as a browser without JavaScript would: an
// authorization request with PKCE, which ends on the login page
// (/login/choose?flow=…); the demo eID's page (/login/method/demo?flow=…), whose
// form posts the flow, its form token, the person (the radio button labelled
// with the actor's name) and the level to /login/demo; the redirect to the
// client with the code (the scope has no represent, so there is no party to
// choose); and the code exchanged at the token endpoint.
func demoLoginToken(ctx context.Context, cfg config, auth string) (string, error) {
	actor, err := castMember(cfg.actor)
	if err != nil {
		return "", err
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", err
	}
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if u := (url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path}); u.String() == demoRedirectURI {
			return http.ErrUseLastResponse // the client's redirect URI: read the code from it
		}
		if len(via) >= 10 {
			return errors.New("more than 10 redirects")
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
	resp, _, err := fetch(ctx, browser, cfg.url+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	flow := resp.Request.URL.Query().Get("flow")
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/login/choose" || flow == "" {
		return "", fmt.Errorf("GET /authorize ends at %s (%d), not the login page (is the server running with --demo?)", resp.Request.URL.Path, resp.StatusCode)
	}
	// The pages are the server's as the browser was sent to them (the public URL).
	methodURL := resp.Request.URL.ResolveReference(&url.URL{Path: "/login/method/demo", RawQuery: "flow=" + url.QueryEscape(flow)})
	resp, page, err := fetch(ctx, browser, methodURL.String(), nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /login/method/demo = %d: no demo eID (is the server running with --demo?)", resp.StatusCode)
	}
	form, err := demoLoginForm(page, actor.Name, castIndex(actor.ID))
	if err != nil {
		return "", err
	}
	form.Set("level", "high")
	resp, _, err = fetch(ctx, browser, resp.Request.URL.ResolveReference(&url.URL{Path: "/login/demo"}).String(), form)
	if err != nil {
		return "", err
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != state {
		return "", fmt.Errorf("POST /login/demo ends at %s (%d), Location %q: no code", resp.Request.URL.Path, resp.StatusCode, resp.Header.Get("Location"))
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

// fetch GETs target, or POSTs form to it when form is not nil, and returns the
// last response (after redirects) with its body.
func fetch(ctx context.Context, browser *http.Client, target string, form url.Values) (*http.Response, string, error) {
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := browser.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", method, req.URL.Path, err)
	}
	return resp, string(page), nil
}

// demoLoginForm reads the demo eID's form on page: its hidden fields (the flow
// and the form token) and the person: the radio button whose label starts with
// name, or else the one whose value is index (the cast member's position).
func demoLoginForm(page, name string, index int) (url.Values, error) {
	m := demoForm.FindStringSubmatch(page)
	if m == nil {
		return nil, errors.New("the demo eID page has no form posting to /login/demo")
	}
	labels := map[string]string{}
	for _, l := range labelTag.FindAllStringSubmatch(m[1], -1) {
		labels[l[1]] = strings.TrimSpace(html.UnescapeString(htmlMarkup.ReplaceAllString(l[2], "")))
	}
	form := url.Values{}
	person, byIndex := "", ""
	for _, tag := range inputTag.FindAllString(m[1], -1) {
		attrs := map[string]string{}
		for _, a := range attribute.FindAllStringSubmatch(tag, -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		switch {
		case attrs["type"] == "hidden" && attrs["name"] != "":
			form.Set(attrs["name"], attrs["value"])
		case attrs["type"] == "radio" && attrs["name"] == "person":
			if label := labels[attrs["id"]]; person == "" && label != "" && strings.HasPrefix(label, name) {
				person = attrs["value"]
			}
			if attrs["value"] == strconv.Itoa(index) {
				byIndex = attrs["value"]
			}
		}
	}
	if person == "" {
		person = byIndex
	}
	switch {
	case form.Get("flow") == "" || form.Get("csrf") == "":
		return nil, errors.New("the demo eID's form has no flow or form token")
	case person == "":
		return nil, fmt.Errorf("the demo eID's form offers no %s", name)
	}
	form.Set("person", person)
	return form, nil
}

// random returns 32 random bytes, base64url.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
