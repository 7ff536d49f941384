package login

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// These tests drive the login over HTTP as a browser would, with the real OAuth
// server as the client's side: see fixture_test.go.

// clientLogin logs the browser in to the fixture's client with the demo eID (from
// the method chooser, or the step-up page when the browser has a session) as
// person i at level, and redeems the code.
func clientLogin(t *testing.T, f *loginFixture, b *fixtureBrowser, i int, level authz.Level, extra url.Values) fixtureTokens {
	t.Helper()
	a := f.authorize(extra)
	return f.exchange(a, f.code(a, b.demo(b.open(a.url), i, level)))
}

// wantPath fails the test unless r is a page (200) at path.
func wantPath(t *testing.T, r *fixtureResponse, path string) {
	t.Helper()
	u, err := url.Parse(r.url)
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || u.Path != path {
		t.Fatalf("Got(%s) = %v, want the page %s", r.url, r, path)
	}
}

// wantLoginRedirect fails the test unless r sends the browser to log in.
func wantLoginRedirect(t *testing.T, r *fixtureResponse) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.location == nil || r.location.Path != "/login" {
		t.Errorf("Got(%s %s) = %v, want a redirect to /login", r.method, r.url, r)
	}
}

func TestLoginThroughDemoEID(t *testing.T) {
	tests := []struct {
		name    string
		tls     bool
		session string
		browser string
		secure  bool
	}{
		{"http on a loopback address", false, "fullmakt-session", "fullmakt-browser", false},
		{"https", true, "__Host-fullmakt-session", "__Host-fullmakt-browser", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{tls: tt.tls})
			b := f.browser()
			a := f.authorize(nil)

			start := b.get(a.url)
			if start.status != http.StatusSeeOther || start.location == nil || start.location.Path != "/login/choose" {
				t.Fatalf("Got(GET /authorize) = %v, want a redirect to /login/choose", start)
			}
			choose := b.follow(start)
			wantPath(t, choose, "/login/choose")
			if !strings.Contains(choose.body, "Log in to Lånekassen") {
				t.Errorf("Got(the method chooser) lacks the client's name")
			}
			link := demoLink.FindStringSubmatch(choose.body)
			if link == nil {
				t.Fatalf("Got(the method chooser) = %v, want a link to the demo eID", choose)
			}
			form := b.get(link[1])
			wantPath(t, form, "/login/method/demo")
			if !strings.Contains(form.body, "This is a test login, not a real eID.") {
				t.Errorf("Got(the demo eID's form) does not say it is a test login")
			}
			posted := b.submitDemo(form, 0, authz.LevelSubstantial)
			if posted.status != http.StatusSeeOther || posted.location.Path != "/login/next" {
				t.Fatalf("Got(POST /login/demo) = %v, want a redirect to /login/next", posted)
			}
			tok := f.exchange(a, f.code(a, b.follow(posted)))
			claims := f.idClaims(tok.ID)
			if claims["acr"] != authz.LevelSubstantial.ACR() || claims["sub"] != f.server.Subject(f.people[0].ID) {
				t.Errorf("Got(ID token acr, sub) = %v, %v, want %s and Kari's sub", claims["acr"], claims["sub"], authz.LevelSubstantial.ACR())
			}

			for _, c := range []*http.Cookie{start.cookie(tt.browser), posted.cookie(tt.session)} {
				if c == nil {
					t.Fatalf("Got(cookies %s, %s) = %v, %v, want both", tt.browser, tt.session, start.cookies, posted.cookies)
				}
				got := []any{c.HttpOnly, c.SameSite, c.Secure, c.Path, c.Domain, c.Value != ""}
				want := []any{true, http.SameSiteLaxMode, tt.secure, "/", "", true}
				if !slices.Equal(got, want) {
					t.Errorf("Got(cookie %s HttpOnly, SameSite, Secure, Path, Domain, has a value) = %v, want %v", c.Name, got, want)
				}
			}
		})
	}
}

