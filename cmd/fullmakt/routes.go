package main

import (
	"net/http"

	idpweb "github.com/fullmakt/fullmakt/idp/web"
)

// routes lists every endpoint of the server. Operational endpoints and browser pages
// live on separate muxes: browser pages get the security headers and cross-origin
// protection; the operational ones are read by probes and scrapers, not browsers.
func (s *server) routes() http.Handler {
	browser := http.NewServeMux()
	if s.portal != nil {
		// The citizen portal, with the front page for visitors not logged in.
		s.portal.Routes(browser)
	} else {
		browser.Handle("GET /{$}", s.handleHome())
	}
	browser.Handle("GET /static/", s.static)
	browser.Handle("GET /lang", idpweb.LanguageSwitch())
	if s.login != nil {
		// The citizen login and account pages: forms and passkeys, so under
		// cross-origin protection.
		s.login.Routes(browser)
	}

	ops := http.NewServeMux()
	ops.Handle("GET /healthz", handleHealthz())
	ops.Handle("GET /readyz", s.handleReadyz())
	ops.Handle("GET /metrics", s.metrics.handler())
	// The decision API (AuthZEN): JSON only, authenticated by the binding itself.
	if s.authzen != nil {
		s.authzen.Routes(ops)
	}
	// The OAuth 2.0 / OpenID Connect server: discovery, JWKS, /authorize, /par,
	// /token, /introspect, /revoke, /userinfo, /logout. Its browser endpoints
	// (/authorize, /logout) take cross-site navigations and form posts by design
	// (from the client's site): their pages set their own security headers.
	if s.oauth != nil {
		s.oauth.Routes(ops)
	}
	ops.Handle("/", browserOnly(browser))

	return s.observe(ops)
}

// browserOnly wraps the browser mux: security headers on every response, including
// errors, and Go's cross-origin protection, which refuses unsafe (state-changing)
// requests that a browser marks as coming from another site.
func browserOnly(h http.Handler) http.Handler {
	return securityHeaders(http.NewCrossOriginProtection().Handler(h))
}
