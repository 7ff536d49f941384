package login

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
)

// Flow is a login under way: for an OAuth client (Login) or for the portal
// (Return). Its id travels in the pages' URLs and forms; the store keeps it under
// the id's hash, bound to the browser that started it.
type Flow struct {
	// ID is the flow's random id (not stored).
	ID string `json:"-"`
	// Browser is the hash of the browser cookie of the browser that started it.
	Browser string `json:"browser"`
	// Login is the OAuth server's request, for a client's login.
	Login *idp.LoginRequest `json:"login,omitempty"`
	// Return is the local path to go to at the end, for the portal.
	Return string `json:"return,omitempty"`
	// Level is the lowest level that satisfies the flow; 0 for any.
	Level authz.Level `json:"level"`
	// MaxAge bounds the age of the authentication at Created; negative for none.
	MaxAge time.Duration `json:"max_age"`
	// Fresh asks for an authentication within this flow (prompt=login, or the
	// portal's confirmation of a fullmakt).
	Fresh bool `json:"fresh,omitempty"`
	// Silent is prompt=none: no page may be shown.
	Silent bool `json:"silent,omitempty"`
	// Created is when the flow began.
	Created time.Time `json:"created"`
	// Chosen is true once the party is settled, and Party is the choice (empty
	// for the person themself).
	Chosen bool               `json:"chosen,omitempty"`
	Party  delegation.PartyID `json:"party,omitempty"`
	// Consented is true once the person agreed to the request's consents.
	Consented bool `json:"consented,omitempty"`
}

// An upstream's auth_time up to this much before the flow's start counts as an
// authentication within the flow (Authenticated): whole seconds, another clock.
const clockSkew = 2 * time.Second

// newFlow stores f under a new id, bound to this browser (setting the browser
// cookie if it has none).
func (s *Service) newFlow(w http.ResponseWriter, r *http.Request, f *Flow) error {
	browser := ""
	if c, err := r.Cookie(s.browserCookie); err == nil && len(c.Value) >= 32 {
		browser = c.Value
	} else {
		v, err := randomValue()
		if err != nil {
			return err
		}
		browser = v
		// A browser cookie, gone when the browser closes: it only binds flows.
		http.SetCookie(w, s.cookie(s.browserCookie, browser, 0))
	}
	id, err := randomValue()
	if err != nil {
		return err
	}
	f.ID, f.Browser, f.Created = id, hashKey(browser), s.now()
	return s.saveFlow(r.Context(), f)
}

// saveFlow writes f.
func (s *Service) saveFlow(ctx context.Context, f *Flow) error {
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return s.grants.ApplyGrants(ctx, grants.Put(grants.Record{
		Kind: grants.Flow, Key: hashKey(f.ID), ExpiresAt: f.Created.Add(s.cfg.FlowLifetime), Data: data,
	}))
}

// endFlow deletes f: it cannot be finished twice.
func (s *Service) endFlow(ctx context.Context, f *Flow) {
	if err := s.grants.ApplyGrants(ctx, grants.Delete(grants.Flow, hashKey(f.ID))); err != nil {
		s.log.ErrorContext(ctx, "login: end a flow", "error", err)
	}
}

// flow returns the flow named by the request's "flow" parameter (query or form),
// if it exists, has not expired and belongs to this browser. Otherwise it shows
// the "start again" page and returns false.
func (s *Service) flow(w http.ResponseWriter, r *http.Request) (*Flow, bool) {
	return s.flowByID(w, r, r.FormValue("flow"))
}

// flowByID is flow for a flow id from elsewhere (an upstream's state).
func (s *Service) flowByID(w http.ResponseWriter, r *http.Request, id string) (*Flow, bool) {
	f, ok := s.lookupFlow(r, id)
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "error.expired")
	}
	return f, ok
}

// flowURL is the URL of a flow's page.
func flowURL(path string, f *Flow) string {
	return path + "?flow=" + url.QueryEscape(f.ID)
}

// Start implements idp.Login: a client's login begins.
func (s *Service) Start(w http.ResponseWriter, r *http.Request, req idp.LoginRequest) {
	f := &Flow{
		Login: &req, Level: req.Level, MaxAge: req.MaxAge,
		Fresh:  slices.Contains(req.Prompt, "login"),
		Silent: slices.Contains(req.Prompt, "none"),
	}
	if req.Party != "" {
		// The client named the party; the OAuth server checks the right to act.
		f.Chosen, f.Party = true, req.Party
	}
	if err := s.newFlow(w, r, f); err != nil {
		s.log.ErrorContext(r.Context(), "login: start a flow", "error", err)
		s.server.FailLogin(w, r, req.ID, idp.Cancelled, "The login could not start.")
		return
	}
	s.advance(w, r, f)
}

// StepUp sends the browser to confirm the person's identity at level or above,
// authenticating again (with a passkey, user verification required, where they
// have one), and then to returnTo: the portal's way to ask before it does
// something that needs it (confirming a fullmakt).
func (s *Service) StepUp(w http.ResponseWriter, r *http.Request, level authz.Level, returnTo string) {
	f := &Flow{Level: level, MaxAge: -1, Fresh: true, Return: localPath(returnTo)}
	if err := s.newFlow(w, r, f); err != nil {
		s.log.ErrorContext(r.Context(), "login: start a step-up", "error", err)
		s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
		return
	}
	s.advance(w, r, f)
}

// RequireSession serves next only with a session; without one it sends the
// browser to log in and come back.
func (s *Service) RequireSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.session(r); !ok {
			http.Redirect(w, r, "/login?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// localPath returns p if it is a path on this server that is safe to redirect
// to (web.LocalPath), else "/account".
func localPath(p string) string {
	if !web.LocalPath(p) {
		return "/account"
	}
	return p
}

// needsAuthentication reports whether the flow needs the person to authenticate
// (again): no session, or one that is too low, too old, or from before a flow that
// asked for a fresh one. No slack: an authentication within the flow is never
// older than the flow (Authenticated sees to it), and the OAuth server and fosite
// check auth_time against the client's request, which came before the flow, so a
// session the login let through on slack would reach the client as an error
// (max_age=0, or prompt=login, right after a login).
func (s *Service) needsAuthentication(f *Flow, sess *Session) bool {
	switch {
	case sess == nil:
		return true
	case sess.Level < f.Level:
		return true
	case f.Fresh && sess.AuthTime.Before(f.Created):
		return true
	case f.MaxAge >= 0 && sess.AuthTime.Before(f.Created.Add(-f.MaxAge)):
		return true
	}
	return false
}

// advance sends the browser to the flow's next page, or finishes it.
func (s *Service) advance(w http.ResponseWriter, r *http.Request, f *Flow) {
	sess, _ := s.session(r)
	next := ""
	switch {
	case sess == nil:
		next = "/login/choose"
	case s.needsAuthentication(f, sess):
		next = "/login/step-up"
	case f.Login != nil && f.Login.Represent && !f.Chosen:
		next = "/login/party"
	case f.Login != nil && len(f.Login.Consents) > 0 && !f.Consented:
		next = "/login/consent"
	}
	if next != "" {
		if f.Silent {
			failure, reason := idp.InteractionRequired, "The person must choose or consent."
			if sess == nil || s.needsAuthentication(f, sess) {
				failure, reason = idp.LoginRequired, "The person must log in."
			}
			s.Failed(w, r, f, failure, reason)
			return
		}
		http.Redirect(w, r, flowURL(next, f), http.StatusSeeOther)
		return
	}
	s.finish(w, r, f, sess)
}

// finish ends the flow: the OAuth server answers its client, or the portal page
// the flow was for opens.
func (s *Service) finish(w http.ResponseWriter, r *http.Request, f *Flow, sess *Session) {
	ctx := r.Context()
	s.endFlow(ctx, f)
	if f.Login == nil {
		http.Redirect(w, r, localPath(f.Return), http.StatusSeeOther)
		return
	}
	grant := s.server.FinishLogin(w, r, f.Login.ID, idp.Authentication{
		Person: sess.Person, ACR: sess.Level.ACR(), AMR: sess.AMR, AuthTime: sess.AuthTime,
		Party: f.Party, Consented: f.Consented,
	})
	if grant != "" {
		err := s.addGrant(ctx, sess, grant)
		if errors.Is(err, grants.ErrNotFound) {
			// The session ended (a logout) while the login finished: what it
			// issued ends with it.
			err = s.server.RevokeGrants(ctx, []string{grant})
		}
		if err != nil {
			s.log.ErrorContext(ctx, "login: remember a grant of the session", "error", err)
		}
	}
}

// Authenticated is how a method ends its part: p is who the person proved to be.
// It starts a new session (rotating any old one) and returns the URL of the
// flow's next page, for the method to send the browser to.
func (s *Service) Authenticated(w http.ResponseWriter, r *http.Request, f *Flow, p Proof) (string, error) {
	old, _ := s.Current(r)
	if !p.AuthTime.IsZero() && p.AuthTime.Before(f.Created) && f.Created.Sub(p.AuthTime) <= clockSkew {
		// An upstream's auth_time is in whole seconds: a login within this flow
		// can look a little older than the flow. It happened in the flow.
		p.AuthTime = f.Created
	}
	if _, err := s.startSession(w, r, old, p); err != nil {
		return "", err
	}
	s.log.InfoContext(r.Context(), "login: authenticated", "method", p.Method, "level", p.Level.String())
	return flowURL("/login/next", f), nil
}

// Failed ends the flow without a login: the OAuth client gets the error for
// failure; a portal flow shows a page.
func (s *Service) Failed(w http.ResponseWriter, r *http.Request, f *Flow, failure idp.Failure, reason string) {
	s.endFlow(r.Context(), f)
	if f.Login != nil {
		s.server.FailLogin(w, r, f.Login.ID, failure, reason)
		return
	}
	key := "error.cancelled"
	if failure == idp.Unmet {
		key = "error.unmet"
	}
	s.errorPage(w, r, http.StatusForbidden, key)
}

// next serves GET /login/next?flow=: the page after a method or a choice.
func (s *Service) next() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		s.advance(w, r, f)
	})
}

// cancel serves POST /login/cancel: the person gives up; the client gets
// access_denied, or unmet_authentication_requirements when the person could not
// reach the level.
func (s *Service) cancel() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flowForm(w, r)
		if !ok {
			return
		}
		if r.PostForm.Get("unmet") != "" {
			// The step-up page offered no way to reach the level.
			s.Failed(w, r, f, idp.Unmet, "The person has no way to reach the level asked for.")
			return
		}
		s.Failed(w, r, f, idp.Cancelled, "The person cancelled the login.")
	})
}

// flowForm returns the flow of a posted form, after checking its form token.
func (s *Service) flowForm(w http.ResponseWriter, r *http.Request) (*Flow, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.form")
		return nil, false
	}
	f, ok := s.flow(w, r)
	if !ok {
		return nil, false
	}
	if !s.validFlowToken(r, f, r.PostForm.Get("csrf")) {
		s.errorPage(w, r, http.StatusForbidden, "error.expired")
		return nil, false
	}
	return f, true
}

// validFlowToken reports whether token is a form token of the flow f: bound to
// the flow, or to the browser's session (pages show the session's token when
// there is one, so that the header's logout form works on every page).
func (s *Service) validFlowToken(r *http.Request, f *Flow, token string) bool {
	if s.csrf.Valid(flowBinding(f), token) {
		return true
	}
	sess, ok := s.Current(r)
	return ok && s.csrf.Valid(sessionBinding(sess), token)
}

// flowBinding is what a flow's form tokens are bound to.
func flowBinding(f *Flow) string { return "flow\x00" + f.ID }

// sessionBinding is what a session's form tokens are bound to.
func sessionBinding(sess *Session) string { return "session\x00" + sess.key }

// view returns a view of page for the request, with the header filled from the
// session, the form token of the flow (or the session), and, in a client's
// flow, the client's redirect origins as form targets.
func (s *Service) view(r *http.Request, sess *Session, f *Flow, page string, data any) web.View {
	v := web.View{Page: page, Data: data}
	if sess != nil {
		v.Header = web.Header{LoggedIn: true, Name: sess.Name, Level: sess.Level, Test: sess.Test}
		v.CSRF = s.csrf.Token(sessionBinding(sess))
	}
	if f != nil {
		if sess == nil {
			v.CSRF = s.csrf.Token(flowBinding(f))
		}
		if f.Login != nil {
			v.FormAction = s.redirectOrigins(f.Login.ClientID)
		}
	}
	return v
}

// render renders v, logging a failure.
func (s *Service) render(w http.ResponseWriter, r *http.Request, v web.View) {
	if err := s.pages.Render(w, r, v); err != nil {
		s.log.ErrorContext(r.Context(), "login: render a page", "page", v.Page, "error", err)
	}
}

// errorPage shows a page with one message.
func (s *Service) errorPage(w http.ResponseWriter, r *http.Request, status int, key string, args ...any) {
	sess, _ := s.Current(r)
	v := s.view(r, sess, nil, "error.html", errorData{Message: s.pages.Catalogue().Text(web.Negotiate(r), key, args...)})
	v.Status = status
	s.render(w, r, v)
}

// errorData is the error page's data.
type errorData struct {
	Message string
}

// redirectOrigins returns the origins of the client's redirect URIs: a form post
// in its flow ends in a redirect there, which CSP's form-action must allow.
func (s *Service) redirectOrigins(clientID string) []string {
	c, ok := s.clients.Clients().Get(clientID)
	if !ok {
		return nil
	}
	var out []string
	for _, raw := range c.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}
