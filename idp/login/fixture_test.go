package login

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"golang.org/x/oauth2"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/idp/webauthn"
	"github.com/fullmakt/fullmakt/policies"
)

// The OAuth client of the login fixture: confidential (Basic), code and refresh,
// its redirect URIs on another origin than the server (port 80 of 127.0.0.1), so
// that a browser that follows redirects within the server stops there.
const (
	fxClientID     = "agency"
	fxClientSecret = "fms_agency-client-secret-for-tests-only-00000000"
	fxRedirect     = "http://127.0.0.1/callback"
	fxLoggedOut    = "http://127.0.0.1/bye"
)

// fixtureClock is the login's clock: the real time moved by an offset. The OAuth
// server keeps the real time (fosite reads it too), so a test moves the login's
// clock forward only where no client's login follows, and backward (never more
// than a few minutes) to make a session that is older than the next request.
type fixtureClock struct{ offset atomic.Int64 }

func (c *fixtureClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *fixtureClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *fixtureClock) set(d time.Duration)     { c.offset.Store(int64(d)) }

// countingGrants is the store as the login's grants port: it counts the writes of
// each session record (by key), and can hold a write of a session until the test
// lets it go.
type countingGrants struct {
	grants.Store
	mu     sync.Mutex
	writes map[string]int
	// hold, when set, is called before a write that puts a session record.
	hold func(key string)
}

func (g *countingGrants) ApplyGrants(ctx context.Context, ops ...grants.Op) error {
	var held []string
	g.mu.Lock()
	hold := g.hold
	for _, op := range ops {
		if op.Verb == grants.VerbPut && op.Kind == grants.Session {
			g.writes[op.Key]++
			held = append(held, op.Key)
		}
	}
	g.mu.Unlock()
	if hold != nil {
		for _, key := range held {
			hold(key)
		}
	}
	return g.Store.ApplyGrants(ctx, ops...)
}

// holdWrites sets (or, with nil, clears) the hook called before a session write.
func (g *countingGrants) holdWrites(hold func(key string)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hold = hold
}

// sessionWrites returns how many times the session with key was written.
func (g *countingGrants) sessionWrites(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writes[key]
}

// fixtureOptions change the fixture.
type fixtureOptions struct {
	tls      bool // serve https (Secure, __Host- cookies)
	noDemo   bool // no demo eID: passkeys are the only method
	attempts int  // Config.AttemptsPerMinute (0: the default)
}

// loginFixture is the whole login on 127.0.0.1: a bbolt store in a temporary
// directory with a small register, the default policy pack and its decision
// point, the real OAuth server with one client, and the login with the real
// pages, passkeys on and the demo eID, on one mux as cmd mounts them. A test
// handler at /test/confirm asks for a step-up to high (Service.StepUp) and
// returns to /test/done.
type loginFixture struct {
	t      *testing.T
	store  *bolt.Store
	grants *countingGrants
	clock  *fixtureClock
	s      *Service
	server *idp.Server
	http   *httptest.Server
	url    string
	// people are the register, in the order the demo eID lists them: Kari,
	// Ola, then four more.
	people []delegation.Person
}

