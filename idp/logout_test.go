package idp_test

import (
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestLogout checks RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0):
// the browser goes back only to a post_logout_redirect_uri the client registered,
// and otherwise sees a page.
func TestLogout(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrSubstantial, "")
	idToken := f.mustCodeFlow(t, f.webConfig("openid"), oidc.Nonce(oauth2.GenerateVerifier())).Extra("id_token").(string)
	f.login.as(f.parent.ID, acrSubstantial, "")
	nopidToken := f.mustCodeFlow(t, f.oauth2Config("nopid", nopidSecret, nopidRedirect, "openid")).Extra("id_token").(string)
	forged := unsignedJWT(t, map[string]any{"iss": f.issuer, "aud": "web", "sub": "x"})

	tests := []struct {
		name     string
		params   url.Values
		status   int
		location string // the redirect, when status is 303
	}{
		{"registered address with state", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1/bye"}, "state": {"s-123"}},
			http.StatusSeeOther, "http://127.0.0.1/bye?state=s-123"},
		{"registered address, no state", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"http://127.0.0.1/bye"}},
			http.StatusSeeOther, "http://127.0.0.1/bye"},
		{"client_id instead of a hint", url.Values{"client_id": {"web"}, "post_logout_redirect_uri": {"http://127.0.0.1/bye"}},
			http.StatusSeeOther, "http://127.0.0.1/bye"},
		{"unregistered address", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {"https://evil.example/bye"}},
			http.StatusBadRequest, ""},
		{"another client's address", url.Values{"id_token_hint": {nopidToken}, "post_logout_redirect_uri": {"http://127.0.0.1/bye"}},
			http.StatusBadRequest, ""},
		{"hint and client_id disagree", url.Values{"id_token_hint": {idToken}, "client_id": {"nopid"}, "post_logout_redirect_uri": {"http://127.0.0.1/bye"}},
			http.StatusBadRequest, ""},
		{"forged hint", url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {"http://127.0.0.1/bye"}},
			http.StatusBadRequest, ""},
		{"address without a client", url.Values{"post_logout_redirect_uri": {"http://127.0.0.1/bye"}},
			http.StatusBadRequest, ""},
		{"no address", url.Values{"id_token_hint": {idToken}}, http.StatusOK, ""},
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := noRedirect.Get(f.issuer + "/logout?" + tt.params.Encode())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
				t.Errorf("GET /logout = %d Location %q, want %d %q: %s", resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location, body)
			}
		})
	}
}
