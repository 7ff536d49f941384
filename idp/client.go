package idp

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/delegation"
)

// Client is one OAuth 2.0 / OpenID Connect client as the clients file declares it
// (see ParseClients). Its JSON form is the file's; the unexported fields are derived
// when the file is loaded.
//
// A Client implements fosite's client interfaces. Clients served by a
// ClientRegistry are copies that must not be modified; so are those of a Clients
// snapshot.
type Client struct {
	// ID is the client_id: 1 to 64 of A–Z, a–z, 0–9, '.', '_' and '-'.
	ID string `json:"id"`
	// Name is shown to people, on the consent page for example.
	Name string `json:"name,omitempty"`
	// Organization is the organisation number (9 digits) of whoever runs the
	// client: the recipient of the consents it collects.
	Organization delegation.PartyID `json:"organization,omitempty"`
	// SecretHash is "sha256:" and the lowercase hex SHA-256 of the client secret
	// (see HashSecret). Only client_secret_basic clients have one.
	SecretHash string `json:"secret_hash,omitempty"`
	// RotatedSecrets are earlier secrets, valid until they expire, so a client can
	// move to a new secret without an outage.
	RotatedSecrets []RotatedSecret `json:"rotated_secrets,omitempty"`
	// TokenEndpointAuthMethod is how the client authenticates at the token endpoint:
	// AuthMethodSecretBasic, AuthMethodPrivateKeyJWT or AuthMethodNone (a public
	// client: a browser or native app, which cannot keep a secret).
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	// TokenEndpointAuthSigningAlg is the JWS algorithm of a private_key_jwt client's
	// assertions: ES256 (the default), RS256 or PS256.
	TokenEndpointAuthSigningAlg string `json:"token_endpoint_auth_signing_alg,omitempty"`
	// JWKS is a private_key_jwt client's public keys, a JWK Set (RFC 7517 §5).
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// JWKSURI is where a private_key_jwt client publishes its JWK Set instead.
	JWKSURI string `json:"jwks_uri,omitempty"`
	// GrantTypes the client may use: authorization_code, refresh_token,
	// client_credentials and urn:ietf:params:oauth:grant-type:token-exchange.
	GrantTypes []string `json:"grant_types"`
	// Scopes the client may request.
	Scopes []string `json:"scopes,omitempty"`
	// RedirectURIs are matched exactly.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// PostLogoutRedirectURIs are where the client may send people after logout.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// Audiences the client may request tokens for, such as an agency's API.
	Audiences []string `json:"audiences,omitempty"`
	// Services are the ids, from the policy pack's service catalogue, the client may
	// ask about on someone's behalf; "*" is any service.
	Services []string `json:"services,omitempty"`
	// PID lets the client receive national identity numbers in a pid claim.
	PID bool `json:"pid,omitempty"`
	// RequirePAR makes the client push its authorization requests (RFC 9126).
	RequirePAR bool `json:"require_par,omitempty"`
	// DetailedReasons lets the client see every reason of a deny, not only those
	// the policies disclose.
	DetailedReasons bool `json:"detailed_reasons,omitempty"`
	// AuthorizationDetailsTypes are the RFC 9396 types the client may request:
	// representation and consent.
	AuthorizationDetailsTypes []string `json:"authorization_details_types,omitempty"`
	// AccessTokenLifetime overrides the server's access token lifetime for this
	// client: a Go duration ("15m") between 1m and 24h; "" is the server's.
	AccessTokenLifetime string `json:"access_token_lifetime,omitempty"`

	jwks     *jose.JSONWebKeySet // JWKS parsed, when loaded
	lifetime time.Duration       // AccessTokenLifetime parsed, when loaded
	rotated  [][]byte            // unexpired rotated hashes, set by ClientRegistry.GetClient
}

