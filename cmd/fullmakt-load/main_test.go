package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// TestRun drives a stand-in decision API (the real one is measured in
// docs/BENCHMARKS.md) and checks what fullmakt-load sends and reports.
func TestRun(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "feed.jsonl")
	var buf bytes.Buffer
	if _, err := demo.Generate(&buf, demo.Options{Persons: 500, Seed: 1, Now: time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(feed, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var calls, batched atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer k" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var body struct {
			Subject     struct{ ID string } `json:"subject"`
			Evaluations []json.RawMessage   `json:"evaluations"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		calls.Add(1)
		switch r.URL.Path {
		case "/access/v1/evaluation":
			if body.Subject.ID == "" {
				http.Error(w, "no subject", http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"decision": true}`))
		case "/access/v1/evaluations":
			batched.Add(int64(len(body.Evaluations)))
			w.Write([]byte(`{"evaluations": [` + strings.TrimSuffix(strings.Repeat(`{"decision": false},`, len(body.Evaluations)), ",") + `]}`))
		}
	}))
	defer srv.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", srv.URL, "-key", "k", "-feed", feed, "-c", "2", "-d", "300ms", "-warmup", "50ms", "-samples", "50"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() == 0 || !strings.Contains(out.String(), "| /access/v1/evaluation | 1 | 2 |") || !strings.Contains(out.String(), "| 0 | 100 % |") {
		t.Errorf("run() made %d calls and printed:\n%s\nwant a row for 2 connections, no errors, all allowed", calls.Load(), out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"-url", srv.URL, "-key", "k", "-feed", feed, "-c", "1", "-d", "200ms", "-warmup", "0s", "-batch", "10", "-samples", "50"}, &out); err != nil {
		t.Fatal(err)
	}
	if batched.Load() == 0 || batched.Load()%10 != 0 || !strings.Contains(out.String(), "| 0 | 0 % |") {
		t.Errorf("batch run sent %d evaluations and printed:\n%s\nwant multiples of 10, all denied", batched.Load(), out.String())
	}
	if err := run(context.Background(), []string{"-url", srv.URL, "-key", "wrong", "-feed", feed, "-c", "1", "-d", "100ms", "-warmup", "0s", "-samples", "20"}, io.Discard); err == nil || !strings.Contains(err.Error(), "no call answered") {
		t.Errorf("run() with a wrong key = %v, want an error saying no call was answered", err)
	}
	if err := run(context.Background(), []string{"-feed", feed}, &out); err == nil {
		t.Error("run() without a key succeeded")
	}
}

// tokenServer is a stand-in for the OAuth endpoints of `fullmakt serve --demo`: it
// checks what fullmakt-load sends, as the real server would, and counts it.
type tokenServer struct {
	mu          sync.Mutex
	state       string          // of the last authorization request
	introspects map[string]bool // tokens introspected
	counts      map[string]int  // requests by grant type or path
}

func (s *tokenServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(format string, args ...any) { http.Error(w, fmt.Sprintf(format, args...), http.StatusBadRequest) }
	if r.Method == http.MethodPost && r.URL.Path != "/login/demo" {
		if id, secret, ok := r.BasicAuth(); !ok || id != demoClientID || secret != demoClientSecret {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
	}
	if err := r.ParseForm(); err != nil {
		fail("%v", err)
		return
	}
	kari, _ := castMember("Kari")
	emma, _ := castMember("Emma")
	switch r.URL.Path {
	case "/authorize":
		if r.Form.Get("code_challenge_method") != "S256" || r.Form.Get("client_id") != demoClientID || r.Form.Get("redirect_uri") != demoRedirectURI {
			fail("bad authorization request %v", r.Form)
			return
		}
		s.state = r.Form.Get("state")
		http.Redirect(w, r, "/login/choose?flow=F1", http.StatusSeeOther)
	case "/login/choose":
		fmt.Fprint(w, `<a href="/login/method/demo?flow=F1">Demo eID</a>`)
	case "/login/method/demo":
		if r.Form.Get("flow") != "F1" {
			fail("bad flow %q", r.Form.Get("flow"))
			return
		}
		// The real page's form, in short: the flow, the form token, the people
		// (not in the cast's order), the levels.
		fmt.Fprint(w, `<form method="post" action="/login/cancel"><input type="hidden" name="csrf" value="C2"></form>`)
		fmt.Fprint(w, `<form method="post" action="/login/demo" novalidate>
  <input type="hidden" name="csrf" value="C1">
  <input type="hidden" name="flow" value="F1">`)
		cast := demo.Cast(time.Now())
		for i := len(cast) - 1; i >= 0; i-- {
			fmt.Fprintf(w, `<input type="radio" id="person-%d" name="person" value="p%d"><label for="person-%d">%s (%d)</label>`, i, i, i, html.EscapeString(cast[i].Name), cast[i].Age)
		}
		fmt.Fprint(w, `<input type="radio" id="level-0" name="level" value="high"><label for="level-0">High</label></form>`)
	case "/login/demo":
		if r.PostForm.Get("flow") != "F1" || r.PostForm.Get("csrf") != "C1" || r.PostForm.Get("person") != "p"+strconv.Itoa(castIndex(kari.ID)) || r.PostForm.Get("level") != "high" {
			fail("bad login form %v", r.PostForm)
			return
		}
		http.Redirect(w, r, "/login/next?flow=F1", http.StatusSeeOther)
	case "/login/next":
		http.Redirect(w, r, demoRedirectURI+"?code=the-code&state="+url.QueryEscape(s.state), http.StatusSeeOther)
	case "/token":
		grant := r.PostForm.Get("grant_type")
		s.counts[grant]++
		switch grant {
		case "client_credentials":
			fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"bearer"}`, s.counts[grant])
		case "authorization_code":
			if r.PostForm.Get("code") != "the-code" || r.PostForm.Get("code_verifier") == "" {
				fail("bad code exchange %v", r.PostForm)
				return
			}
			fmt.Fprint(w, `{"access_token":"subject"}`)
		case grantTokenExchange:
			if r.PostForm.Get("subject_token") != "subject" || r.PostForm.Get("audience") != demoAudience ||
				!strings.Contains(r.PostForm.Get("authorization_details"), `"id":"`+string(emma.ID)+`"`) {
				fail("bad token exchange %v", r.PostForm)
				return
			}
			fmt.Fprint(w, `{"access_token":"exchanged","issued_token_type":"`+tokenTypeAccessToken+`"}`)
		default:
			fail("unsupported grant %q", grant)
		}
	case "/introspect":
		s.counts["introspect"]++
		s.introspects[r.PostForm.Get("token")] = true
		fmt.Fprint(w, `{"active":true}`)
	default:
		http.NotFound(w, r)
	}
}

func TestTokenModes(t *testing.T) {
	stand := &tokenServer{introspects: map[string]bool{}, counts: map[string]int{}}
	srv := httptest.NewServer(stand)
	defer srv.Close()
	short := []string{"-url", srv.URL, "-c", "2", "-d", "200ms", "-warmup", "20ms"}
	count := func(key string) int {
		stand.mu.Lock()
		defer stand.mu.Unlock()
		return stand.counts[key]
	}

	var out bytes.Buffer
	if err := run(t.Context(), append([]string{"-mode", "cc"}, short...), &out); err != nil {
		t.Fatal(err)
	}
	if count("client_credentials") == 0 || !strings.Contains(out.String(), "| cc | /token | 2 |") || !strings.HasSuffix(out.String(), "| 0 |\n") {
		t.Errorf("-mode cc made %d requests and printed:\n%s\nwant a row for 2 connections and no errors", count("client_credentials"), out.String())
	}

	out.Reset()
	if err := run(t.Context(), append([]string{"-mode", "exchange"}, short...), &out); err != nil {
		t.Fatal(err)
	}
	if count("authorization_code") != 1 || count(grantTokenExchange) == 0 || !strings.Contains(out.String(), "| exchange | /token | 2 |") {
		t.Errorf("-mode exchange: %d code exchanges, %d token exchanges; printed:\n%s\nwant one login and many exchanges",
			count("authorization_code"), count(grantTokenExchange), out.String())
	}
	exchanges := count(grantTokenExchange)
	if err := run(t.Context(), append([]string{"-mode", "exchange", "-subject-token", "subject"}, short...), io.Discard); err != nil {
		t.Fatal(err)
	}
	if count("authorization_code") != 1 || count(grantTokenExchange) == exchanges {
		t.Errorf("-mode exchange -subject-token logged in again (%d code exchanges) or did not exchange", count("authorization_code"))
	}

	out.Reset()
	cc := count("client_credentials")
	if err := run(t.Context(), append([]string{"-mode", "introspect", "-pool", "5"}, short...), &out); err != nil {
		t.Fatal(err)
	}
	stand.mu.Lock()
	distinct := len(stand.introspects)
	stand.mu.Unlock()
	if count("client_credentials")-cc != 5 || distinct != 5 || count("introspect") <= 5 || !strings.Contains(out.String(), "| introspect | /introspect | 2 |") {
		t.Errorf("-mode introspect -pool 5 minted %d tokens, introspected %d distinct ones in %d requests; printed:\n%s",
			count("client_credentials")-cc, distinct, count("introspect"), out.String())
	}

	if err := run(t.Context(), append([]string{"-mode", "cc", "-client-secret", "wrong"}, short...), io.Discard); err == nil || !strings.Contains(err.Error(), "no call answered") {
		t.Errorf("-mode cc with a wrong secret = %v, want no call answered", err)
	}
	if err := run(t.Context(), []string{"-mode", "frob"}, io.Discard); err == nil {
		t.Error("-mode frob succeeded")
	}
}
