package main

import (
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// routes lists every endpoint. Browser pages and the two APIs are on separate
// muxes: pages get cross-origin protection, form tokens and a strict CSP; the
// APIs take JSON only and authenticate with bearer tokens through the SDK.
func (a *agency) routes() http.Handler {
	pages := http.NewServeMux()
	pages.Handle("GET /{$}", a.handleHome())
	pages.Handle("POST /login", a.handleLogin())
	pages.Handle("GET /callback", a.handleCallback())
	pages.Handle("POST /logout", a.handleLogout())
	pages.Handle("GET /apply/for", a.handleApplyFor())
	pages.Handle("POST /apply/for", a.handleApplyForPost())
	pages.Handle("GET /apply", a.handleApply())
	pages.Handle("POST /apply", a.handleApplyPost())
	pages.Handle("GET /refused", a.handleRefused())
	pages.Handle("GET /problem", a.handleProblem())
	pages.Handle("GET /cases", a.handleCases())
	pages.Handle("GET /cases/{id}", a.handleCase())
	pages.Handle("GET /static/", staticFiles())
	pages.Handle("GET /jwks.json", a.handleJWKS())
	pages.Handle("/", a.handleNotFound())
	browser := a.pages.securityHeaders(http.NewCrossOriginProtection().Handler(pages))

	apis := http.NewServeMux()
	// The applications API: only a person (or someone acting for them) allowed to
	// submit in student support gets through, and each decision comes with a
	// signed receipt to archive.
	apis.Handle("POST /api/applications", jsonOnly(a.fm.Require(serviceStudentSupport, "submit", sdk.WithReceipt())(a.handleCreateApplication())))
	// The diplomas API, a second agency with its own client at Fullmakt.
	apis.Handle("GET /diplomas/v1/diploma", a.diplomas.Require(serviceDiplomas, "read")(a.handleDiploma()))
	apis.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "Not found", "", nil)
	}))

	root := http.NewServeMux()
	root.Handle("/api/", apis)
	root.Handle("/diplomas/", apis)
	root.Handle("/", browser)
	return a.logRequests(root)
}

// startingRoutes serve while the office waits for Fullmakt: the key set and the
// stylesheet, and 503 for everything else.
func (a *agency) startingRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /jwks.json", a.handleJWKS())
	mux.Handle("GET /static/", staticFiles())
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		http.Error(w, "The office is starting: it is waiting for Fullmakt.", http.StatusServiceUnavailable)
	}))
	return a.logRequests(a.pages.securityHeaders(mux))
}

// handleJWKS serves the public key of the office's client (private_key_jwt).
func (a *agency) handleJWKS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Write(a.jwks)
	})
}

// jsonOnly refuses API requests with a body that is not JSON, so that no HTML
// form can post to an API.
func jsonOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			writeProblem(w, http.StatusUnsupportedMediaType, "Unsupported media type", "Send the application as application/json.", nil)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder remembers a response's status for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// logRequests logs each request's method, path (never the query: a callback's
// holds a code) and status.
func (a *agency) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		a.log.LogAttrs(r.Context(), slog.LevelInfo, "request", slog.String("method", r.Method),
			slog.String("path", logPath(r)), slog.Int("status", rec.status), slog.Duration("took", time.Since(start)))
	})
}

// logPath is the request's path with a case id replaced: ids are not secret,
// but the log need not list who has cases.
func logPath(r *http.Request) string {
	if len(r.URL.Path) > len("/cases/") && r.URL.Path[:len("/cases/")] == "/cases/" {
		return "/cases/{id}"
	}
	return r.URL.Path
}
