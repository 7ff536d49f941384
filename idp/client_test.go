package idp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v3"
	josejwt "github.com/go-jose/go-jose/v3/jwt"
	"github.com/google/go-cmp/cmp"
	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/idp"
)

// Clients of each kind that pass validation; cases change one thing.
func webClient() idp.Client {
	return idp.Client{
		ID: "web", Name: "Skatteetaten", TokenEndpointAuthMethod: idp.AuthMethodSecretBasic,
		SecretHash:   idp.HashSecret("fms_web"),
		GrantTypes:   []string{"authorization_code", "refresh_token"},
		Scopes:       []string{"openid", "offline_access"},
		RedirectURIs: []string{"https://skatt.example/cb"},
	}
}

func appClient() idp.Client {
	return idp.Client{
		ID: "app", TokenEndpointAuthMethod: idp.AuthMethodNone,
		GrantTypes:   []string{"authorization_code"},
		RedirectURIs: []string{"com.example.app:/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost/cb"},
	}
}

// machineClient returns a private_key_jwt client with key in its JWK Set (no JWK
// Set when key is nil).
func machineClient(t testing.TB, key any) idp.Client {
	t.Helper()
	c := idp.Client{
		ID: "nav.api", TokenEndpointAuthMethod: idp.AuthMethodPrivateKeyJWT,
		GrantTypes: []string{"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"},
		Audiences:  []string{"https://api.nav.example"},
		Services:   []string{"*"},
	}
	if key != nil {
		c.JWKS = jwks(t, jose.JSONWebKey{Key: key, KeyID: "k1"})
	}
	return c
}