func TestSessionRotation(t *testing.T) {
	f := newLoginFixture(t, fixtureOptions{})
	b := f.browser()

	// A session value planted before the login is never adopted.
	planted := "planted-by-someone-else-0123456789abcdefghijklmnop"
	b.setSession(planted)
	kari := clientLogin(t, f, b, 0, authz.LevelSubstantial, nil)
	values := []string{b.sessionValue()}
	if values[0] == "" || values[0] == planted {
		t.Fatalf("Got(session after login) = %q, want a new value", values[0])
	}

	steps := []struct {
		name   string
		login  func() *fixtureResponse
		person int
		level  authz.Level
	}{
		{"a client's prompt=login", func() *fixtureResponse {
			a := f.authorize(url.Values{"prompt": {"login"}})
			r := b.demo(b.open(a.url), 0, authz.LevelSubstantial)
			f.code(a, r)
			return r
		}, 0, authz.LevelSubstantial},
		{"the portal's step-up", func() *fixtureResponse {
			return b.demo(b.open("/test/confirm"), 0, authz.LevelHigh)
		}, 0, authz.LevelHigh},
		{"another person in the same browser", func() *fixtureResponse {
			a := f.authorize(url.Values{"prompt": {"login"}})
			r := b.demo(b.open(a.url), 1, authz.LevelSubstantial)
			f.code(a, r)
			return r
		}, 1, authz.LevelSubstantial},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			old := values[len(values)-1]
			step.login()
			now := b.sessionValue()
			if now == "" || slices.Contains(values, now) {
				t.Fatalf("Got(session value after %s) = %q, want a new one (before: %q)", step.name, now, values)
			}
			values = append(values, now)
			if _, ok := f.sessionRecord(old); ok {
				t.Errorf("Got(the old session's record) is still stored")
			}
			stale := f.browser()
			stale.setSession(old)
			wantLoginRedirect(t, stale.get("/account"))
			sess, ok := f.sessionRecord(now)
			if !ok || sess.Person != f.people[step.person].ID || sess.Level != step.level {
				t.Errorf("Got(session) = %v %v at %v, want %s at %v", ok, sess.Name, sess.Level, f.people[step.person].Name, step.level)
			}
		})
	}

	// Kari's tokens were issued in the session Ola's login replaced.
	if r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {kari.Refresh}}); r.Error != "invalid_grant" {
		t.Errorf("Got(refresh of Kari's token after Ola logged in) = %d %q, want invalid_grant", r.status, r.Error)
	}
}

// sessionAge is how a single sign-on test begins.
type sessionAge int

const (
	noSession sessionAge = iota
	freshSession
	minuteOldSession
)

