package idp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// token serves the token endpoint (RFC 6749 §3.2): authorization code, refresh
// token, client credentials and token exchange.
func (s *Server) token() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sess := NewSession()
		ar, err := s.provider.NewAccessRequest(ctx, r, sess)
		if err != nil {
			s.tokenError(w, r, ar, err)
			return
		}
		if ar.GetGrantTypes().ExactOne("client_credentials") {
			// The client acts for itself: it is the subject (RFC 9068 §2.2).
			client := ar.GetClient()
			sess.Subject = client.GetID()
			sess.Extra = map[string]any{"client_id": client.GetID()}
			for _, scope := range ar.GetRequestedScopes() {
				ar.GrantScope(scope)
			}
			if c, ok := client.(*Client); ok {
				grantAudience(ar, c)
			}
		}
		resp, err := s.provider.NewAccessResponse(ctx, ar)
		if err != nil {
			s.tokenError(w, r, ar, s.lostRace(ctx, ar, err))
			return
		}
		s.provider.WriteAccessResponse(ctx, w, ar, resp)
	})
}

// supportedGrantTypes are the grant types the token endpoint serves.
var supportedGrantTypes = []string{
	string(fosite.GrantTypeAuthorizationCode), string(fosite.GrantTypeRefreshToken),
	string(fosite.GrantTypeClientCredentials), GrantTypeTokenExchange,
}

// lostRace maps the error of a code or refresh token redemption that a parallel
// request redeemed first, which fosite reports as a server error (or as
// invalid_request with the advice to retry, which for a refresh token would be
// taken as reuse and revoke the grant): it is invalid_grant (RFC 6749 §5.2). A
// code redeemed twice also revokes the tokens issued from it (§4.1.2); when the
// store refused the second use, Commit has done that already.
func (s *Server) lostRace(ctx context.Context, ar fosite.AccessRequester, err error) error {
	gt := ar.GetGrantTypes()
	switch {
	case gt.ExactOne(string(fosite.GrantTypeAuthorizationCode)) && errors.Is(err, fosite.ErrInvalidatedAuthorizeCode):
		if rerr := s.store.revokeGrant(ctx, ar.GetID()); rerr != nil {
			return fosite.ErrServerError.WithWrap(rerr)
		}
		return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.").WithWrap(err)
	case gt.ExactOne(string(fosite.GrantTypeAuthorizationCode)) && (errors.Is(err, grants.ErrInactive) || errors.Is(err, grants.ErrNotFound)):
		return fosite.ErrInvalidGrant.WithHint("The authorization code has already been used.").WithWrap(err)
	case gt.ExactOne(string(fosite.GrantTypeRefreshToken)) && (errors.Is(err, grants.ErrInactive) || errors.Is(err, grants.ErrNotFound)):
		return fosite.ErrInvalidGrant.WithHint("The refresh token was used by another request at the same time.").WithWrap(err)
	}
	return err
}

// tokenError writes a token endpoint error, mapping fosite's own error names to the
// ones the RFCs define: client authentication errors are invalid_client
// (clientAuthError), a grant type no handler serves is unsupported_grant_type
// (fosite: invalid_request), a grant type the client is not registered for is
// unauthorized_client (fosite checks client_credentials only after other things),
// and a step-up the token exchange cannot give is explained with the acr values
// that would do (RFC 9470's vocabulary).
func (s *Server) tokenError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	grantType := r.PostForm.Get("grant_type")
	switch {
	case grantType == "":
		// invalid_request, before anything else is looked at.
	case !authenticated(ar):
		err = clientAuthError(r, err)
		if !errors.Is(err, fosite.ErrInvalidClient) && !slices.Contains(supportedGrantTypes, grantType) {
			err = fosite.ErrUnsupportedGrantType.WithHintf("The grant type %q is not supported.", grantType)
		}
	case !slices.Contains(supportedGrantTypes, grantType):
		err = fosite.ErrUnsupportedGrantType.WithHintf("The grant type %q is not supported.", grantType)
	case !ar.GetClient().GetGrantTypes().Has(grantType):
		err = fosite.ErrUnauthorizedClient.WithHintf("The client may not use the grant type %q.", grantType)
	}
	var su *stepUpError
	if errors.As(err, &su) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(su.body())
		return
	}
	s.provider.WriteAccessError(r.Context(), w, ar, err)
}

