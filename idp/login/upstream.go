package login

import (
	"errors"
	"net/http"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/upstream"
	"github.com/fullmakt/fullmakt/idp/web"
)

// upstreamMethod is an upstream OpenID Provider (ID-porten, BankID, another
// Fullmakt) as a login method.
type upstreamMethod struct {
	p *upstream.Provider
	s *Service
}

// Upstream returns the login method of an upstream provider.
func Upstream(p *upstream.Provider) Method {
	return &upstreamMethod{p: p}
}

func (m *upstreamMethod) ID() string            { return m.p.ID() }
func (m *upstreamMethod) Label(web.Lang) string { return m.p.Name() }
func (m *upstreamMethod) MaxLevel() authz.Level { return m.p.MaxLevel() }
func (m *upstreamMethod) bind(s *Service)       { m.s = s }
func (m *upstreamMethod) Routes(mux *http.ServeMux) {
	mux.Handle("GET /login/upstream/"+m.p.ID()+"/callback", m.callback())
}

// Begin implements Method: off to the upstream.
func (m *upstreamMethod) Begin(w http.ResponseWriter, r *http.Request, f *Flow) {
	if ok, wait := m.s.limits.allow(addressKey(r)); !ok {
		m.s.tooMany(w, r, wait)
		return
	}
	if err := m.p.Begin(w, r, f.ID, f.Level, f.MaxAge, f.Fresh); err != nil {
		m.s.log.ErrorContext(r.Context(), "login: upstream login", "upstream", m.p.ID(), "error", err)
		m.s.errorPage(w, r, http.StatusBadGateway, "error.upstream", m.p.Name())
	}
}

// callback serves the upstream's redirect back.
func (m *upstreamMethod) callback() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		flowID, res, err := m.p.Callback(w, r)
		if errors.Is(err, upstream.ErrState) || flowID == "" {
			m.s.log.InfoContext(r.Context(), "login: upstream callback without a good state", "upstream", m.p.ID(), "error", err)
			m.s.errorPage(w, r, http.StatusBadRequest, "error.expired")
			return
		}
		f, ok := m.s.flowByID(w, r, flowID)
		if !ok {
			return
		}
		switch {
		case errors.Is(err, upstream.ErrCancelled):
			m.s.Failed(w, r, f, idp.Cancelled, "The person cancelled the login at "+m.p.Name()+".")
			return
		case errors.Is(err, upstream.ErrLevelNotReached):
			m.s.Failed(w, r, f, idp.Unmet, "The login at "+m.p.Name()+" did not reach the level asked for.")
			return
		case err != nil:
			m.s.log.ErrorContext(r.Context(), "login: upstream callback", "upstream", m.p.ID(), "error", err)
			m.s.errorPage(w, r, http.StatusBadGateway, "error.upstream", m.p.Name())
			return
		}
		next, err := m.s.Authenticated(w, r, f, Proof{
			Person: res.Person, Level: res.Level, AMR: res.AMR, AuthTime: res.AuthTime, Method: m.p.ID(),
		})
		if err != nil {
			m.s.log.InfoContext(r.Context(), "login: upstream person", "upstream", m.p.ID(), "error", err)
			m.s.errorPage(w, r, http.StatusForbidden, "error.unknown_person")
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}
