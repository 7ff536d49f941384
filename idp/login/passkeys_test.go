package login

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/idp/webauthn"
)

// The passkey tests' people.
const (
	pkKari delegation.PartyID = "01017012345"
	pkOla  delegation.PartyID = "05057512345"
)

var pkRP = virtualwebauthn.RelyingParty{ID: "localhost", Name: "Fullmakt", Origin: "http://localhost:8080"}

// pkPeople is the register of the passkey tests.
type pkPeople struct{}

func (pkPeople) Person(_ context.Context, id delegation.PartyID) (delegation.Person, error) {
	switch id {
	case pkKari:
		return delegation.Person{ID: id, Name: "Kari Nordmann"}, nil
	case pkOla:
		return delegation.Person{ID: id, Name: "Ola Nordmann"}, nil
	}
	return delegation.Person{}, delegation.ErrNotFound
}

func (pkPeople) Organization(context.Context, delegation.PartyID) (delegation.Organization, error) {
	return delegation.Organization{}, delegation.ErrNotFound
}

// pkDecider is never asked: the passkey pages choose no party.
type pkDecider struct{ Decider }

// pkClock is a settable clock.
type pkClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *pkClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *pkClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pkBrowser is one browser of a person on the login with passkeys on, over a
// real bbolt store: its cookies, and the routes of the login.
type pkBrowser struct {
	t       *testing.T
	s       *Service
	mux     *http.ServeMux
	clock   *pkClock
	lang    string
	cookies map[string]*http.Cookie
}

func newPKBrowser(t *testing.T, attempts int) *pkBrowser {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clock := &pkClock{t: time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)}
	cat, err := web.LoadCatalogue(web.Messages(), Messages())
	if err != nil {
		t.Fatalf("LoadCatalogue = %v", err)
	}
	pages, err := web.NewPages(cat, Templates(), "*.html")
	if err != nil {
		t.Fatalf("NewPages = %v", err)
	}
	ceremonies, err := webauthn.New(webauthn.Config{RPID: "localhost", Origins: []string{pkRP.Origin}}, st, st, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := idp.NewClients(nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{PublicURL: pkRP.Origin, AttemptsPerMinute: attempts}, Deps{
		Grants: st, Accounts: st, People: pkPeople{}, Decider: pkDecider{}, Passkeys: ceremonies,
		Clients: idp.NewClientRegistry(clients, clock.now), Pages: pages,
		Key: bytes.Repeat([]byte("k"), 32), Now: clock.now,
	})
	if err != nil {
		t.Fatalf("New = %v", err)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	return &pkBrowser{t: t, s: s, mux: mux, clock: clock, lang: "en", cookies: map[string]*http.Cookie{}}
}

// another is a second browser on the same login.
func (b *pkBrowser) another() *pkBrowser {
	return &pkBrowser{t: b.t, s: b.s, mux: b.mux, clock: b.clock, lang: "en", cookies: map[string]*http.Cookie{}}
}

// send serves r with the browser's cookies and keeps the cookies it sets.
func (b *pkBrowser) send(r *http.Request) *httptest.ResponseRecorder {
	b.t.Helper()
	r.Header.Set("Accept-Language", b.lang)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.mux.ServeHTTP(w, r)
	b.keep(w)
	return w
}

func (b *pkBrowser) keep(w *httptest.ResponseRecorder) {
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
}

func (b *pkBrowser) get(path string) *httptest.ResponseRecorder {
	return b.send(httptest.NewRequest(http.MethodGet, path, nil))
}

func (b *pkBrowser) postForm(path string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(r)
}

func (b *pkBrowser) postJSON(path string, body any) *httptest.ResponseRecorder {
	b.t.Helper()
	raw, err := json.Marshal(body)
	if err != nil {
		b.t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(raw))
	r.Header.Set("Content-Type", "application/json")
	return b.send(r)
}

// flow starts a portal flow in this browser.
func (b *pkBrowser) flow(f *Flow) *Flow {
	b.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	if err := b.s.newFlow(w, r, f); err != nil {
		b.t.Fatal(err)
	}
	b.keep(w)
	return f
}

// login gives the browser a session of person at level.
func (b *pkBrowser) login(person delegation.PartyID, level authz.Level) {
	b.t.Helper()
	w := httptest.NewRecorder()
	if _, err := b.s.startSession(w, httptest.NewRequest(http.MethodGet, "/", nil), nil, Proof{Person: person, Level: level, Method: "demo"}); err != nil {
		b.t.Fatal(err)
	}
	b.keep(w)
}

// session returns the browser's session.
func (b *pkBrowser) session() *Session {
	b.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	sess, ok := b.s.Current(r)
	if !ok {
		b.t.Fatal("no session")
	}
	return sess
}

func (b *pkBrowser) sessionCSRF() string { return b.s.csrf.Token(sessionBinding(b.session())) }

func flowCSRF(b *pkBrowser, f *Flow) string { return b.s.csrf.Token(flowBinding(f)) }

// pkDevice is a software authenticator with one credential.
type pkDevice struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newPKDevice(opts virtualwebauthn.AuthenticatorOptions) *pkDevice {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		// virtualwebauthn writes the coordinates unpadded; keep keys it writes right.
		if pub, _ := k.PublicKey.Bytes(); pub[1] == 0 || pub[33] == 0 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return &pkDevice{
			auth: virtualwebauthn.NewAuthenticatorWithOptions(opts),
			cred: virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der),
		}
	}
}

