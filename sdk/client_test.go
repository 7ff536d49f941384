package sdk

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestNewDiscovers(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	u := f.issuer()
	want := metadata{
		Issuer: u, AuthorizationEndpoint: u + "/authorize", TokenEndpoint: u + "/token",
		JWKSURI: u + "/jwks.json", EndSessionEndpoint: u + "/logout", UserinfoEndpoint: u + "/userinfo",
		Evaluation: u + "/access/v1/evaluation", Evaluations: u + "/access/v1/evaluations",
		SearchParty: u + "/access/v1/search/party", Changes: u + "/access/v1/changes",
	}
	if c.meta != want {
		t.Errorf("meta = %+v, want %+v", c.meta, want)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() again = %v", err)
	}
}

func TestAuthZENConfigurationURL(t *testing.T) {
	for _, tt := range []struct{ issuer, want string }{
		{"https://fullmakt.example", "https://fullmakt.example/.well-known/authzen-configuration"},
		{"https://fullmakt.example/", "https://fullmakt.example/.well-known/authzen-configuration"},
		{"https://x.example:8443/tenant/a", "https://x.example:8443/.well-known/authzen-configuration/tenant/a"},
	} {
		if got := authzenConfigurationURL(tt.issuer); got != tt.want {
			t.Errorf("authzenConfigurationURL(%q) = %q, want %q", tt.issuer, got, tt.want)
		}
	}
	if got, want := openIDConfigurationURL("https://x.example/t/"), "https://x.example/t/.well-known/openid-configuration"; got != want {
		t.Errorf("openIDConfigurationURL = %q, want %q", got, want)
	}
}

func TestNewRefusesWrongDiscovery(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(map[string]any)
		want error
	}{
		{"another issuer", func(m map[string]any) { m["issuer"] = "https://evil.example" }, ErrConfig},
		{"issuer with a slash", func(m map[string]any) { m["issuer"] = m["issuer"].(string) + "/" }, ErrConfig},
		{"no token endpoint", func(m map[string]any) { delete(m, "token_endpoint") }, ErrConfig},
		{"no jwks_uri", func(m map[string]any) { delete(m, "jwks_uri") }, ErrConfig},
		{"http on another host", func(m map[string]any) { m["token_endpoint"] = "http://fullmakt.example/token" }, ErrConfig},
		{"relative endpoint", func(m map[string]any) { m["jwks_uri"] = "/jwks.json" }, ErrConfig},
		{"not a string", func(m map[string]any) { m["issuer"] = 7 }, ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOP(t)
			f.metaEdit = tt.edit
			_, err := New(context.Background(), f.config())
			if !errors.Is(err, tt.want) {
				t.Errorf("New() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"server error", 503, "", ErrUnavailable},
		{"not JSON", 200, "<html>", ErrUnavailable},
		{"not found", 404, "", ErrConfig},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			_, err := New(context.Background(), Config{Issuer: srv.URL, ClientID: "c", ClientSecret: "s", NoChangeFeed: true})
			if !errors.Is(err, tt.want) {
				t.Errorf("New() = %v, want %v", err, tt.want)
			}
		})
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(context.Background(), Config{Issuer: url, ClientID: "c", ClientSecret: "s", NoChangeFeed: true})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("New(closed server) = %v, want ErrUnavailable", err)
	}
}