// RotatedSecret is the hash of a client's earlier secret and when it stops working.
type RotatedSecret struct {
	Hash      string    `json:"hash"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Token endpoint authentication methods (OpenID Connect Dynamic Client
// Registration 1.0 §2). client_secret_post and client_secret_jwt are not offered.
const (
	AuthMethodSecretBasic   = "client_secret_basic"
	AuthMethodPrivateKeyJWT = "private_key_jwt"
	AuthMethodNone          = "none"
)

// defaultClientSigningAlg is a private_key_jwt client's algorithm unless it names
// one. (fosite's default is RS256.)
const defaultClientSigningAlg = "ES256"

// grantTypeTokenExchangeURN is RFC 8693's grant type.
const grantTypeTokenExchangeURN = "urn:ietf:params:oauth:grant-type:token-exchange"

// Limits on a client's access token lifetime.
const (
	minClientTokenLifetime = time.Minute
	maxClientTokenLifetime = 24 * time.Hour
)

var (
	_ fosite.Client                         = (*Client)(nil)
	_ fosite.OpenIDConnectClient            = (*Client)(nil)
	_ fosite.ClientWithSecretRotation       = (*Client)(nil)
	_ fosite.ResponseModeClient             = (*Client)(nil)
	_ fosite.ClientWithCustomTokenLifespans = (*Client)(nil)
)

// GetID returns the client_id.
func (c *Client) GetID() string { return c.ID }

// GetHashedSecret returns SecretHash, for SecretHasher; nil when there is none.
func (c *Client) GetHashedSecret() []byte {
	if c.SecretHash == "" {
		return nil
	}
	return []byte(c.SecretHash)
}

// GetRotatedHashes returns the hashes of the rotated secrets that had not expired
// when ClientRegistry.GetClient returned this client. A client that did not come
// from a registry has none: rotation fails closed.
func (c *Client) GetRotatedHashes() [][]byte { return c.rotated }

// RotatedHashesAt returns the hashes of the rotated secrets still valid at now.
func (c *Client) RotatedHashesAt(now time.Time) [][]byte {
	var hashes [][]byte
	for _, r := range c.RotatedSecrets {
		if now.Before(r.ExpiresAt) {
			hashes = append(hashes, []byte(r.Hash))
		}
	}
	return hashes
}

// GetRedirectURIs returns the redirect URIs, which fosite matches exactly.
func (c *Client) GetRedirectURIs() []string { return c.RedirectURIs }

// GetGrantTypes returns the grant types the client may use.
func (c *Client) GetGrantTypes() fosite.Arguments { return fosite.Arguments(c.GrantTypes) }

// GetResponseTypes returns "code": the only response type offered (no implicit or
// hybrid flows).
func (c *Client) GetResponseTypes() fosite.Arguments { return fosite.Arguments{"code"} }

// GetResponseModes returns query, the only response mode offered: a code never
// travels in a fragment or a form post.
func (c *Client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeQuery}
}

// GetScopes returns the scopes the client may request.
func (c *Client) GetScopes() fosite.Arguments { return fosite.Arguments(c.Scopes) }

// IsPublic reports whether the client cannot keep a secret (auth method none).
func (c *Client) IsPublic() bool { return c.TokenEndpointAuthMethod == AuthMethodNone }

// GetAudience returns the audiences the client may request. A client without
// audiences has its own id, which is then the aud of its access tokens (RFC 9068
// §2.2 requires one): fosite checks a refreshed token's audience against this list.
func (c *Client) GetAudience() fosite.Arguments {
	if len(c.Audiences) == 0 {
		return fosite.Arguments{c.ID}
	}
	return fosite.Arguments(c.Audiences)
}

// GetRequestURIs returns nil: request_uri values other than PAR's are not accepted.
func (c *Client) GetRequestURIs() []string { return nil }

// GetJSONWebKeys returns the client's JWK Set, parsed when the file was loaded, or
// nil.
func (c *Client) GetJSONWebKeys() *jose.JSONWebKeySet { return c.jwks }

// GetJSONWebKeysURI returns the URL of the client's JWK Set, or "".
func (c *Client) GetJSONWebKeysURI() string { return c.JWKSURI }

// GetRequestObjectSigningAlgorithm returns "": request objects are not accepted.
func (c *Client) GetRequestObjectSigningAlgorithm() string { return "" }

// GetTokenEndpointAuthMethod returns the one method the client must authenticate
// with; fosite refuses any other.
func (c *Client) GetTokenEndpointAuthMethod() string { return c.TokenEndpointAuthMethod }

// GetTokenEndpointAuthSigningAlgorithm returns the algorithm a private_key_jwt
// client's assertions must use: TokenEndpointAuthSigningAlg, or ES256.
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string {
	if c.TokenEndpointAuthSigningAlg == "" {
		return defaultClientSigningAlg
	}
	return c.TokenEndpointAuthSigningAlg
}

// GetEffectiveLifespan returns the client's access token lifetime for access
// tokens when it has one, and fallback otherwise.
func (c *Client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	if tt == fosite.AccessToken && c.lifetime > 0 {
		return c.lifetime
	}
	return fallback
}

// AccessTokenLifespan returns the parsed AccessTokenLifetime, or 0 when the
// server's applies.
func (c *Client) AccessTokenLifespan() time.Duration { return c.lifetime }

// MayReceivePID reports whether the client may receive national identity numbers
// in a pid claim.
func (c *Client) MayReceivePID() bool { return c.PID }

// MayAskAbout reports whether the client may ask about service on someone's
// behalf: it is listed in Services, or Services holds "*".
func (c *Client) MayAskAbout(service string) bool {
	if service == "" {
		return false
	}
	return slices.Contains(c.Services, "*") || slices.Contains(c.Services, service)
}

// RequiresPAR reports whether the client must push its authorization requests.
func (c *Client) RequiresPAR() bool { return c.RequirePAR }

// MayUseAuthorizationDetailsType reports whether the client may request RFC 9396
// authorization details of type typ.
func (c *Client) MayUseAuthorizationDetailsType(typ string) bool {
	return slices.Contains(c.AuthorizationDetailsTypes, typ)
}

// Validate reports every problem of the client at once, each as a sentence naming
// the client and the field.
func (c *Client) Validate() error {
	problems, _ := c.check()
	return joinProblems("idp: ", c.label(), problems)
}

// label names the client in messages.
func (c *Client) label() string { return fmt.Sprintf("client %q", c.ID) }

// clientDerived is what loading adds to a client.
type clientDerived struct {
	jwks     *jose.JSONWebKeySet
	lifetime time.Duration
}

// check returns the problems of the client, each starting with the field, and what
// loading derives from it (meaningful only without problems).
func (c *Client) check() ([]string, clientDerived) {
	var (
		p clientProblems
		d clientDerived
	)
	c.checkID(&p)
	if len(c.Name) > 200 || strings.ContainsFunc(c.Name, unicode.IsControl) {
		p.add("name: longer than 200 bytes or has control characters")
	}

	if c.Organization != "" {
		if id, err := (delegation.IDRules{}).ParseOrganization(string(c.Organization)); err != nil {
			p.add("organization: %q is not an organisation number: %v", c.Organization, err)
		} else if id != c.Organization {
			p.add("organization: write %q as %q", c.Organization, id)
		}
	} else if slices.Contains(c.AuthorizationDetailsTypes, "consent") {
		p.add("organization: missing; a client that collects consents (authorization_details_types consent) names the organisation that receives them")
	}

	grants := map[string]bool{}
	if len(c.GrantTypes) == 0 {
		p.add("grant_types: empty; list at least one of %s", strings.Join(knownGrantTypes, ", "))
	}
	for _, g := range c.GrantTypes {
		switch g {
		case string(fosite.GrantTypeAuthorizationCode), string(fosite.GrantTypeRefreshToken),
			string(fosite.GrantTypeClientCredentials), grantTypeTokenExchangeURN:
			grants[g] = true
		case string(fosite.GrantTypeImplicit):
			p.add("grant_types: implicit is not offered (OAuth 2.0 Security BCP, RFC 9700 §2.1.2): use authorization_code with PKCE")
		case string(fosite.GrantTypePassword):
			p.add("grant_types: password is not offered (RFC 9700 §2.4): use authorization_code, or client_credentials for a machine")
		default:
			p.add("grant_types: %q is not one of %s", g, strings.Join(knownGrantTypes, ", "))
		}
	}
	code := grants[string(fosite.GrantTypeAuthorizationCode)]
	if grants[string(fosite.GrantTypeRefreshToken)] && !code && !grants[grantTypeTokenExchangeURN] {
		p.add("grant_types: refresh_token needs authorization_code or token exchange to issue the first refresh token")
	}
	if code && len(c.RedirectURIs) == 0 {
		p.add("redirect_uris: authorization_code needs at least one redirect URI")
	}

	switch c.TokenEndpointAuthMethod {
	case AuthMethodNone:
		if c.SecretHash != "" || len(c.RotatedSecrets) > 0 {
			p.add("secret_hash: a public client (token_endpoint_auth_method none) has no secret")
		}
		if grants[string(fosite.GrantTypeClientCredentials)] {
			p.add("grant_types: a public client cannot use client_credentials: it has no credentials")
		}
		if grants[grantTypeTokenExchangeURN] {
			p.add("grant_types: a public client cannot use token exchange; give the exchanging service a confidential client")
		}
		if !code {
			p.add("grant_types: a public client must use authorization_code")
		}
		if !code && len(c.RedirectURIs) == 0 {
			p.add("redirect_uris: a public client needs at least one redirect URI")
		}
		c.checkNoKeys(&p)
	case AuthMethodSecretBasic:
		if c.SecretHash == "" {
			p.add("secret_hash: missing; a client_secret_basic client needs one (fullmakt client rotate-secret %s)", c.ID)
		} else if !validSecretHash(c.SecretHash) {
			p.add("secret_hash: not %s and 64 lowercase hex digits", secretHashPrefix)
		}
		for i, r := range c.RotatedSecrets {
			if !validSecretHash(r.Hash) {
				p.add("rotated_secrets[%d].hash: not %s and 64 lowercase hex digits", i, secretHashPrefix)
			}
			if r.ExpiresAt.IsZero() {
				p.add("rotated_secrets[%d].expires_at: missing; a rotated secret must expire", i)
			}
		}
		c.checkNoKeys(&p)
	case AuthMethodPrivateKeyJWT:
		if c.SecretHash != "" || len(c.RotatedSecrets) > 0 {
			p.add("secret_hash: a private_key_jwt client authenticates with its keys and has no secret")
		}
		d.jwks = c.checkKeys(&p)
	case "":
		p.add("token_endpoint_auth_method: missing; use %s, %s or %s (public clients)", AuthMethodSecretBasic, AuthMethodPrivateKeyJWT, AuthMethodNone)
	case "client_secret_post", "client_secret_jwt":
		p.add("token_endpoint_auth_method: %s is not offered; use %s or %s", c.TokenEndpointAuthMethod, AuthMethodSecretBasic, AuthMethodPrivateKeyJWT)
	default:
		p.add("token_endpoint_auth_method: %q is not %s, %s or %s", c.TokenEndpointAuthMethod, AuthMethodSecretBasic, AuthMethodPrivateKeyJWT, AuthMethodNone)
	}

	for i, u := range c.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			p.add("redirect_uris[%d]: %q %s", i, u, msg)
		}
	}
	for i, u := range c.PostLogoutRedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			p.add("post_logout_redirect_uris[%d]: %q %s", i, u, msg)
		}
	}
	for i, s := range c.Scopes {
		if !validScopeToken(s) {
			p.add("scopes[%d]: %q is not a scope token (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)", i, s)
		}
	}
	for i, a := range c.Audiences {
		if a == "" || strings.ContainsFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			p.add("audiences[%d]: %q is empty or has spaces", i, a)
		}
	}
	for i, s := range c.Services {
		if s == "" || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
			p.add("services[%d]: %q is empty or has spaces", i, s)
		}
	}
	for i, t := range c.AuthorizationDetailsTypes {
		if !slices.Contains(knownDetailsTypes, t) {
			p.add("authorization_details_types[%d]: %q is not one of %s", i, t, strings.Join(knownDetailsTypes, ", "))
		}
	}
	if c.AccessTokenLifetime != "" {
		lt, err := time.ParseDuration(c.AccessTokenLifetime)
		switch {
		case err != nil:
			p.add("access_token_lifetime: %q is not a duration such as 15m or 1h", c.AccessTokenLifetime)
		case lt < minClientTokenLifetime || lt > maxClientTokenLifetime:
			p.add("access_token_lifetime: %s is not between %s and %s", lt, minClientTokenLifetime, maxClientTokenLifetime)
		default:
			d.lifetime = lt
		}
	}
	return p, d
}

var (
	knownGrantTypes = []string{
		string(fosite.GrantTypeAuthorizationCode), string(fosite.GrantTypeRefreshToken),
		string(fosite.GrantTypeClientCredentials), grantTypeTokenExchangeURN,
	}
	knownDetailsTypes = []string{"representation", "consent"}
	knownClientAlgs   = []string{"ES256", "RS256", "PS256"}
)

// clientProblems collects a client's problems.
type clientProblems []string

func (p *clientProblems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// joinProblems turns problems into one error per problem, "prefix label: problem".
func joinProblems(prefix, label string, ps []string) error {
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = fmt.Errorf("%s%s: %s", prefix, label, p)
	}
	return errors.Join(errs...)
}

func (c *Client) checkID(p *clientProblems) {
	switch {
	case c.ID == "":
		p.add("id: missing")
	case len(c.ID) > 64:
		p.add("id: longer than 64 characters")
	case strings.ContainsFunc(c.ID, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}):
		p.add("id: only A-Z, a-z, 0-9, '.', '_' and '-' are allowed")
	}
}

// checkNoKeys reports keys on a client that does not use private_key_jwt.
func (c *Client) checkNoKeys(p *clientProblems) {
	if hasJSONValue(c.JWKS) || c.JWKSURI != "" {
		p.add("jwks: only private_key_jwt clients have keys (this one uses %s)", c.TokenEndpointAuthMethod)
	}
	if c.TokenEndpointAuthSigningAlg != "" {
		p.add("token_endpoint_auth_signing_alg: only private_key_jwt clients sign assertions (this one uses %s)", c.TokenEndpointAuthMethod)
	}
}

// checkKeys checks a private_key_jwt client's algorithm and keys, and returns its
// parsed JWK Set (nil for a jwks_uri).
func (c *Client) checkKeys(p *clientProblems) *jose.JSONWebKeySet {
	alg := c.GetTokenEndpointAuthSigningAlgorithm()
	algOK := slices.Contains(knownClientAlgs, alg)
	if !algOK {
		p.add("token_endpoint_auth_signing_alg: %q is not one of %s", alg, strings.Join(knownClientAlgs, ", "))
	}
	switch inline := hasJSONValue(c.JWKS); {
	case inline && c.JWKSURI != "":
		p.add("jwks: give jwks or jwks_uri, not both")
	case !inline && c.JWKSURI == "":
		p.add("jwks: a private_key_jwt client needs jwks or jwks_uri")
	case c.JWKSURI != "":
		if msg := checkJWKSURI(c.JWKSURI); msg != "" {
			p.add("jwks_uri: %q %s", c.JWKSURI, msg)
		}
	default:
		set, usable, msgs := parseClientJWKS(c.JWKS, alg)
		for _, m := range msgs {
			p.add("jwks: %s", m)
		}
		if len(msgs) == 0 && usable == 0 && algOK {
			p.add("jwks: no public key for %s with use \"sig\" (or no use)", alg)
		}
		return set
	}
	return nil
}

// parseClientJWKS parses a client's JWK Set and counts its keys usable for alg.
// Keys without "use" are marked "sig", since fosite considers only signing keys.
func parseClientJWKS(raw json.RawMessage, alg string) (*jose.JSONWebKeySet, int, []string) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, 0, []string{fmt.Sprintf("not a JWK Set: %v", err)}
	}
	var msgs []string
	usable := 0
	for i := range set.Keys {
		k := &set.Keys[i]
		name := fmt.Sprintf("key %d", i)
		if k.KeyID != "" {
			name = fmt.Sprintf("key %d (kid %q)", i, k.KeyID)
		}
		switch {
		case k.Key != nil && !k.IsPublic():
			msgs = append(msgs, name+" holds a private or symmetric key: only public keys belong in the clients file")
			continue
		case !k.Valid():
			msgs = append(msgs, name+" is not a valid key")
			continue
		}
		if k.Use == "" {
			k.Use = "sig"
		}
		if rk, ok := k.Key.(*rsa.PublicKey); ok && rk.N.BitLen() < 2048 {
			msgs = append(msgs, fmt.Sprintf("%s is an RSA key of %d bits; at least 2048 are needed", name, rk.N.BitLen()))
			continue
		}
		if k.Use == "sig" && (k.Algorithm == "" || k.Algorithm == alg) && clientKeyFits(k.Key, alg) {
			usable++
		}
	}
	return &set, usable, msgs
}

// clientKeyFits reports whether key can verify signatures of alg.
func clientKeyFits(key any, alg string) bool {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		return alg == "ES256" && k.Curve == elliptic.P256()
	case *rsa.PublicKey:
		return alg == "RS256" || alg == "PS256"
	}
	return false
}

// hasJSONValue reports whether raw holds a value other than null.
func hasJSONValue(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// checkRedirectURI returns what is wrong with a redirect URI (RFC 6749 §3.1.2,
// RFC 8252 §7, RFC 9700 §4.1), or "".
func checkRedirectURI(s string) string {
	if strings.Contains(s, "*") {
		return "has a wildcard; redirect URIs are matched exactly"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "is not a URI"
	}
	switch {
	case !u.IsAbs():
		return "is not an absolute URI"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "has a fragment (RFC 6749 §3.1.2)"
	case u.User != nil:
		return "has user information"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "has no host"
		}
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return "uses http on a host that is not loopback (127.0.0.1, [::1] or localhost); use https"
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "has a scheme that is not https, http on a loopback host, or a private-use scheme with a dot such as com.example.app:/cb (RFC 8252 §7.1)"
		}
	}
	return ""
}

// checkJWKSURI returns what is wrong with a jwks_uri, or "".
func checkJWKSURI(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "is not an absolute URL"
	case u.Fragment != "":
		return "has a fragment"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return "uses http on a host that is not loopback; use https"
	}
	return "is not an https URL"
}

// isLoopbackHost reports whether host is 127.0.0.1, ::1 or localhost.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// validScopeToken reports whether s is a scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b > 0x7e || b == '"' || b == '\\' {
			return false
		}
	}
	return true
}
