package sdk

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExchange(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	var form url.Values
	f.exchange = func(got url.Values) (int, any) {
		form = got
		return 200, map[string]any{
			"access_token": "exchanged", "token_type": "bearer", "expires_in": 300, "scope": "openid profile",
			"issued_token_type": tokenTypeAccessToken,
		}
	}
	x, err := c.Exchange(context.Background(), "the-person's-token", Person("21212112345"), "https://diplomas.example", "udir.vitnemal")
	if err != nil {
		t.Fatalf("Exchange = %v", err)
	}
	want := &Exchanged{AccessToken: "exchanged", TokenType: "bearer", Expiry: f.clock.Now().Add(300 * time.Second), Scopes: []string{"openid", "profile"}}
	if diff := cmp.Diff(want, x); diff != "" {
		t.Errorf("Exchange: -want +got\n%s", diff)
	}
	for name, v := range map[string]string{
		"grant_type":         "urn:ietf:params:oauth:grant-type:token-exchange",
		"subject_token":      "the-person's-token",
		"subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
		"audience":           "https://diplomas.example",
	} {
		if got := form.Get(name); got != v {
			t.Errorf("%s = %q, want %q", name, got, v)
		}
	}
	var details any
	if err := json.Unmarshal([]byte(form.Get("authorization_details")), &details); err != nil {
		t.Fatal(err)
	}
	wantDetails := []any{map[string]any{
		"type": "representation", "party": map[string]any{"type": "person", "id": "21212112345"}, "services": []any{"udir.vitnemal"},
	}}
	if diff := cmp.Diff(wantDetails, details); diff != "" {
		t.Errorf("authorization_details: -want +got\n%s", diff)
	}
}

func TestExchangeErrors(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
		body   any
		check  func(t *testing.T, err error)
	}{
		{"step-up", 400, map[string]any{"error": "insufficient_user_authentication", "acr_values": "http://eidas.europa.eu/LoA/high", "max_age": 300},
			func(t *testing.T, err error) {
				var su *StepUpError
				if !errors.As(err, &su) || su.ACRValues != "http://eidas.europa.eu/LoA/high" || su.MaxAge != 5*time.Minute {
					t.Errorf("Exchange = %v, want a step-up to high within 5 minutes", err)
				}
			}},
		{"step-up without max_age", 400, map[string]any{"error": "insufficient_user_authentication", "acr_values": "idporten-loa-high"},
			func(t *testing.T, err error) {
				var su *StepUpError
				if !errors.As(err, &su) || su.ACRValues != "idporten-loa-high" || su.MaxAge != 0 {
					t.Errorf("Exchange = %v, want a step-up to idporten-loa-high", err)
				}
			}},
		{"denied", 400, map[string]any{"error": "access_denied", "error_description": "The person may not read."},
			func(t *testing.T, err error) {
				var oe *OAuthError
				if !errors.Is(err, ErrDenied) || !errors.As(err, &oe) || oe.Description != "The person may not read." {
					t.Errorf("Exchange = %v, want access_denied matching ErrDenied", err)
				}
			}},
		{"invalid target", 400, map[string]any{"error": "invalid_target"},
			func(t *testing.T, err error) {
				var oe *OAuthError
				if !errors.As(err, &oe) || oe.Code != "invalid_target" || errors.Is(err, ErrDenied) || errors.Is(err, ErrUnavailable) {
					t.Errorf("Exchange = %v, want invalid_target only", err)
				}
			}},
		{"server error", 500, map[string]any{"error": "server_error"},
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("Exchange = %v, want ErrUnavailable", err)
				}
			}},
		{"a proxy's page", 502, "<html>bad gateway</html>",
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("Exchange = %v, want ErrUnavailable", err)
				}
			}},
		{"a refresh token issued", 200, map[string]any{"access_token": "x", "token_type": "Bearer", "issued_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
			func(t *testing.T, err error) {
				if !errors.Is(err, ErrUnavailable) {
					t.Errorf("Exchange = %v, want ErrUnavailable", err)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeOP(t)
			c := f.client()
			f.exchange = func(url.Values) (int, any) { return tt.status, tt.body }
			x, err := c.Exchange(context.Background(), "tok", Organization("960885406"), "https://diplomas.example", "udir.vitnemal")
			if err == nil {
				t.Fatalf("Exchange = %+v, want an error", x)
			}
			tt.check(t, err)
		})
	}
}

func TestExchangeUnreachable(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	f.srv.Close()
	_, err := c.Exchange(context.Background(), "tok", Person("21212112345"), "https://diplomas.example", "udir.vitnemal")
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("Exchange with Fullmakt down = %v, want ErrUnavailable", err)
	}
}

func TestExchangeArguments(t *testing.T) {
	f := newFakeOP(t)
	c := f.client()
	ctx := context.Background()
	for _, tt := range []struct {
		name     string
		token    string
		party    Party
		audience string
		services []string
	}{
		{"no token", "", Person("1"), "a", []string{"s"}},
		{"no party", "t", Party{}, "a", []string{"s"}},
		{"party of no type", "t", Party{ID: "1"}, "a", []string{"s"}},
		{"no audience", "t", Person("1"), "", []string{"s"}},
		{"no service", "t", Person("1"), "a", nil},
	} {
		if _, err := c.Exchange(ctx, tt.token, tt.party, tt.audience, tt.services...); err == nil {
			t.Errorf("Exchange(%s) succeeded", tt.name)
		}
	}
	apiKeyOnly := f.client(func(cfg *Config) { cfg.ClientSecret, cfg.APIKey = "", "k" })
	if _, err := apiKeyOnly.Exchange(ctx, "t", Person("1"), "a", "s"); !errors.Is(err, ErrConfig) {
		t.Errorf("Exchange without client credentials = %v, want ErrConfig", err)
	}
}