func TestSingleSignOn(t *testing.T) {
	tests := []struct {
		name    string
		session sessionAge
		params  url.Values
		// stepUp: the step-up page, then a code after logging in again; else
		// errCode: the error the client gets; else a code straight away.
		stepUp  bool
		errCode string
	}{
		{"second request", freshSession, nil, false, ""},
		{"prompt=none with a session", freshSession, url.Values{"prompt": {"none"}}, false, ""},
		{"prompt=none without a session", noSession, url.Values{"prompt": {"none"}}, false, "login_required"},
		{"prompt=none above the session's level", freshSession,
			url.Values{"prompt": {"none"}, "acr_values": {authz.LevelHigh.ACR()}}, false, "login_required"},
		{"prompt=none, max_age=0", minuteOldSession, url.Values{"prompt": {"none"}, "max_age": {"0"}}, false, "login_required"},
		{"prompt=login, a session of a minute ago", minuteOldSession, url.Values{"prompt": {"login"}}, true, ""},
		{"prompt=login, a session of this moment", freshSession, url.Values{"prompt": {"login"}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			var first fixtureTokens
			if tt.session != noSession {
				if tt.session == minuteOldSession {
					f.clock.set(-time.Minute)
				}
				first = clientLogin(t, f, b, 0, authz.LevelSubstantial, nil)
				f.clock.set(0)
			}
			value := b.sessionValue()

			requested := time.Now()
			a := f.authorize(tt.params)
			r := b.get(a.url)
			switch {
			case tt.stepUp:
				page := b.follow(r)
				wantPath(t, page, "/login/step-up")
				if !strings.Contains(page.body, "Lånekassen needs you to confirm who you are again") {
					t.Errorf("Got(step-up page) does not say the client needs a new login:\n%s", page.body)
				}
				tok := f.exchange(a, f.code(a, b.demo(page, 0, authz.LevelSubstantial)))
				if got, first := f.authTime(tok.ID), f.authTime(first.ID); got < requested.Unix() || (tt.session == minuteOldSession && got <= first) {
					t.Errorf("Got(auth_time after prompt=login) = %d, want at or after the request (%d) and after the first login (%d)", got, requested.Unix(), first)
				}
				if sess, _ := f.sessionRecord(b.sessionValue()); sess.AuthTime.Before(requested) {
					t.Errorf("Got(session's auth time) = %v, want after the request %v", sess.AuthTime, requested)
				}
			case tt.errCode != "":
				if r.location == nil || r.param("error") != tt.errCode || r.param("state") != a.state {
					t.Errorf("Got(GET /authorize) = %v, want a redirect to the client with error=%s", r, tt.errCode)
				}
				if got := b.sessionValue(); got != value {
					t.Errorf("Got(session value) = %q, want it unchanged %q", got, value)
				}
			default:
				// No page: the first answer is the redirect to the client.
				tok := f.exchange(a, f.code(a, r))
				if got, want := f.authTime(tok.ID), f.authTime(first.ID); got != want {
					t.Errorf("Got(auth_time of the single sign-on) = %d, want the first login's %d", got, want)
				}
				if got := b.sessionValue(); got != value {
					t.Errorf("Got(session value after single sign-on) = %q, want it unchanged", got)
				}
			}
		})
	}
}

