package login

import "net/http"

// Routes lists every page and endpoint of the login and the account. They are
// browser routes: mount them on a mux wrapped in web.Protect (cross-origin
// protection and the security headers).
func (s *Service) Routes(mux *http.ServeMux) {
	// The flow: choose a method, prove who you are, step up, choose whom you act
	// for, consent.
	mux.Handle("GET /login", s.portalLogin())
	mux.Handle("GET /login/choose", s.choosePage())
	mux.Handle("GET /login/method/{method}", s.beginMethod())
	mux.Handle("GET /login/next", s.next())
	mux.Handle("POST /login/cancel", s.cancel())
	mux.Handle("GET /login/step-up", s.stepUpPage())
	mux.Handle("GET /login/party", s.partyPage())
	mux.Handle("POST /login/party", s.partyChoose())
	mux.Handle("GET /login/consent", s.consentPage())
	mux.Handle("POST /login/consent", s.consentGive())
	for _, m := range s.methods {
		if rt, ok := m.(Router); ok {
			rt.Routes(mux)
		}
	}

	// Passkeys: log in, step up, and manage (JSON endpoints for passkey.js).
	if s.passkeys != nil {
		mux.Handle("GET /login/passkey", s.passkeyPage())
		mux.Handle("POST /login/passkey/options", s.passkeyLoginOptions())
		mux.Handle("POST /login/passkey/verify", s.passkeyLoginVerify())
		mux.Handle("POST /login/step-up/options", s.stepUpOptions())
		mux.Handle("POST /login/step-up/verify", s.stepUpVerify())
		mux.Handle("GET /account/passkeys", s.RequireSession(s.passkeysPage()))
		mux.Handle("GET /account/passkeys/confirm", s.passkeyConfirm())
		mux.Handle("POST /account/passkeys/options", s.passkeyRegisterOptions())
		mux.Handle("POST /account/passkeys/verify", s.passkeyRegisterVerify())
		mux.Handle("POST /account/passkeys/rename", s.passkeyRename())
		mux.Handle("POST /account/passkeys/remove", s.passkeyRemove())
	}

	// The account: who is logged in, and logging out.
	mux.Handle("GET /account", s.RequireSession(s.accountPage()))
	mux.Handle("POST /account/logout", s.logoutForm(false))
	mux.Handle("POST /account/logout-everywhere", s.logoutForm(true))
	mux.Handle("GET /logged-out", s.loggedOutPage())
}