// jwks returns a JWK Set of the keys.
func jwks(t testing.TB, keys ...jose.JSONWebKey) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestClientValidate(t *testing.T) {
	ec := ecKey(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024) //nolint:gosec // testing that it is refused
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		client idp.Client
		change func(c *idp.Client)
		want   []string // a substring of each error, in order; none: valid
	}{
		{name: "confidential web client", client: webClient()},
		{name: "public client", client: appClient()},
		{name: "machine client with jwks", client: machineClient(t, &ec.PublicKey)},
		{name: "machine client with RS256", client: machineClient(t, &rsaKey.PublicKey), change: func(c *idp.Client) {
			c.TokenEndpointAuthSigningAlg = "RS256"
		}},
		{name: "machine client with PS256 and a key whose use is sig", client: machineClient(t, nil), change: func(c *idp.Client) {
			c.TokenEndpointAuthSigningAlg = "PS256"
			c.JWKS = jwks(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, Use: "sig", Algorithm: "PS256"})
		}},
		{name: "machine client with jwks_uri", client: machineClient(t, nil), change: func(c *idp.Client) {
			c.JWKS, c.JWKSURI = nil, "https://nav.example/jwks.json"
		}},
		{name: "machine client with jwks_uri on loopback", client: machineClient(t, nil), change: func(c *idp.Client) {
			c.JWKS, c.JWKSURI = nil, "http://127.0.0.1:9000/jwks.json"
		}},
		{name: "every optional field", client: webClient(), change: func(c *idp.Client) {
			c.Organization = "974760673"
			c.AuthorizationDetailsTypes = []string{"representation", "consent"}
			c.AccessTokenLifetime = "15m"
			c.PostLogoutRedirectURIs = []string{"https://skatt.example/bye"}
			c.RotatedSecrets = []idp.RotatedSecret{{Hash: idp.HashSecret("old"), ExpiresAt: time.Now()}}
			c.PID, c.RequirePAR, c.DetailedReasons = true, true, true
		}},

		// id
		{name: "no id", client: webClient(), change: func(c *idp.Client) { c.ID = "" }, want: []string{"id: missing"}},
		{name: "id with a slash", client: webClient(), change: func(c *idp.Client) { c.ID = "a/b" },
			want: []string{`client "a/b": id: only A-Z, a-z, 0-9, '.', '_' and '-' are allowed`}},
		{name: "long id", client: webClient(), change: func(c *idp.Client) { c.ID = strings.Repeat("a", 65) },
			want: []string{"id: longer than 64 characters"}},
		{name: "name with a newline", client: webClient(), change: func(c *idp.Client) { c.Name = "a\nb" },
			want: []string{"name: longer than 200 bytes or has control characters"}},

		// authentication methods
		{name: "no auth method", client: webClient(), change: func(c *idp.Client) { c.TokenEndpointAuthMethod = "" },
			want: []string{"token_endpoint_auth_method: missing"}},
		{name: "client_secret_post", client: webClient(), change: func(c *idp.Client) { c.TokenEndpointAuthMethod = "client_secret_post" },
			want: []string{"token_endpoint_auth_method: client_secret_post is not offered"}},
		{name: "unknown auth method", client: webClient(), change: func(c *idp.Client) { c.TokenEndpointAuthMethod = "tls_client_auth" },
			want: []string{`token_endpoint_auth_method: "tls_client_auth" is not client_secret_basic, private_key_jwt or none`}},
		{name: "public client with a secret", client: appClient(), change: func(c *idp.Client) { c.SecretHash = idp.HashSecret("x") },
			want: []string{"secret_hash: a public client (token_endpoint_auth_method none) has no secret"}},
		{name: "public client with client_credentials", client: appClient(), change: func(c *idp.Client) {
			c.GrantTypes = append(c.GrantTypes, "client_credentials")
		}, want: []string{"grant_types: a public client cannot use client_credentials"}},
		{name: "public client with token exchange", client: appClient(), change: func(c *idp.Client) {
			c.GrantTypes = append(c.GrantTypes, "urn:ietf:params:oauth:grant-type:token-exchange")
		}, want: []string{"grant_types: a public client cannot use token exchange"}},
		{name: "public client without a code flow or redirect URI", client: appClient(), change: func(c *idp.Client) {
			c.GrantTypes, c.RedirectURIs = []string{"urn:ietf:params:oauth:grant-type:token-exchange"}, nil
		}, want: []string{"a public client cannot use token exchange", "a public client must use authorization_code",
			"redirect_uris: a public client needs at least one redirect URI"}},
		{name: "public client with keys", client: appClient(), change: func(c *idp.Client) { c.JWKSURI = "https://app.example/jwks" },
			want: []string{"jwks: only private_key_jwt clients have keys (this one uses none)"}},
		{name: "secret client without a secret", client: webClient(), change: func(c *idp.Client) { c.SecretHash = "" },
			want: []string{"secret_hash: missing; a client_secret_basic client needs one (fullmakt client rotate-secret web)"}},
		{name: "secret hash in capitals", client: webClient(), change: func(c *idp.Client) { c.SecretHash = strings.ToUpper(c.SecretHash) },
			want: []string{"secret_hash: not sha256: and 64 lowercase hex digits"}},
		{name: "a plaintext secret", client: webClient(), change: func(c *idp.Client) { c.SecretHash = "fms_oops" },
			want: []string{"secret_hash: not sha256: and 64 lowercase hex digits"}},
		{name: "bad rotated secret", client: webClient(), change: func(c *idp.Client) {
			c.RotatedSecrets = []idp.RotatedSecret{{Hash: "sha256:00"}}
		}, want: []string{"rotated_secrets[0].hash: not sha256: and 64 lowercase hex digits",
			"rotated_secrets[0].expires_at: missing; a rotated secret must expire"}},
		{name: "secret client with a signing alg", client: webClient(), change: func(c *idp.Client) { c.TokenEndpointAuthSigningAlg = "ES256" },
			want: []string{"token_endpoint_auth_signing_alg: only private_key_jwt clients sign assertions"}},
		{name: "key client with a secret", client: machineClient(t, &ec.PublicKey), change: func(c *idp.Client) { c.SecretHash = idp.HashSecret("x") },
			want: []string{"secret_hash: a private_key_jwt client authenticates with its keys and has no secret"}},

		// keys
		{name: "jwks and jwks_uri", client: machineClient(t, &ec.PublicKey), change: func(c *idp.Client) { c.JWKSURI = "https://nav.example/jwks" },
			want: []string{"jwks: give jwks or jwks_uri, not both"}},
		{name: "no keys", client: machineClient(t, nil), change: func(c *idp.Client) { c.JWKS = json.RawMessage("null") },
			want: []string{"jwks: a private_key_jwt client needs jwks or jwks_uri"}},
		{name: "jwks not a set", client: machineClient(t, nil), change: func(c *idp.Client) { c.JWKS = json.RawMessage(`{"keys": [{"kty": "nope"}]}`) },
			want: []string{"jwks: not a JWK Set"}},
		{name: "empty jwks", client: machineClient(t, nil), change: func(c *idp.Client) { c.JWKS = json.RawMessage(`{"keys": []}`) },
			want: []string{`jwks: no public key for ES256 with use "sig"`}},
		{name: "private key in jwks", client: machineClient(t, ec), want: []string{
			`jwks: key 0 (kid "k1") holds a private or symmetric key: only public keys belong in the clients file`}},
		{name: "symmetric key in jwks", client: machineClient(t, []byte("0123456789abcdef0123456789abcdef")), want: []string{
			`jwks: key 0 (kid "k1") holds a private or symmetric key`}},
		{name: "RSA key for ES256", client: machineClient(t, &rsaKey.PublicKey), want: []string{`jwks: no public key for ES256 with use "sig"`}},
		{name: "P-384 key for ES256", client: machineClient(t, &p384.PublicKey), want: []string{`jwks: no public key for ES256`}},
		{name: "encryption key only", client: machineClient(t, nil), change: func(c *idp.Client) {
			c.JWKS = jwks(t, jose.JSONWebKey{Key: &ec.PublicKey, Use: "enc"})
		}, want: []string{`jwks: no public key for ES256 with use "sig"`}},
		{name: "key for another alg", client: machineClient(t, nil), change: func(c *idp.Client) {
			c.TokenEndpointAuthSigningAlg = "RS256"
			c.JWKS = jwks(t, jose.JSONWebKey{Key: &rsaKey.PublicKey, Algorithm: "PS256"})
		}, want: []string{`jwks: no public key for RS256`}},
		{name: "small RSA key", client: machineClient(t, &smallRSA.PublicKey), change: func(c *idp.Client) { c.TokenEndpointAuthSigningAlg = "RS256" },
			want: []string{`jwks: key 0 (kid "k1") is an RSA key of 1024 bits; at least 2048 are needed`}},
		{name: "HS256", client: machineClient(t, &ec.PublicKey), change: func(c *idp.Client) { c.TokenEndpointAuthSigningAlg = "HS256" },
			want: []string{`token_endpoint_auth_signing_alg: "HS256" is not one of ES256, RS256, PS256`}},
		{name: "jwks_uri over http", client: machineClient(t, nil), change: func(c *idp.Client) { c.JWKS, c.JWKSURI = nil, "http://nav.example/jwks" },
			want: []string{`jwks_uri: "http://nav.example/jwks" uses http on a host that is not loopback; use https`}},
		{name: "relative jwks_uri", client: machineClient(t, nil), change: func(c *idp.Client) { c.JWKS, c.JWKSURI = nil, "/jwks" },
			want: []string{`jwks_uri: "/jwks" is not an absolute URL`}},

		// redirect URIs
		{name: "relative redirect URI", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"/cb"} },
			want: []string{`redirect_uris[0]: "/cb" is not an absolute URI`}},
		{name: "redirect URI with a fragment", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"https://a.example/cb#x"} },
			want: []string{`redirect_uris[0]: "https://a.example/cb#x" has a fragment (RFC 6749 §3.1.2)`}},
		{name: "http redirect URI", client: webClient(), change: func(c *idp.Client) {
			c.RedirectURIs = []string{"https://a.example/cb", "http://a.example/cb"}
		}, want: []string{`redirect_uris[1]: "http://a.example/cb" uses http on a host that is not loopback (127.0.0.1, [::1] or localhost); use https`}},
		{name: "http on a host named like loopback", client: webClient(), change: func(c *idp.Client) {
			c.RedirectURIs = []string{"http://127.0.0.1.evil.example/cb"}
		}, want: []string{"uses http on a host that is not loopback"}},
		{name: "wildcard redirect URI", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"https://*.a.example/cb"} },
			want: []string{`redirect_uris[0]: "https://*.a.example/cb" has a wildcard; redirect URIs are matched exactly`}},
		{name: "private-use scheme without a dot", client: appClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"myapp:/cb"} },
			want: []string{`redirect_uris[0]: "myapp:/cb" has a scheme that is not https, http on a loopback host, or a private-use scheme with a dot`}},
		{name: "javascript redirect URI", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"javascript:alert(1)"} },
			want: []string{`redirect_uris[0]: "javascript:alert(1)" has a scheme that is not https`}},
		{name: "redirect URI with user information", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"https://u:p@a.example/cb"} },
			want: []string{"has user information"}},
		{name: "https without host", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = []string{"https:/cb"} },
			want: []string{`"https:/cb" has no host`}},
		{name: "bad post-logout redirect URI", client: webClient(), change: func(c *idp.Client) { c.PostLogoutRedirectURIs = []string{"http://a.example/"} },
			want: []string{`post_logout_redirect_uris[0]: "http://a.example/" uses http`}},
		{name: "code flow without a redirect URI", client: webClient(), change: func(c *idp.Client) { c.RedirectURIs = nil },
			want: []string{"redirect_uris: authorization_code needs at least one redirect URI"}},

		// grant types, scopes and the rest
		{name: "no grant types", client: webClient(), change: func(c *idp.Client) { c.GrantTypes = nil },
			want: []string{"grant_types: empty; list at least one of authorization_code, refresh_token, client_credentials, urn:ietf:params:oauth:grant-type:token-exchange"}},
		{name: "implicit", client: webClient(), change: func(c *idp.Client) { c.GrantTypes = append(c.GrantTypes, "implicit") },
			want: []string{"grant_types: implicit is not offered (OAuth 2.0 Security BCP, RFC 9700 §2.1.2): use authorization_code with PKCE"}},
		{name: "password", client: webClient(), change: func(c *idp.Client) { c.GrantTypes = append(c.GrantTypes, "password") },
			want: []string{"grant_types: password is not offered"}},
		{name: "unknown grant type", client: webClient(), change: func(c *idp.Client) {
			c.GrantTypes = append(c.GrantTypes, "urn:ietf:params:oauth:grant-type:jwt-bearer")
		}, want: []string{`grant_types: "urn:ietf:params:oauth:grant-type:jwt-bearer" is not one of authorization_code`}},
		{name: "refresh without a first token", client: machineClient(t, &ec.PublicKey), change: func(c *idp.Client) {
			c.GrantTypes = []string{"client_credentials", "refresh_token"}
		}, want: []string{"grant_types: refresh_token needs authorization_code or token exchange"}},
		{name: "scope with a space", client: webClient(), change: func(c *idp.Client) { c.Scopes = []string{"openid", "a b", ""} },
			want: []string{`scopes[1]: "a b" is not a scope token (RFC 6749 §3.3`, `scopes[2]: "" is not a scope token`}},
		{name: "scope with a quote", client: webClient(), change: func(c *idp.Client) { c.Scopes = []string{`a"b`} },
			want: []string{`scopes[0]: "a\"b" is not a scope token`}},
		{name: "empty audience", client: webClient(), change: func(c *idp.Client) { c.Audiences = []string{""} },
			want: []string{`audiences[0]: "" is empty or has spaces`}},
		{name: "service with a space", client: webClient(), change: func(c *idp.Client) { c.Services = []string{"a b"} },
			want: []string{`services[0]: "a b" is empty or has spaces`}},
		{name: "unknown authorization details type", client: webClient(), change: func(c *idp.Client) { c.AuthorizationDetailsTypes = []string{"payment"} },
			want: []string{`authorization_details_types[0]: "payment" is not one of representation, consent`}},
		{name: "consent without an organization", client: webClient(), change: func(c *idp.Client) { c.AuthorizationDetailsTypes = []string{"consent"} },
			want: []string{"organization: missing; a client that collects consents"}},
		{name: "bad organization number", client: webClient(), change: func(c *idp.Client) { c.Organization = "974760674" },
			want: []string{`organization: "974760674" is not an organisation number`}},
		{name: "lifetime not a duration", client: webClient(), change: func(c *idp.Client) { c.AccessTokenLifetime = "an hour" },
			want: []string{`access_token_lifetime: "an hour" is not a duration such as 15m or 1h`}},
		{name: "lifetime too short", client: webClient(), change: func(c *idp.Client) { c.AccessTokenLifetime = "30s" },
			want: []string{"access_token_lifetime: 30s is not between 1m0s and 24h0m0s"}},
		{name: "lifetime too long", client: webClient(), change: func(c *idp.Client) { c.AccessTokenLifetime = "25h" },
			want: []string{"access_token_lifetime: 25h0m0s is not between 1m0s and 24h0m0s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			if tt.change != nil {
				tt.change(&c)
			}
			err := c.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Validate() = %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				prefix := "idp: client " + jsonQuote(c.ID) + ": "
				if !strings.HasPrefix(got[i], prefix) || !strings.Contains(got[i], w) {
					t.Errorf("Validate() error %d = %q, want %q naming the client, with %q", i, got[i], prefix, w)
				}
			}
		})
	}
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestClientValidateReportsEverything(t *testing.T) {
	c := idp.Client{ID: "x y", TokenEndpointAuthMethod: "none", GrantTypes: []string{"implicit", "client_credentials"},
		RedirectURIs: []string{"http://a.example/cb"}, AccessTokenLifetime: "1y"}
	err := c.Validate()
	var got []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		got = append(got, e.Error())
	}
	want := []string{
		`idp: client "x y": id: only A-Z, a-z, 0-9, '.', '_' and '-' are allowed`,
		`idp: client "x y": grant_types: implicit is not offered (OAuth 2.0 Security BCP, RFC 9700 §2.1.2): use authorization_code with PKCE`,
		`idp: client "x y": grant_types: a public client cannot use client_credentials: it has no credentials`,
		`idp: client "x y": grant_types: a public client must use authorization_code`,
		`idp: client "x y": redirect_uris[0]: "http://a.example/cb" uses http on a host that is not loopback (127.0.0.1, [::1] or localhost); use https`,
		`idp: client "x y": access_token_lifetime: "1y" is not a duration such as 15m or 1h`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Validate() errors (-want +got):\n%s", diff)
	}
}