func TestStepUpByLevel(t *testing.T) {
	t.Run("acr_values above the session's level", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		clientLogin(t, f, b, 0, authz.LevelSubstantial, nil)
		a := f.authorize(url.Values{"acr_values": {authz.LevelHigh.ACR()}})
		page := b.open(a.url)
		wantPath(t, page, "/login/step-up")
		for _, want := range []string{"Lånekassen needs the level of assurance high. You are logged in at substantial.", "TestID (demo eID)"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("Got(step-up page) lacks %q", want)
			}
		}
		form := b.demoForm(page)
		if strings.Contains(form.body, `value="substantial"`) || !strings.Contains(form.body, `value="high"`) {
			t.Errorf("Got(demo eID's levels for a flow at high) = offers substantial or lacks high")
		}
		// The demo eID refuses a level below the flow's.
		if r := b.submitDemo(form, 0, authz.LevelSubstantial); r.status != http.StatusUnprocessableEntity {
			t.Errorf("Got(POST /login/demo at substantial for high) = %v, want 422", r)
		}
		tok := f.exchange(a, f.code(a, b.follow(b.submitDemo(form, 0, authz.LevelHigh))))
		if got := f.idClaims(tok.ID)["acr"]; got != authz.LevelHigh.ACR() {
			t.Errorf("Got(acr after the step-up) = %v, want %s", got, authz.LevelHigh.ACR())
		}
	})

	for _, age := range []struct {
		name string
		age  time.Duration
	}{{"a session of a minute ago", time.Minute}, {"a session of this moment", 0}} {
		t.Run("max_age=0, "+age.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			f.clock.set(-age.age)
			clientLogin(t, f, b, 0, authz.LevelSubstantial, nil)
			f.clock.set(0)
			requested := time.Now()
			a := f.authorize(url.Values{"max_age": {"0"}})
			page := b.open(a.url)
			wantPath(t, page, "/login/step-up")
			tok := f.exchange(a, f.code(a, b.demo(page, 0, authz.LevelSubstantial)))
			if got := f.authTime(tok.ID); got < requested.Unix() {
				t.Errorf("Got(auth_time for max_age=0) = %d, want at or after the request %d", got, requested.Unix())
			}
		})
	}

	t.Run("no way to reach the level", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{noDemo: true})
		b := f.browser()
		b.giveSession(0, authz.LevelSubstantial)
		a := f.authorize(url.Values{"acr_values": {authz.LevelHigh.ACR()}})
		page := b.open(a.url)
		wantPath(t, page, "/login/step-up")
		for _, want := range []string{"You cannot reach this level here", "None of your ways to log in gives the level of assurance high.", "Go back to the service"} {
			if !strings.Contains(page.body, want) {
				t.Errorf("Got(step-up page without a way) lacks %q", want)
			}
		}
		if page.field("unmet") == "" {
			t.Fatalf("Got(step-up page without a way) has no unmet field:\n%s", page.body)
		}
		r := b.post("/login/cancel", url.Values{"csrf": {page.field("csrf")}, "flow": {page.field("flow")}, "unmet": {page.field("unmet")}})
		if r.location == nil || r.param("error") != "unmet_authentication_requirements" || r.param("state") != a.state {
			t.Errorf("Got(POST /login/cancel) = %v, want a redirect to the client with error=unmet_authentication_requirements", r)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	t.Run("idle", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		b.portalLogin(0, authz.LevelSubstantial)
		f.clock.advance(30 * time.Minute)
		wantLoginRedirect(t, b.get("/account"))
	})

	t.Run("kept alive by use", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		b.portalLogin(0, authz.LevelSubstantial)
		for i := 1; i <= 6; i++ {
			f.clock.advance(10 * time.Minute)
			if r := b.get("/account"); r.status != http.StatusOK {
				t.Fatalf("Got(GET /account after %d minutes of use) = %v, want 200", 10*i, r)
			}
		}
		f.clock.advance(30 * time.Minute)
		wantLoginRedirect(t, b.get("/account"))
	})

	t.Run("absolute, across a step-up", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		b.portalLogin(0, authz.LevelSubstantial)
		for elapsed := 20 * time.Minute; elapsed < 8*time.Hour; elapsed += 20 * time.Minute {
			f.clock.advance(20 * time.Minute)
			if elapsed == 4*time.Hour {
				if r := b.demo(b.open("/test/confirm"), 0, authz.LevelHigh); r.status != http.StatusOK || r.body != "done at high" {
					t.Fatalf("Got(step-up after 4 hours) = %v, want done at high", r)
				}
				continue
			}
			if r := b.get("/account"); r.status != http.StatusOK {
				t.Fatalf("Got(GET /account after %s) = %v, want 200", elapsed, r)
			}
		}
		f.clock.advance(19 * time.Minute)
		if r := b.get("/account"); r.status != http.StatusOK {
			t.Fatalf("Got(GET /account a minute before 8 hours) = %v, want 200", r)
		}
		f.clock.advance(time.Minute)
		wantLoginRedirect(t, b.get("/account"))
	})

	t.Run("last seen written once a minute", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		b.portalLogin(0, authz.LevelSubstantial)
		value := b.sessionValue()
		key := hashKey(value)
		login, _ := f.sessionRecord(value)
		writes := f.grants.sessionWrites(key)
		for i := 1; i <= 5; i++ {
			f.clock.advance(10 * time.Second)
			b.get("/account")
			b.get("/account")
		}
		if got := f.grants.sessionWrites(key); got != writes {
			t.Errorf("Got(session writes within a minute of use) = %d, want %d", got-writes, 0)
		}
		if sess, _ := f.sessionRecord(value); !sess.LastSeen.Equal(login.LastSeen) {
			t.Errorf("Got(LastSeen within a minute) = %v, want %v", sess.LastSeen, login.LastSeen)
		}
		f.clock.advance(10 * time.Second)
		before := f.clock.now()
		b.get("/account")
		b.get("/account")
		if got := f.grants.sessionWrites(key); got != writes+1 {
			t.Errorf("Got(session writes after a minute) = %d, want 1", got-writes)
		}
		if sess, _ := f.sessionRecord(value); sess.LastSeen.Before(before) || sess.LastSeen.After(f.clock.now()) {
			t.Errorf("Got(LastSeen after a minute) = %v, want about %v", sess.LastSeen, before)
		}
	})
}

