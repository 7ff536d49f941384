package idp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
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
	"github.com/fullmakt/fullmakt/policies"
)

// Secrets of the fixture's confidential clients, and the audiences they may ask for.
const (
	webSecret     = "fms_web-client-secret-for-tests-only-0000000000"
	machineSecret = "fms_machine-client-secret-for-tests-only-000000"
	parSecret     = "fms_par-client-secret-for-tests-only-0000000000"
	nopidSecret   = "fms_nopid-client-secret-for-tests-only-00000000"
	agencyAPI     = "https://api.lanekassen.example"
	navAPI        = "https://api.nav.example"

	webRedirect   = "http://127.0.0.1/callback"
	spaRedirect   = "http://127.0.0.1/spa"
	parRedirect   = "http://127.0.0.1/par"
	nopidRedirect = "http://127.0.0.1/nopid"
)

// Token type and grant type URIs of RFC 8693.
const (
	tokenTypeAccess = "urn:ietf:params:oauth:token-type:access_token"
	assertionType   = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

const (
	acrSubstantial = "http://eidas.europa.eu/LoA/substantial"
	acrHigh        = "http://eidas.europa.eu/LoA/high"
)

// fixture is a real server on 127.0.0.1: the bbolt store in a temporary directory
// with a small population, the default policy pack, the decision point, the
// OAuth server and a test login that authenticates whoever the test says.
//
// The clients:
//
//	web        confidential (Basic), code + refresh, PID, audience agencyAPI, every
//	           service, RAR representation and consent, organisation 960885406
//	nopid      confidential (Basic), code + refresh + token exchange, no PID,
//	           audience navAPI, every service
//	spa        public, code + refresh, openid only, no audience
//	par-only   confidential (Basic), code, must push its requests (RFC 9126)
//	machine    confidential (Basic), client credentials + token exchange, PID,
//	           audience agencyAPI, three services
//	jwt-client private_key_jwt (ES256, f.assertionKey), client credentials
type fixture struct {
	store   *bolt.Store
	grants  *gatedGrants
	pdp     *pdp.PDP
	decider *recordingDecider
	server  *idp.Server
	http    *httptest.Server
	issuer  string
	login   *testLogin
	clients *idp.ClientRegistry
	// assertionKey is the private key of the private_key_jwt client.
	assertionKey *ecdsa.PrivateKey

	// parent has parental responsibility for child (8 years old whatever the
	// year, since the health rules change at 12 and 16); proxy holds a fullmakt
	// from grantor for the area tax; stranger is related to nobody.
	parent, child, grantor, proxy, stranger delegation.Person
}

// testLogin is the login step, automated: it authenticates the person in next,
// at the level in next, and picks the party in next.
type testLogin struct {
	server  *idp.Server
	mu      sync.Mutex
	next    idp.Authentication
	last    idp.LoginRequest
	started int
	// fail, when set, ends the login with FailLogin: unmet says whether the
	// person could not reach the level, or cancelled.
	fail, unmet bool
}

func (l *testLogin) Start(w http.ResponseWriter, r *http.Request, req idp.LoginRequest) {
	l.mu.Lock()
	a, fail, unmet := l.next, l.fail, l.unmet
	l.last = req
	l.started++
	l.mu.Unlock()
	if fail {
		f := idp.Cancelled
		if unmet {
			f = idp.Unmet
		}
		l.server.FailLogin(w, r, req.ID, f, "the person has no means of the level asked for")
		return
	}
	if slices.Contains(req.Prompt, "none") {
		// The test login keeps no session to answer from.
		l.server.FailLogin(w, r, req.ID, idp.LoginRequired, "Nobody is logged in.")
		return
	}
	if a.AuthTime.IsZero() {
		a.AuthTime = time.Now()
	}
	l.server.FinishLogin(w, r, req.ID, a)
}

// as sets who the next login authenticates, at which acr, acting for party
// (empty: themself). The person consents to what they are asked.
func (l *testLogin) as(person delegation.PartyID, acr string, party delegation.PartyID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next = idp.Authentication{Person: person, ACR: acr, AMR: []string{"hwk", "user"}, Party: party, Consented: true}
	l.fail = false
}

// change modifies what the next login reports.
func (l *testLogin) change(f func(a *idp.Authentication)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.next)
}

// failNext makes the next logins end with FailLogin(unmet).
func (l *testLogin) failNext(unmet bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail, l.unmet = true, unmet
}

