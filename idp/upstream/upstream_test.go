package upstream_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/upstream"
)

// pair is our side and the upstream Fullmakt, with these providers on our side:
//
//	idporten   client_secret_basic, ID-porten's acr map
//	narrow     client_secret_basic, only idporten-loa-substantial mapped
//	nopid      client_secret_basic, a client the upstream gives no pid
//	badsecret  client_secret_basic with a wrong secret
//	jwt-ec     private_key_jwt, ES256
//	jwt-rsa    private_key_jwt, RS256
type pair struct {
	rp *rp
	up *upstreamIdP
}

func newPair(t testing.TB) *pair {
	t.Helper()
	s := newRP(t)
	dir := t.TempDir()
	ec, rs := ecKey(t), rsaKey(t, 2048)
	writeKey(t, dir, "ec.pem", ec)
	writeKey(t, dir, "rsa.pem", rs)
	fullmakt := secretClient("fullmakt", clientSecret, s.callback("idporten"), true)
	fullmakt.RedirectURIs = append(fullmakt.RedirectURIs, s.callback("narrow"), s.callback("badsecret"))
	up := newUpstream(t, []idp.Client{
		fullmakt,
		secretClient("fullmakt-nopid", nopidSecret, s.callback("nopid"), false),
		keyClient("fullmakt-ec", s.callback("jwt-ec"), "ES256", jwksOf(t, ec, "ES256")),
		keyClient("fullmakt-rsa", s.callback("jwt-rsa"), "RS256", jwksOf(t, rs, "RS256")),
	})
	cfg := func(id, client string) upstream.Config {
		return upstream.Config{ID: id, Name: "ID-porten", Issuer: up.issuer, ClientID: client, ClientSecret: clientSecret,
			ACR: idportenACR, AllowSyntheticIDs: true}
	}
	s.add(t, cfg("idporten", "fullmakt"))
	narrow := cfg("narrow", "fullmakt")
	narrow.ACR = map[string]string{"idporten-loa-substantial": "substantial"}
	s.add(t, narrow)
	nopid := cfg("nopid", "fullmakt-nopid")
	nopid.ClientSecret = nopidSecret
	s.add(t, nopid)
	bad := cfg("badsecret", "fullmakt")
	bad.ClientSecret = "not-the-secret"
	s.add(t, bad)
	for _, k := range []struct{ id, client, file string }{{"jwt-ec", "fullmakt-ec", "ec.pem"}, {"jwt-rsa", "fullmakt-rsa", "rsa.pem"}} {
		c := cfg(k.id, k.client)
		c.ClientSecret, c.PrivateKeyFile = "", filepath.Join(dir, k.file)
		s.add(t, c)
	}
	s.http.Start()
	return &pair{rp: s, up: up}
}