func newLoginFixture(t *testing.T, o fixtureOptions) *loginFixture {
	t.Helper()
	ctx := context.Background()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &loginFixture{t: t, store: store, clock: &fixtureClock{},
		grants: &countingGrants{Store: store, writes: map[string]int{}}}
	names := []string{"Kari Nordmann", "Ola Nordmann", "Anne Hansen", "Per Hansen", "Siri Berg", "Nils Dahl"}
	for i, name := range names {
		birth := delegation.NewDate(1970+i, time.Month(1+i), 2+i)
		for ind := 100 * (i + 1); ; ind++ {
			if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
				f.people = append(f.people, delegation.Person{ID: id, Name: name, BirthDate: birth})
				break
			}
		}
	}
	err = store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error {
		for _, p := range f.people {
			if err := tx.PutPerson(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pack, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	decider := pdp.New(store, pack, pdp.Options{Access: store})
	t.Cleanup(func() { decider.Close(context.Background()) })

	f.http = httptest.NewUnstartedServer(nil)
	scheme := "http"
	if o.tls {
		scheme = "https"
	}
	f.url = scheme + "://" + f.http.Listener.Addr().String()
	cs, err := idp.NewClients([]idp.Client{{
		ID: fxClientID, Name: "Lånekassen", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic,
		SecretHash: idp.HashSecret(fxClientSecret), GrantTypes: []string{"authorization_code", "refresh_token"},
		Scopes: []string{"openid", "profile"}, RedirectURIs: []string{fxRedirect}, PostLogoutRedirectURIs: []string{fxLoggedOut},
		PID: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	clients := idp.NewClientRegistry(cs, nil)

	cat, err := web.LoadCatalogue(web.Messages(), Messages())
	if err != nil {
		t.Fatalf("LoadCatalogue = %v", err)
	}
	pages, err := web.NewPages(cat, Templates(), "*.html")
	if err != nil {
		t.Fatalf("NewPages = %v", err)
	}
	ceremonies, err := webauthn.New(webauthn.Config{RPID: "localhost", Origins: []string{"http://localhost:8080"}}, store, store, f.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	var methods []Method
	if !o.noDemo {
		var cast []DemoPerson
		for _, p := range f.people {
			cast = append(cast, DemoPerson{ID: p.ID, Name: p.Name, Story: "A person of the demo register."})
		}
		methods = append(methods, NewDemo(cast, delegation.IDRules{AllowSynthetic: true}))
	}
	f.s, err = New(Config{PublicURL: f.url, AttemptsPerMinute: o.attempts}, Deps{
		Grants: f.grants, Accounts: store, People: store, Decider: decider, Passkeys: ceremonies,
		Methods: methods, Clients: clients, Pages: pages, Key: bytes.Repeat([]byte("k"), 32), Now: f.clock.now,
	})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	f.server, err = idp.New(ctx, idp.Config{Issuer: f.url}, idp.Deps{
		Grants: store, Clients: clients, Decider: decider, Registry: store, Login: f.s,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.server.Close)
	f.s.SetServer(f.server)

	browser := http.NewServeMux()
	f.s.Routes(browser)
	browser.Handle("GET /test/confirm", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.s.StepUp(w, r, authz.LevelHigh, "/test/done?step=1")
	}))
	browser.Handle("GET /test/done", f.s.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := f.s.Current(r)
		io.WriteString(w, "done at "+sess.Level.String())
	})))
	mux := http.NewServeMux()
	f.server.Routes(mux)
	mux.Handle("/", web.Protect(browser))
	f.http.Config.Handler = mux
	if o.tls {
		f.http.StartTLS()
	} else {
		f.http.Start()
	}
	t.Cleanup(f.http.Close)
	return f
}

// sessionRecord returns the stored session of the cookie value, if there is one.
func (f *loginFixture) sessionRecord(value string) (Session, bool) {
	f.t.Helper()
	rec, err := f.store.Grant(f.t.Context(), grants.Session, hashKey(value))
	if err != nil {
		return Session{}, false
	}
	var sess Session
	if err := json.Unmarshal(rec.Data, &sess); err != nil {
		f.t.Fatal(err)
	}
	return sess, true
}

// fixtureResponse is one answer the browser got.
type fixtureResponse struct {
	method, url string
	status      int
	header      http.Header
	body        string
	cookies     []*http.Cookie // as set by this answer
	location    *url.URL       // of a redirect, resolved
}

func (r *fixtureResponse) String() string {
	s := r.method + " " + r.url + ": " + http.StatusText(r.status)
	if r.location != nil {
		return s + " to " + r.location.String()
	}
	if len(r.body) > 400 {
		return s + " " + r.body[:400] + "…"
	}
	return s + " " + r.body
}

// param is a query parameter of the redirect's target.
func (r *fixtureResponse) param(name string) string {
	if r.location == nil {
		return ""
	}
	return r.location.Query().Get(name)
}

// cookie returns the cookie name as this answer set it.
func (r *fixtureResponse) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

var (
	hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z]+)" value="([^"]*)">`)
	demoLink    = regexp.MustCompile(`href="(/login/method/demo\?flow=[^"]+)"`)
)