// request returns the last LoginRequest and how many logins have started.
func (l *testLogin) request() (idp.LoginRequest, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last, l.started
}

// gatedGrants is the store as the server's grants port, with a hook on reads: a
// test holds parallel requests until all of them have read a record, so that they
// overlap for certain rather than by luck.
type gatedGrants struct {
	grants.Store
	hold atomic.Pointer[func(grants.Kind)]
}

func (g *gatedGrants) Grant(ctx context.Context, k grants.Kind, key string) (grants.Record, error) {
	rec, err := g.Store.Grant(ctx, k, key)
	if hold := g.hold.Load(); hold != nil {
		(*hold)(k)
	}
	return rec, err
}

// barrier makes the first n reads of records of kind k wait, once they have read,
// until all n have read (or until a few seconds have passed, so that a broken
// test fails instead of hanging); later reads pass.
func (g *gatedGrants) barrier(k grants.Kind, n int) {
	var arrived atomic.Int32
	all := make(chan struct{})
	hold := func(kind grants.Kind) {
		if kind != k {
			return
		}
		switch c := arrived.Add(1); {
		case int(c) == n:
			close(all)
		case int(c) > n:
			return
		}
		select {
		case <-all:
		case <-time.After(5 * time.Second):
		}
	}
	g.hold.Store(&hold)
}

// recordingDecider is the decision point, recording what the server asks it to
// decide (and record) for a party.
type recordingDecider struct {
	*pdp.PDP
	mu    sync.Mutex
	asked []decided
}

// decided is one Decide call.
type decided struct {
	Actor, Party    delegation.PartyID
	Service, Action string
	Client          string
}

func (d *recordingDecider) Decide(ctx context.Context, req authz.Request, client string) (authz.Decision, error) {
	d.mu.Lock()
	d.asked = append(d.asked, decided{Actor: req.Actor, Party: req.Party, Service: req.Service, Action: req.Action, Client: client})
	d.mu.Unlock()
	return d.PDP.Decide(ctx, req, client)
}

// take returns the Decide calls since the last take.
func (d *recordingDecider) take() []decided {
	d.mu.Lock()
	defer d.mu.Unlock()
	asked := d.asked
	d.asked = nil
	return asked
}

func testPerson(t testing.TB, name string, birth delegation.Date, ind int) delegation.Person {
	t.Helper()
	for ; ind < 1000; ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
			return delegation.Person{ID: id, Name: name, BirthDate: birth}
		}
	}
	t.Fatal("no identity number left")
	return delegation.Person{}
}