// jwksOf is the JWK Set of key's public half, with its RFC 7638 thumbprint as kid.
func jwksOf(t testing.TB, key crypto.Signer, alg string) []byte {
	t.Helper()
	jwk := jose.JSONWebKey{Key: key.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLogin(t *testing.T) {
	p := newPair(t)
	authTime := time.Now().Add(-30 * time.Second).Truncate(time.Second)
	p.up.login.as(p.up.person.ID, "idporten-loa-high", []string{"BankID", "hwk", "user", "mfa", "hwk"}, authTime)
	b := newBrowser(t)

	pg := b.get(t, p.rp.begin("idporten", "flow-1", authz.LevelSubstantial, 300, false), nil)
	if pg.status != http.StatusOK || pg.body != "done" || !atCallback(pg.url) {
		t.Fatalf("login ended at %s with %d %q, want our callback", pg.url, pg.status, pg.body)
	}
	o := p.rp.last(t)
	if o.err != nil {
		t.Fatalf("Callback: %v", o.err)
	}
	want := upstream.Result{Person: p.up.person.ID, Level: authz.LevelHigh, AMR: []string{"hwk", "user", "mfa"}, AuthTime: authTime}
	if o.flow != "flow-1" {
		t.Errorf("Callback flow = %q, want flow-1", o.flow)
	}
	if diff := cmp.Diff(want, o.res); diff != "" {
		t.Errorf("Callback result (-want +got):\n%s", diff)
	}

	// What the upstream was asked: the level (in its own acr vocabulary) and
	// the freshness.
	req := p.up.login.request()
	if req.Level != authz.LevelSubstantial || req.MaxAge != 300*time.Second || len(req.Prompt) != 0 || req.ClientID != "fullmakt" {
		t.Errorf("upstream login request = level %v, max_age %v, prompt %v, client %s; want substantial, 5m, none, fullmakt",
			req.Level, req.MaxAge, req.Prompt, req.ClientID)
	}
	authorize := pg.hops[1]
	if got := authorize.Query().Get("acr_values"); got != "idporten-loa-substantial idporten-loa-high" {
		t.Errorf("acr_values = %q, want the upstream's values from substantial up", got)
	}
	// The binding cookie is gone once the callback has used it.
	if c := b.cookie(p.rp.url, "fullmakt-upstream"); c != nil {
		t.Errorf("after the callback the browser still has the cookie %v", c)
	}

	t.Run("forced login", func(t *testing.T) {
		// prompt=login: the upstream must authenticate the person anew, so
		// auth_time is after the request.
		p.up.login.as(p.up.person.ID, "idporten-loa-substantial", nil, time.Time{})
		before := time.Now().Truncate(time.Second)
		b.get(t, p.rp.begin("idporten", "flow-2", 0, -1, true), nil)
		o := p.rp.last(t)
		if o.err != nil {
			t.Fatalf("Callback: %v", o.err)
		}
		if !slices.Contains(p.up.login.request().Prompt, "login") {
			t.Errorf("upstream prompt = %v, want login", p.up.login.request().Prompt)
		}
		if o.res.AuthTime.Before(before) || o.res.AuthTime.After(time.Now()) || o.res.Level != authz.LevelSubstantial {
			t.Errorf("Callback = %v at %v, want substantial at the login's time", o.res.Level, o.res.AuthTime)
		}
	})
}

func TestLoginPrivateKeyJWT(t *testing.T) {
	p := newPair(t)
	for _, id := range []string{"jwt-ec", "jwt-rsa"} {
		t.Run(id, func(t *testing.T) {
			p.up.login.as(p.up.another.ID, "idporten-loa-substantial", nil, time.Time{})
			b := newBrowser(t)
			pg := b.get(t, p.rp.begin(id, "flow-"+id, 0, -1, false), nil)
			o := p.rp.last(t)
			if o.err != nil {
				t.Fatalf("Callback after %s: %v", pg.url.Path, o.err)
			}
			if o.flow != "flow-"+id || o.res.Person != p.up.another.ID || o.res.Level != authz.LevelSubstantial {
				t.Errorf("Callback = %q, %v, %v; want flow-%s, the person, substantial", o.flow, o.res.Person, o.res.Level, id)
			}
			if len(o.res.AMR) != 0 {
				t.Errorf("AMR = %v, want none", o.res.AMR)
			}
		})
	}
}

// TestLoginFails runs logins that must end with an error, and checks that the
// flow id comes back so that the flow can be ended.
func TestLoginFails(t *testing.T) {
	p := newPair(t)
	tests := []struct {
		name     string
		provider string
		level    authz.Level
		setup    func()
		want     error
	}{
		{
			// The upstream cannot reach high for this person and says so (RFC 9470).
			name: "upstream gives substantial when high is asked", provider: "idporten", level: authz.LevelHigh,
			setup: func() { p.up.login.as(p.up.person.ID, "idporten-loa-substantial", nil, time.Time{}) },
			want:  upstream.ErrLevelNotReached,
		},
		{
			name: "the person cancels", provider: "idporten",
			setup: p.up.login.cancel,
			want:  upstream.ErrCancelled,
		},
		{
			// Asked with idporten-loa-substantial only, the upstream answers with
			// idporten-loa-high, which this provider does not map.
			name: "an acr not in the map", provider: "narrow",
			setup: func() { p.up.login.as(p.up.person.ID, "idporten-loa-high", nil, time.Time{}) },
			want:  errAny,
		},
		{
			name: "no pid claim", provider: "nopid",
			setup: func() { p.up.login.as(p.up.person.ID, "idporten-loa-high", nil, time.Time{}) },
			want:  errAny,
		},
		{
			name: "the token endpoint refuses our secret", provider: "badsecret",
			setup: func() { p.up.login.as(p.up.person.ID, "idporten-loa-high", nil, time.Time{}) },
			want:  errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			b := newBrowser(t)
			pg := b.get(t, p.rp.begin(tt.provider, "flow-x", tt.level, -1, false), nil)
			if !atCallback(pg.url) {
				t.Fatalf("login ended at %s (%d %s), want our callback", pg.url, pg.status, pg.body)
			}
			o := p.rp.last(t)
			wantErr(t, "Callback", o.err, tt.want)
			if o.flow != "flow-x" {
				t.Errorf("Callback flow = %q, want flow-x", o.flow)
			}
			if o.res.Person != "" {
				t.Errorf("Callback result %v with an error", o.res)
			}
			if strings.Contains(o.err.Error(), string(p.up.person.ID)) || strings.Contains(o.err.Error(), clientSecret) {
				t.Errorf("Callback error %q carries an identity number or secret", o.err)
			}
		})
	}
}

// TestState checks that a callback counts only once, in the browser that began
// the login, within the ceremony's lifetime, at the provider that began it.
func TestState(t *testing.T) {
	p := newPair(t)
	p.up.login.as(p.up.person.ID, "idporten-loa-high", nil, time.Time{})
	// toCallback runs a login in b up to our callback and returns its URL.
	toCallback := func(t *testing.T, b *browser, flow string) string {
		t.Helper()
		pg := b.get(t, p.rp.begin("idporten", flow, 0, -1, false), atCallback)
		if pg.status != 0 {
			t.Fatalf("login ended at %s (%d %s), want a redirect to our callback", pg.url, pg.status, pg.body)
		}
		return pg.url.String()
	}

	t.Run("replay", func(t *testing.T) {
		b := newBrowser(t)
		cb := toCallback(t, b, "flow-r")
		cookie := b.cookie(p.rp.url, "fullmakt-upstream")
		b.get(t, cb, nil)
		if o := p.rp.last(t); o.err != nil {
			t.Fatalf("first callback: %v", o.err)
		}
		b.setCookie(p.rp.url, cookie) // the cookie too, so that only the use counts
		b.get(t, cb, nil)
		o := p.rp.last(t)
		wantErr(t, "replayed callback", o.err, upstream.ErrState)
		if o.flow != "" {
			t.Errorf("replayed callback flow = %q, want none", o.flow)
		}
	})

	t.Run("no cookie", func(t *testing.T) {
		b := newBrowser(t)
		cb := toCallback(t, b, "flow-n")
		b.setCookie(p.rp.url, &http.Cookie{Name: "fullmakt-upstream", MaxAge: -1})
		b.get(t, cb, nil)
		o := p.rp.last(t)
		wantErr(t, "callback without the cookie", o.err, upstream.ErrState)
		if o.flow != "" {
			t.Errorf("callback without the cookie: flow = %q, want none", o.flow)
		}
	})

	t.Run("another browser's cookie", func(t *testing.T) {
		victim, attacker := newBrowser(t), newBrowser(t)
		own := toCallback(t, victim, "flow-victim")
		forged := toCallback(t, attacker, "flow-attacker")
		// Login CSRF: the victim's browser is sent to the attacker's callback.
		victim.get(t, forged, nil)
		o := p.rp.last(t)
		wantErr(t, "callback with another browser's state", o.err, upstream.ErrState)
		if o.flow != "" {
			t.Errorf("callback with another browser's state: flow = %q, want none", o.flow)
		}
		// The victim's own login is untouched: its cookie stayed.
		victim.get(t, own, nil)
		if o := p.rp.last(t); o.err != nil || o.flow != "flow-victim" {
			t.Errorf("the victim's own callback = %q, %v; want flow-victim, no error", o.flow, o.err)
		}
	})

	t.Run("another provider's state", func(t *testing.T) {
		b := newBrowser(t)
		cb := toCallback(t, b, "flow-p")
		other := strings.Replace(cb, "/login/upstream/idporten/", "/login/upstream/narrow/", 1)
		b.get(t, other, nil)
		wantErr(t, "callback at another provider", p.rp.last(t).err, upstream.ErrState)
		// Not used up there: the right provider still takes it.
		b.get(t, cb, nil)
		if o := p.rp.last(t); o.err != nil || o.flow != "flow-p" {
			t.Errorf("callback at the right provider = %q, %v; want flow-p, no error", o.flow, o.err)
		}
	})

	t.Run("expired", func(t *testing.T) {
		b := newBrowser(t)
		cb := toCallback(t, b, "flow-e")
		p.rp.clock.advance(10*time.Minute + time.Second)
		defer p.rp.clock.advance(-10*time.Minute - time.Second)
		b.get(t, cb, nil)
		o := p.rp.last(t)
		wantErr(t, "callback after 10 minutes", o.err, upstream.ErrState)
		if o.flow != "flow-e" {
			t.Errorf("expired callback in the right browser: flow = %q, want flow-e (so it can be ended)", o.flow)
		}
	})

	t.Run("no state", func(t *testing.T) {
		b := newBrowser(t)
		cb, _ := url.Parse(toCallback(t, b, "flow-s"))
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		b.get(t, cb.String(), nil)
		wantErr(t, "callback without state", p.rp.last(t).err, upstream.ErrState)
	})

	t.Run("concurrent callbacks", func(t *testing.T) {
		b := newBrowser(t)
		cb := toCallback(t, b, "flow-c")
		cookie := b.cookie(p.rp.url, "fullmakt-upstream")
		const n = 8
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, cb, nil)
				req.AddCookie(cookie)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
		}
		wg.Wait()
		p.rp.mu.Lock()
		outcomes := p.rp.outcomes
		p.rp.outcomes = nil
		p.rp.mu.Unlock()
		var won int
		for _, o := range outcomes {
			switch {
			case o.err == nil:
				won++
			case !errors.Is(o.err, upstream.ErrState):
				t.Errorf("a losing callback: %v, want ErrState", o.err)
			}
		}
		if len(outcomes) != n || won != 1 {
			t.Errorf("%d callbacks, %d succeeded; want %d, exactly 1", len(outcomes), won, n)
		}
	})
}

