package main

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"
	_ "time/tzdata" // Europe/Oslo wherever the office runs
)

// templates and static hold the pages and the stylesheet, compiled in.
//
//go:embed templates static
var assets embed.FS

// pageNames are the templates/NAME.html files: one per page, each defining
// "title" and "main" for templates/layout.html.
var pageNames = []string{"home", "applyfor", "apply", "refused", "problem", "cases", "case"}

// pages renders the browser pages.
type pages struct {
	byName map[string]*template.Template
	log    *slog.Logger
	// formAction is the CSP's form-action: this origin and Fullmakt's, since the
	// login and logout forms are answered with a redirect to Fullmakt (browsers
	// check form-action on redirects after a form post too).
	formAction string
	oslo       *time.Location
}

// newPages parses every page once.
func newPages(log *slog.Logger, fullmakt string) (*pages, error) {
	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}, log: log, oslo: oslo}
	funcs := template.FuncMap{
		"mask":          mask,
		"level":         levelWord,
		"relationWords": relationWords,
		"relationTitle": relationTitle,
		"relationAs":    relationAs,
		"when":          func(t time.Time) string { return p.when(t) },
	}
	for _, name := range pageNames {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("pages: parse %s: %w", name, err)
		}
		p.byName[name] = t
	}
	u, err := url.Parse(fullmakt)
	if err != nil {
		return nil, fmt.Errorf("pages: %w", err)
	}
	p.formAction = "'self' " + u.Scheme + "://" + u.Host
	return p, nil
}

// when formats a time on the Oslo clock.
func (p *pages) when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.In(p.oslo).Format("2 January 2006 at 15:04")
}

// view is the data of every page: the layout's part and the page's Data.
type view struct {
	CSRF     string
	LoggedIn bool
	Name     string
	Level    string
	// Nav is the current section: "apply", "cases" or "".
	Nav    string
	Errors []fieldError
	Data   any
}

// render writes the page name with data for the session (which may be nil).
func (p *pages) render(w http.ResponseWriter, status int, name string, sess *session, nav string, errs []fieldError, data any) {
	v := view{Nav: nav, Errors: errs, Data: data}
	if sess != nil {
		v.CSRF = sess.csrf
		if sess.Login != nil {
			v.LoggedIn, v.Name, v.Level = true, sess.Login.Name, levelWord(sess.Login.Actor.ACR)
		}
	}
	var buf bytes.Buffer
	if err := p.byName[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		p.log.Error("render a page", "page", name, "err", err)
		http.Error(w, "The page could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// securityHeaders sets the headers of every browser response: a strict CSP (no
// script at all, styles from this origin only), no sniffing, no referrer, no
// framing, and no caching of pages that hold personal data.
func (p *pages) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+p.formAction+"; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves /static/ from the embedded files.
func staticFiles() http.Handler {
	sub, _ := fs.Sub(assets, "static")
	return http.StripPrefix("/static/", http.FileServerFS(sub))
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "cannot encode the answer", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// apiProblem is an RFC 9457 problem; Errors name the fields at fault.
type apiProblem struct {
	Type   string     `json:"type"`
	Title  string     `json:"title"`
	Status int        `json:"status"`
	Detail string     `json:"detail,omitempty"`
	Errors []apiError `json:"errors,omitempty"`
}

type apiError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// writeProblem writes an application/problem+json answer.
func writeProblem(w http.ResponseWriter, status int, title, detail string, errs []apiError) {
	b, _ := json.Marshal(apiProblem{Type: "about:blank", Title: title, Status: status, Detail: detail, Errors: errs})
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