// newFixture starts the server; cfg may change the configuration (the issuer is
// set afterwards).
func newFixture(t testing.TB, cfg ...func(*idp.Config)) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{
		store:    store,
		grants:   &gatedGrants{Store: store},
		parent:   testPerson(t, "Kari Nordmann", delegation.NewDate(1980, 1, 2), 100),
		child:    testPerson(t, "Ola Nordmann", delegation.Today(time.Now()).AddYears(-8).AddDays(-30), 500),
		grantor:  testPerson(t, "Anne Hansen", delegation.NewDate(1940, 3, 4), 200),
		proxy:    testPerson(t, "Per Hansen", delegation.NewDate(1970, 7, 8), 300),
		stranger: testPerson(t, "Siri Berg", delegation.NewDate(1975, 9, 10), 400),
	}
	err = store.UpdateRegister(ctx, func(tx delegation.RegisterTx) error {
		for _, p := range []delegation.Person{f.parent, f.child, f.grantor, f.proxy, f.stranger} {
			if err := tx.PutPerson(p); err != nil {
				return err
			}
		}
		return tx.PutParental(delegation.ParentalResponsibility{Parent: f.parent.ID, Child: f.child.ID, Kind: delegation.CustodyJoint})
	})
	if err != nil {
		t.Fatal(err)
	}
	fm := delegation.Fullmakt{ID: "fm-tax", Grantor: f.grantor.ID, Proxy: f.proxy.ID, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, Origin: delegation.OriginPortal, CreatedAt: time.Now().Add(-time.Hour)}
	if err := store.CreateFullmakt(ctx, fm); err != nil {
		t.Fatal(err)
	}

	pack, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	f.pdp = pdp.New(store, pack, pdp.Options{Access: store})
	t.Cleanup(func() { f.pdp.Close(context.Background()) })
	f.decider = &recordingDecider{PDP: f.pdp}

	f.assertionKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &f.assertionKey.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}

	// The listener comes first: the issuer is its URL.
	f.http = httptest.NewUnstartedServer(nil)
	f.issuer = "http://" + f.http.Listener.Addr().String()
	cs, err := idp.NewClients([]idp.Client{
		{
			ID: "web", Name: "Lånekassen", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic, SecretHash: idp.HashSecret(webSecret),
			GrantTypes:   []string{"authorization_code", "refresh_token"},
			Scopes:       []string{"openid", "profile", "represent"},
			RedirectURIs: []string{webRedirect}, PostLogoutRedirectURIs: []string{"http://127.0.0.1/bye"},
			Audiences: []string{agencyAPI}, Services: []string{"*"}, PID: true, Organization: "960885406",
			AuthorizationDetailsTypes: []string{"representation", "consent"},
		},
		{
			ID: "nopid", Name: "NAV", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic, SecretHash: idp.HashSecret(nopidSecret),
			GrantTypes: []string{"authorization_code", "refresh_token", idp.GrantTypeTokenExchange},
			Scopes:     []string{"openid", "profile", "represent"}, RedirectURIs: []string{nopidRedirect},
			Audiences: []string{navAPI}, Services: []string{"*"},
			AuthorizationDetailsTypes: []string{"representation"},
		},
		{
			ID: "spa", Name: "Public app", TokenEndpointAuthMethod: idp.AuthMethodNone,
			GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid"},
			RedirectURIs: []string{spaRedirect},
		},
		{
			ID: "par-only", Name: "PAR client", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic, SecretHash: idp.HashSecret(parSecret),
			GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, RedirectURIs: []string{parRedirect}, RequirePAR: true,
		},
		{
			ID: "machine", Name: "Agency backend", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic, SecretHash: idp.HashSecret(machineSecret),
			GrantTypes: []string{"client_credentials", idp.GrantTypeTokenExchange}, Scopes: []string{"openid", "profile", "represent", "decide"},
			Audiences: []string{agencyAPI}, Services: []string{"skatteetaten.skattemelding", "lanekassen.studiestotte", "helsenorge.journal"}, PID: true,
		},
		{
			ID: "jwt-client", Name: "Key client", TokenEndpointAuthMethod: idp.AuthMethodPrivateKeyJWT, TokenEndpointAuthSigningAlg: "ES256",
			JWKS: jwks, GrantTypes: []string{"client_credentials"}, Scopes: []string{"decide"}, Audiences: []string{agencyAPI},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.clients = idp.NewClientRegistry(cs, nil)
	f.login = &testLogin{}
	c := idp.Config{}
	for _, change := range cfg {
		change(&c)
	}
	c.Issuer = f.issuer
	f.server, err = idp.New(ctx, c, idp.Deps{
		Grants: f.grants, Clients: f.clients, Decider: f.decider, Registry: store, Login: f.login,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.server.Close)
	f.login.server = f.server
	mux := http.NewServeMux()
	f.server.Routes(mux)
	f.http.Config.Handler = mux
	f.http.Start()
	t.Cleanup(f.http.Close)
	return f
}

// sub returns the opaque sub of a party.
func (f *fixture) sub(p delegation.Person) string { return f.server.Subject(p.ID) }

// Requests to the server.

// authorizeResult is where an authorization request ended: a redirect to the
// client (location), or a page of the server (status and body).
type authorizeResult struct {
	status   int
	location *url.URL
	body     string
}

// param returns a parameter of the redirect to the client, from the query or, for
// a fragment response, the fragment.
func (r authorizeResult) param(name string) string {
	if r.location == nil {
		return ""
	}
	if v := r.location.Query().Get(name); v != "" {
		return v
	}
	q, _ := url.ParseQuery(r.location.Fragment)
	return q.Get(name)
}

func (r authorizeResult) String() string {
	if r.location != nil {
		return "redirect to " + r.location.String()
	}
	return "page " + http.StatusText(r.status) + ": " + r.body
}

// authorize follows an authorization request through the server and the test
// login, like a browser, up to the first answer that does not redirect within the
// server: a redirect to the client (which it does not follow) or a page.
func (f *fixture) authorize(t testing.TB, authURL string) authorizeResult {
	t.Helper()
	client := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), f.issuer+"/") {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatalf("GET %s: %v", authURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	res := authorizeResult{status: resp.StatusCode, body: string(body)}
	if resp.StatusCode/100 == 3 {
		if res.location, err = resp.Location(); err != nil {
			t.Fatalf("GET %s: %v", authURL, err)
		}
	}
	return res
}

// authParams are the parameters of a good authorization request of client to
// redirect with PKCE S256; the verifier is returned. Tests change them to make bad ones.
func authParams(client, redirect string, scopes ...string) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {client},
		"redirect_uri":          {redirect},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {oauth2.GenerateVerifier()},
		"nonce":                 {oauth2.GenerateVerifier()},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	return q, verifier
}

// authorizeWith sends an authorization request with q.
func (f *fixture) authorizeWith(t testing.TB, q url.Values) authorizeResult {
	t.Helper()
	return f.authorize(t, f.issuer+"/authorize?"+q.Encode())
}

// code runs an authorization request with q and returns the code, failing the
// test on any error.
func (f *fixture) code(t testing.TB, q url.Values) string {
	t.Helper()
	res := f.authorizeWith(t, q)
	if res.location == nil || res.param("code") == "" {
		t.Fatalf("authorize(%v) = %v, want a redirect with a code", q, res)
	}
	if got := res.param("state"); got != q.Get("state") {
		t.Fatalf("authorize: state %q, want %q", got, q.Get("state"))
	}
	return res.param("code")
}

func (f *fixture) oauth2Config(clientID, secret, redirect string, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if secret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: f.issuer + "/authorize", TokenURL: f.issuer + "/token", AuthStyle: style},
	}
}

