package login

import (
	"net/http"
	"time"

	"github.com/fullmakt/fullmakt/idp/web"
)

// accountData is the account page's data.
type accountData struct {
	Name     string
	Masked   string
	Level    string
	Method   string
	AuthTime string
	Until    string // when the session ends at the latest
	Passkeys int
	HasPKs   bool // passkeys are on
}

// accountPage serves GET /account: who is logged in, how, and until when; the
// way to passkeys and to logging out. The portal's menu links to it.
func (s *Service) accountPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(r)
		if !ok {
			http.Redirect(w, r, "/login?return=/account", http.StatusSeeOther)
			return
		}
		lang := web.Negotiate(r)
		cat := s.pages.Catalogue()
		data := accountData{
			Name: sess.Name, Masked: shownNumber(sess.Person), Level: cat.Text(lang, "level."+sess.Level.String()),
			Method: s.methodLabel(sess.Method, lang), AuthTime: s.clock(sess.AuthTime),
			Until: s.clock(sess.Created.Add(s.cfg.AbsoluteTimeout)), HasPKs: s.passkeys != nil,
		}
		if s.passkeys != nil {
			keys, err := s.accounts.Passkeys(r.Context(), sess.Person)
			if err != nil {
				s.log.ErrorContext(r.Context(), "login: list passkeys", "error", err)
			}
			data.Passkeys = len(keys)
		}
		s.render(w, r, s.view(r, sess, nil, "account.html", data))
	})
}

// methodLabel names a login method in lang.
func (s *Service) methodLabel(id string, lang web.Lang) string {
	if id == passkeyMethodID {
		return s.pages.Catalogue().Text(lang, "account.method.passkey")
	}
	for _, m := range s.methods {
		if m.ID() == id {
			return m.Label(lang)
		}
	}
	return id
}

// clock formats t as the pages show times, in Oslo (the product's people are in
// Norway first): 31.12.2027 14:05.
func (s *Service) clock(t time.Time) string {
	return t.In(s.loc).Format("02.01.2006 15:04")
}

// logoutForm serves POST /account/logout (and /account/logout-everywhere): the
// session ends, and what OAuth clients got in it is revoked; everywhere ends
// every session of the person.
func (s *Service) logoutForm(everywhere bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			s.errorPage(w, r, http.StatusBadRequest, "error.form")
			return
		}
		sess, ok := s.Current(r)
		if !ok {
			http.Redirect(w, r, "/logged-out", http.StatusSeeOther)
			return
		}
		if !s.csrf.Valid(sessionBinding(sess), r.PostForm.Get("csrf")) {
			s.errorPage(w, r, http.StatusForbidden, "error.expired")
			return
		}
		end := s.endSession
		if everywhere {
			end = s.endAllSessions
		}
		if err := end(w, r, sess); err != nil {
			s.log.ErrorContext(r.Context(), "login: log out", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		http.Redirect(w, r, "/logged-out", http.StatusSeeOther)
	})
}

// loggedOutPage serves GET /logged-out.
func (s *Service) loggedOutPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, _ := s.Current(r)
		s.render(w, r, s.view(r, sess, nil, "logged_out.html", nil))
	})
}