func TestClientFositeInterfaces(t *testing.T) {
	ec := ecKey(t)
	m := machineClient(t, &ec.PublicKey)
	m.AccessTokenLifetime = "10m"
	cs, err := idp.NewClients([]idp.Client{webClient(), appClient(), m})
	if err != nil {
		t.Fatal(err)
	}
	web, _ := cs.Get("web")
	app, _ := cs.Get("app")
	machine, _ := cs.Get("nav.api")
	type view struct {
		Public         bool
		Secret         string
		ResponseTypes  fosite.Arguments
		ResponseModes  []fosite.ResponseModeType
		Method, Alg    string
		Keys           int
		AccessLifespan time.Duration
		CodeLifespan   time.Duration
	}
	see := func(c *idp.Client) view {
		v := view{Public: c.IsPublic(), Secret: string(c.GetHashedSecret()), ResponseTypes: c.GetResponseTypes(),
			ResponseModes: c.GetResponseModes(), Method: c.GetTokenEndpointAuthMethod(), Alg: c.GetTokenEndpointAuthSigningAlgorithm(),
			AccessLifespan: c.GetEffectiveLifespan(fosite.GrantTypeClientCredentials, fosite.AccessToken, time.Hour),
			CodeLifespan:   c.GetEffectiveLifespan(fosite.GrantTypeAuthorizationCode, fosite.AuthorizeCode, time.Minute)}
		if s := c.GetJSONWebKeys(); s != nil {
			v.Keys = len(s.Keys)
		}
		return v
	}
	code, query := fosite.Arguments{"code"}, []fosite.ResponseModeType{fosite.ResponseModeQuery}
	for _, tt := range []struct {
		c    *idp.Client
		want view
	}{
		{web, view{Secret: idp.HashSecret("fms_web"), ResponseTypes: code, ResponseModes: query, Method: "client_secret_basic", Alg: "ES256",
			AccessLifespan: time.Hour, CodeLifespan: time.Minute}},
		{app, view{Public: true, ResponseTypes: code, ResponseModes: query, Method: "none", Alg: "ES256",
			AccessLifespan: time.Hour, CodeLifespan: time.Minute}},
		{machine, view{ResponseTypes: code, ResponseModes: query, Method: "private_key_jwt", Alg: "ES256", Keys: 1,
			AccessLifespan: 10 * time.Minute, CodeLifespan: time.Minute}},
	} {
		if diff := cmp.Diff(tt.want, see(tt.c)); diff != "" {
			t.Errorf("client %s (-want +got):\n%s", tt.c.ID, diff)
		}
	}
	if k := machine.GetJSONWebKeys().Keys[0]; k.Use != "sig" {
		t.Errorf("a key without use: Use = %q after loading, want sig (fosite ignores other keys)", k.Use)
	}
}

