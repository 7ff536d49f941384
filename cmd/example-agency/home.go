package main

import "net/http"

// handleHome is the front page (GET /): what the office does, the login button,
// and once logged in the way to apply and to the cases.
func (a *agency) handleHome() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := a.sessions.ensure(w, r)
		var data struct{ Cases int }
		if sess.Login != nil {
			cases, err := a.cases.BySubmitter(sess.Login.Subject)
			if err != nil {
				a.log.Error("list cases", "err", err)
			}
			data.Cases = len(cases)
		}
		a.pages.render(w, http.StatusOK, "home", sess, "", nil, data)
	})
}
