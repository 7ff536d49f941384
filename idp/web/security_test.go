package web

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSetHeaders(t *testing.T) {
	tests := []struct {
		name       string
		formAction []string
		want       string // the form-action directive
	}{
		{name: "none", want: "form-action 'self'"},
		{name: "origins", formAction: []string{"https://client.example", "http://localhost:8080", "https://[2001:db8::1]:8443"},
			want: "form-action 'self' https://client.example http://localhost:8080 https://[2001:db8::1]:8443"},
		{name: "duplicates and case", formAction: []string{"https://client.example", "HTTPS://Client.Example"}, want: "form-action 'self' https://client.example"},
		{name: "anything else is dropped", formAction: []string{
			"https://client.example/callback", // a path
			"https://client.example/",         // even a slash
			"https://client.example?x=1",      // a query
			"https://client.example#f",        // a fragment
			"https://user@client.example",     // user info
			"https://*.example",               // a wildcard
			"https://client.example; script-src *",
			"https://client.example 'unsafe-inline'",
			"'self'", "*", "client.example", "https:", "https://", "https://client.example:", "https://client.example:x",
			"https://cli\"ent.example", "com.example.app:/callback", "",
		}, want: "form-action 'self'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			SetHeaders(h, tt.formAction)
			want := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " + tt.want + "; frame-ancestors 'none'; base-uri 'none'"
			if got := h.Get("Content-Security-Policy"); got != want {
				t.Errorf("SetHeaders(%q) CSP =\n%s\nwant\n%s", tt.formAction, got, want)
			}
			for k, want := range map[string]string{
				"X-Content-Type-Options":     "nosniff",
				"Referrer-Policy":            "no-referrer",
				"Cross-Origin-Opener-Policy": "same-origin",
				"Permissions-Policy":         "publickey-credentials-get=(self), publickey-credentials-create=(self)",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestProtect(t *testing.T) {
	reached := false
	h := Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusNoContent)
	}))
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"cross-site post", "POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403},
		{"same-site post from another origin", "POST", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"cross-origin post without fetch metadata", "POST", map[string]string{"Origin": "https://evil.example"}, 403},
		{"same-origin post", "POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://fullmakt.example"}, 204},
		{"same-origin post by Origin", "POST", map[string]string{"Origin": "https://fullmakt.example"}, 204},
		{"a post from no browser", "POST", nil, 204},
		{"a user's own navigation", "POST", map[string]string{"Sec-Fetch-Site": "none"}, 204},
		{"cross-site navigation", "GET", map[string]string{"Sec-Fetch-Site": "cross-site"}, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached = false
			r := httptest.NewRequest(tt.method, "https://fullmakt.example/account/logout", strings.NewReader("csrf=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("%s with %v = %d, want %d", tt.method, tt.header, w.Code, tt.want)
			}
			if reached != (tt.want == 204) {
				t.Errorf("the handler ran = %v, want %v", reached, tt.want == 204)
			}
			if got := w.Header().Get("Content-Security-Policy"); got != wantCSP {
				t.Errorf("CSP = %q, want %q", got, wantCSP)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	c := NewCSRF(key)
	tok := c.Token("session-1")
	if tok == "" || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("Token() = %q, want base64url without padding", tok)
	}
	if tok != c.Token("session-1") {
		t.Error("Token() differs for the same binding")
	}
	key[0] = 8 // NewCSRF copied the key
	if !c.Valid("session-1", tok) {
		t.Error("Valid(its own token) = false")
	}
	other := NewCSRF(bytes.Repeat([]byte{9}, 32))
	flipped := []byte(tok)
	flipped[3] ^= 1
	tests := []struct {
		name    string
		binding string
		token   string
	}{
		{"another binding", "session-2", tok},
		{"another key", "session-1", other.Token("session-1")},
		{"tampered", "session-1", string(flipped)},
		{"truncated", "session-1", tok[:len(tok)-2]},
		{"padded", "session-1", tok + "="},
		{"not base64", "session-1", "!!!!"},
		{"empty token", "session-1", ""},
		{"empty binding", "", c.Token("")},
	}
	for _, tt := range tests {
		if c.Valid(tt.binding, tt.token) {
			t.Errorf("%s: Valid(%q, %q) = true", tt.name, tt.binding, tt.token)
		}
	}
	if got := c.Token(""); got != "" {
		t.Errorf(`Token("") = %q, want ""`, got)
	}
}

func TestNewCSRFShortKey(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewCSRF(a 16-byte key) did not panic")
		}
	}()
	NewCSRF(make([]byte, 16))
}
