package main

import (
	"errors"
	"net/http"

	"github.com/fullmakt/fullmakt/sdk"
)

// handleLogin starts a login with Fullmakt (POST /login, the front page's
// button).
func (a *agency) handleLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.postedSession(w, r)
		if !ok {
			return
		}
		a.startLogin(w, r, sess, nil)
	})
}

// startLogin sends the browser to Fullmakt's login, asking for the level and
// freshness of stepUp when it is not nil (RFC 9470), and keeps what the callback
// needs in the session.
func (a *agency) startLogin(w http.ResponseWriter, r *http.Request, sess *session, stepUp *sdk.StepUp) {
	opts := sdk.LoginOptions{
		RedirectURI: a.public + "/callback",
		Scopes:      []string{"openid", "profile"},
		// The login's access token is for the applications API, so that a person
		// applying for themself can send it as it is.
		Audience:  a.apiAudience(),
		UILocales: "en",
	}
	if stepUp != nil {
		opts.ACRValues, opts.MaxAge = stepUp.ACRValues, stepUp.MaxAge
	}
	p, err := a.fm.StartLogin(opts)
	if err != nil {
		a.log.Error("start a login", "err", err)
		a.problemPage(w, r, sess, problemFailed)
		return
	}
	sess.Pending = &p
	a.sessions.save(sess)
	http.Redirect(w, r, p.URL, http.StatusSeeOther)
}

// handleCallback finishes a login (GET /callback): the person is logged in, and
// goes on to the party picker, or, after a step-up, their application is
// submitted again.
func (a *agency) handleCallback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := a.sessions.load(r)
		if sess == nil || sess.Pending == nil {
			a.pages.render(w, http.StatusBadRequest, "problem", sess, "", nil, problemNoLogin)
			return
		}
		pending := *sess.Pending
		sess.Pending = nil
		res, err := a.fm.FinishLogin(r.Context(), pending, r.URL.Query())
		if err != nil {
			a.loginFailed(w, r, sess, err)
			return
		}
		if sess.Login != nil && sess.Login.Subject != res.Subject {
			// Someone else logged in: nothing of the last person's stays.
			sess.Choices, sess.Party, sess.Draft = nil, nil, nil
		}
		sess.Login = &personLogin{
			Subject: res.Subject, Name: res.Name, Actor: res.Actor,
			AccessToken: res.AccessToken, IDToken: res.IDToken, Expiry: res.Expiry,
		}
		sess = a.sessions.renew(w, sess)
		a.log.Info("logged in", "level", levelWord(res.Actor.ACR))

		if d := sess.Draft; d != nil {
			if d.Subject != res.Subject {
				sess.Draft = nil
			} else {
				a.submitDraft(w, r, sess, *d)
				return
			}
		}
		a.sessions.save(sess)
		http.Redirect(w, r, "/apply/for", http.StatusSeeOther)
	})
}

// loginFailed shows why a login did not finish: cancelled, a level that could
// not be reached, Fullmakt away, or something else. A waiting application is
// not submitted.
func (a *agency) loginFailed(w http.ResponseWriter, r *http.Request, sess *session, err error) {
	waiting := sess.Draft != nil
	sess.Draft = nil
	var oe *sdk.OAuthError
	p := problemLoginFailed
	switch {
	case errors.As(err, &oe) && oe.Code == "access_denied":
		p = problemLoginCancelled
	case errors.As(err, &oe) && oe.Code == "unmet_authentication_requirements":
		p = problemLevelUnmet
	case errors.Is(err, sdk.ErrLoginState):
		p = problemNoLogin
	case errors.Is(err, sdk.ErrUnavailable):
		p = problemUnavailable
	default:
		a.log.Warn("a login failed", "err", err)
	}
	if waiting {
		p.Text = append(p.Text[:len(p.Text):len(p.Text)], "Your application was not submitted.")
	}
	a.sessions.save(sess)
	a.problemPage(w, r, sess, p)
}

// handleLogout ends the session here and at Fullmakt (RP-initiated logout),
// which sends the browser back to the front page.
func (a *agency) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := a.postedSession(w, r)
		if !ok {
			return
		}
		idToken := ""
		if sess.Login != nil {
			idToken = sess.Login.IDToken
		}
		a.sessions.destroy(w, sess)
		http.Redirect(w, r, a.logoutURL(idToken), http.StatusSeeOther)
	})
}

// logoutURL is Fullmakt's end-session endpoint, which comes back to the front
// page; the front page itself when Fullmakt offers no logout.
func (a *agency) logoutURL(idToken string) string {
	if u := a.fm.LogoutURL(idToken, a.public+"/", ""); u != "" {
		return u
	}
	return "/"
}
