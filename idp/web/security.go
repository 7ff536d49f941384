package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// SetHeaders sets the headers of every browser page: a strict Content-Security-Policy
// — default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';
// connect-src 'self'; form-action 'self' <formAction…>; frame-ancestors 'none';
// base-uri 'none' — so no inline script or style, no framing and no <base>;
// X-Content-Type-Options: nosniff; Referrer-Policy: no-referrer;
// Cross-Origin-Opener-Policy: same-origin; and a Permissions-Policy that lets only
// this origin use WebAuthn (publickey-credentials-get and -create).
//
// formAction lists the other origins a form may post to or be redirected to after
// a post (browsers check form-action on those redirects too): the OAuth client's
// redirect URI origins. Each must be a plain scheme://host[:port]; anything else
// (a path, a query, a wildcard, a quote, a space) is dropped, so a source can
// never add a directive.
func SetHeaders(h http.Header, formAction []string) {
	actions := []string{"'self'"}
	for _, a := range formAction {
		if o, ok := plainOrigin(a); ok && !slices.Contains(actions, o) {
			actions = append(actions, o)
		}
	}
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
		"form-action "+strings.Join(actions, " ")+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "publickey-credentials-get=(self), publickey-credentials-create=(self)")
}

// plainOrigin returns s, lowercased, if it is a plain scheme://host[:port]: a
// scheme, a host of letters, digits, dots and hyphens (or a bracketed IPv6
// address), an optional numeric port, and nothing else.
func plainOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Opaque != "" ||
		u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", false
	}
	o := strings.ToLower(s)
	if o != strings.ToLower(u.Scheme+"://"+u.Host) {
		return "", false
	}
	for i, c := range u.Scheme {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	host, port := u.Hostname(), u.Port()
	if strings.HasPrefix(u.Host, "[") {
		for _, c := range host {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return "", false
			}
		}
	} else {
		for _, c := range host {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
				return "", false
			}
		}
	}
	if host == "" || strings.HasSuffix(u.Host, ":") {
		return "", false
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return o, true
}

// Protect wraps a browser handler: SetHeaders (with no extra form-action) on every
// response, errors included, and Go's http.CrossOriginProtection, which refuses
// (403) state-changing requests a browser marks as cross-site (Sec-Fetch-Site, or
// an Origin that is not the Host).
func Protect(next http.Handler) http.Handler {
	protected := http.NewCrossOriginProtection().Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetHeaders(w.Header(), nil)
		protected.ServeHTTP(w, r)
	})
}

// CSRF makes and checks form tokens bound to something secret of the browser (the
// session key, or a login flow id): the token is HMAC-SHA256 of the binding under a
// server key, base64url without padding, so it needs no storage, differs for every
// session, and is useless to anyone who does not hold the binding. It is safe for
// concurrent use.
type CSRF struct {
	key []byte
}

// csrfMinKey is the shortest key NewCSRF takes.
const csrfMinKey = 32

// NewCSRF returns tokens under key, which must be a secret of at least 32 random
// bytes (a shorter key is a programming error, and panics). key is copied.
func NewCSRF(key []byte) *CSRF {
	if len(key) < csrfMinKey {
		panic("web: csrf key shorter than 32 bytes")
	}
	return &CSRF{key: slices.Clone(key)}
}

// Token returns the form token for binding; "" for an empty binding, which no
// token is valid for.
func (c *CSRF) Token(binding string) string {
	if binding == "" {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(c.mac(binding))
}

// Valid reports whether token is the form token for binding, comparing in
// constant time. An empty binding or token is never valid.
func (c *CSRF) Valid(binding, token string) bool {
	if binding == "" || token == "" {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, c.mac(binding))
}

// mac is the HMAC of binding, labelled so the key could serve no other purpose
// by accident.
func (c *CSRF) mac(binding string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("fullmakt csrf\x00"))
	m.Write([]byte(binding))
	return m.Sum(nil)
}
