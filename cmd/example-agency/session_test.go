package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// request returns a request carrying the cookies w set.
func request(w *httptest.ResponseRecorder, method, target string, form url.Values) *http.Request {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	return r
}

func TestSessions(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSessions(false)
	s.now = func() time.Time { return now }

	w := httptest.NewRecorder()
	sess := s.start(w)
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != "example-agency-session" || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode || c[0].Secure || c[0].Path != "/" {
		t.Fatalf("the session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", c)
	}
	sess.Login = &personLogin{Subject: "kari", Name: "Kari"}
	s.save(sess)
	got := s.load(request(w, "GET", "/", nil))
	if got == nil || got.Login == nil || got.Login.Subject != "kari" {
		t.Fatalf("load after save = %+v, want Kari's session", got)
	}

	// A form token is checked against the session's.
	if validCSRF(got, request(w, "POST", "/", url.Values{"csrf": {"wrong"}})) {
		t.Error("a wrong form token is accepted")
	}
	if validCSRF(got, request(w, "POST", "/", url.Values{})) {
		t.Error("a missing form token is accepted")
	}
	if !validCSRF(got, request(w, "POST", "/", url.Values{"csrf": {got.csrf}})) {
		t.Error("the right form token is refused")
	}
	if validCSRF(nil, request(w, "POST", "/", url.Values{"csrf": {got.csrf}})) {
		t.Error("a form token without a session is accepted")
	}

	// A login gives a new id and token; the old id is worth nothing.
	w2 := httptest.NewRecorder()
	renewed := s.renew(w2, got)
	if renewed.id == got.id || renewed.csrf == got.csrf || renewed.Login.Subject != "kari" {
		t.Errorf("renew kept the id or the token, or lost the login")
	}
	if s.load(request(w, "GET", "/", nil)) != nil {
		t.Error("the old session id still works after renew")
	}
	if s.load(request(w2, "GET", "/", nil)) == nil {
		t.Error("the new session id does not work")
	}

	// Idle for too long: gone.
	now = now.Add(sessionIdle + time.Second)
	if s.load(request(w2, "GET", "/", nil)) != nil {
		t.Error("a session idle for longer than the limit is still there")
	}

	// Used all the time, it still ends after the absolute limit.
	w3 := httptest.NewRecorder()
	s.start(w3)
	for range int(sessionAbsolute / (10 * time.Minute)) {
		now = now.Add(10 * time.Minute)
		if s.load(request(w3, "GET", "/", nil)) == nil {
			t.Fatal("an active session ended before the absolute limit")
		}
	}
	now = now.Add(10 * time.Minute)
	if s.load(request(w3, "GET", "/", nil)) != nil {
		t.Error("a session outlived the absolute limit")
	}

	// Logging out clears the cookie and the session.
	w4 := httptest.NewRecorder()
	sess = s.start(w4)
	w5 := httptest.NewRecorder()
	s.destroy(w5, sess)
	if s.load(request(w4, "GET", "/", nil)) != nil {
		t.Error("a destroyed session still loads")
	}
	if c := w5.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
		t.Errorf("destroy's cookie = %+v, want one that expires", c)
	}
	s.save(sess) // saving a destroyed session does not bring it back
	if s.load(request(w4, "GET", "/", nil)) != nil {
		t.Error("save brought a destroyed session back")
	}
}

func TestSessionsSecureCookie(t *testing.T) {
	w := httptest.NewRecorder()
	newSessions(true).start(w)
	c := w.Result().Cookies()
	if len(c) != 1 || c[0].Name != "__Host-example-agency-session" || !c[0].Secure {
		t.Errorf("on https the cookie = %+v, want __Host- and Secure", c)
	}
}

func TestSessionsLimit(t *testing.T) {
	s := newSessions(false)
	for range maxSessions + 10 {
		s.start(httptest.NewRecorder())
	}
	if n := len(s.byID); n > maxSessions {
		t.Errorf("%d sessions kept, want at most %d", n, maxSessions)
	}
}