func TestClientHelpers(t *testing.T) {
	c := webClient()
	c.Services = []string{"skatteetaten.skattemelding"}
	c.AuthorizationDetailsTypes = []string{"representation"}
	anyService := webClient()
	anyService.Services = []string{"*"}
	none := webClient()
	for _, tt := range []struct {
		name string
		got  bool
		want bool
	}{
		{"MayAskAbout(listed)", c.MayAskAbout("skatteetaten.skattemelding"), true},
		{"MayAskAbout(other)", c.MayAskAbout("nav.dagpenger"), false},
		{"MayAskAbout(empty)", c.MayAskAbout(""), false},
		{"MayAskAbout(any) with *", anyService.MayAskAbout("nav.dagpenger"), true},
		{"MayAskAbout with no services", none.MayAskAbout("nav.dagpenger"), false},
		{"MayUseAuthorizationDetailsType(representation)", c.MayUseAuthorizationDetailsType("representation"), true},
		{"MayUseAuthorizationDetailsType(consent)", c.MayUseAuthorizationDetailsType("consent"), false},
		{"MayReceivePID", c.MayReceivePID(), false},
		{"RequiresPAR", c.RequiresPAR(), false},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// fositeStore is the least fosite.Storage: the registry and a replay cache.
type fositeStore struct {
	*idp.ClientRegistry
	mu   sync.Mutex
	jtis map[string]bool
}

func (s *fositeStore) ClientAssertionJWTValid(_ context.Context, jti string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.jtis[jti] {
		return fosite.ErrJTIKnown
	}
	return nil
}

func (s *fositeStore) SetClientAssertionJWT(_ context.Context, jti string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jtis[jti] = true
	return nil
}

const testTokenURL = "https://id.example/token"

// authenticate runs fosite's client authentication on a token request.
func authenticate(t *testing.T, reg *idp.ClientRegistry, form url.Values, basicID, basicSecret string) (fosite.Client, error) {
	t.Helper()
	provider := fosite.NewOAuth2Provider(&fositeStore{ClientRegistry: reg, jtis: map[string]bool{}},
		&fosite.Config{ClientSecretsHasher: idp.SecretHasher{}, TokenURL: testTokenURL})
	r := httptest.NewRequest(http.MethodPost, testTokenURL, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		r.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	return provider.AuthenticateClient(t.Context(), r, form)
}

// TestClientAuthentication drives fosite's own client authentication with the
// registry and the hasher: secrets, rotated secrets before and after expiry,
// public clients and private_key_jwt.
func TestClientAuthentication(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	oldSecret, newSecret := mustSecret(t), mustSecret(t)
	web := webClient()
	web.SecretHash = idp.HashSecret(newSecret)
	web.RotatedSecrets = []idp.RotatedSecret{{Hash: idp.HashSecret(oldSecret), ExpiresAt: now.Add(time.Hour)}}
	ec := ecKey(t)
	machine := machineClient(t, &ec.PublicKey)
	cs, err := idp.NewClients([]idp.Client{web, appClient(), machine})
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	reg := idp.NewClientRegistry(cs, func() time.Time { return clock })
	grant := url.Values{"grant_type": {"client_credentials"}}

	for _, tt := range []struct {
		name           string
		at             time.Time
		id, secret     string
		wantAuthorized bool
	}{
		{"current secret", now, "web", newSecret, true},
		{"rotated secret during its grace", now.Add(59 * time.Minute), "web", oldSecret, true},
		{"rotated secret after its grace", now.Add(time.Hour), "web", oldSecret, false},
		{"current secret after the grace", now.Add(time.Hour), "web", newSecret, true},
		{"wrong secret", now, "web", mustSecret(t), false},
		{"no secret", now, "web", "", false},
		{"unknown client", now, "nobody", newSecret, false},
		{"a secret for a key client", now, "nav.api", newSecret, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock = tt.at
			form := grant
			id := tt.id
			if tt.secret == "" {
				form, id = url.Values{"grant_type": {"client_credentials"}, "client_id": {tt.id}}, ""
			}
			c, err := authenticate(t, reg, form, id, tt.secret)
			if got := err == nil; got != tt.wantAuthorized {
				t.Fatalf("AuthenticateClient(%s) = %v, want authorized %v", tt.id, err, tt.wantAuthorized)
			}
			if err == nil && c.GetID() != tt.id {
				t.Errorf("AuthenticateClient(%s) = client %s", tt.id, c.GetID())
			}
			if err != nil && !errors.Is(err, fosite.ErrInvalidClient) {
				t.Errorf("AuthenticateClient(%s) = %v, want invalid_client", tt.id, err)
			}
		})
	}
	clock = now

	t.Run("public client", func(t *testing.T) {
		if _, err := authenticate(t, reg, url.Values{"grant_type": {"authorization_code"}, "client_id": {"app"}}, "", ""); err != nil {
			t.Errorf("AuthenticateClient(app) = %v, want a public client through", err)
		}
	})

	assertion := func(t *testing.T, key *ecdsa.PrivateKey, kid, sub, aud string) url.Values {
		t.Helper()
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		jti := make([]byte, 16)
		_, _ = rand.Read(jti)
		issued := time.Now()
		s, err := josejwt.Signed(signer).Claims(josejwt.Claims{Issuer: sub, Subject: sub, Audience: josejwt.Audience{aud},
			ID: base64.RawURLEncoding.EncodeToString(jti), IssuedAt: josejwt.NewNumericDate(issued),
			Expiry: josejwt.NewNumericDate(issued.Add(time.Minute))}).CompactSerialize()
		if err != nil {
			t.Fatal(err)
		}
		return url.Values{"grant_type": {"client_credentials"}, "client_assertion": {s},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}}
	}
	for _, tt := range []struct {
		name           string
		form           url.Values
		wantAuthorized bool
	}{
		{"private_key_jwt", assertion(t, ec, "k1", "nav.api", testTokenURL), true},
		{"private_key_jwt without kid", assertion(t, ec, "", "nav.api", testTokenURL), true},
		{"private_key_jwt with another key", assertion(t, ecKey(t), "k1", "nav.api", testTokenURL), false},
		{"private_key_jwt for another audience", assertion(t, ec, "k1", "nav.api", "https://other.example/token"), false},
		{"an assertion for a secret client", assertion(t, ec, "k1", "web", testTokenURL), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := authenticate(t, reg, tt.form, "", "")
			if got := err == nil; got != tt.wantAuthorized {
				t.Errorf("AuthenticateClient = %v, want authorized %v", err, tt.wantAuthorized)
			}
		})
	}
}