// clientAuthError maps what fosite answers when a client's authentication failed
// to RFC 6749 §5.2's invalid_client: a replayed client assertion (RFC 7523 §3,
// fosite: jti_known), an assertion whose time claims fail (fosite passes on an
// error of no RFC, a 500), and a request without any client credentials (fosite:
// invalid_request). Other errors are returned as they are.
func clientAuthError(r *http.Request, err error) error {
	var rfc *fosite.RFC6749Error
	switch {
	case errors.Is(err, fosite.ErrJTIKnown):
		return fosite.ErrInvalidClient.WithHint("The client assertion has been used before.").WithWrap(err)
	case r.PostForm.Get("client_assertion") != "" && !errors.As(err, &rfc):
		return fosite.ErrInvalidClient.WithHint("The client assertion is not valid.").WithWrap(err)
	case errors.Is(err, fosite.ErrInvalidRequest) && r.Header.Get("Authorization") == "" &&
		r.PostForm.Get("client_id") == "" && r.PostForm.Get("client_assertion") == "":
		return fosite.ErrInvalidClient.WithHint("The client must authenticate.").WithWrap(err)
	}
	return err
}

// authenticated reports whether the client of a token request authenticated:
// fosite sets the request's client only then.
func authenticated(ar fosite.AccessRequester) bool {
	if ar == nil {
		return false
	}
	_, ok := ar.GetClient().(*Client)
	return ok
}

// introspect serves RFC 7662 introspection. The caller authenticates as a client.
// An active token's answer has the standard members, iss and token_type, and what
// the session adds (acr, auth_time, amr, act, relation, authorization_details);
// pid only when the caller may receive identity numbers.
func (s *Server) introspect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ir, err := s.provider.NewIntrospectionRequest(ctx, r, NewSession())
		if errors.Is(err, fosite.ErrRequestUnauthorized) && !errors.Is(err, fosite.ErrInactiveToken) {
			// The caller did not authenticate (an inactive token wraps this error
			// too): RFC 7662 §2.3 answers 401, with RFC 6749's error for it.
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"error": "invalid_client", "error_description": "The caller must authenticate as a client.",
			})
			return
		}
		if err != nil && !errors.Is(err, fosite.ErrInactiveToken) &&
			!errors.Is(err, fosite.ErrTokenExpired) && !errors.Is(err, fosite.ErrNotFound) {
			s.provider.WriteIntrospectionError(ctx, w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		if err != nil || ir == nil || !ir.IsActive() {
			_, _ = w.Write([]byte(`{"active":false}` + "\n"))
			return
		}
		caller := s.introspectionCaller(r)
		_ = json.NewEncoder(w).Encode(s.introspection(ir, caller))
	})
}

// introspectionCaller returns the client that authenticated the introspection
// request (Basic), or nil.
func (s *Server) introspectionCaller(r *http.Request) *Client {
	id, _, ok := r.BasicAuth()
	if !ok {
		return nil
	}
	if decoded, err := url.QueryUnescape(id); err == nil {
		id = decoded
	}
	c, err := s.clients.GetClient(r.Context(), id)
	if err != nil {
		return nil
	}
	client, _ := c.(*Client)
	return client
}

