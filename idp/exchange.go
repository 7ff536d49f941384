package idp

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// Token type URIs of RFC 8693 §3.
const (
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// tokenExchange is the RFC 8693 token exchange grant, which fosite lacks: a client
// holding a person's access token asks for a token to act for a party (named in an
// authorization detail of type representation) towards an audience. The decision
// engine decides; the new token has the party as sub and the person in act, keeps
// the subject token's acr and auth_time (never raised), and is no wider than the
// subject token in scope nor longer-lived.
type tokenExchange struct {
	*oauth2.HandleHelper
	server *Server
}

var _ fosite.TokenEndpointHandler = (*tokenExchange)(nil)

func (h *tokenExchange) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne(GrantTypeTokenExchange)
}

func (h *tokenExchange) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

// errInvalidTarget is RFC 8693 §2.2.2's error for an audience or resource the
// server will not issue a token for.
func errInvalidTarget(hint string) *fosite.RFC6749Error {
	return &fosite.RFC6749Error{
		ErrorField:       "invalid_target",
		DescriptionField: "The requested audience or resource is not acceptable.",
		HintField:        hint,
		CodeField:        http.StatusBadRequest,
	}
}

// stepUpError says that the decision engine would permit at a higher level or with
// a fresher authentication, which a token exchange cannot give: the client must
// send the person through the login again (RFC 9470 §4) with these values.
type stepUpError struct {
	acr    string
	maxAge time.Duration
}

func (e *stepUpError) Error() string { return "idp: step-up needed: " + e.acr }

func (e *stepUpError) body() map[string]any {
	b := map[string]any{
		"error":             "insufficient_user_authentication",
		"error_description": "A higher level of assurance, or a fresher authentication, is needed to act for this party. Authenticate the person again with these acr_values (and max_age) and exchange the new token.",
		"acr_values":        e.acr,
	}
	if e.maxAge > 0 {
		b["max_age"] = int(e.maxAge / time.Second)
	}
	return b
}

func (h *tokenExchange) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	s := h.server
	client, ok := r.GetClient().(*Client)
	if !ok || !client.GetGrantTypes().Has(GrantTypeTokenExchange) {
		return fosite.ErrUnauthorizedClient.WithHint("The client may not use token exchange.")
	}
	form := r.GetRequestForm()
	subjectToken, subjectType := form.Get("subject_token"), form.Get("subject_token_type")
	switch {
	case subjectToken == "" || subjectType == "":
		return fosite.ErrInvalidRequest.WithHint("subject_token and subject_token_type are required.")
	case subjectType != tokenTypeAccessToken && subjectType != tokenTypeJWT:
		return fosite.ErrInvalidRequest.WithHint("The subject token must be an access token issued by this server.")
	case form.Get("actor_token") != "" || form.Get("actor_token_type") != "":
		return fosite.ErrInvalidRequest.WithHint("Actor tokens are not accepted: the actor is the person of the subject token.")
	case form.Get("requested_token_type") != "" && form.Get("requested_token_type") != tokenTypeAccessToken:
		return fosite.ErrInvalidRequest.WithHint("Only access tokens are issued.")
	}

	// The subject token: one of our access tokens, active (introspection checks the
	// signature, expiry and that it was not revoked).
	use, subject, err := s.provider.IntrospectToken(ctx, subjectToken, fosite.AccessToken, NewSession())
	if err != nil || use != fosite.AccessToken {
		return fosite.ErrInvalidRequest.WithHint("The subject token is not an active access token of this server.")
	}
	if !issuedFor(subject, client) {
		return fosite.ErrInvalidRequest.WithHint("The subject token was not issued for this client.")
	}
	subj, ok := subject.GetSession().(*Session)
	if !ok || subj.Actor == "" {
		return fosite.ErrInvalidRequest.WithHint("The subject token was not issued to a person.")
	}

	// The target: audiences the client may ask for, at least one.
	audiences := r.GetRequestedAudience()
	if len(audiences) == 0 {
		return errInvalidTarget("Name the audience the token is for.")
	}
	for _, a := range audiences {
		if !slices.Contains(client.GetAudience(), a) {
			return errInvalidTarget("The client may not ask for a token for audience " + a + ".")
		}
	}
	if len(form["resource"]) > 0 {
		return errInvalidTarget("Name the target with audience; resource indicators are not supported.")
	}

	// The party and the services: one representation detail.
	raw := form.Get("authorization_details")
	if raw == "" {
		return fosite.ErrInvalidRequest.WithHint("Name the party and services in authorization_details of type representation.")
	}
	details, err := ParseAuthorizationDetails(raw, []string{string(DetailRepresentation)}, s.decider.Pack().Catalogue, delegation.Today(s.now()))
	if err != nil {
		return err
	}
	if len(details) != 1 || details[0].Party == "" || len(details[0].Services) == 0 {
		return fosite.ErrInvalidRequest.WithHint("Exactly one representation detail, with a party and services, is needed.")
	}
	detail := details[0]
	party := detail.Party
	if subj.Party != subj.Actor && subj.Party != party {
		return fosite.ErrInvalidRequest.WithHint("The subject token acts for another party.")
	}

	// Ask the decision engine, for every service and action, at the subject
	// token's level and authentication time.
	acr := subj.Claims.AuthenticationContextClassReference
	authTime := subj.authTime()
	var rel *authz.Relation
	for _, svc := range detail.Services {
		if !client.MayAskAbout(svc) {
			return errInvalidTarget("The client may not ask about service " + svc + ".")
		}
		actions := detail.Actions
		if len(actions) == 0 {
			actions = []string{"read"}
		}
		for _, action := range actions {
			d, err := s.decider.Decide(ctx, authz.Request{
				Actor: subj.Actor, Party: party, Service: svc, Action: action, ACR: acr, AuthTime: authTime, Now: s.now(),
			}, client.ID)
			if err != nil {
				return fosite.ErrServerError.WithWrap(err)
			}
			if !d.Allow {
				if d.StepUp != nil {
					return &stepUpError{acr: d.StepUp.ACR, maxAge: d.StepUp.MaxAge}
				}
				// access_denied, with RFC 6749 §5.2's status for token endpoint
				// errors rather than fosite's 403.
				denied := fosite.ErrAccessDenied.WithHintf("The person may not %s in %s for this party.", action, svc)
				denied.CodeField = http.StatusBadRequest
				return denied
			}
			if rel == nil {
				rel = d.Relation
			}
		}
	}

	// Scope: what was asked, within the subject token's; all of it when not asked.
	granted := subject.GetGrantedScopes()
	scopes := r.GetRequestedScopes()
	if len(scopes) == 0 {
		scopes = granted
	}
	for _, sc := range scopes {
		if !granted.Has(sc) || !slices.Contains(client.GetScopes(), sc) {
			return fosite.ErrInvalidScope.WithHintf("Scope %q is not in the subject token or not allowed for the client.", sc)
		}
		r.GrantScope(sc)
	}
	for _, a := range audiences {
		r.GrantAudience(a)
	}

	sess, ok := r.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithDebug("session of an unexpected type")
	}
	sess.Actor, sess.Party = subj.Actor, party
	sess.Subject = s.Subject(party)
	sess.Claims.Subject = sess.Subject
	sess.Claims.AuthTime = authTime
	sess.Claims.AuthenticationContextClassReference = acr
	sess.Claims.AuthenticationMethodsReferences = slices.Clone(subj.Claims.AuthenticationMethodsReferences)
	sess.Extra = map[string]any{"client_id": client.ID}
	if client.MayReceivePID() && party.Kind() == delegation.KindPerson {
		sess.Extra["pid"] = string(party)
	}
	if party != subj.Actor {
		act := &Act{Subject: s.Subject(subj.Actor)}
		if client.MayReceivePID() {
			act.PID = string(subj.Actor)
		}
		if subj.Act != nil {
			// The subject token already acted for the party: the client doing this
			// exchange is the new actor, and the chain stays visible.
			act = &Act{Subject: client.ID, ClientID: client.ID, Act: subj.Act.clone()}
		}
		sess.Act = act
		if rel != nil {
			sess.Relation = &Relation{Kind: rel.Kind, ID: rel.ID}
		}
	}
	if sess.Details, err = json.Marshal([]AuthorizationDetail{detail}); err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}

	// Never longer-lived than the subject token.
	exp := s.now().Add(s.cfg.AccessTokenLifetime).Round(time.Second)
	if subExp := subject.GetSession().GetExpiresAt(fosite.AccessToken); !subExp.IsZero() && subExp.Before(exp) {
		exp = subExp
	}
	sess.SetExpiresAt(fosite.AccessToken, exp)
	return nil
}

// issuedFor reports whether client may exchange the token of subject: the token
// was issued to the client, or its audience names the client or one of the
// client's audiences, so that the client is a party the token was meant for. A
// token that reached a client it was not meant for cannot be turned into another.
func issuedFor(subject fosite.Requester, client *Client) bool {
	if c := subject.GetClient(); c != nil && c.GetID() == client.ID {
		return true
	}
	for _, a := range subject.GetGrantedAudience() {
		if a == client.ID || slices.Contains(client.Audiences, a) {
			return true
		}
	}
	return false
}

func (h *tokenExchange) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	lifetime := r.GetSession().GetExpiresAt(fosite.AccessToken).Sub(h.server.now())
	if lifetime <= 0 {
		return fosite.ErrInvalidRequest.WithHint("The subject token has expired.")
	}
	if _, err := h.IssueAccessToken(ctx, lifetime, r, resp); err != nil {
		return err
	}
	resp.SetExtra("issued_token_type", tokenTypeAccessToken)
	return nil
}
