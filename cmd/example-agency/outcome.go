package main

import "net/http"

// The problems a person can meet, in plain words. Each says what happened and
// what it means for them.
var (
	problemUnavailable = problem{
		Status: http.StatusServiceUnavailable,
		Title:  "Fullmakt cannot be reached",
		Text: []string{
			"We could not reach Fullmakt, which tells us whom you may act for. Nothing was submitted.",
			"Try again in a few minutes.",
		},
	}
	problemFailed = problem{
		Status: http.StatusInternalServerError,
		Title:  "Something went wrong",
		Text:   []string{"Something went wrong on our side. Nothing was submitted.", "Try again in a few minutes."},
	}
	problemNoLogin = problem{
		Status: http.StatusBadRequest,
		Title:  "This login was not started here",
		Text:   []string{"The login was not started from this browser, or it took too long. Log in again from the front page."},
	}
	problemLoginFailed = problem{
		Status: http.StatusBadGateway,
		Title:  "The login did not succeed",
		Text:   []string{"Fullmakt could not log you in. Try again from the front page."},
	}
	problemLoginCancelled = problem{
		Status: http.StatusOK,
		Title:  "You cancelled the login",
		Text:   []string{"You are not logged in. Log in again from the front page when you are ready."},
	}
	problemLevelUnmet = problem{
		Status: http.StatusForbidden,
		Title:  "You could not log in at the level needed",
		Text: []string{
			"Submitting an application needs a login at level high, with BankID, a passkey added at level high, or another eID at level high.",
		},
	}
	problemExpiredForm = problem{
		Status: http.StatusForbidden,
		Title:  "The form has expired",
		Text:   []string{"The page you sent was too old, or your session had ended. Start again from the front page."},
	}
	problemNotFound = problem{
		Status: http.StatusNotFound,
		Title:  "Page not found",
		Text:   []string{"If you typed the address, check it. Your cases are under Your cases."},
	}
	problemStepUpLoop = problem{
		Status: http.StatusForbidden,
		Title:  "You could not log in at the level needed",
		Text:   []string{"Fullmakt still asks for a higher level after your login. Nothing was submitted."},
	}
)

// problemPage shows p: at once on a GET, and after a redirect (post-redirect-
// get) on a POST, so that reloading the page does not send the form again.
func (a *agency) problemPage(w http.ResponseWriter, r *http.Request, sess *session, p problem) {
	if r.Method == http.MethodGet || sess == nil {
		a.pages.render(w, p.Status, "problem", sess, "", nil, p)
		return
	}
	sess.Flash = &flash{Problem: &p}
	a.sessions.save(sess)
	http.Redirect(w, r, "/problem", http.StatusSeeOther)
}

// handleProblem shows the problem a POST left in the session (GET /problem).
func (a *agency) handleProblem() http.Handler {
	return a.showFlash(func(w http.ResponseWriter, sess *session, f *flash) bool {
		if f.Problem == nil {
			return false
		}
		a.pages.render(w, f.Problem.Status, "problem", sess, "", nil, *f.Problem)
		return true
	})
}

// showFlash serves the page a POST left in the session (post-redirect-get):
// show renders it from the flash, or reports false when the flash holds none,
// and the browser goes to the front page.
func (a *agency) showFlash(show func(w http.ResponseWriter, sess *session, f *flash) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := a.sessions.load(r)
		if f := takeFlash(a, sess); f == nil || !show(w, sess, f) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
		}
	})
}

// refuse shows a refusal: after a redirect, on GET /refused.
func (a *agency) refuse(w http.ResponseWriter, r *http.Request, sess *session, ref refusal) {
	sess.Flash = &flash{Refusal: &ref}
	a.sessions.save(sess)
	http.Redirect(w, r, "/refused", http.StatusSeeOther)
}

// handleRefused shows why Fullmakt said no (GET /refused). The page itself is
// a 200: the refusal was the answer to the POST before the redirect, and this
// GET of its explanation succeeds.
func (a *agency) handleRefused() http.Handler {
	return a.showFlash(func(w http.ResponseWriter, sess *session, f *flash) bool {
		if f.Refusal == nil {
			return false
		}
		a.pages.render(w, http.StatusOK, "refused", sess, "apply", nil, *f.Refusal)
		return true
	})
}

// handleNotFound answers every unknown page.
func (a *agency) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.pages.render(w, http.StatusNotFound, "problem", a.sessions.load(r), "", nil, problemNotFound)
	})
}

// takeFlash returns the session's flash and clears it.
func takeFlash(a *agency, sess *session) *flash {
	if sess == nil || sess.Flash == nil {
		return nil
	}
	f := sess.Flash
	sess.Flash = nil
	a.sessions.save(sess)
	return f
}

// postedSession returns the session of a form post whose token is right; else
// it shows that the form has expired.
func (a *agency) postedSession(w http.ResponseWriter, r *http.Request) (*session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sess := a.sessions.load(r)
	if !validCSRF(sess, r) {
		a.pages.render(w, problemExpiredForm.Status, "problem", sess, "", nil, problemExpiredForm)
		return nil, false
	}
	return sess, true
}

// loggedIn returns the session of a person logged in, or sends the browser to
// the front page.
func (a *agency) loggedIn(w http.ResponseWriter, r *http.Request) (*session, bool) {
	sess := a.sessions.load(r)
	if sess == nil || sess.Login == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}
