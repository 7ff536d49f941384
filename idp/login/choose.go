package login

import (
	"net/http"
	"net/url"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/web"
)

// portalLogin serves GET /login?return=/path: a login for the portal, which ends
// on the page named by return (a local path; the account page by default). A
// person already logged in goes straight there.
func (s *Service) portalLogin() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := &Flow{MaxAge: -1, Return: localPath(r.URL.Query().Get("return"))}
		if err := s.newFlow(w, r, f); err != nil {
			s.log.ErrorContext(r.Context(), "login: start a portal login", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		s.advance(w, r, f)
	})
}

// methodChoice is one way to log in, as the pages list it.
type methodChoice struct {
	ID, Label, URL string
}

// chooseData is the method chooser's (and the step-up page's) data.
type chooseData struct {
	Flow    string
	Client  string // the service's name, for a client's login
	Level   string // the level asked for, in words; empty for none
	Passkey string // the passkey page's URL, when passkeys are on
	Methods []methodChoice
	Cancel  bool // a client's login can be cancelled
	StepUp  bool // the person is logged in and must authenticate again
	HasKey  bool // step-up: the person has a passkey of the level
	Reached bool // step-up: some method can reach the level
	Name    string
	Current string // step-up: the session's level, in words
	Fresh   bool   // step-up: the level is reached, the authentication is too old
}

// choosePage serves GET /login/choose?flow=: how do you want to log in?
func (s *Service) choosePage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		lang := web.Negotiate(r)
		data := chooseData{Flow: f.ID, Cancel: f.Login != nil, Methods: s.methodsFor(f, lang)}
		if f.Login != nil {
			data.Client = clientName(f.Login)
		}
		if f.Level > 0 {
			data.Level = f.Level.String()
		}
		if s.passkeys != nil {
			data.Passkey = flowURL("/login/passkey", f)
		}
		s.render(w, r, s.view(r, nil, f, "choose.html", data))
	})
}

// methodsFor lists the methods that can reach the flow's level.
func (s *Service) methodsFor(f *Flow, lang web.Lang) []methodChoice {
	var out []methodChoice
	for _, m := range s.methods {
		if m.MaxLevel() < f.Level {
			continue
		}
		out = append(out, methodChoice{
			ID: m.ID(), Label: m.Label(lang),
			URL: "/login/method/" + url.PathEscape(m.ID()) + "?flow=" + url.QueryEscape(f.ID),
		})
	}
	return out
}

// beginMethod serves GET /login/method/{method}?flow=: the method's first page.
func (s *Service) beginMethod() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		for _, m := range s.methods {
			if m.ID() == r.PathValue("method") && m.MaxLevel() >= f.Level {
				m.Begin(w, r, f)
				return
			}
		}
		s.errorPage(w, r, http.StatusNotFound, "error.no_method")
	})
}

// stepUpPage serves GET /login/step-up?flow=: the person is logged in, but at too
// low a level, or too long ago. They confirm with a passkey of the level (user
// verification required on this ceremony), or log in again with a method that
// reaches it; if nothing can, the client gets unmet_authentication_requirements.
func (s *Service) stepUpPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		sess, ok := s.session(r)
		if !ok || !s.needsAuthentication(f, sess) {
			s.advance(w, r, f)
			return
		}
		lang := web.Negotiate(r)
		level := max(f.Level, authz.LevelLow)
		data := chooseData{
			Flow: f.ID, Cancel: f.Login != nil, StepUp: true, Name: sess.Name,
			Current: sess.Level.String(), Level: level.String(), Fresh: sess.Level >= f.Level,
			Methods: s.methodsFor(f, lang),
		}
		if f.Login != nil {
			data.Client = clientName(f.Login)
		}
		if s.passkeys != nil {
			keys, err := s.accounts.Passkeys(r.Context(), sess.Person)
			if err != nil {
				s.log.ErrorContext(r.Context(), "login: list passkeys", "error", err)
			}
			for _, k := range keys {
				if k.Level >= f.Level && !k.CloneWarning {
					data.HasKey = true
				}
			}
		}
		data.Reached = data.HasKey || len(data.Methods) > 0
		if !data.Reached && f.Login != nil && f.Silent {
			s.Failed(w, r, f, idp.Unmet, "No way to reach the level asked for.")
			return
		}
		v := s.view(r, sess, f, "stepup.html", data)
		if data.HasKey {
			v.Scripts = []string{"/static/passkey.js"}
		}
		s.render(w, r, v)
	})
}

// clientName is the name of the client of a login, or its id.
func clientName(req *idp.LoginRequest) string {
	if req.ClientName != "" {
		return req.ClientName
	}
	return req.ClientID
}