// TestDiscoveryRetried: an upstream that is down makes Begin fail, and does not
// stop a later Begin once it is up.
func TestDiscoveryRetried(t *testing.T) {
	p := newPair(t)
	p.up.login.as(p.up.person.ID, "idporten-loa-high", nil, time.Time{})
	p.up.down.Store(true)
	b := newBrowser(t)
	pg := b.get(t, p.rp.begin("idporten", "flow-1", 0, -1, false), nil)
	if pg.status != http.StatusBadGateway {
		t.Fatalf("Begin with the upstream down: %d %s, want our error page", pg.status, pg.body)
	}
	if err := p.rp.takeBeginErr(); err == nil || !strings.Contains(err.Error(), "discovery") {
		t.Fatalf("Begin with the upstream down: %v, want a discovery error", err)
	}
	if c := b.cookie(p.rp.url, "fullmakt-upstream"); c != nil {
		t.Errorf("a failed Begin set the cookie %v", c)
	}

	p.up.down.Store(false)
	b.get(t, p.rp.begin("idporten", "flow-2", 0, -1, false), nil)
	if err := p.rp.takeBeginErr(); err != nil {
		t.Fatalf("Begin with the upstream up again: %v", err)
	}
	if o := p.rp.last(t); o.err != nil || o.flow != "flow-2" || o.res.Person != p.up.person.ID {
		t.Fatalf("Callback with the upstream up again = %q, %v, %v", o.flow, o.res.Person, o.err)
	}
}

// TestBeginRequest checks the authorization request Begin sends and the cookie
// it sets.
func TestBeginRequest(t *testing.T) {
	p := newPair(t)
	acr := map[string]string{
		"idporten-loa-low": "low", "Level3": "substantial", "idporten-loa-substantial": "substantial", "idporten-loa-high": "high",
	}
	newProvider := func(t *testing.T, callback string, acr map[string]string) *upstream.Provider {
		t.Helper()
		pr, err := upstream.New(upstream.Config{ID: "idporten", Name: "ID-porten", Issuer: p.up.issuer, ClientID: "fullmakt",
			ClientSecret: clientSecret, ACR: acr}, callback, p.rp.store, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return pr
	}
	pr := newProvider(t, p.rp.callback("idporten"), acr)
	tests := []struct {
		name       string
		level      authz.Level
		maxAge     time.Duration
		force      bool
		acrValues  string
		maxAgeWant string // "" for none
		prompt     string
	}{
		{"no level", 0, -1, false, "idporten-loa-low Level3 idporten-loa-substantial idporten-loa-high", "", ""},
		{"low", authz.LevelLow, -1, false, "idporten-loa-low Level3 idporten-loa-substantial idporten-loa-high", "", ""},
		{"substantial", authz.LevelSubstantial, -1, false, "Level3 idporten-loa-substantial idporten-loa-high", "", ""},
		{"high, fresh, forced", authz.LevelHigh, 90*time.Second + 500*time.Millisecond, true, "idporten-loa-high", "90", "login"},
		{"max_age 0", 0, 0, false, "idporten-loa-low Level3 idporten-loa-substantial idporten-loa-high", "0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := pr.Begin(w, httptest.NewRequest(http.MethodGet, "/begin", nil), "flow", tt.level, tt.maxAge, tt.force); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusSeeOther {
				t.Fatalf("Begin answered %d, want 303", w.Code)
			}
			loc, err := url.Parse(w.Header().Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != p.up.issuer+"/authorize" {
				t.Errorf("Begin sent the browser to %s, want the upstream's authorization endpoint", got)
			}
			for name, want := range map[string]string{
				"response_type": "code", "client_id": "fullmakt", "redirect_uri": p.rp.callback("idporten"),
				"scope": "openid", "code_challenge_method": "S256", "acr_values": tt.acrValues,
				"max_age": tt.maxAgeWant, "prompt": tt.prompt,
			} {
				if got := q.Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range []string{"state", "nonce", "code_challenge"} {
				if v := q.Get(name); len(v) < 43 {
					t.Errorf("%s = %q: want at least 32 random bytes", name, v)
				}
			}
			if q.Get("state") == q.Get("nonce") {
				t.Error("state and nonce are the same")
			}
			cookies := w.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("Begin set %d cookies, want 1", len(cookies))
			}
			c := cookies[0]
			if c.Name != "fullmakt-upstream" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || len(c.Value) < 43 {
				t.Errorf("cookie %s, want fullmakt-upstream, HttpOnly, SameSite=Lax, Path=/, not Secure on http loopback, a random value", c)
			}
			if strings.Contains(loc.RawQuery, c.Value) {
				t.Error("the cookie's value is in the authorization request")
			}
		})
	}

	t.Run("https callback", func(t *testing.T) {
		pr := newProvider(t, "https://fullmakt.example/login/upstream/idporten/callback", acr)
		w := httptest.NewRecorder()
		if err := pr.Begin(w, httptest.NewRequest(http.MethodGet, "/begin", nil), "flow", 0, -1, false); err != nil {
			t.Fatal(err)
		}
		c := w.Result().Cookies()[0]
		if c.Name != "__Host-fullmakt-upstream" || !c.Secure || c.Path != "/" || c.Domain != "" {
			t.Errorf("cookie %s, want __Host-fullmakt-upstream, Secure, Path=/, no Domain", c)
		}
	})

	t.Run("a level the provider cannot reach", func(t *testing.T) {
		pr := newProvider(t, p.rp.callback("idporten"), map[string]string{"idporten-loa-substantial": "substantial"})
		if got := pr.MaxLevel(); got != authz.LevelSubstantial {
			t.Errorf("MaxLevel() = %v, want substantial", got)
		}
		w := httptest.NewRecorder()
		err := pr.Begin(w, httptest.NewRequest(http.MethodGet, "/begin", nil), "flow", authz.LevelHigh, -1, false)
		wantErr(t, "Begin(high)", err, upstream.ErrLevelNotReached)
		if w.Code != http.StatusOK || len(w.Result().Cookies()) != 0 || w.Body.Len() != 0 {
			t.Errorf("a failed Begin wrote %d, cookies %v, %q; want nothing", w.Code, w.Result().Cookies(), w.Body)
		}
	})

	t.Run("no flow", func(t *testing.T) {
		err := pr.Begin(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/begin", nil), "", 0, -1, false)
		wantErr(t, "Begin without a flow", err, errAny)
	})
}

func TestNew(t *testing.T) {
	s := newRP(t)
	good := upstream.Config{ID: "idporten", Name: "ID-porten", Issuer: "https://idporten.example", ClientID: "c",
		ClientSecret: "s", ACR: idportenACR}
	if p, err := upstream.New(good, "https://fullmakt.example/cb", s.store, nil, nil); err != nil {
		t.Fatalf("New(good) = %v", err)
	} else if p.ID() != "idporten" || p.Name() != "ID-porten" || p.MaxLevel() != authz.LevelHigh || p.PublicJWKS() != nil {
		t.Errorf("New(good) = %s, %s, %v, %s", p.ID(), p.Name(), p.MaxLevel(), p.PublicJWKS())
	}
	bad := good
	bad.Issuer = "http://idporten.example"
	tests := []struct {
		name     string
		cfg      upstream.Config
		callback string
		nilStore bool
	}{
		{"invalid config", bad, "https://fullmakt.example/cb", false},
		{"http callback on a public host", good, "http://fullmakt.example/cb", false},
		{"relative callback", good, "/cb", false},
		{"no store", good, "https://fullmakt.example/cb", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := s.store
			var err error
			if tt.nilStore {
				_, err = upstream.New(tt.cfg, tt.callback, nil, nil, nil)
			} else {
				_, err = upstream.New(tt.cfg, tt.callback, store, nil, nil)
			}
			if err == nil {
				t.Error("New = nil error, want one")
			}
		})
	}
}

func TestPublicJWKS(t *testing.T) {
	s := newRP(t)
	dir := t.TempDir()
	for _, k := range []struct {
		alg string
		key crypto.Signer
	}{{"ES256", ecKey(t)}, {"RS256", rsaKey(t, 2048)}} {
		t.Run(k.alg, func(t *testing.T) {
			path := writeKey(t, dir, k.alg+".pem", k.key)
			p, err := upstream.New(upstream.Config{ID: "x", Name: "X", Issuer: "https://x.example", ClientID: "c",
				PrivateKeyFile: path, ACR: idportenACR}, "https://fullmakt.example/cb", s.store, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got, want jose.JSONWebKeySet
			if err := json.Unmarshal(p.PublicJWKS(), &got); err != nil {
				t.Fatalf("PublicJWKS: %v", err)
			}
			if err := json.Unmarshal(jwksOf(t, k.key, k.alg), &want); err != nil {
				t.Fatal(err)
			}
			if len(got.Keys) != 1 || got.Keys[0].KeyID != want.Keys[0].KeyID || got.Keys[0].Algorithm != k.alg || !got.Keys[0].IsPublic() {
				t.Fatalf("PublicJWKS = %s, want one public %s key with kid %s", p.PublicJWKS(), k.alg, want.Keys[0].KeyID)
			}
			switch pub := got.Keys[0].Key.(type) {
			case *ecdsa.PublicKey:
				if !pub.Equal(k.key.Public()) {
					t.Error("PublicJWKS has another key")
				}
			case *rsa.PublicKey:
				if !pub.Equal(k.key.Public()) {
					t.Error("PublicJWKS has another key")
				}
			default:
				t.Errorf("PublicJWKS key %T", pub)
			}
		})
	}
}