// introspection is the answer for an active token.
func (s *Server) introspection(ir fosite.IntrospectionResponder, caller *Client) map[string]any {
	ar := ir.GetAccessRequester()
	out := map[string]any{"active": true, "iss": s.cfg.Issuer}
	sess, _ := ar.GetSession().(*Session)
	if sess != nil {
		for k, v := range sess.accessClaims() {
			out[k] = v
		}
	}
	if caller == nil || !caller.MayReceivePID() {
		delete(out, "pid")
		if act, ok := out["act"].(map[string]any); ok {
			out["act"] = withoutPID(act)
		}
		if sess != nil && len(sess.Details) > 0 {
			out["authorization_details"] = detailsWithoutPID(sess.Details)
		}
	}
	switch ir.GetTokenUse() {
	case fosite.AccessToken:
		out["token_type"] = "Bearer"
		if sess != nil {
			if exp := sess.GetExpiresAt(fosite.AccessToken); !exp.IsZero() {
				out["exp"] = exp.Unix()
			}
		}
	case fosite.RefreshToken:
		out["token_type"] = "refresh_token"
		if sess != nil {
			if exp := sess.GetExpiresAt(fosite.RefreshToken); !exp.IsZero() {
				out["exp"] = exp.Unix()
			}
		}
	}
	out["client_id"] = ar.GetClient().GetID()
	out["iat"] = ar.GetRequestedAt().Unix()
	if scopes := ar.GetGrantedScopes(); len(scopes) > 0 {
		out["scope"] = strings.Join(scopes, " ")
	}
	if aud := ar.GetGrantedAudience(); len(aud) > 0 {
		out["aud"] = []string(aud)
	}
	if sess != nil && sess.Subject != "" {
		out["sub"] = sess.Subject
	}
	return out
}

// withoutPID returns a copy of an act claim without pid members, at every depth.
func withoutPID(act map[string]any) map[string]any {
	out := make(map[string]any, len(act))
	for k, v := range act {
		switch {
		case k == "pid":
		case k == "act":
			if inner, ok := v.(map[string]any); ok {
				out[k] = withoutPID(inner)
			}
		default:
			out[k] = v
		}
	}
	return out
}

// detailsWithoutPID returns authorization details without the identity numbers of
// persons they name as parties: the token's sub already says whom it is for.
// Details that cannot be read are left out altogether.
func detailsWithoutPID(raw json.RawMessage) []AuthorizationDetail {
	var details []AuthorizationDetail
	if err := json.Unmarshal(raw, &details); err != nil {
		return nil
	}
	for i, d := range details {
		if d.Party.Kind() == delegation.KindPerson {
			details[i].Party = ""
		}
	}
	return details
}

// revoke serves RFC 7009 revocation. Revoking a refresh token revokes its grant's
// access tokens too; unknown tokens get 200, as §2.2 says. Errors are written here
// rather than by fosite, which answers 200 to everything but invalid_request and
// invalid_client, so that a client whose request was refused (the token is
// another client's, §2.1) or whose assertion was replayed learns it.
func (s *Server) revoke() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		err := s.provider.NewRevocationRequest(ctx, r)
		if err == nil {
			s.provider.WriteRevocationResponse(ctx, w, nil)
			return
		}
		s.provider.WriteAccessError(ctx, w, nil, clientAuthError(r, err))
	})
}

// userinfo serves the OpenID Connect userinfo endpoint (OIDC Core §5.3) for a
// bearer access token: sub, the name of the party, pid for clients allowed it, and
// act for a token acting on someone's behalf.
func (s *Server) userinfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		token := fosite.AccessTokenFromRequest(r)
		if token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
			http.Error(w, "a bearer access token is required", http.StatusUnauthorized)
			return
		}
		sess := NewSession()
		use, ar, err := s.provider.IntrospectToken(ctx, token, fosite.AccessToken, sess)
		if err != nil || use != fosite.AccessToken {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "the access token is not valid", http.StatusUnauthorized)
			return
		}
		sess, _ = ar.GetSession().(*Session)
		if sess == nil || sess.Party == "" || !ar.GetGrantedScopes().Has("openid") {
			w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid"`)
			http.Error(w, "the token was not issued for OpenID Connect", http.StatusForbidden)
			return
		}
		out := map[string]any{"sub": sess.Subject}
		if pid, ok := sess.Extra["pid"]; ok {
			out["pid"] = pid
		}
		if ar.GetGrantedScopes().Has("profile") {
			if sess.Party.Kind() == delegation.KindPerson {
				if p, err := s.registry.Person(ctx, sess.Party); err == nil {
					out["name"] = p.Name
					out["birthdate"] = p.BirthDate.String()
				}
			}
		}
		if sess.Act != nil {
			out["act"] = sess.Act.claims()
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
	})
}
