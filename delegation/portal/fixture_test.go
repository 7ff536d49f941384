package portal_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/portal"
	"github.com/fullmakt/fullmakt/delegation/registers"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/policies"
)

// The portal's tests drive it over HTTP on 127.0.0.1 with the real bbolt store,
// the default policy pack and the demo cast. The login is a stand-in (sessions
// below): the portal sees it only through portal.Sessions, and the real login
// with the real portal is tested end to end in cmd/fullmakt's browser tests.

// start is the fixture's clock at the beginning of every test: noon in Oslo.
var start = time.Date(2026, time.November, 23, 12, 0, 0, 0, delegation.Oslo())

type fixture struct {
	t      *testing.T
	ctx    context.Context
	store  *bolt.Store
	pack   *authz.Pack
	portal *portal.Service
	srv    *httptest.Server
	cast   map[string]demo.Character // by first name, lowercase: "kari", "ola", …
	logs   *bytes.Buffer

	mu       sync.Mutex
	now      time.Time
	sessions map[delegation.PartyID]*portal.Visitor
	changed  int
}

type packs struct{ p *authz.Pack }

func (p packs) Pack() *authz.Pack { return p.p }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{
		t: t, ctx: t.Context(), store: store, now: start, logs: &bytes.Buffer{},
		sessions: map[delegation.PartyID]*portal.Visitor{}, cast: map[string]demo.Character{},
	}
	var buf bytes.Buffer
	if err := demo.WriteCast(&buf, start); err != nil {
		t.Fatal(err)
	}
	sum, err := registers.Import(f.ctx, store, &buf, registers.Options{
		IDs: delegation.IDRules{AllowSynthetic: true}, Now: func() time.Time { return start },
	})
	if err != nil || sum.Failed > 0 {
		t.Fatalf("import the cast: %v, %d failed", err, sum.Failed)
	}
	for _, c := range demo.Cast(start) {
		f.cast[strings.ToLower(strings.Fields(c.Name)[0])] = c
	}
	if f.pack, err = policies.Load(); err != nil {
		t.Fatal(err)
	}
	cat, err := web.LoadCatalogue(web.Messages(), portal.Messages())
	if err != nil {
		t.Fatal(err)
	}
	pages, err := web.NewPages(cat, portal.Templates(), "*.html")
	if err != nil {
		t.Fatal(err)
	}
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "front page") })
	f.portal, err = portal.New(portal.Config{IDRules: delegation.IDRules{AllowSynthetic: true}}, portal.Deps{
		Store: store, Drafts: store, Sessions: (*sessions)(f), Packs: packs{f.pack}, Pages: pages,
		Key: bytes.Repeat([]byte{7}, 32), Front: front, Log: slog.New(slog.NewTextHandler(f.logs, nil)),
		Changed: func() { f.mu.Lock(); f.changed++; f.mu.Unlock() },
		Now:     f.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.portal.Routes(mux)
	f.srv = httptest.NewServer(web.Protect(mux))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() {
		// No identity number of the cast ever reaches a log line.
		for _, c := range f.cast {
			if strings.Contains(f.logs.String(), string(c.ID)) {
				t.Errorf("the log holds %s's identity number:\n%s", c.Name, f.logs)
			}
		}
	})
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the clock on.
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// id returns the identity number of a cast member by first name.
func (f *fixture) id(name string) delegation.PartyID {
	c, ok := f.cast[name]
	if !ok {
		f.t.Fatalf("no %q in the cast", name)
	}
	return c.ID
}

// sessions is the stand-in login: a browser's cookie "person" names who is
// logged in (set by fixture.login), at the level login gave; StepUp raises the
// session to the level asked, now, as a passkey would.
type sessions fixture

func (s *sessions) Visitor(r *http.Request) (portal.Visitor, bool) {
	c, err := r.Cookie("person")
	if err != nil {
		return portal.Visitor{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.sessions[delegation.PartyID(c.Value)]
	if !ok {
		return portal.Visitor{}, false
	}
	return *v, true
}

func (s *sessions) StepUp(w http.ResponseWriter, r *http.Request, level authz.Level, returnTo string) {
	c, err := r.Cookie("person")
	if err != nil {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	if v, ok := s.sessions[delegation.PartyID(c.Value)]; ok {
		v.Level, v.AuthTime = max(v.Level, level), s.now
	}
	s.mu.Unlock()
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// browser is one person's browser: a cookie jar, redirects not followed so
// tests see each step.
type browser struct {
	f      *fixture
	person delegation.PartyID
	c      *http.Client
}

// login logs the cast member name in at level and returns their browser.
func (f *fixture) login(name string, level authz.Level) *browser {
	f.t.Helper()
	id := f.id(name)
	f.mu.Lock()
	f.sessions[id] = &portal.Visitor{
		Person: id, Name: f.cast[name].Name, Level: level, AuthTime: f.now, FormToken: "token-" + name,
	}
	f.mu.Unlock()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(f.srv.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "person", Value: string(id)}, {Name: "lang", Value: "en"}})
	return &browser{f: f, person: id, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a request got.
type response struct {
	Status   int
	Location string
	Header   http.Header
	Body     string
}

func (b *browser) do(req *http.Request) response {
	b.f.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{Status: res.StatusCode, Location: res.Header.Get("Location"), Header: res.Header, Body: string(body)}
}

// get requests a path.
func (b *browser) get(path string) response {
	b.f.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.f.srv.URL+path, nil)
	if err != nil {
		b.f.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form to path with the session's form token (unless the form
// sets csrf itself), as a same-origin browser would.
func (b *browser) post(path string, form url.Values) response {
	b.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		b.f.mu.Lock()
		form.Set("csrf", b.f.sessions[b.person].FormToken)
		b.f.mu.Unlock()
	}
	req, err := http.NewRequest(http.MethodPost, b.f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.f.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// follow gets the page a redirect points to.
func (b *browser) follow(r response) response {
	b.f.t.Helper()
	if r.Status != http.StatusSeeOther && r.Status != http.StatusFound {
		b.f.t.Fatalf("got status %d, want a redirect; body:\n%s", r.Status, r.Body)
	}
	return b.get(r.Location)
}

var tagRE = regexp.MustCompile(`<[^>]*>`)

// text is a page's text without tags and with runs of white space as one space:
// what a test looks for in a page.
func text(html string) string {
	return strings.Join(strings.Fields(tagRE.ReplaceAllString(html, " ")), " ")
}