func TestLogout(t *testing.T) {
	t.Run("ends the session and revokes its grants", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		tok := clientLogin(t, f, b, 0, authz.LevelSubstantial, nil)
		// Single sign-on in the same session: its grant is the session's too.
		a := f.authorize(nil)
		second := f.exchange(a, f.code(a, b.get(a.url)))
		value := b.sessionValue()
		account := b.get("/account")
		r := b.post("/account/logout", url.Values{"csrf": {account.field("csrf")}})
		if r.status != http.StatusSeeOther || r.location.Path != "/logged-out" {
			t.Fatalf("Got(POST /account/logout) = %v, want a redirect to /logged-out", r)
		}
		if c := r.cookie(f.s.sessionCookie); c == nil || c.MaxAge >= 0 || c.Value != "" {
			t.Errorf("Got(session cookie of the logout) = %v, want it cleared", c)
		}
		if b.sessionValue() != "" {
			t.Errorf("Got(browser's session cookie after logout) = %q, want none", b.sessionValue())
		}
		if page := b.follow(r); page.status != http.StatusOK || !strings.Contains(page.body, "You are logged out") {
			t.Errorf("Got(the logged-out page) = %v", page)
		}
		wantLoginRedirect(t, b.get("/account"))
		stale := f.browser()
		stale.setSession(value)
		wantLoginRedirect(t, stale.get("/account"))
		for i, tok := range []fixtureTokens{tok, second} {
			if r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}); r.Error != "invalid_grant" {
				t.Errorf("Got(refresh of grant %d after logout) = %d %q, want invalid_grant", i, r.status, r.Error)
			}
			if f.active(tok.Access) {
				t.Errorf("Got(introspect access token %d after logout) = active, want inactive", i)
			}
		}
	})

	t.Run("needs the form token", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		b.portalLogin(0, authz.LevelSubstantial)
		other := f.browser()
		other.portalLogin(0, authz.LevelSubstantial)
		flow := b.open("/test/confirm")
		for _, tt := range []struct {
			name string
			form url.Values
		}{
			{"none", url.Values{}},
			{"another session's", url.Values{"csrf": {other.get("/account").field("csrf")}}},
			{"made up", url.Values{"csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}},
			{"a flow's", url.Values{"csrf": {f.s.csrf.Token(flowBinding(&Flow{ID: flow.field("flow")}))}}},
		} {
			for _, path := range []string{"/account/logout", "/account/logout-everywhere"} {
				if r := b.post(path, tt.form); r.status != http.StatusForbidden {
					t.Errorf("Got(POST %s with %s form token) = %v, want 403", path, tt.name, r)
				}
			}
		}
		wantPath(t, b.get("/account"), "/account")
		wantPath(t, other.get("/account"), "/account")
	})

	t.Run("everywhere", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		here, there, ola := f.browser(), f.browser(), f.browser()
		here.portalLogin(0, authz.LevelSubstantial)
		there.portalLogin(0, authz.LevelHigh)
		ola.portalLogin(1, authz.LevelSubstantial)
		r := here.post("/account/logout-everywhere", url.Values{"csrf": {here.get("/account").field("csrf")}})
		if r.status != http.StatusSeeOther || r.location.Path != "/logged-out" {
			t.Fatalf("Got(POST /account/logout-everywhere) = %v, want a redirect to /logged-out", r)
		}
		wantLoginRedirect(t, here.get("/account"))
		wantLoginRedirect(t, there.get("/account"))
		wantPath(t, ola.get("/account"), "/account")
	})

	t.Run("RP-initiated", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		tok := clientLogin(t, f, b, 0, authz.LevelSubstantial, nil)
		r := b.get("/logout?" + url.Values{"id_token_hint": {tok.ID}, "post_logout_redirect_uri": {fxLoggedOut}, "state": {"bye-state"}}.Encode())
		if r.location == nil || r.location.String() != fxLoggedOut+"?state=bye-state" {
			t.Errorf("Got(GET /logout) = %v, want a redirect to %s", r, fxLoggedOut)
		}
		wantLoginRedirect(t, b.get("/account"))
		if r := f.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.Refresh}}); r.Error != "invalid_grant" {
			t.Errorf("Got(refresh after RP-initiated logout) = %d %q, want invalid_grant", r.status, r.Error)
		}
	})
}

