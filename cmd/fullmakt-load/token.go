package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// RFC 8693's names.
const (
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// tokenAnswer is what the tool reads of a token or introspection response.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	Active      *bool  `json:"active"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// runToken loads the token endpoint (cc, exchange) or the introspection endpoint.
func runToken(ctx context.Context, cfg config, out io.Writer) error {
	if cfg.clientID == "" || cfg.clientSecret == "" {
		return errors.New("-client-id and -client-secret are required")
	}
	auth := basicAuth(cfg.clientID, cfg.clientSecret)
	setup := &http.Client{Timeout: 30 * time.Second}
	endpoint := "/token"
	var (
		bodies []string
		check  func(tokenAnswer) error
	)
	hasToken := func(a tokenAnswer) error {
		if a.AccessToken == "" {
			return errors.New("no access_token in the answer")
		}
		return nil
	}
	switch cfg.mode {
	case "cc":
		bodies = []string{clientCredentialsForm(cfg.scope)}
		check = hasToken
	case "exchange":
		subject := cfg.subjectToken
		if subject == "" {
			var err error
			if subject, err = demoLoginToken(ctx, cfg, auth); err != nil {
				return fmt.Errorf("get a subject token through the demo login (or give -subject-token): %w", err)
			}
		}
		party, err := castMember(cfg.party)
		if err != nil {
			return err
		}
		details, err := json.Marshal([]map[string]any{{
			"type": "representation", "party": map[string]any{"type": "person", "id": party.ID},
			"services": []string{cfg.service}, "actions": []string{"read"},
		}})
		if err != nil {
			return err
		}
		bodies = []string{url.Values{
			"grant_type": {grantTokenExchange}, "subject_token": {subject}, "subject_token_type": {tokenTypeAccessToken},
			"audience": {cfg.audience}, "authorization_details": {string(details)},
		}.Encode()}
		check = hasToken
	case "introspect":
		if cfg.pool < 1 {
			return errors.New("-pool must be at least 1")
		}
		endpoint = "/introspect"
		for range cfg.pool {
			var a tokenAnswer
			if err := post(setup, cfg.url+"/token", auth, clientCredentialsForm(cfg.scope), &a); err != nil {
				return fmt.Errorf("mint the tokens to introspect: %w", err)
			}
			if err := hasToken(a); err != nil {
				return fmt.Errorf("mint the tokens to introspect: %w", err)
			}
			bodies = append(bodies, url.Values{"token": {a.AccessToken}, "token_type_hint": {"access_token"}}.Encode())
		}
		check = func(a tokenAnswer) error {
			if a.Active == nil || !*a.Active {
				return errors.New("the token is not active")
			}
			return nil
		}
	}
	target := cfg.url + endpoint
	fmt.Fprintf(out, "| mode | endpoint | connections | requests/s | p50 ms | p90 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range cfg.conns {
		r, err := measure(ctx, cfg, c, func(client *http.Client, i int) (int, int, error) {
			var a tokenAnswer
			if err := post(client, target, auth, bodies[i%len(bodies)], &a); err != nil {
				return 0, 0, err
			}
			if err := check(a); err != nil {
				return 0, 0, err
			}
			return 1, 1, nil
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| %s | %s | %d | %.0f | %.2f | %.2f | %.2f | %d |\n",
			cfg.mode, endpoint, c, r.rps, ms(r.p50), ms(r.p90), ms(r.p99), r.errors)
	}
	return nil
}

func clientCredentialsForm(scope string) string {
	v := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v.Encode()
}

// basicAuth is client_secret_basic's header (RFC 6749 §2.3.1: both parts
// form-encoded first).
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// post sends a form with the client's authentication and decodes a 200 answer
// into a.
func post(client *http.Client, target, auth, form string, a *tokenAnswer) error {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", auth)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, a); err != nil && resp.StatusCode == http.StatusOK {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d: %s %s", resp.StatusCode, a.Error, a.Description)
	}
	return nil
}

// castMember returns the demo cast member whose first name is first, as the
// server's cast is this month.
func castMember(first string) (demo.Character, error) {
	for _, c := range demo.Cast(time.Now()) {
		if strings.HasPrefix(c.Name, first+" ") {
			return c, nil
		}
	}
	return demo.Character{}, fmt.Errorf("no %q in the demo cast", first)
}

// castIndex returns the position of a cast member: the demo login's form value.
func castIndex(id delegation.PartyID) int {
	for i, c := range demo.Cast(time.Now()) {
		if c.ID == id {
			return i
		}
	}
	return -1
}
