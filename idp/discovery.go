package idp

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/fullmakt/fullmakt/authz"
)

// Routes registers the server's endpoints on mux.
func (s *Server) Routes(mux *http.ServeMux) {
	mux.Handle("GET /.well-known/openid-configuration", s.metadata())
	mux.Handle("GET /.well-known/oauth-authorization-server", s.metadata())
	mux.Handle("GET /jwks.json", s.jwks())
	mux.Handle("GET /authorize", s.authorize())
	mux.Handle("POST /authorize", s.authorize())
	mux.Handle("POST /par", s.par())
	mux.Handle("POST /token", s.token())
	mux.Handle("POST /introspect", s.introspect())
	mux.Handle("POST /revoke", s.revoke())
	mux.Handle("GET /userinfo", s.userinfo())
	mux.Handle("POST /userinfo", s.userinfo())
	mux.Handle("GET /logout", s.logout())
	mux.Handle("POST /logout", s.logout())
}

// Metadata is the server's metadata: OpenID Connect Discovery 1.0 §3 and RFC 8414
// §2 share one document.
type Metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	IntrospectionEndpoint                      string   `json:"introspection_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	PushedAuthorizationRequestEndpoint         string   `json:"pushed_authorization_request_endpoint"`
	RequirePushedAuthorizationRequests         bool     `json:"require_pushed_authorization_requests"`
	ScopesSupported                            []string `json:"scopes_supported"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	ACRValuesSupported                         []string `json:"acr_values_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	ClaimsParameterSupported                   bool     `json:"claims_parameter_supported"`
	RequestParameterSupported                  bool     `json:"request_parameter_supported"`
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported"`
	AuthorizationDetailsTypesSupported         []string `json:"authorization_details_types_supported"`
	UILocalesSupported                         []string `json:"ui_locales_supported"`
}

// metadataFor builds the metadata; the acr values are the eIDAS URIs of the
// levels, which every pack understands, and the pack's aliases.
func (s *Server) metadataFor(pack *authz.Pack) Metadata {
	is := s.cfg.Issuer
	var aliases []string
	for v := range pack.ACRs() {
		aliases = append(aliases, v)
	}
	slices.Sort(aliases)
	acrs := []string{authz.LevelLow.ACR(), authz.LevelSubstantial.ACR(), authz.LevelHigh.ACR()}
	for _, v := range aliases {
		if !slices.Contains(acrs, v) {
			acrs = append(acrs, v)
		}
	}
	return Metadata{
		Issuer:                                     is,
		AuthorizationEndpoint:                      is + "/authorize",
		TokenEndpoint:                              is + "/token",
		UserinfoEndpoint:                           is + "/userinfo",
		JWKSURI:                                    is + "/jwks.json",
		EndSessionEndpoint:                         is + "/logout",
		IntrospectionEndpoint:                      is + "/introspect",
		RevocationEndpoint:                         is + "/revoke",
		PushedAuthorizationRequestEndpoint:         is + "/par",
		ScopesSupported:                            []string{"openid", "profile", "represent"},
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{"authorization_code", "refresh_token", "client_credentials", GrantTypeTokenExchange},
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           []string{"ES256"},
		TokenEndpointAuthMethodsSupported:          []string{"client_secret_basic", "private_key_jwt", "none"},
		TokenEndpointAuthSigningAlgValuesSupported: []string{"ES256", "PS256", "RS256"},
		IntrospectionEndpointAuthMethodsSupported:  []string{"client_secret_basic"},
		RevocationEndpointAuthMethodsSupported:     []string{"client_secret_basic", "private_key_jwt", "none"},
		CodeChallengeMethodsSupported:              []string{"S256"},
		ACRValuesSupported:                         acrs,
		ClaimsSupported:                            []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "pid", "act", "name", "birthdate"},
		ClaimsParameterSupported:                   true,
		AuthorizationDetailsTypesSupported:         []string{string(DetailConsent), string(DetailRepresentation)},
		UILocalesSupported:                         []string{"nb", "en"},
	}
}

// metadata serves the discovery document.
func (s *Server) metadata() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := json.MarshalIndent(s.metadataFor(s.decider.Pack()), "", "  ")
		if err != nil {
			http.Error(w, "metadata", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(append(doc, '\n'))
	})
}

// jwks serves the public signing keys: the one signing now, the next one before it
// signs, and old ones until what they signed has expired.
func (s *Server) jwks() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		// Relying parties may cache the set for less than the publish lead of a
		// new key, so they know it before it signs.
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(s.keys.JWKSJSON())
	})
}

// logout serves RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the
// id_token_hint names the client, and the browser is sent to the
// post_logout_redirect_uri only when it is one the client registered, exactly.
func (s *Server) logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			s.loginPage(w, http.StatusBadRequest, "The logout request is not valid.")
			return
		}
		if l, ok := s.login.(interface {
			Logout(http.ResponseWriter, *http.Request)
		}); ok {
			l.Logout(w, r)
		}
		target := r.Form.Get("post_logout_redirect_uri")
		if target == "" {
			s.loginPage(w, http.StatusOK, "You are logged out.")
			return
		}
		clientID := r.Form.Get("client_id")
		if hint := r.Form.Get("id_token_hint"); hint != "" {
			aud, ok := s.idTokenAudience(hint)
			if !ok || (clientID != "" && clientID != aud) {
				s.loginPage(w, http.StatusBadRequest, "The logout request names a token this server did not issue.")
				return
			}
			clientID = aud
		}
		c, err := s.clients.GetClient(r.Context(), clientID)
		client, _ := c.(*Client)
		if err != nil || client == nil || !slices.Contains(client.PostLogoutRedirectURIs, target) {
			s.loginPage(w, http.StatusBadRequest, "The service asked to return to an address it has not registered. You are logged out.")
			return
		}
		u, err := url.Parse(target)
		if err != nil {
			s.loginPage(w, http.StatusBadRequest, "You are logged out.")
			return
		}
		if state := r.Form.Get("state"); state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
	})
}

// idTokenAudience verifies an ID token this server signed (expired ones too: a
// logout often comes late) and returns its single audience.
func (s *Server) idTokenAudience(token string) (string, bool) {
	jws, err := jose.ParseSigned(token)
	if err != nil || len(jws.Signatures) != 1 {
		return "", false
	}
	set := s.keys.JWKS()
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 || jws.Signatures[0].Header.Algorithm != keys[0].Algorithm {
		return "", false
	}
	// An access token is signed with the same keys; only an ID token is a hint.
	if typ, _ := jws.Signatures[0].Header.ExtraHeaders["typ"].(string); strings.EqualFold(typ, "at+jwt") {
		return "", false
	}
	payload, err := jws.Verify(keys[0].Key)
	if err != nil {
		return "", false
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Issuer != s.cfg.Issuer {
		return "", false
	}
	var one string
	if json.Unmarshal(claims.Audience, &one) == nil {
		return one, one != ""
	}
	var many []string
	if json.Unmarshal(claims.Audience, &many) == nil && len(many) == 1 {
		return many[0], true
	}
	return "", false
}
