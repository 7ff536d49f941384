package upstream_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
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

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/upstream"
	"github.com/fullmakt/fullmakt/policies"
)

// The secrets of our clients at the upstream Fullmakt.
const (
	clientSecret = "fms_upstream-client-secret-for-tests-only-000000"
	nopidSecret  = "fms_upstream-nopid-secret-for-tests-only-0000000"
)

// idportenACR is ID-porten's acr mapping, as an operator would configure it.
var idportenACR = map[string]string{"idporten-loa-substantial": "substantial", "idporten-loa-high": "high"}

// upstreamIdP is another Fullmakt instance acting as the upstream OpenID Provider:
// a real idp.Server over a bbolt store with a small register and the default
// policy pack, on 127.0.0.1, with a test login that authenticates whom the test
// says. While down is set it answers 503 to everything.
type upstreamIdP struct {
	server  *idp.Server
	http    *httptest.Server
	issuer  string
	login   *testLogin
	down    atomic.Bool
	person  delegation.Person // in the register
	another delegation.Person // in the register too
}

// testLogin finishes every login as next, or fails it.
type testLogin struct {
	server *idp.Server
	mu     sync.Mutex
	next   idp.Authentication
	fail   bool
	last   idp.LoginRequest
}

func (l *testLogin) Start(w http.ResponseWriter, r *http.Request, req idp.LoginRequest) {
	l.mu.Lock()
	a, fail := l.next, l.fail
	l.last = req
	l.mu.Unlock()
	if fail {
		l.server.FailLogin(w, r, req.ID, idp.Cancelled, "the person cancelled")
		return
	}
	if a.AuthTime.IsZero() {
		a.AuthTime = time.Now()
	}
	l.server.FinishLogin(w, r, req.ID, a)
}

// as makes the next logins authenticate person at acr with amr, at authTime (zero:
// when the login happens).
func (l *testLogin) as(person delegation.PartyID, acr string, amr []string, authTime time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = idp.Authentication{Person: person, ACR: acr, AMR: amr, AuthTime: authTime}
	l.fail = false
}

// cancel makes the next logins end with access_denied.
func (l *testLogin) cancel() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail = true
}

// request returns the last login request.
func (l *testLogin) request() idp.LoginRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

func testPerson(t testing.TB, name string, birth delegation.Date, ind int, synthetic bool) delegation.Person {
	t.Helper()
	for ; ind < 1000; ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind, false, synthetic); ok {
			return delegation.Person{ID: id, Name: name, BirthDate: birth}
		}
	}
	t.Fatal("no identity number left")
	return delegation.Person{}
}

// newUpstream starts the upstream with clients.
func newUpstream(t testing.TB, clients []idp.Client) *upstreamIdP {
	t.Helper()
	ctx := context.Background()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "upstream.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	u := &upstreamIdP{
		person:  testPerson(t, "Kari Nordmann", delegation.NewDate(1980, 1, 2), 100, true),
		another: testPerson(t, "Per Hansen", delegation.NewDate(1970, 7, 8), 300, true),
	}
	err = store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error {
		for _, p := range []delegation.Person{u.person, u.another} {
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
	cs, err := idp.NewClients(clients)
	if err != nil {
		t.Fatal(err)
	}
	u.http = httptest.NewUnstartedServer(nil)
	u.issuer = "http://" + u.http.Listener.Addr().String()
	u.login = &testLogin{}
	u.server, err = idp.New(ctx, idp.Config{Issuer: u.issuer}, idp.Deps{
		Grants: store, Clients: idp.NewClientRegistry(cs, nil), Decider: decider, Registry: store, Login: u.login,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.server.Close)
	u.login.server = u.server
	mux := http.NewServeMux()
	u.server.Routes(mux)
	u.http.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	})
	u.http.Start()
	t.Cleanup(u.http.Close)
	return u
}

// secretClient is our client at the upstream, with client_secret_basic, for the
// callback URL.
func secretClient(id, secret, callback string, pid bool) idp.Client {
	return idp.Client{
		ID: id, Name: "Fullmakt", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic, SecretHash: idp.HashSecret(secret),
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "profile"},
		RedirectURIs: []string{callback}, PID: pid,
	}
}

// keyClient is our client at the upstream, with private_key_jwt and jwks.
func keyClient(id, callback, alg string, jwks []byte) idp.Client {
	return idp.Client{
		ID: id, Name: "Fullmakt", TokenEndpointAuthMethod: idp.AuthMethodPrivateKeyJWT, TokenEndpointAuthSigningAlg: alg,
		JWKS: jwks, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"},
		RedirectURIs: []string{callback}, PID: true,
	}
}

// clock is a test clock: the real time, moved by an offset.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// rp is our side: a second server on 127.0.0.1 with providers at
// /begin/{id}?flow&level&max_age&force (which calls Begin) and
// /login/upstream/{id}/callback (which calls Callback and records the outcome).
type rp struct {
	http      *httptest.Server
	url       string
	store     *bolt.Store
	clock     clock
	mu        sync.Mutex
	providers map[string]*upstream.Provider
	outcomes  []outcome
	beginErr  error
}

// outcome is what one Callback returned.
type outcome struct {
	flow string
	res  upstream.Result
	err  error
}