// codeFlow runs the authorization code flow with PKCE as a real client would
// (golang.org/x/oauth2) and returns the tokens.
func (f *fixture) codeFlow(t testing.TB, cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	verifier := oauth2.GenerateVerifier()
	state := oauth2.GenerateVerifier()
	opts = append(opts, oauth2.S256ChallengeOption(verifier))
	res := f.authorize(t, cfg.AuthCodeURL(state, opts...))
	if res.location == nil {
		return nil, errors.New(res.String())
	}
	if e := res.param("error"); e != "" {
		return nil, &authorizeError{code: e, description: res.param("error_description")}
	}
	if res.param("state") != state {
		return nil, errors.New("state mismatch")
	}
	return cfg.Exchange(t.Context(), res.param("code"), oauth2.VerifierOption(verifier))
}

// mustCodeFlow is codeFlow failing the test on error.
func (f *fixture) mustCodeFlow(t testing.TB, cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	tok, err := f.codeFlow(t, cfg, opts...)
	if err != nil {
		t.Fatalf("code flow of %s: %v", cfg.ClientID, err)
	}
	return tok
}

// webConfig is the web client's configuration with scopes.
func (f *fixture) webConfig(scopes ...string) *oauth2.Config {
	return f.oauth2Config("web", webSecret, webRedirect, scopes...)
}

// authorizeError is an error redirected to the client.
type authorizeError struct{ code, description string }

func (e *authorizeError) Error() string { return e.code + ": " + e.description }

// errorCode returns the OAuth error code of err: from the token endpoint
// (oauth2.RetrieveError) or from a redirect (authorizeError); "" otherwise.
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	var ae *authorizeError
	if errors.As(err, &ae) {
		return ae.code
	}
	return ""
}

// response is the answer of a JSON endpoint.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r response) String() string { return http.StatusText(r.status) + " " + r.raw }

// str returns a string member of the body.
func (r response) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// clientAuth adds a client's authentication to a request.
type clientAuth func(form url.Values, h http.Header)

// basic is client_secret_basic (RFC 6749 §2.3.1: the id and secret form-encoded).
func basic(id, secret string) clientAuth {
	return func(_ url.Values, h http.Header) {
		r := http.Request{Header: h}
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
}

// public is a public client naming itself.
func public(id string) clientAuth {
	return func(form url.Values, _ http.Header) { form.Set("client_id", id) }
}

// assertion is private_key_jwt with the assertion jwt.
func assertion(jwt string) clientAuth {
	return func(form url.Values, _ http.Header) {
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", jwt)
	}
}

// post sends form to the endpoint at path with the client's authentication and
// decodes the JSON answer.
func (f *fixture) post(t testing.TB, path string, form url.Values, auth clientAuth) response {
	t.Helper()
	form = cloneValues(form)
	h := http.Header{}
	if auth != nil {
		auth(form, h)
	}
	req, err := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.do(t, req)
}

// get sends a GET with a bearer token (if any) and decodes the JSON answer.
func (f *fixture) get(t testing.TB, path, bearer string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.issuer+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return f.do(t, req)
}

func (f *fixture) do(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("%s %s: the answer is not a JSON object: %v: %s", req.Method, req.URL, err, raw)
		}
	}
	return r
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// introspect asks the introspection endpoint about token, authenticated as the
// machine client (which may receive pid).
func (f *fixture) introspect(t testing.TB, token string) map[string]any {
	t.Helper()
	return f.introspectAs(t, token, basic("machine", machineSecret))
}