// field returns the value of the hidden form field name of a page.
func (r *fixtureResponse) field(name string) string {
	for _, m := range hiddenField.FindAllStringSubmatch(r.body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

// fixtureBrowser is a browser: a cookie jar, and redirects followed only within
// the server, by the test. Every page it gets is checked for identity numbers.
type fixtureBrowser struct {
	t      *testing.T
	f      *loginFixture
	jar    *cookiejar.Jar
	client *http.Client
}

func (f *loginFixture) browser() *fixtureBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return &fixtureBrowser{t: f.t, f: f, jar: jar, client: &http.Client{
		Transport: f.http.Client().Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends r and reads the answer, failing the test if any identity number of
// the register is in it.
func (b *fixtureBrowser) do(r *http.Request) *fixtureResponse {
	b.t.Helper()
	r.Header.Set("Accept-Language", "en")
	resp, err := b.client.Do(r)
	if err != nil {
		b.t.Fatalf("%s %s: %v", r.Method, r.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	res := &fixtureResponse{method: r.Method, url: r.URL.String(), status: resp.StatusCode, header: resp.Header,
		body: string(body), cookies: resp.Cookies()}
	if resp.StatusCode/100 == 3 {
		if res.location, err = resp.Location(); err != nil {
			b.t.Fatalf("%s %s: %v", r.Method, r.URL, err)
		}
	}
	if strings.Contains(res.body, "⟦") {
		b.t.Errorf("%s %s shows a text missing from the catalogue", r.Method, r.URL)
	}
	for _, p := range b.f.people {
		if strings.Contains(res.body, string(p.ID)) || strings.Contains(resp.Header.Get("Location"), string(p.ID)) {
			b.t.Errorf("%s %s shows the identity number of %s", r.Method, r.URL, p.Name)
		}
	}
	return res
}

// abs makes a path on the server absolute.
func (b *fixtureBrowser) abs(path string) string {
	if strings.HasPrefix(path, "/") {
		return b.f.url + path
	}
	return path
}

func (b *fixtureBrowser) get(path string) *fixtureResponse {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodGet, b.abs(path), nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(r)
}

func (b *fixtureBrowser) post(path string, form url.Values) *fixtureResponse {
	b.t.Helper()
	r, err := http.NewRequest(http.MethodPost, b.abs(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(r)
}

// onServer reports whether u is on the fixture's server.
func (b *fixtureBrowser) onServer(u *url.URL) bool {
	return u != nil && u.Scheme+"://"+u.Host == b.f.url
}

// follow follows redirects within the server, like a browser, and returns the
// first answer that is not one: a page, or a redirect elsewhere (to the client).
func (b *fixtureBrowser) follow(r *fixtureResponse) *fixtureResponse {
	b.t.Helper()
	for i := 0; r.location != nil && b.onServer(r.location); i++ {
		if i == 10 {
			b.t.Fatalf("more than 10 redirects, the last %v", r)
		}
		r = b.get(r.location.String())
	}
	return r
}

// open gets path and follows the redirects within the server.
func (b *fixtureBrowser) open(path string) *fixtureResponse {
	b.t.Helper()
	return b.follow(b.get(path))
}

// demoForm opens the demo eID's form from page, a page that links to it (the
// method chooser or the step-up page).
func (b *fixtureBrowser) demoForm(page *fixtureResponse) *fixtureResponse {
	b.t.Helper()
	m := demoLink.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		b.t.Fatalf("want a page with a link to the demo eID, got %v", page)
	}
	form := b.get(m[1])
	if form.status != http.StatusOK || form.field("csrf") == "" || form.field("flow") == "" {
		b.t.Fatalf("want the demo eID's form, got %v", form)
	}
	return form
}

// demo logs in with the demo eID from page (see demoForm) as person i of the
// register at level. It returns where the login ended, redirects within the
// server followed.
func (b *fixtureBrowser) demo(page *fixtureResponse, i int, level authz.Level) *fixtureResponse {
	b.t.Helper()
	return b.follow(b.submitDemo(b.demoForm(page), i, level))
}

// submitDemo posts the demo eID's form, as shown on page, for person i at level.
func (b *fixtureBrowser) submitDemo(page *fixtureResponse, i int, level authz.Level) *fixtureResponse {
	b.t.Helper()
	return b.post("/login/demo", url.Values{
		"csrf": {page.field("csrf")}, "flow": {page.field("flow")},
		"person": {strconv.Itoa(i)}, "level": {level.String()},
	})
}

// cookieValue is the value of the browser's cookie name, "" without one.
func (b *fixtureBrowser) cookieValue(name string) string {
	u, _ := url.Parse(b.f.url)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// sessionValue is the value of the browser's session cookie.
func (b *fixtureBrowser) sessionValue() string { return b.cookieValue(b.f.s.sessionCookie) }

// setSession gives the browser a session cookie with value.
func (b *fixtureBrowser) setSession(value string) {
	u, _ := url.Parse(b.f.url)
	b.jar.SetCookies(u, []*http.Cookie{{Name: b.f.s.sessionCookie, Value: value, Path: "/", Secure: b.f.s.secure}})
}

// giveSession gives the browser a new session of person i at level, made by the
// login itself (no method of the fixture needs to reach the level).
func (b *fixtureBrowser) giveSession(i int, level authz.Level) {
	b.t.Helper()
	w := httptest.NewRecorder()
	proof := Proof{Person: b.f.people[i].ID, Level: level, AMR: []string{"user"}, Method: demoMethodID, Test: true}
	if _, err := b.f.s.startSession(w, httptest.NewRequest(http.MethodGet, "/", nil), nil, proof); err != nil {
		b.t.Fatal(err)
	}
	u, _ := url.Parse(b.f.url)
	b.jar.SetCookies(u, w.Result().Cookies())
}

// portalLogin logs the browser in to the portal with the demo eID as person i at
// level, and returns the account page it lands on.
func (b *fixtureBrowser) portalLogin(i int, level authz.Level) *fixtureResponse {
	b.t.Helper()
	page := b.demo(b.open("/login"), i, level)
	if page.status != http.StatusOK || !strings.HasSuffix(page.url, "/account") {
		b.t.Fatalf("portal login: want the account page, got %v", page)
	}
	return page
}

// fixtureAuth is an authorization request of the fixture's client.
type fixtureAuth struct {
	url, state, verifier string
}

// authorize returns an authorization request of the client with PKCE, scope
// openid profile, and the extra parameters.
func (f *loginFixture) authorize(extra url.Values) fixtureAuth {
	a := fixtureAuth{state: oauth2.GenerateVerifier(), verifier: oauth2.GenerateVerifier()}
	q := url.Values{
		"response_type": {"code"}, "client_id": {fxClientID}, "redirect_uri": {fxRedirect},
		"scope": {"openid profile"}, "state": {a.state}, "nonce": {oauth2.GenerateVerifier()},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(a.verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	a.url = "/authorize?" + q.Encode()
	return a
}

// code returns the code of a redirect to the client, failing the test unless the
// answer is one with the request's state.
func (f *loginFixture) code(a fixtureAuth, r *fixtureResponse) string {
	f.t.Helper()
	if r.location == nil || r.location.String() != fxRedirect+"?"+r.location.RawQuery || r.param("code") == "" {
		f.t.Fatalf("want a redirect to the client with a code, got %v", r)
	}
	if r.param("state") != a.state {
		f.t.Fatalf("redirect with state %q, want %q", r.param("state"), a.state)
	}
	return r.param("code")
}

// fixtureTokens is the token endpoint's answer.
type fixtureTokens struct {
	Access  string `json:"access_token"`
	Refresh string `json:"refresh_token"`
	ID      string `json:"id_token"`
	Error   string `json:"error"`
	status  int
}

// token posts form to the token endpoint as the client.
func (f *loginFixture) token(form url.Values) fixtureTokens {
	f.t.Helper()
	r, err := http.NewRequest(http.MethodPost, f.url+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(fxClientID, fxClientSecret)
	resp, err := f.http.Client().Do(r)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok fixtureTokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		f.t.Fatalf("POST /token: %v", err)
	}
	tok.status = resp.StatusCode
	return tok
}

// exchange redeems the code of a, failing the test on an error.
func (f *loginFixture) exchange(a fixtureAuth, code string) fixtureTokens {
	f.t.Helper()
	tok := f.token(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {fxRedirect}, "code_verifier": {a.verifier}})
	if tok.status != http.StatusOK || tok.ID == "" || tok.Refresh == "" {
		f.t.Fatalf("code exchange: %d %s, want tokens", tok.status, tok.Error)
	}
	return tok
}

// idClaims verifies an ID token with the server's JWKS and returns its claims.
func (f *loginFixture) idClaims(raw string) map[string]any {
	f.t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		f.t.Fatalf("parse the ID token: %v", err)
	}
	set := f.server.Keys().JWKS()
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		f.t.Fatalf("the ID token's kid %q is not in the JWKS", tok.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		f.t.Fatalf("verify the ID token: %v", err)
	}
	return claims
}

// authTime is the auth_time of an ID token.
func (f *loginFixture) authTime(raw string) int64 {
	f.t.Helper()
	v, ok := f.idClaims(raw)["auth_time"].(float64)
	if !ok {
		f.t.Fatal("the ID token has no auth_time")
	}
	return int64(v)
}

// active reports whether introspection says token is active.
func (f *loginFixture) active(token string) bool {
	f.t.Helper()
	r, err := http.NewRequest(http.MethodPost, f.url+"/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(fxClientID, fxClientSecret)
	resp, err := f.http.Client().Do(r)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		f.t.Fatalf("introspect: %d %v", resp.StatusCode, err)
	}
	return out["active"] == true
}