// ceremony decodes an options answer.
func ceremonyOf(t *testing.T, w *httptest.ResponseRecorder) ceremonyAnswer {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("options: %d %s", w.Code, w.Body)
	}
	var a ceremonyAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	if a.Ceremony == "" || len(a.Options) == 0 || a.Messages["cancelled"] == "" {
		t.Fatalf("options answer %s lacks the ceremony, options or messages", w.Body)
	}
	return a
}

func (d *pkDevice) create(t *testing.T, options []byte) json.RawMessage {
	t.Helper()
	ao, err := virtualwebauthn.ParseAttestationOptions(string(options))
	if err != nil {
		t.Fatal(err)
	}
	d.auth.Options.UserHandle = []byte(ao.UserID)
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(pkRP, d.auth, d.cred, *ao))
}

func (d *pkDevice) get(t *testing.T, options []byte) json.RawMessage {
	t.Helper()
	ao, err := virtualwebauthn.ParseAssertionOptions(string(options))
	if err != nil {
		t.Fatal(err)
	}
	d.cred.Counter++
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(pkRP, d.auth, d.cred, *ao))
}

// register adds d for the browser's person through the account pages.
func (b *pkBrowser) register(d *pkDevice, name string) *httptest.ResponseRecorder {
	b.t.Helper()
	a := ceremonyOf(b.t, b.postJSON("/account/passkeys/options", passkeyRequest{CSRF: b.sessionCSRF(), Name: name}))
	return b.postJSON("/account/passkeys/verify", passkeyRequest{
		CSRF: b.sessionCSRF(), Name: name, Ceremony: a.Ceremony, Response: d.create(b.t, a.Options),
	})
}

// problemOf decodes a problem answer with the status.
func problemOf(t *testing.T, w *httptest.ResponseRecorder, status int) problem {
	t.Helper()
	if w.Code != status || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answer %d %s %s, want %d application/problem+json", w.Code, w.Header().Get("Content-Type"), w.Body, status)
	}
	var p problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != status || p.Detail == "" || strings.Contains(p.Detail, "⟦") {
		t.Errorf("problem = %+v, want status %d and a detail from the catalogue", p, status)
	}
	return p
}

func redirectOf(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("verify: %d %s", w.Code, w.Body)
	}
	var a redirectAnswer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatal(err)
	}
	return a.Redirect
}

func TestPasskeyRegisterAndLogin(t *testing.T) {
	b := newPKBrowser(t, 0)
	b.login(pkKari, authz.LevelSubstantial)
	phone := newPKDevice(virtualwebauthn.AuthenticatorOptions{})

	// The page offers to add one, with the script, and lists none.
	w := b.get("/account/passkeys")
	body := w.Body.String()
	for _, want := range []string{`data-passkey="register"`, `data-csrf="` + b.sessionCSRF() + `"`, `<script src="/static/passkey.js" defer></script>`, "You have no passkeys yet.", "data-js-needed"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /account/passkeys lacks %q", want)
		}
	}

	if got := redirectOf(t, b.register(phone, " My phone ")); got != "/account/passkeys?done=added" {
		t.Errorf("register redirect = %q", got)
	}
	body = b.get("/account/passkeys?done=added").Body.String()
	for _, want := range []string{"The passkey has been added.", "<h3>My phone</h3>", "substantial", "Never", "On one device"} {
		if !strings.Contains(body, want) {
			t.Errorf("the list after adding lacks %q", want)
		}
	}

	// A second one without a name gets the default name, in the page language.
	b.clock.add(time.Minute)
	b.lang = "nb"
	redirectOf(t, b.register(newPKDevice(virtualwebauthn.AuthenticatorOptions{BackupEligible: true}), ""))
	keys, _ := b.s.accounts.Passkeys(t.Context(), pkKari)
	if len(keys) != 2 || keys[1].Name != "Passnøkkel 2" || keys[0].Level != authz.LevelSubstantial {
		t.Fatalf("passkeys = %+v, want My phone and Passnøkkel 2 at substantial", keys)
	}
	b.lang = "en"

	// A new browser logs in with the phone's passkey.
	other := b.another()
	f := other.flow(&Flow{MaxAge: -1, Return: "/account"})
	a := ceremonyOf(t, other.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(other, f)}))
	next := redirectOf(t, other.postJSON("/login/passkey/verify", passkeyRequest{
		Flow: f.ID, CSRF: flowCSRF(other, f), Ceremony: a.Ceremony, Response: phone.get(t, a.Options),
	}))
	if next != flowURL("/login/next", f) {
		t.Errorf("login redirect = %q, want the flow's next page", next)
	}
	sess := other.session()
	if sess.Person != pkKari || sess.Level != authz.LevelSubstantial || sess.Method != passkeyMethodID ||
		!bytes.Equal(sess.Passkey, phone.cred.ID) || strings.Join(sess.AMR, " ") != "hwk user mfa" {
		t.Errorf("session = %+v, want Kari at substantial by the phone's passkey, amr hwk user mfa", sess)
	}
	body = other.get("/account/passkeys").Body.String()
	if !strings.Contains(body, "You logged in with this passkey.") {
		t.Errorf("the list does not say which passkey the session used")
	}
}

func TestPasskeyEndpointsRefuse(t *testing.T) {
	b := newPKBrowser(t, 0)
	b.login(pkKari, authz.LevelSubstantial)
	phone := newPKDevice(virtualwebauthn.AuthenticatorOptions{})
	redirectOf(t, b.register(phone, "Phone"))
	f := b.flow(&Flow{MaxAge: -1, Return: "/account"})

	tests := []struct {
		name   string
		do     func() *httptest.ResponseRecorder
		status int
		detail string // part of the detail, in English
	}{
		{"form content type", func() *httptest.ResponseRecorder {
			return b.postForm("/login/passkey/options", url.Values{"flow": {f.ID}, "csrf": {flowCSRF(b, f)}})
		}, http.StatusUnsupportedMediaType, "could not read the request"},
		{"unknown member", func() *httptest.ResponseRecorder {
			return b.postJSON("/login/passkey/options", map[string]any{"flow": f.ID, "csrf": flowCSRF(b, f), "extra": 1})
		}, http.StatusBadRequest, "could not read the request"},
		{"wrong form token", func() *httptest.ResponseRecorder {
			return b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: "a-token-of-nothing"})
		}, http.StatusForbidden, "For your security"},
		{"unknown flow", func() *httptest.ResponseRecorder {
			return b.postJSON("/login/passkey/options", passkeyRequest{Flow: "nope", CSRF: flowCSRF(b, f)})
		}, http.StatusBadRequest, "has expired"},
		{"another browser's flow", func() *httptest.ResponseRecorder {
			stranger := b.another()
			return stranger.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)})
		}, http.StatusBadRequest, "has expired"},
		{"login without user verification", func() *httptest.ResponseRecorder {
			a := ceremonyOf(t, b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)}))
			phone.auth.Options.UserNotVerified = true
			defer func() { phone.auth.Options.UserNotVerified = false }()
			return b.postJSON("/login/passkey/verify", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f), Ceremony: a.Ceremony, Response: phone.get(t, a.Options)})
		}, http.StatusBadRequest, "did not check that it is you"},
		{"ceremony used twice", func() *httptest.ResponseRecorder {
			a := ceremonyOf(t, b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)}))
			req := passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f), Ceremony: a.Ceremony, Response: phone.get(t, a.Options)}
			g := b.flow(&Flow{MaxAge: -1, Return: "/account"})
			redirectOf(t, b.postJSON("/login/passkey/verify", req))
			req.Flow, req.CSRF = g.ID, flowCSRF(b, g)
			return b.postJSON("/login/passkey/verify", req)
		}, http.StatusBadRequest, "expired or has already been used"},
		{"unknown passkey", func() *httptest.ResponseRecorder {
			a := ceremonyOf(t, b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)}))
			stranger := newPKDevice(virtualwebauthn.AuthenticatorOptions{UserHandle: []byte("nobody")})
			return b.postJSON("/login/passkey/verify", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f), Ceremony: a.Ceremony, Response: stranger.get(t, a.Options)})
		}, http.StatusBadRequest, "not registered with Fullmakt"},
		{"register without a session", func() *httptest.ResponseRecorder {
			stranger := b.another()
			return stranger.postJSON("/account/passkeys/options", passkeyRequest{CSRF: b.sessionCSRF()})
		}, http.StatusUnauthorized, "no longer logged in"},
		{"register with the flow's token", func() *httptest.ResponseRecorder {
			return b.postJSON("/account/passkeys/options", passkeyRequest{CSRF: flowCSRF(b, f)})
		}, http.StatusForbidden, "For your security"},
		{"register with too long a name", func() *httptest.ResponseRecorder {
			return b.postJSON("/account/passkeys/options", passkeyRequest{CSRF: b.sessionCSRF(), Name: strings.Repeat("x", 65)})
		}, http.StatusUnprocessableEntity, "at most 64 characters"},
		{"the same passkey twice", func() *httptest.ResponseRecorder {
			return b.register(phone, "Again")
		}, http.StatusConflict, "already been added"},
		{"step-up above the passkeys' level", func() *httptest.ResponseRecorder {
			g := b.flow(&Flow{MaxAge: -1, Level: authz.LevelHigh, Fresh: true, Return: "/account"})
			return b.postJSON("/login/step-up/options", passkeyRequest{Flow: g.ID, CSRF: flowCSRF(b, g)})
		}, http.StatusConflict, "no passkey with the level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := problemOf(t, tt.do(), tt.status)
			if !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to say %q", p.Detail, tt.detail)
			}
		})
	}
}

func TestPasskeyProblemInBokmal(t *testing.T) {
	b := newPKBrowser(t, 0)
	b.lang = "nb"
	p := problemOf(t, b.postJSON("/login/passkey/options", passkeyRequest{Flow: "nope"}), http.StatusBadRequest)
	if !strings.Contains(p.Detail, "utløpt") {
		t.Errorf("detail = %q, want Bokmål", p.Detail)
	}
}

func TestPasskeyRateLimit(t *testing.T) {
	b := newPKBrowser(t, 1) // an address has 2 attempts a minute
	f := b.flow(&Flow{MaxAge: -1, Return: "/account"})
	for range 2 {
		ceremonyOf(t, b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)}))
	}
	w := b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)})
	problemOf(t, w, http.StatusTooManyRequests)
	if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	b.clock.add(time.Minute)
	ceremonyOf(t, b.postJSON("/login/passkey/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)}))
}

func TestPasskeyStepUp(t *testing.T) {
	b := newPKBrowser(t, 0)
	b.login(pkKari, authz.LevelHigh)
	key := newPKDevice(virtualwebauthn.AuthenticatorOptions{})
	redirectOf(t, b.register(key, "Key"))
	before := b.session()
	b.clock.add(10 * time.Minute)

	f := b.flow(&Flow{MaxAge: -1, Level: authz.LevelSubstantial, Fresh: true, Return: "/account"})
	a := ceremonyOf(t, b.postJSON("/login/step-up/options", passkeyRequest{Flow: f.ID, CSRF: flowCSRF(b, f)}))
	next := redirectOf(t, b.postJSON("/login/step-up/verify", passkeyRequest{
		Flow: f.ID, CSRF: flowCSRF(b, f), Ceremony: a.Ceremony, Response: key.get(t, a.Options),
	}))
	if next != flowURL("/login/next", f) {
		t.Errorf("step-up redirect = %q", next)
	}
	after := b.session()
	if after.key == before.key || after.Level != authz.LevelHigh || !after.AuthTime.Equal(b.clock.now()) || !after.Created.Equal(before.Created) {
		t.Errorf("session after the step-up = %+v, want a new key, high, authenticated now, created as before", after)
	}

	// Another person's passkey cannot confirm Kari.
	ola := b.another()
	ola.login(pkOla, authz.LevelHigh)
	olaKey := newPKDevice(virtualwebauthn.AuthenticatorOptions{})
	redirectOf(t, ola.register(olaKey, "Ola's"))
	g := b.flow(&Flow{MaxAge: -1, Level: authz.LevelHigh, Fresh: true, Return: "/account"})
	a = ceremonyOf(t, b.postJSON("/login/step-up/options", passkeyRequest{Flow: g.ID, CSRF: flowCSRF(b, g)}))
	ao, _ := virtualwebauthn.ParseAssertionOptions(string(a.Options))
	response := virtualwebauthn.CreateAssertionResponse(pkRP, olaKey.auth, olaKey.cred, *ao)
	p := problemOf(t, b.postJSON("/login/step-up/verify", passkeyRequest{
		Flow: g.ID, CSRF: flowCSRF(b, g), Ceremony: a.Ceremony, Response: json.RawMessage(response),
	}), http.StatusBadRequest)
	if !strings.Contains(p.Detail, "cannot be used here") {
		t.Errorf("detail = %q", p.Detail)
	}
}

func TestPasskeyRenameAndRemove(t *testing.T) {
	b := newPKBrowser(t, 0)
	b.login(pkKari, authz.LevelSubstantial)
	redirectOf(t, b.register(newPKDevice(virtualwebauthn.AuthenticatorOptions{}), "Phone"))
	keys, _ := b.s.accounts.Passkeys(t.Context(), pkKari)
	id := base64.RawURLEncoding.EncodeToString(keys[0].ID)

	// Rename: the form, a mistake, then a name.
	body := b.get("/account/passkeys?rename=" + id).Body.String()
	for _, want := range []string{"Rename “Phone”", `name="name"`, `value="Phone"`, `action="/account/passkeys/rename"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the rename page lacks %q", want)
		}
	}
	w := b.postForm("/account/passkeys/rename", url.Values{"csrf": {b.sessionCSRF()}, "id": {id}, "name": {"  "}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Type a name for the passkey") || !strings.Contains(w.Body.String(), `aria-invalid="true"`) {
		t.Errorf("rename to blank = %d, want 422 with the error at the field", w.Code)
	}
	w = b.postForm("/account/passkeys/rename", url.Values{"csrf": {"wrong"}, "id": {id}, "name": {"Work"}})
	if w.Code != http.StatusForbidden {
		t.Errorf("rename with a wrong form token = %d, want 403", w.Code)
	}
	w = b.postForm("/account/passkeys/rename", url.Values{"csrf": {b.sessionCSRF()}, "id": {id}, "name": {" Work phone "}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account/passkeys?done=renamed" {
		t.Errorf("rename = %d %s, want 303 to the list", w.Code, w.Header().Get("Location"))
	}
	if k, _ := b.s.accounts.Passkey(t.Context(), keys[0].ID); k.Name != "Work phone" {
		t.Errorf("name = %q, want Work phone", k.Name)
	}

	// Remove: the confirmation, then the removal.
	body = b.get("/account/passkeys?remove=" + id).Body.String()
	for _, want := range []string{"Remove “Work phone”?", `action="/account/passkeys/remove"`, `value="` + id + `"`, "No, keep it"} {
		if !strings.Contains(body, want) {
			t.Errorf("the confirmation lacks %q", want)
		}
	}
	if strings.Contains(body, "passkey.js") {
		t.Error("the confirmation loads the script")
	}
	if w := b.get("/account/passkeys?remove=AAAA"); w.Code != http.StatusNotFound {
		t.Errorf("confirming an unknown passkey = %d, want 404", w.Code)
	}
	w = b.postForm("/account/passkeys/remove", url.Values{"csrf": {b.sessionCSRF()}, "id": {id}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/account/passkeys?done=removed" {
		t.Errorf("remove = %d %s, want 303 to the list", w.Code, w.Header().Get("Location"))
	}
	if keys, _ := b.s.accounts.Passkeys(t.Context(), pkKari); len(keys) != 0 {
		t.Errorf("passkeys after removal = %d, want 0", len(keys))
	}
	if w := b.postForm("/account/passkeys/remove", url.Values{"csrf": {b.sessionCSRF()}, "id": {id}}); w.Code != http.StatusNotFound {
		t.Errorf("removing again = %d, want 404", w.Code)
	}
}

func TestPasskeyLoginPage(t *testing.T) {
	b := newPKBrowser(t, 0)
	f := b.flow(&Flow{MaxAge: -1, Level: authz.LevelSubstantial, Return: "/account"})
	w := b.get("/login/passkey?flow=" + url.QueryEscape(f.ID))
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("GET /login/passkey = %d", w.Code)
	}
	for _, want := range []string{
		`data-passkey="login"`, `data-flow="` + f.ID + `"`, `data-csrf="` + flowCSRF(b, f) + `"`,
		`<div data-passkey-ui hidden>`, `data-js-needed`, `aria-live="polite"`, `data-passkey-status`,
		`<script src="/static/passkey.js" defer></script>`, "substantial or higher", `href="/login/choose?flow=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the passkey page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
		t.Error("the passkey page has inline script")
	}
	if w := b.get("/login/passkey?flow=nope"); w.Code != http.StatusBadRequest {
		t.Errorf("GET /login/passkey with an unknown flow = %d, want 400", w.Code)
	}
}