func (f *fixture) introspectAs(t testing.TB, token string, auth clientAuth) map[string]any {
	t.Helper()
	r := f.post(t, "/introspect", url.Values{"token": {token}}, auth)
	if r.status != http.StatusOK {
		t.Fatalf("introspect: %v, want 200", r)
	}
	return r.body
}

// active reports whether introspection says token is active.
func (f *fixture) active(t testing.TB, token string) bool {
	t.Helper()
	return f.introspect(t, token)["active"] == true
}

// refresh uses a refresh token of client.
func (f *fixture) refresh(t testing.TB, refreshToken string, auth clientAuth) response {
	t.Helper()
	return f.post(t, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}, auth)
}

// jwks fetches the server's JWK Set, as a resource server would.
func (f *fixture) jwks(t testing.TB) jose.JSONWebKeySet {
	t.Helper()
	r := f.get(t, "/jwks.json", "")
	var set jose.JSONWebKeySet
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.raw), &set) != nil {
		t.Fatalf("GET /jwks.json: %v", r)
	}
	return set
}

// verifiedJWT is a JWT whose signature was verified with the server's JWKS.
type verifiedJWT struct {
	typ    string
	kid    string
	claims map[string]any
	std    josejwt.Claims
}

// verifyJWT verifies a JWT with the server's published JWKS alone (go-jose v4),
// as a resource server that never calls the server would, and returns its header
// type and claims. It checks the signature, iss and the time claims (which must
// be there), not aud.
func (f *fixture) verifyJWT(t testing.TB, raw string) verifiedJWT {
	t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	if len(tok.Headers) != 1 {
		t.Fatalf("JWT has %d signatures, want 1", len(tok.Headers))
	}
	h := tok.Headers[0]
	set := f.jwks(t)
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("JWT kid %q: %d keys in the JWKS, want 1", h.KeyID, len(keys))
	}
	var v verifiedJWT
	if err := tok.Claims(keys[0].Key, &v.std, &v.claims); err != nil {
		t.Fatalf("verify JWT with the JWKS: %v", err)
	}
	if v.std.Expiry == nil || v.std.IssuedAt == nil || v.std.ID == "" {
		t.Fatalf("JWT exp %v iat %v jti %q: want all (RFC 9068 §2.2)", v.std.Expiry, v.std.IssuedAt, v.std.ID)
	}
	if err := v.std.ValidateWithLeeway(josejwt.Expected{Issuer: f.issuer, Time: time.Now()}, 0); err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	v.typ, _ = h.ExtraHeaders[jose.HeaderType].(string)
	v.kid = h.KeyID
	return v
}

// clientAssertion returns a private_key_jwt assertion of jwt-client, changed by
// edit before it is signed with key (RFC 7523 §3: iss = sub = client_id, aud = the
// token endpoint, a unique jti, a short exp).
func (f *fixture) clientAssertion(t testing.TB, key *ecdsa.PrivateKey, edit func(c map[string]any)) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{
		"iss": "jwt-client", "sub": "jwt-client", "aud": f.issuer + "/token",
		"jti": oauth2.GenerateVerifier(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
	if edit != nil {
		edit(claims)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), "k1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// unverifiedClaims decodes the payload of a JWT without verifying it.
func unverifiedClaims(t testing.TB, raw string) map[string]any {
	t.Helper()
	tok, err := josejwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	var m map[string]any
	if err := tok.UnsafeClaimsWithoutVerification(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// exchangeForm is a token exchange request (RFC 8693 §2.1) for subject token, to
// act for party in the services (read).
func exchangeForm(subjectToken string, party delegation.PartyID, services ...string) url.Values {
	list, _ := json.Marshal(services)
	return url.Values{
		"grant_type":            {idp.GrantTypeTokenExchange},
		"subject_token":         {subjectToken},
		"subject_token_type":    {tokenTypeAccess},
		"audience":              {agencyAPI},
		"authorization_details": {`[{"type":"representation","party":{"type":"person","id":"` + string(party) + `"},"services":` + string(list) + `,"actions":["read"]}]`},
	}
}