func TestFlowBinding(t *testing.T) {
	const expired = "This login has expired or has already been used."
	t.Run("another browser", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		owner, stranger := f.browser(), f.browser()
		a := f.authorize(nil)
		choose := owner.open(a.url)
		form := owner.demoForm(choose)
		flow := form.field("flow")
		// The stranger has a browser cookie of its own, from a flow of its own.
		stranger.open(f.authorize(nil).url)
		for _, r := range []*fixtureResponse{
			stranger.get("/login/choose?flow=" + url.QueryEscape(flow)),
			stranger.get("/login/method/demo?flow=" + url.QueryEscape(flow)),
			stranger.get("/login/next?flow=" + url.QueryEscape(flow)),
			stranger.get("/login/step-up?flow=" + url.QueryEscape(flow)),
			stranger.post("/login/demo", url.Values{"csrf": {form.field("csrf")}, "flow": {flow}, "person": {"0"}, "level": {"substantial"}}),
			stranger.post("/login/cancel", url.Values{"csrf": {form.field("csrf")}, "flow": {flow}}),
		} {
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, expired) {
				t.Errorf("Got(%s %s from another browser) = %v, want 400 and the expired page", r.method, r.url, r)
			}
		}
		if stranger.sessionValue() != "" {
			t.Errorf("Got(the stranger's session) = a session, want none")
		}
		// The flow is still its owner's.
		f.code(a, owner.follow(owner.submitDemo(form, 0, authz.LevelSubstantial)))
	})

	for _, tt := range []struct {
		name   string
		after  time.Duration
		status int
	}{
		{"a minute before the flow's lifetime", 14 * time.Minute, http.StatusOK},
		{"at the flow's lifetime", 15 * time.Minute, http.StatusBadRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			choose := b.open("/login")
			f.clock.advance(tt.after)
			link := demoLink.FindStringSubmatch(choose.body)
			if link == nil {
				t.Fatalf("Got(the method chooser) = %v, want a link to the demo eID", choose)
			}
			r := b.get(link[1])
			if r.status != tt.status || (tt.status == http.StatusBadRequest) != strings.Contains(r.body, expired) {
				t.Errorf("Got(the demo eID after %s) = %v, want %d", tt.after, r, tt.status)
			}
		})
	}

	t.Run("unknown flow", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		if r := b.get("/login/choose?flow=nothing-of-that-name"); r.status != http.StatusBadRequest {
			t.Errorf("Got(GET /login/choose of an unknown flow) = %v, want 400", r)
		}
	})

	for _, tt := range []struct {
		name    string
		token   func(page *fixtureResponse) string
		status  int
		errCode string
	}{
		{"cancel without a form token", func(*fixtureResponse) string { return "" }, http.StatusForbidden, ""},
		{"cancel with another flow's token", func(*fixtureResponse) string { return "AAAA" }, http.StatusForbidden, ""},
		{"cancel", func(page *fixtureResponse) string { return page.field("csrf") }, http.StatusSeeOther, "access_denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			a := f.authorize(nil)
			page := b.open(a.url)
			r := b.post("/login/cancel", url.Values{"csrf": {tt.token(page)}, "flow": {page.field("flow")}})
			if r.status != tt.status || r.param("error") != tt.errCode {
				t.Errorf("Got(POST /login/cancel) = %v, want %d %s", r, tt.status, tt.errCode)
			}
			if tt.errCode != "" && r.param("state") != a.state {
				t.Errorf("Got(state of the cancel) = %q, want %q", r.param("state"), a.state)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	// attempt logs in to the portal in a new browser as person i.
	attempt := func(f *loginFixture, i int) *fixtureResponse {
		b := f.browser()
		return b.submitDemo(b.demoForm(b.open("/login")), i, authz.LevelSubstantial)
	}
	wantLimited := func(t *testing.T, r *fixtureResponse) {
		t.Helper()
		retry, err := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusTooManyRequests || err != nil || retry < 1 || retry > 60 {
			t.Errorf("Got(a login over the limit) = %v, Retry-After %q, want 429 within a minute", r, r.header.Get("Retry-After"))
		}
		if !strings.Contains(r.body, "You have tried too many times.") {
			t.Errorf("Got(the page over the limit) lacks the message:\n%s", r.body)
		}
		if r.cookie("fullmakt-session") != nil {
			t.Errorf("Got(a login over the limit) sets a session cookie")
		}
	}
	const perMinute = 2

	t.Run("per person", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{attempts: perMinute})
		for i := range perMinute {
			if r := attempt(f, 0); r.status != http.StatusSeeOther {
				t.Fatalf("Got(login %d of Kari) = %v, want 303", i+1, r)
			}
		}
		wantLimited(t, attempt(f, 0))
		// Another person from the same address still may.
		if r := attempt(f, 1); r.status != http.StatusSeeOther {
			t.Errorf("Got(login of Ola) = %v, want 303", r)
		}
		f.clock.advance(time.Minute)
		if r := attempt(f, 0); r.status != http.StatusSeeOther {
			t.Errorf("Got(login of Kari a minute later) = %v, want 303", r)
		}
	})

	t.Run("per address", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{attempts: perMinute})
		for i := range 2 * perMinute {
			if r := attempt(f, i); r.status != http.StatusSeeOther {
				t.Fatalf("Got(login of person %d) = %v, want 303", i, r)
			}
		}
		wantLimited(t, attempt(f, 2*perMinute))
		f.clock.advance(time.Minute)
		if r := attempt(f, 2*perMinute); r.status != http.StatusSeeOther {
			t.Errorf("Got(login a minute later) = %v, want 303", r)
		}
	})
}

