package sdk

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// opClock is a clock tests move by hand; the fake and the SDK share it.
type opClock struct {
	mu sync.Mutex
	t  time.Time
}

func newOPClock() *opClock {
	return &opClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *opClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *opClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// opKey is one signing key of the fake.
type opKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

func newOPKey(t testing.TB) *opKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &opKey{kid: "k-" + rand.Text()[:10], priv: priv}
}

// jwk is the key's public JWK as go-jose writes it.
func (k *opKey) jwk(t testing.TB) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// opClient is a client the fake knows: a secret (client_secret_basic) or a
// public key and its algorithm (private_key_jwt).
type opClient struct {
	secret string
	key    crypto.PublicKey
	kid    string
	alg    jose.SignatureAlgorithm
}

// opCode is an authorization code the fake will redeem once.
type opCode struct {
	clientID, redirectURI, challenge string
	idToken, accessToken, scope      string
}

// fakeOP is a fake Fullmakt, real enough for the SDK's token side: discovery,
// the AuthZEN metadata, a JWK Set with keys that rotate, a token endpoint that
// checks client_secret_basic and private_key_jwt as Fullmakt does (aud the token
// endpoint exactly, each jti once), client credentials, authorization codes with
// PKCE, and token exchange answers the test chooses. It uses go-jose, not the
// SDK's code, to sign and to verify.
type fakeOP struct {
	t     testing.TB
	srv   *httptest.Server
	clock *opClock

	mu        sync.Mutex
	published []*opKey
	signer    *opKey
	clients   map[string]opClient
	jtis      map[string]bool
	codes     map[string]opCode
	names     map[string][2]string // access token → sub, name (userinfo)
	// exchange answers a token exchange: status and JSON body.
	exchange func(form url.Values) (int, any)
	// ccGate, when set, holds client credentials answers until it is closed.
	ccGate chan struct{}
	// ccLifetime is the expires_in of client credentials tokens.
	ccLifetime int64
	// ccError, when set, is answered to client credentials requests.
	ccError func(w http.ResponseWriter)
	// jwksFail makes the JWK Set answer 500.
	jwksFail bool
	// metaEdit, when set, changes the provider metadata before it is served.
	metaEdit func(map[string]any)
	// lastForm is the last token request's form.
	lastForm url.Values

	jwksHits  atomic.Int32
	ccHits    atomic.Int32
	authFails atomic.Int32
}

// newFakeOP starts a fake Fullmakt with one signing key and the clients
// "secret-client" (secret "s3cr:et +%") and, when keys are given, private_key_jwt
// clients registered with them by the test (addKeyClient).
func newFakeOP(t testing.TB) *fakeOP {
	t.Helper()
	f := &fakeOP{
		t: t, clock: newOPClock(),
		clients:    map[string]opClient{"secret:client": {secret: "s3cr:et +%"}},
		jtis:       map[string]bool{},
		codes:      map[string]opCode{},
		names:      map[string][2]string{},
		ccLifetime: 600,
	}
	f.signer = newOPKey(t)
	f.published = []*opKey{f.signer}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", f.handleProvider)
	mux.HandleFunc("GET /.well-known/authzen-configuration", f.handlePDP)
	mux.HandleFunc("GET /jwks.json", f.handleJWKS)
	mux.HandleFunc("POST /token", f.handleToken)
	mux.HandleFunc("GET /userinfo", f.handleUserinfo)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeOP) issuer() string { return f.srv.URL }

// config is a configuration for this fake with the client secret; mods change it.
func (f *fakeOP) config(mods ...func(*Config)) Config {
	cfg := Config{
		Issuer:       f.issuer(),
		ClientID:     "secret:client",
		ClientSecret: "s3cr:et +%",
		Audience:     "https://api.example",
		NoChangeFeed: true,
		Now:          f.clock.Now,
		Log:          slog.New(slog.DiscardHandler),
	}
	for _, m := range mods {
		m(&cfg)
	}
	return cfg
}

// client makes an SDK client for this fake.
func (f *fakeOP) client(mods ...func(*Config)) *Client {
	f.t.Helper()
	c, err := New(context.Background(), f.config(mods...))
	if err != nil {
		f.t.Fatalf("New: %v", err)
	}
	f.t.Cleanup(func() { c.Close() })
	return c
}