func TestValidateKeys(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"P-256", Config{PrivateKey: p256, KeyID: "k"}, true},
		{"P-384", Config{PrivateKey: p384, KeyID: "k"}, false},
		{"RSA 1024", Config{PrivateKey: rsa1024, KeyID: "k"}, false},
		{"no kid", Config{PrivateKey: p256}, false},
		{"key and secret", Config{PrivateKey: p256, KeyID: "k", ClientSecret: "s"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Issuer, tt.cfg.ClientID = "https://fullmakt.example", "c"
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// authHeader runs authorize and returns the header it set.
func authHeader(t *testing.T, c *Client) (string, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/x", nil)
	err := c.authorize(context.Background(), r)
	return r.Header.Get("Authorization"), err
}

func TestAuthorizeAPIKey(t *testing.T) {
	f := newFakeOP(t)
	c := f.client(func(cfg *Config) { cfg.ClientSecret, cfg.APIKey = "", "key-1" })
	got, err := authHeader(t, c)
	if err != nil || got != "Bearer key-1" {
		t.Errorf("authorize = %q, %v, want Bearer key-1", got, err)
	}
	if f.ccHits.Load() != 0 {
		t.Errorf("the token endpoint was asked %d times, want 0", f.ccHits.Load())
	}
}

func TestAuthorizeClientSecretBasic(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	got, err := authHeader(t, c)
	if err != nil || got != "Bearer cc-secret:client-1" {
		t.Fatalf("authorize = %q, %v, want the first client credentials token", got, err)
	}
	// Cached until 30 s before it expires (600 s).
	f.clock.Advance(569 * time.Second)
	if got, _ := authHeader(t, c); got != "Bearer cc-secret:client-1" {
		t.Errorf("authorize at 569 s = %q, want the cached token", got)
	}
	f.clock.Advance(time.Second)
	if got, _ := authHeader(t, c); got != "Bearer cc-secret:client-2" {
		t.Errorf("authorize at 570 s = %q, want a new token", got)
	}
	// A token the decision API refused is dropped.
	c.dropOwnToken("cc-secret:client-2")
	if got, _ := authHeader(t, c); got != "Bearer cc-secret:client-3" {
		t.Errorf("authorize after dropOwnToken = %q, want a new token", got)
	}
	if n := f.authFails.Load(); n != 0 {
		t.Errorf("%d client authentications failed", n)
	}

	wrong := f.client(func(cfg *Config) { cfg.ClientSecret = "s3cr:et +" })
	_, err = authHeader(t, wrong)
	var oe *OAuthError
	if !errors.As(err, &oe) || oe.Code != "invalid_client" || oe.Status != 401 {
		t.Errorf("authorize with a wrong secret = %v, want invalid_client", err)
	}
}

func TestAuthorizePrivateKeyJWT(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tt := range []struct {
		name string
		key  crypto.Signer
		alg  jose.SignatureAlgorithm
	}{
		{"ES256", ec, jose.ES256},
		{"PS256", rk, jose.PS256},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOP(t)
			f.addKeyClient("agency", tt.key.Public(), "agency-key", tt.alg)
			c := f.client(func(cfg *Config) {
				cfg.ClientID, cfg.ClientSecret, cfg.KeyID = "agency", "", "agency-key"
				if tt.alg == jose.ES256 {
					cfg.PrivateKey = ec
				} else {
					cfg.PrivateKey = rk
				}
			})
			for i := range 3 {
				got, err := authHeader(t, c)
				if err != nil {
					t.Fatalf("authorize #%d = %v", i+1, err)
				}
				c.dropOwnToken(strings.TrimPrefix(got, "Bearer "))
			}
			// Three fetches, three assertions, each jti once.
			if n, fails := f.ccHits.Load(), f.authFails.Load(); n != 3 || fails != 0 {
				t.Errorf("token requests = %d with %d failed authentications, want 3 and 0", n, fails)
			}
			if f.lastForm.Get("client_id") != "agency" {
				t.Errorf("client_id = %q, want agency", f.lastForm.Get("client_id"))
			}
			// The fake checks the assertion: under another kid it refuses.
			other := f.client(func(cfg *Config) {
				cfg.ClientID, cfg.ClientSecret, cfg.KeyID, cfg.PrivateKey = "agency", "", "another-key", c.cfg.PrivateKey
			})
			var oe *OAuthError
			if _, err := authHeader(t, other); !errors.As(err, &oe) || oe.Code != "invalid_client" {
				t.Errorf("authorize under another kid = %v, want invalid_client", err)
			}
		})
	}
}

func TestAuthorizeSingleFlight(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	gate := make(chan struct{})
	f.ccGate = gate
	const callers = 40
	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = authHeader(t, c) })
	}
	// Wait until the one fetch has reached the token endpoint, then let it answer.
	for f.ccHits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != "Bearer cc-secret:client-1" {
			t.Errorf("caller %d: %q, %v, want the one token", i, got[i], errs[i])
		}
	}
	if n := f.ccHits.Load(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

func TestAuthorizeCallerGivesUp(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	gate := make(chan struct{})
	f.ccGate = gate
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.authorize(ctx, httptest.NewRequest(http.MethodPost, "/x", nil)) }()
	for f.ccHits.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("authorize after cancel = %v, want context.Canceled", err)
	}
	// The fetch goes on for the next caller.
	close(gate)
	if got, err := authHeader(t, c); err != nil || got != "Bearer cc-secret:client-1" {
		t.Errorf("authorize = %q, %v, want the token the first fetch got", got, err)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail func(w http.ResponseWriter)
		want error
		code string
	}{
		{"server error", func(w http.ResponseWriter) {
			opJSON(w, 500, map[string]string{"error": "server_error"})
		}, ErrUnavailable, "server_error"},
		{"bad gateway page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<h1>bad gateway</h1>"))
		}, ErrUnavailable, ""},
		{"not a bearer token", func(w http.ResponseWriter) {
			opJSON(w, 200, map[string]any{"access_token": "x", "token_type": "DPoP"})
		}, ErrUnavailable, ""},
		{"unauthorized client", func(w http.ResponseWriter) {
			opJSON(w, 400, map[string]string{"error": "unauthorized_client", "error_description": strings.Repeat("x", 1000)})
		}, nil, "unauthorized_client"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOP(t)
			f.ccError = tt.fail
			_, err := authHeader(t, f.client())
			if err == nil {
				t.Fatal("authorize succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("authorize = %v, want %v", err, tt.want)
			}
			var oe *OAuthError
			if tt.code != "" && (!errors.As(err, &oe) || oe.Code != tt.code || len(oe.Description) > maxDescription+3) {
				t.Errorf("authorize = %v, want an OAuthError %s with a clipped description", err, tt.code)
			}
		})
	}
}

func TestRefreshTime(t *testing.T) {
	sent := time.Unix(1000, 0)
	for _, tt := range []struct {
		expiresIn int64
		want      time.Duration
	}{
		{600, 570 * time.Second},
		{40, 20 * time.Second},
		{0, 30 * time.Second},
		{-5, 30 * time.Second},
	} {
		if got := refreshTime(sent, tt.expiresIn).Sub(sent); got != tt.want {
			t.Errorf("refreshTime(%d) = %v, want %v", tt.expiresIn, got, tt.want)
		}
	}
}