func TestPortalEntry(t *testing.T) {
	tests := []struct {
		name, ret, want string
	}{
		{"a page of the portal", "/account/passkeys", "/account/passkeys"},
		{"none", "", "/account"},
		{"another site", "https://evil.example/account", "/account"},
		{"scheme-relative", "//evil.example/account", "/account"},
		{"backslash", "/\\evil.example/account", "/account"},
		{"relative", "account/passkeys", "/account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			path := "/login"
			if tt.ret != "" {
				path += "?return=" + url.QueryEscape(tt.ret)
			}
			wantPath(t, b.demo(b.open(path), 0, authz.LevelSubstantial), tt.want)
			// Logged in, the same link goes straight there.
			r := b.get(path)
			if r.status != http.StatusSeeOther || r.location.String() != f.url+tt.want {
				t.Errorf("Got(GET %s with a session) = %v, want a redirect to %s", path, r, tt.want)
			}
		})
	}

	t.Run("a page that needs a session", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		r := b.get("/account/passkeys")
		if r.status != http.StatusSeeOther || r.location.RequestURI() != "/login?return=%2Faccount%2Fpasskeys" {
			t.Fatalf("Got(GET /account/passkeys without a session) = %v, want a redirect to log in", r)
		}
		wantPath(t, b.demo(b.follow(r), 0, authz.LevelSubstantial), "/account/passkeys")
	})

	t.Run("StepUp", func(t *testing.T) {
		f := newLoginFixture(t, fixtureOptions{})
		b := f.browser()
		b.portalLogin(0, authz.LevelSubstantial)
		page := b.open("/test/confirm")
		wantPath(t, page, "/login/step-up")
		if !strings.Contains(page.body, "This needs the level of assurance high. You are logged in at substantial.") {
			t.Errorf("Got(step-up page) does not say which level is needed:\n%s", page.body)
		}
		done := b.demo(page, 0, authz.LevelHigh)
		if u, _ := url.Parse(done.url); done.status != http.StatusOK || u.RequestURI() != "/test/done?step=1" || done.body != "done at high" {
			t.Errorf("Got(after the step-up) = %v, want /test/done?step=1 at high", done)
		}
		// At high, the next confirmation still asks again (a fresh login).
		wantPath(t, b.open("/test/confirm"), "/login/step-up")
	})
}