// addKeyClient registers a private_key_jwt client.
func (f *fakeOP) addKeyClient(id string, key crypto.PublicKey, kid string, alg jose.SignatureAlgorithm) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients[id] = opClient{key: key, kid: kid, alg: alg}
}

// publish adds a key to the JWK Set without signing with it.
func (f *fakeOP) publish(k *opKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, k)
}

// rotate publishes a new key and signs with it from now on.
func (f *fakeOP) rotate() *opKey {
	k := newOPKey(f.t)
	f.publish(k)
	f.mu.Lock()
	f.signer = k
	f.mu.Unlock()
	return k
}

// retire takes a key out of the JWK Set.
func (f *fakeOP) retire(k *opKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, p := range f.published {
		if p == k {
			f.published = append(f.published[:i], f.published[i+1:]...)
			return
		}
	}
}

// opSign signs claims with key as a compact JWS of type typ ("" for none).
func opSign(t testing.TB, key *opKey, typ string, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key.priv, KeyID: key.kid}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, ok := claims.([]byte)
	if !ok {
		if payload, err = json.Marshal(claims); err != nil {
			t.Fatal(err)
		}
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sign signs claims with the key that signs now.
func (f *fakeOP) sign(typ string, claims any) string {
	f.mu.Lock()
	k := f.signer
	f.mu.Unlock()
	return opSign(f.t, k, typ, claims)
}

// accessClaims are the claims of an access token for the person
// "subject-kari" (pid 12345678901) acting for herself, at high, for the
// audience https://api.example.
func (f *fakeOP) accessClaims() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss": f.issuer(), "sub": "subject-kari", "aud": []string{"https://api.example"},
		"exp": now.Add(10 * time.Minute).Unix(), "iat": now.Unix(), "jti": "jti-1",
		"client_id": "example-agency", "scope": "openid profile", "acr": "http://eidas.europa.eu/LoA/high",
		"auth_time": now.Add(-time.Minute).Unix(), "pid": "12345678901",
	}
}

// issueCode makes a code the token endpoint redeems for idToken.
func (f *fakeOP) issueCode(clientID, redirectURI, challenge, idToken, accessToken, scope string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	code := "code-" + rand.Text()
	f.codes[code] = opCode{clientID: clientID, redirectURI: redirectURI, challenge: challenge, idToken: idToken, accessToken: accessToken, scope: scope}
	return code
}

func opJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeOP) handleProvider(w http.ResponseWriter, r *http.Request) {
	u := f.issuer()
	doc := map[string]any{
		"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
		"jwks_uri": u + "/jwks.json", "end_session_endpoint": u + "/logout", "userinfo_endpoint": u + "/userinfo",
	}
	f.mu.Lock()
	edit := f.metaEdit
	f.mu.Unlock()
	if edit != nil {
		edit(doc)
	}
	opJSON(w, http.StatusOK, doc)
}

func (f *fakeOP) handlePDP(w http.ResponseWriter, r *http.Request) {
	u := f.issuer()
	opJSON(w, http.StatusOK, map[string]any{
		"policy_decision_point":       u,
		"access_evaluation_endpoint":  u + "/access/v1/evaluation",
		"access_evaluations_endpoint": u + "/access/v1/evaluations",
		"search_party_endpoint":       u + "/access/v1/search/party",
		"changes_endpoint":            u + "/access/v1/changes",
	})
}

func (f *fakeOP) handleJWKS(w http.ResponseWriter, r *http.Request) {
	f.jwksHits.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jwksFail {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	set := jose.JSONWebKeySet{}
	for _, k := range f.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"})
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	_ = json.NewEncoder(w).Encode(set)
}

func (f *fakeOP) handleUserinfo(w http.ResponseWriter, r *http.Request) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	who, ok := f.names[token]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "no", http.StatusUnauthorized)
		return
	}
	opJSON(w, http.StatusOK, map[string]string{"sub": who[0], "name": who[1]})
}