func mustSecret(t testing.TB) string {
	t.Helper()
	s, err := idp.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewSecret(t *testing.T) {
	a, b := mustSecret(t), mustSecret(t)
	for _, s := range []string{a, b} {
		rest, ok := strings.CutPrefix(s, "fms_")
		raw, err := base64.RawURLEncoding.DecodeString(rest)
		if !ok || err != nil || len(raw) != 32 {
			t.Errorf("NewSecret() = %q, want fms_ and 32 bytes in base64url without padding", s)
		}
	}
	if a == b {
		t.Errorf("NewSecret() twice = %q", a)
	}
	if want := "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"; idp.HashSecret("test") != want {
		t.Errorf("HashSecret(test) = %q, want %q", idp.HashSecret("test"), want)
	}
}

func TestSecretHasher(t *testing.T) {
	ctx := t.Context()
	var h idp.SecretHasher
	secret := mustSecret(t)
	hash, err := h.Hash(ctx, []byte(secret))
	if err != nil || string(hash) != idp.HashSecret(secret) {
		t.Fatalf("Hash(secret) = %q, %v; want %q", hash, err, idp.HashSecret(secret))
	}
	good := idp.HashSecret(secret)
	for _, tt := range []struct {
		name, hash, data string
		wantErr          bool
	}{
		{"the secret", good, secret, false},
		{"another secret", good, mustSecret(t), true},
		{"the secret with a byte more", good, secret + "x", true},
		{"an empty secret", good, "", true},
		{"no prefix", strings.TrimPrefix(good, "sha256:"), secret, true},
		{"capitals", "sha256:" + strings.ToUpper(strings.TrimPrefix(good, "sha256:")), secret, true},
		{"short", good[:len(good)-2], secret, true},
		{"not hex", good[:len(good)-1] + "g", secret, true},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", secret, true},
		{"empty", "", "", true},
	} {
		err := h.Compare(ctx, []byte(tt.hash), []byte(tt.data))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: Compare = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestClientRegistry(t *testing.T) {
	first, err := idp.NewClients([]idp.Client{webClient()})
	if err != nil {
		t.Fatal(err)
	}
	reg := idp.NewClientRegistry(nil, nil)
	if _, err := reg.GetClient(t.Context(), "web"); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetClient(web) with no clients = %v, want fosite.ErrNotFound", err)
	}
	reg.Set(first)
	c, err := reg.GetClient(t.Context(), "web")
	if err != nil || c.GetID() != "web" {
		t.Fatalf("GetClient(web) = %v, %v", c, err)
	}
	if _, err := reg.GetClient(t.Context(), "app"); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetClient(app) = %v, want fosite.ErrNotFound", err)
	}

	// Hot reload while requests run: every answer comes whole from one snapshot.
	second, err := idp.NewClients([]idp.Client{appClient()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 200 {
				if i == 0 {
					reg.Set([]*idp.Clients{first, second}[j%2])
					continue
				}
				web, errWeb := reg.GetClient(context.Background(), "web")
				if errWeb == nil && web.GetID() != "web" {
					t.Errorf("GetClient(web) = %s", web.GetID())
				}
			}
		})
	}
	wg.Wait()
	reg.Set(second)
	if got := reg.Clients().Len(); got != 1 {
		t.Errorf("Clients().Len() after Set = %d, want 1", got)
	}
	if _, err := reg.GetClient(t.Context(), "web"); !errors.Is(err, fosite.ErrNotFound) {
		t.Errorf("GetClient(web) after reload = %v, want fosite.ErrNotFound", err)
	}
}

func BenchmarkSecretCompare(b *testing.B) {
	secret := []byte(mustSecret(b))
	hash := []byte(idp.HashSecret(string(secret)))
	ctx := context.Background()
	var h idp.SecretHasher
	for b.Loop() {
		if err := h.Compare(ctx, hash, secret); err != nil {
			b.Fatal(err)
		}
	}
}