func TestAccountPage(t *testing.T) {
	tests := []struct {
		name  string
		level authz.Level
		want  []string
	}{
		{"substantial", authz.LevelSubstantial, []string{"Your login", "substantial", "TestID (demo eID)"}},
		{"high", authz.LevelHigh, []string{"Your login", "high", "TestID (demo eID)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			page := b.portalLogin(0, tt.level)
			kari := f.people[0]
			want := append([]string{"<dd>" + kari.Name + "</dd>", "<dd>" + shownNumber(kari.ID) + "</dd>", "<dd>" + tt.level.String() + "</dd>"}, tt.want...)
			for _, w := range want {
				if !strings.Contains(page.body, w) {
					t.Errorf("Got(account page) lacks %q", w)
				}
			}
			if page.field("csrf") == "" {
				t.Errorf("Got(account page) has no logout form token")
			}
		})
	}
}

// TestSessionNotRevived: a request that read the session before a logout must not
// write it back afterwards, nor keep what it issued.
func TestSessionNotRevived(t *testing.T) {
	tests := []struct {
		name string
		// request is the request in flight during the logout; it writes the
		// session (a touch, or the grant of a login that finishes). A client's
		// request comes with its authorization request.
		request func(f *loginFixture) (path string, a *fixtureAuth)
	}{
		{"the idle timeout's touch", func(f *loginFixture) (string, *fixtureAuth) {
			f.clock.advance(2 * time.Minute)
			return "/account", nil
		}},
		{"a client's login finishing", func(f *loginFixture) (string, *fixtureAuth) {
			a := f.authorize(nil)
			return a.url, &a
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLoginFixture(t, fixtureOptions{})
			b := f.browser()
			b.portalLogin(0, authz.LevelSubstantial)
			value := b.sessionValue()
			csrf := b.get("/account").field("csrf")
			path, a := tt.request(f)

			arrived, release := make(chan struct{}), make(chan struct{})
			signal := sync.OnceFunc(func() { close(arrived) })
			var once sync.Once
			f.grants.holdWrites(func(key string) {
				if key == hashKey(value) {
					once.Do(func() { signal(); <-release })
				}
			})
			var wg sync.WaitGroup
			var location *url.URL
			wg.Go(func() {
				// Not b.get: this goroutine must not end the test.
				resp, err := b.client.Get(f.url + path)
				if err != nil {
					signal() // the test fails below: the session is still there
					return
				}
				resp.Body.Close()
				location, _ = resp.Location()
			})
			<-arrived
			f.grants.holdWrites(nil)
			if r := b.post("/account/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther {
				t.Errorf("Got(POST /account/logout) = %v, want 303", r)
			}
			close(release)
			wg.Wait()

			if _, err := f.store.Grant(t.Context(), grants.Session, hashKey(value)); !errors.Is(err, grants.ErrNotFound) {
				t.Errorf("Got(the session record after logout) = %v, want %v", err, grants.ErrNotFound)
			}
			stale := f.browser()
			stale.setSession(value)
			wantLoginRedirect(t, stale.get("/account"))
			if a != nil {
				code := ""
				if location != nil {
					code = location.Query().Get("code")
				}
				if code == "" {
					t.Fatalf("Got(the login in flight) = %v, want a code", location)
				}
				r := f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {fxRedirect}, "code_verifier": {a.verifier}})
				if r.Error != "invalid_grant" {
					t.Errorf("Got(code exchange of a login that finished during logout) = %d %q, want invalid_grant", r.status, r.Error)
				}
			}
		})
	}
}
