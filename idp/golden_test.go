package idp_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// issuerPlaceholder stands for the fixture's issuer, whose port changes.
const issuerPlaceholder = "https://issuer.example"

// golden compares got, JSON, with testdata/name, or writes it there with -update.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(want, b) {
		t.Errorf("%s differs from the golden file (-want +got); if the change is meant, run go test -update:\n%s", path, cmp.Diff(string(want), string(b)))
	}
}

// decodeJSON decodes raw, with the issuer replaced by the placeholder.
func (f *fixture) decodeJSON(t *testing.T, raw string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(strings.ReplaceAll(raw, f.issuer, issuerPlaceholder)), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// shape replaces the values of v by their JSON types, except members named in
// keep (at any depth), whose values stay.
func shape(v any, keep ...string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if slices.Contains(keep, k) {
				out[k] = x
			} else {
				out[k] = shape(x, keep...)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = shape(x, keep...)
		}
		return out
	case string:
		return "<string>"
	case float64:
		return "<number>"
	case bool:
		return "<bool>"
	case nil:
		return nil
	}
	return "<unknown>"
}

// jwtParts decodes a JWT's header and claims without verifying it.
func (f *fixture) jwtParts(t *testing.T, raw string) (header, claims any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT with %d parts", len(parts))
	}
	decode := func(s string) any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return f.decodeJSON(t, string(b))
	}
	return decode(parts[0]), decode(parts[1])
}

// TestGoldenDiscovery pins the metadata document (OpenID Connect Discovery 1.0,
// RFC 8414), which go-oidc must accept.
func TestGoldenDiscovery(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	if _, err := oidc.NewProvider(t.Context(), f.issuer); err != nil {
		t.Fatalf("oidc.NewProvider = %v", err)
	}
	r := f.get(t, "/.well-known/openid-configuration", "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /.well-known/openid-configuration = %d %s", r.status, r.header.Get("Content-Type"))
	}
	golden(t, "openid-configuration.golden", f.decodeJSON(t, r.raw))
}

// TestGoldenJWKS pins the shape of the JWK Set: which members each key has, and
// the values that do not change (kty, crv, alg, use).
func TestGoldenJWKS(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	r := f.get(t, "/jwks.json", "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("GET /jwks.json = %d %s", r.status, r.header.Get("Content-Type"))
	}
	var set any
	if err := json.Unmarshal([]byte(r.raw), &set); err != nil {
		t.Fatal(err)
	}
	golden(t, "jwks.golden", shape(set, "kty", "crv", "alg", "use"))
	// No private key material, whatever the shape.
	for _, private := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, `"k"`} {
		if strings.Contains(r.raw, private+":") {
			t.Errorf("the JWKS has a private member %s", private)
		}
	}
}

// TestGoldenTokens pins the header and claim set of an ID token and of an access
// token acting on someone's behalf: the claim names, their types, and the values
// that do not change.
func TestGoldenTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.login.as(f.parent.ID, acrHigh, "")
	tok := f.mustCodeFlow(t, f.webConfig("openid", "profile"), oidc.Nonce(oauth2.GenerateVerifier()))
	header, claims := f.jwtParts(t, tok.Extra("id_token").(string))
	golden(t, "id_token.golden", map[string]any{
		"header": shape(header, "alg", "typ"),
		"claims": shape(claims, "iss", "aud", "acr", "amr"),
	})

	onBehalf := f.onBehalf(t, "openid")
	header, claims = f.jwtParts(t, onBehalf.AccessToken)
	golden(t, "access_token.golden", map[string]any{
		"header": shape(header, "alg", "typ"),
		"claims": shape(claims, "iss", "aud", "acr", "amr", "scope", "client_id", "kind", "type", "services", "actions"),
	})
}