func newRP(t testing.TB) *rp {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "rp.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	s := &rp{store: store, providers: map[string]*upstream.Provider{}}
	s.http = httptest.NewUnstartedServer(nil)
	s.url = "http://" + s.http.Listener.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /begin/{id}", func(w http.ResponseWriter, r *http.Request) {
		p := s.provider(r.PathValue("id"))
		q := r.URL.Query()
		level, _ := strconv.Atoi(q.Get("level"))
		maxAge := -time.Second
		if v := q.Get("max_age"); v != "" {
			n, _ := strconv.Atoi(v)
			maxAge = time.Duration(n) * time.Second
		}
		if err := p.Begin(w, r, q.Get("flow"), authz.Level(level), maxAge, q.Get("force") != ""); err != nil {
			s.mu.Lock()
			s.beginErr = err
			s.mu.Unlock()
			http.Error(w, "the upstream cannot be reached", http.StatusBadGateway)
		}
	})
	mux.HandleFunc("GET /login/upstream/{id}/callback", func(w http.ResponseWriter, r *http.Request) {
		flow, res, err := s.provider(r.PathValue("id")).Callback(w, r)
		s.mu.Lock()
		s.outcomes = append(s.outcomes, outcome{flow: flow, res: res, err: err})
		s.mu.Unlock()
		io.WriteString(w, "done")
	})
	s.http.Config.Handler = mux
	t.Cleanup(s.http.Close)
	return s
}

func (s *rp) provider(id string) *upstream.Provider {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.providers[id]
}

// callback is the callback URL of provider id.
func (s *rp) callback(id string) string { return s.url + "/login/upstream/" + id + "/callback" }

// add builds provider cfg (its callback URL from its id) and serves it.
func (s *rp) add(t testing.TB, cfg upstream.Config) *upstream.Provider {
	t.Helper()
	p, err := upstream.New(cfg, s.callback(cfg.ID), s.store, nil, s.clock.now)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.ID, err)
	}
	s.mu.Lock()
	s.providers[cfg.ID] = p
	s.mu.Unlock()
	return p
}

// begin is the URL that starts a login with provider id for flow.
func (s *rp) begin(id, flow string, level authz.Level, maxAge int, force bool) string {
	q := url.Values{"flow": {flow}, "level": {strconv.Itoa(int(level))}}
	if maxAge >= 0 {
		q.Set("max_age", strconv.Itoa(maxAge))
	}
	if force {
		q.Set("force", "1")
	}
	return s.url + "/begin/" + id + "?" + q.Encode()
}

// last returns the outcome of the last callback, failing the test if there was
// none since the previous call.
func (s *rp) last(t testing.TB) outcome {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.outcomes) != 1 {
		t.Fatalf("%d callbacks, want 1", len(s.outcomes))
	}
	o := s.outcomes[0]
	s.outcomes = nil
	return o
}

// takeBeginErr returns the error of the last failed Begin, and forgets it.
func (s *rp) takeBeginErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.beginErr
	s.beginErr = nil
	return err
}

// browser is a net/http client with a cookie jar that follows redirects by hand.
type browser struct {
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is where a navigation ended.
type page struct {
	url    *url.URL
	status int
	body   string
	header http.Header
	// hops are the URLs visited, the first one included.
	hops []*url.URL
}

// get follows start through redirects, at most 10, until a page that does not
// redirect, or until stop says a URL is not to be fetched (then that URL is the
// page's, with status 0).
func (b *browser) get(t testing.TB, start string, stop func(*url.URL) bool) page {
	t.Helper()
	u, err := url.Parse(start)
	if err != nil {
		t.Fatal(err)
	}
	var pg page
	for range 10 {
		pg.hops = append(pg.hops, u)
		if stop != nil && stop(u) {
			pg.url, pg.status = u, 0
			return pg
		}
		resp, err := b.c.Get(u.String())
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		pg.url, pg.status, pg.body, pg.header = u, resp.StatusCode, string(body), resp.Header
		if resp.StatusCode/100 != 3 {
			return pg
		}
		next, err := resp.Location()
		if err != nil {
			t.Fatalf("GET %s: %d without a location", u, resp.StatusCode)
		}
		u = next
	}
	t.Fatalf("more than 10 redirects from %s", start)
	return pg
}

// cookie returns the browser's cookie called name for u, or nil.
func (b *browser) cookie(u, name string) *http.Cookie {
	pu, _ := url.Parse(u)
	for _, c := range b.jar.Cookies(pu) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// setCookie gives the browser a cookie for u (MaxAge < 0 deletes it).
func (b *browser) setCookie(u string, c *http.Cookie) {
	pu, _ := url.Parse(u)
	b.jar.SetCookies(pu, []*http.Cookie{c})
}

// atCallback stops a navigation at our callback, before the browser fetches it.
func atCallback(u *url.URL) bool { return strings.HasSuffix(u.Path, "/callback") }

// writeKey writes a PKCS #8 PEM private key to dir/name and returns its path.
func writeKey(t testing.TB, dir, name string, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// wantErr fails the test unless err matches want: nil for none, a sentinel for
// errors.Is, errAny for any error that is none of the sentinels.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Fatalf("%s: %v, want no error", what, err)
	case want == errAny:
		if err == nil {
			t.Fatalf("%s: no error, want one", what)
		}
		for _, s := range []error{upstream.ErrState, upstream.ErrCancelled, upstream.ErrLevelNotReached} {
			if errors.Is(err, s) {
				t.Fatalf("%s: %v, want an error other than %v", what, err, s)
			}
		}
	case want != nil && !errors.Is(err, want):
		t.Fatalf("%s: %v, want %v", what, err, want)
	}
}

// errAny stands for "an error, but none of the sentinels".
var errAny = errors.New("any error")