// authenticate checks the client's authentication of a token request and
// returns the client id.
func (f *fakeOP) authenticate(r *http.Request) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.PostForm.Get("client_assertion_type") != "" {
		if r.PostForm.Get("client_assertion_type") != assertionType {
			return "", fmt.Errorf("client_assertion_type %q", r.PostForm.Get("client_assertion_type"))
		}
		jws, err := jose.ParseSignedCompact(r.PostForm.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256, jose.PS256})
		if err != nil {
			return "", err
		}
		id := r.PostForm.Get("client_id")
		client, ok := f.clients[id]
		if !ok || client.key == nil {
			return "", fmt.Errorf("no private_key_jwt client %q", id)
		}
		h := jws.Signatures[0].Header
		if jose.SignatureAlgorithm(h.Algorithm) != client.alg || h.KeyID != client.kid {
			return "", fmt.Errorf("alg %s kid %s, want %s %s", h.Algorithm, h.KeyID, client.alg, client.kid)
		}
		payload, err := jws.Verify(client.key)
		if err != nil {
			return "", err
		}
		var cl struct {
			Iss, Sub, Jti string
			Aud           any
			Iat, Exp      int64
		}
		if err := json.Unmarshal(payload, &cl); err != nil {
			return "", err
		}
		now := f.clock.Now().Unix()
		switch {
		case cl.Iss != id || cl.Sub != id:
			return "", fmt.Errorf("iss %q sub %q", cl.Iss, cl.Sub)
		case cl.Aud != f.issuer()+"/token":
			return "", fmt.Errorf("aud %v is not the token endpoint exactly", cl.Aud)
		case cl.Jti == "" || f.jtis[cl.Jti]:
			return "", fmt.Errorf("jti %q empty or used", cl.Jti)
		case cl.Exp <= now || cl.Iat > now || cl.Exp-cl.Iat > 300:
			return "", fmt.Errorf("iat %d exp %d at %d", cl.Iat, cl.Exp, now)
		}
		f.jtis[cl.Jti] = true
		return id, nil
	}
	rawID, rawSecret, ok := r.BasicAuth()
	if !ok {
		return "", fmt.Errorf("no client authentication")
	}
	id, err1 := url.QueryUnescape(rawID)
	secret, err2 := url.QueryUnescape(rawSecret)
	client, known := f.clients[id]
	if err1 != nil || err2 != nil || !known || client.secret == "" || client.secret != secret {
		return "", fmt.Errorf("bad client secret")
	}
	return id, nil
}

func (f *fakeOP) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		opJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	f.mu.Lock()
	f.lastForm = r.PostForm
	f.mu.Unlock()
	id, err := f.authenticate(r)
	if err != nil {
		f.authFails.Add(1)
		f.t.Logf("fake: client authentication failed: %v", err)
		opJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client", "error_description": "The client did not authenticate."})
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "client_credentials":
		n := f.ccHits.Add(1)
		f.mu.Lock()
		gate, fail, lifetime := f.ccGate, f.ccError, f.ccLifetime
		f.mu.Unlock()
		if gate != nil {
			<-gate
		}
		if fail != nil {
			fail(w)
			return
		}
		if r.PostForm.Get("scope") != "decide" {
			opJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_scope"})
			return
		}
		opJSON(w, http.StatusOK, map[string]any{"access_token": fmt.Sprintf("cc-%s-%d", id, n), "token_type": "bearer", "expires_in": lifetime, "scope": "decide"})
	case "authorization_code":
		f.mu.Lock()
		code, ok := f.codes[r.PostForm.Get("code")]
		delete(f.codes, r.PostForm.Get("code"))
		f.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case !ok || code.clientID != id || code.redirectURI != r.PostForm.Get("redirect_uri"):
			opJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "The code is not valid."})
		case base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge:
			opJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "The code verifier does not match."})
		default:
			opJSON(w, http.StatusOK, map[string]any{
				"access_token": code.accessToken, "token_type": "Bearer", "expires_in": 600,
				"id_token": code.idToken, "refresh_token": "refresh-1", "scope": code.scope,
			})
		}
	case grantTypeTokenExchange:
		f.mu.Lock()
		answer := f.exchange
		f.mu.Unlock()
		if answer == nil {
			opJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
			return
		}
		status, body := answer(r.PostForm)
		if s, ok := body.(string); ok {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, s)
			return
		}
		opJSON(w, status, body)
	default:
		opJSON(w, http.StatusBadRequest, map[string]string{"error": "unsupported_grant_type"})
	}
}

func slogDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }
