package idp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// authorize serves /authorize (RFC 6749 §4.1.1, OIDC Core §3.1.2): it validates the
// request, keeps it as a pending login and hands the browser to the login.
func (s *Server) authorize() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := s.provider.NewAuthorizeRequest(ctx, r)
		if err != nil {
			s.authorizeError(w, r, ar, err)
			return
		}
		client, ok := ar.GetClient().(*Client)
		if !ok {
			s.authorizeError(w, r, ar, fosite.ErrServerError.WithDebug("client of an unexpected type"))
			return
		}
		if client.RequiresPAR() && r.Form.Get("request_uri") == "" {
			s.authorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("This client must push its authorization requests (RFC 9126)."))
			return
		}
		if err := checkPKCE(ar); err != nil {
			s.authorizeError(w, r, ar, err)
			return
		}
		req, err := s.requirementsOf(ar, client)
		if err != nil {
			s.authorizeError(w, r, ar, err)
			return
		}
		id, err := randomID()
		if err != nil {
			s.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		data, err := encodeRequest(ar)
		if err != nil {
			s.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		rec := grants.Record{Kind: grants.Login, Key: hashKey(id), ExpiresAt: s.now().Add(s.cfg.LoginLifetime), Active: true, Data: data}
		if err := s.grants.ApplyGrants(ctx, grants.Put(rec)); err != nil {
			s.authorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		lr := LoginRequest{
			ID: id, ClientID: client.ID, ClientName: client.Name, Level: req.level, MaxAge: req.maxAge,
			Prompt: ar.GetRequestForm()["prompt"], Represent: req.represent, LoginHint: ar.GetRequestForm().Get("login_hint"),
		}
		for _, d := range req.details {
			switch d.Type {
			case DetailRepresentation:
				if d.Party != "" && lr.Party == "" {
					lr.Party = d.Party
				}
			case DetailConsent:
				lr.Consents = append(lr.Consents, d)
			}
		}
		s.login.Start(w, r, lr)
	})
}

// FinishLogin completes the pending authorization request id with what the login
// established, and answers the client (a redirect with a code, or with an error).
// The server enforces the request itself: the level reached, the freshness of the
// authentication, and whether the person may act for the party they chose.
//
// It returns the id of the grant the code belongs to, so that ending the login
// session can revoke what was issued in it (RevokeGrants); empty when the client
// got an error instead.
func (s *Server) FinishLogin(w http.ResponseWriter, r *http.Request, id string, a Authentication) string {
	ctx := r.Context()
	ar, err := s.takeLogin(r, id)
	if err != nil {
		s.loginPage(w, http.StatusBadRequest, "This login has expired or was already used. Go back to the service and start again.")
		return ""
	}
	client := ar.GetClient().(*Client)
	req, err := s.requirementsOf(ar, client)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return ""
	}
	sess, err := s.sessionFor(r, ar, client, req, a)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return ""
	}
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	grantAudience(ar, client)
	resp, err := s.provider.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		s.authorizeError(w, r, ar, err)
		return ""
	}
	s.provider.WriteAuthorizeResponse(ctx, w, ar, resp)
	return ar.GetID()
}

// Failure says why a login ended without an authentication, and so which error
// the client gets.
type Failure int

// The failures of a login.
const (
	// Cancelled: the person cancelled, or refused (access_denied).
	Cancelled Failure = iota
	// Unmet: the person could not reach the level or freshness asked for
	// (unmet_authentication_requirements, RFC 9470 §4).
	Unmet
	// LoginRequired: prompt=none, and nobody is logged in (OIDC Core §3.1.2.6).
	LoginRequired
	// InteractionRequired: prompt=none, and the login needs the person (a step-up,
	// a choice of party, a consent).
	InteractionRequired
)

// FailLogin ends the pending authorization request id with the error for f; reason
// goes to the client as the error description's hint.
func (s *Server) FailLogin(w http.ResponseWriter, r *http.Request, id string, f Failure, reason string) {
	ar, err := s.takeLogin(r, id)
	if err != nil {
		s.loginPage(w, http.StatusBadRequest, "This login has expired or was already used. Go back to the service and start again.")
		return
	}
	switch f {
	case Unmet:
		s.authorizeError(w, r, ar, errUnmet("%s", reason))
	case LoginRequired:
		s.authorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint(reason))
	case InteractionRequired:
		s.authorizeError(w, r, ar, fosite.ErrInteractionRequired.WithHint(reason))
	default:
		s.authorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint(reason))
	}
}

// RevokeGrants revokes every code, access token and refresh token of the grants
// ids (as FinishLogin returned them): what a login session issued, when it ends.
func (s *Server) RevokeGrants(ctx context.Context, ids []string) error {
	var ops []grants.Op
	for _, id := range ids {
		if id == "" {
			continue
		}
		// As a refresh token reuse does: access tokens deleted, codes and refresh
		// tokens made inactive (a later use is refused).
		ops = append(ops, grants.DeleteGrant(grants.Access, id),
			grants.DeactivateGrant(grants.Code, id), grants.DeactivateGrant(grants.Refresh, id))
	}
	if len(ops) == 0 {
		return nil
	}
	for _, id := range ids {
		s.store.behind.drop("", id)
	}
	return s.grants.ApplyGrants(ctx, ops...)
}

// takeLogin uses the pending login id (once) and returns its request.
func (s *Server) takeLogin(r *http.Request, id string) (*fosite.AuthorizeRequest, error) {
	ctx := r.Context()
	key := hashKey(id)
	rec, err := s.grants.Grant(ctx, grants.Login, key)
	if err != nil {
		return nil, err
	}
	if s.now().After(rec.ExpiresAt) {
		return nil, errors.New("idp: the login has expired")
	}
	if err := s.grants.ApplyGrants(ctx, grants.Use(grants.Login, key)); err != nil {
		return nil, err
	}
	return s.store.decodeRequest(ctx, rec.Data)
}

// sessionFor checks the authentication against the request and builds the session
// the tokens are made from.
func (s *Server) sessionFor(r *http.Request, ar fosite.AuthorizeRequester, client *Client, req requirements, a Authentication) (*Session, error) {
	ctx := r.Context()
	now := s.now()
	if _, err := s.registry.Person(ctx, a.Person); err != nil {
		return nil, fosite.ErrAccessDenied.WithHint("The person who logged in is not known.").WithWrap(err)
	}
	level, ok := s.levelOf(a.ACR)
	if !ok {
		return nil, fosite.ErrServerError.WithDebugf("the login reported an unknown acr %q", a.ACR)
	}
	if level < req.level {
		return nil, errUnmet("The person authenticated at %s; the client asked for at least %s.", level, req.level)
	}
	if a.AuthTime.IsZero() || a.AuthTime.After(now) {
		return nil, fosite.ErrServerError.WithDebug("the login reported no or a future auth_time")
	}
	// max_age counts back from when the client asked (OIDC Core §3.1.2.1): a
	// login that took the person a while still answers a max_age of 0. A
	// second of slack covers clocks that truncate.
	if req.maxAge >= 0 && a.AuthTime.Before(ar.GetRequestedAt().Add(-req.maxAge-time.Second)) {
		return nil, errUnmet("The authentication is older than max_age.")
	}

	party := a.Party
	for _, d := range req.details {
		if d.Type == DetailRepresentation && d.Party != "" {
			if party != "" && party != d.Party {
				return nil, fosite.ErrAccessDenied.WithHint("The person chose another party than the one the request names.")
			}
			party = d.Party
		}
	}
	if party == "" {
		party = a.Person
	}
	if !req.represent && party != a.Person {
		return nil, fosite.ErrInvalidRequest.WithHint("Acting for another party needs the scope represent or a representation detail.")
	}

	sess := NewSession()
	sess.Actor, sess.Party = a.Person, party
	sess.Subject = s.Subject(party)
	sess.Claims.Subject = sess.Subject
	sess.Claims.AuthTime = a.AuthTime.UTC()
	sess.Claims.RequestedAt = ar.GetRequestedAt()
	sess.Claims.AuthenticationContextClassReference = s.acrFor(level, req.acrValues)
	sess.Claims.AuthenticationMethodsReferences = slices.Clone(a.AMR)
	sess.Extra = map[string]any{"client_id": client.ID}
	if client.MayReceivePID() && party.Kind() == delegation.KindPerson {
		sess.Extra["pid"] = string(party)
		sess.Claims.Extra = map[string]any{"pid": string(party)}
	}
	if party != a.Person {
		rel, err := s.checkParty(ctx, client, a, party, req.details)
		if err != nil {
			return nil, err
		}
		sess.Act = &Act{Subject: s.Subject(a.Person)}
		if client.MayReceivePID() {
			sess.Act.PID = string(a.Person)
		}
		if rel != nil {
			sess.Relation = &Relation{Kind: rel.Kind, ID: rel.ID}
		}
		if sess.Claims.Extra == nil {
			sess.Claims.Extra = map[string]any{}
		}
		sess.Claims.Extra["act"] = sess.Act.claims()
	}

	// Consents: the person gave them in the login; record them so the decision
	// engine sees them at once.
	granted := slices.Clone(req.details)
	for i, d := range granted {
		switch d.Type {
		case DetailRepresentation:
			// The party the person chose, unless that would give a client an
			// identity number it may not receive (and did not send).
			if d.Party == "" && (client.MayReceivePID() || party.Kind() != delegation.KindPerson) {
				granted[i].Party = party
			}
		case DetailConsent:
			if !a.Consented {
				return nil, fosite.ErrAccessDenied.WithHint("The person did not consent.")
			}
			if party != a.Person {
				return nil, fosite.ErrAccessDenied.WithHint("A consent is given by the person themself.")
			}
			id, err := s.recordConsent(r, client, a.Person, d)
			if err != nil {
				return nil, err
			}
			granted[i].ConsentID = id
		}
	}
	if len(granted) > 0 {
		raw, err := json.Marshal(granted)
		if err != nil {
			return nil, fosite.ErrServerError.WithWrap(err)
		}
		sess.Details = raw
	}
	return sess, nil
}

// recordConsent stores a consent the person gave and returns its id.
func (s *Server) recordConsent(r *http.Request, client *Client, person delegation.PartyID, d AuthorizationDetail) (string, error) {
	ctx := r.Context()
	if client.Organization == "" {
		return "", fosite.ErrInvalidRequest.WithHint("The client has no organisation to receive a consent.")
	}
	p, err := s.registry.Person(ctx, person)
	if err != nil {
		return "", fosite.ErrServerError.WithWrap(err)
	}
	c, err := delegation.NewConsent(p, client.Organization, d.Provider, d.DataSet, d.Purpose, d.ValidTo, d.OneTime, s.now())
	if err != nil {
		return "", fosite.ErrInvalidRequest.WithHintf("The consent cannot be recorded: %v.", err)
	}
	if err := s.registry.CreateConsent(ctx, c); err != nil {
		return "", fosite.ErrServerError.WithWrap(err)
	}
	return c.ID, nil
}

// checkPKCE applies RFC 7636 §4.4.1 to an authorization request before anyone logs
// in: a code_challenge, with the method S256. fosite checks the same only when it
// issues the code, after the person has authenticated for nothing.
func checkPKCE(ar fosite.AuthorizeRequester) error {
	form := ar.GetRequestForm()
	switch {
	case form.Get("code_challenge") == "":
		return fosite.ErrInvalidRequest.WithHint("Clients must include a code_challenge (PKCE, RFC 7636) with code_challenge_method S256.")
	case form.Get("code_challenge_method") != "S256":
		return fosite.ErrInvalidRequest.WithHint("Clients must use code_challenge_method S256; plain is not allowed.")
	}
	return nil
}

// grantAudience grants the audiences asked for (fosite has checked them against
// the client's), or, when none was asked, every audience of the client, so that
// access tokens always carry an aud (RFC 9068 §2.2). A client without audiences
// gets its own id (Client.GetAudience).
func grantAudience(ar fosite.Requester, client *Client) {
	auds := ar.GetRequestedAudience()
	if len(auds) == 0 {
		auds = client.GetAudience()
	}
	for _, a := range auds {
		ar.GrantAudience(a)
	}
}

// authorizeError answers a failed authorization request: with a redirect to the
// client once its redirect URI is known to be good, with a page otherwise (never
// redirect to an unverified URI; RFC 6749 §4.1.2.1).
func (s *Server) authorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	if ar != nil && ar.IsRedirectURIValid() {
		s.provider.WriteAuthorizeError(r.Context(), w, ar, err)
		return
	}
	var rfc *fosite.RFC6749Error
	msg := "The request from the service is not valid."
	if errors.As(err, &rfc) {
		msg = fmt.Sprintf("The request from the service is not valid: %s %s", rfc.ErrorField, rfc.GetDescription())
	}
	s.loginPage(w, http.StatusBadRequest, msg)
}

// errorPageSource is the page shown for a request that cannot be answered with a
// redirect; New parses it.
const errorPageSource = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fullmakt</title></head>
<body><main><h1>Something went wrong</h1><p>{{.}}</p></main></body></html>
`

// loginPage shows a plain error page.
func (s *Server) loginPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = s.errorPage.Execute(w, msg)
}

// randomID returns 32 random bytes, base64url.
func randomID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// par serves the pushed authorization request endpoint (RFC 9126).
func (s *Server) par() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		ar, err := s.provider.NewPushedAuthorizeRequest(ctx, r)
		if err != nil {
			s.provider.WritePushedAuthorizeError(ctx, w, ar, err)
			return
		}
		if client, ok := ar.GetClient().(*Client); ok {
			if err := checkPKCE(ar); err != nil {
				s.provider.WritePushedAuthorizeError(ctx, w, ar, err)
				return
			}
			if _, err := s.requirementsOf(ar, client); err != nil {
				s.provider.WritePushedAuthorizeError(ctx, w, ar, err)
				return
			}
		}
		resp, err := s.provider.NewPushedAuthorizeResponse(ctx, ar, NewSession())
		if err != nil {
			s.provider.WritePushedAuthorizeError(ctx, w, ar, err)
			return
		}
		s.provider.WritePushedAuthorizeResponse(ctx, w, ar, resp)
	})
}
