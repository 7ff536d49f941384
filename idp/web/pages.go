package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"

	"github.com/fullmakt/fullmakt/authz"
)

// Pages renders page templates inside the shared layout. It is safe for
// concurrent use.
type Pages struct {
	cat   *Catalogue
	pages map[string]*template.Template // page file base name → layout + page
}

// NewPages parses the layout (web's own, templates/layout.html) and the page
// templates matching patterns (fs.Glob patterns) in fsys. cat must hold web's own
// Messages(). Each page file defines
// the templates "title" (the text of <title>, and usually of the <h1>) and "main"
// (the content of <main>); it may define helpers of its own, but not "scripts"
// (a page names its scripts in View.Scripts) nor the layout's "layout", "csrf" and
// "errors". Pages are named by their file's base name, which must be unique. A
// file whose name begins with an underscore (_scope.html) is a partial, not a
// page: the templates it defines are there for every page to call.
// It returns parse errors and broken rules, all at once.
func NewPages(cat *Catalogue, fsys fs.FS, patterns ...string) (*Pages, error) {
	if cat == nil {
		return nil, errors.New("web: pages: no catalogue")
	}
	ownCat, err := LoadCatalogue(Messages())
	if err != nil {
		return nil, err
	}
	if missing := slices.DeleteFunc(ownCat.Keys(), func(k string) bool { return cat.Has(EN, k) }); len(missing) > 0 {
		return nil, fmt.Errorf("web: pages: the catalogue lacks web's own messages %q (load web.Messages() too)", missing)
	}
	layout, err := template.New("layout.html").ParseFS(own, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	var files []string
	for _, pattern := range patterns {
		matches, err := fs.Glob(fsys, pattern)
		if err != nil {
			return nil, fmt.Errorf("web: pages: pattern %q: %w", pattern, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("web: pages: pattern %q matches no files", pattern)
		}
		files = append(files, matches...)
	}
	// Partials (files named _*.html) define templates that every page may use:
	// they are parsed into the layout, and are not pages themselves.
	var pages []string
	for _, file := range files {
		if !strings.HasPrefix(path.Base(file), "_") {
			pages = append(pages, file)
			continue
		}
		b, err := fs.ReadFile(fsys, file)
		if err == nil {
			_, err = layout.New(file).Parse(string(b))
		}
		if err != nil {
			return nil, fmt.Errorf("web: partial %s: %w", file, err)
		}
	}
	p := &Pages{cat: cat, pages: make(map[string]*template.Template)}
	var errs []error
	from := make(map[string]string) // base name → file
	for _, file := range pages {
		name := path.Base(file)
		if other, ok := from[name]; ok {
			if other != file {
				errs = append(errs, fmt.Errorf("web: pages: %s and %s have the same name", other, file))
			}
			continue
		}
		from[name] = file
		t, err := parsePage(layout, fsys, file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p.pages[name] = t
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// parsePage parses one page file into a copy of the layout, after checking the
// templates it defines.
func parsePage(layout *template.Template, fsys fs.FS, file string) (*template.Template, error) {
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return nil, fmt.Errorf("web: page %s: %w", file, err)
	}
	// First on its own, to see what the file defines.
	alone, err := template.New(file).Parse(string(b))
	if err != nil {
		return nil, fmt.Errorf("web: page %w", err)
	}
	var problems []string
	for _, want := range []string{"title", "main"} {
		if alone.Lookup(want) == nil {
			problems = append(problems, fmt.Sprintf("defines no %q template", want))
		}
	}
	for _, t := range alone.Templates() {
		switch {
		case t.Name() == "scripts":
			problems = append(problems, `defines "scripts": name scripts in View.Scripts instead`)
		case slices.Contains([]string{"layout", "csrf", "errors"}, t.Name()):
			problems = append(problems, fmt.Sprintf("redefines the layout's %q template", t.Name()))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("web: page %s: %s", file, strings.Join(problems, "; "))
	}
	t, err := layout.Clone()
	if err != nil {
		return nil, fmt.Errorf("web: page %s: %w", file, err)
	}
	if _, err := t.New(file).Parse(string(b)); err != nil {
		return nil, fmt.Errorf("web: page %w", err)
	}
	return t, nil
}

// Catalogue returns the pages' catalogue.
func (p *Pages) Catalogue() *Catalogue { return p.cat }

// View is one page to render.
type View struct {
	Page   string // the page file's base name, e.g. "demo.html"
	Status int    // the HTTP status; 0 means 200
	Header Header // who is logged in, for the page header
	// CSRF is the form token: templates put it in every POST form as
	// {{template "csrf" $}}. The logout form in the header carries it too.
	CSRF string
	// Errors are the problems with the form the person sent: shown first, as an
	// error summary ("There is a problem") linking to each field, and the page's
	// title gets the prefix "Error: ".
	Errors []FieldError
	// FormAction lists extra CSP form-action sources: the origins a form post may
	// redirect to (the OAuth client's redirect URI origins). Each must be a plain
	// scheme://host[:port]; anything else is dropped.
	FormAction []string
	// Scripts are script paths under /static/, e.g. "/static/passkey.js", emitted as
	// <script src defer>. Any other path is a render error.
	Scripts []string
	Data    any // the page's own data
}

// Header says who is logged in, for the page header.
type Header struct {
	LoggedIn bool
	Name     string      // the person's name
	Level    authz.Level // the session's level of assurance, shown as a labelled badge ("Level: substantial")
	Test     bool        // a test login (demo eID): a banner on every page says it is not a real eID
	Acting   string      // optional: the name of whom the person acts for, when not themself
	// Nav is the portal's main menu, shown under the header when not empty.
	Nav []NavLink
}

// NavLink is one entry of the main menu: a local path, the message key of its
// text, whether it is the current section (aria-current="page"), and a count of
// unread things shown beside it (0 for none).
type NavLink struct {
	Href    string
	Key     string
	Current bool
	Count   int
}

// FieldError is one problem with a form: the id of the field it is about (empty
// for the form as a whole) and a message key with its arguments.
type FieldError struct {
	Field string
	Key   string
	Args  []any
}

// page is the data templates see.
type page struct {
	Lang    Lang
	Header  Header
	CSRF    string
	Errors  []shownError
	Data    any
	Path    string     // the request's path and query, for the language switch's return
	Langs   []langLink // the language switch
	Scripts []string
	cat     *Catalogue
}

// shownError is a FieldError in the page's language.
type shownError struct {
	Field string // the id of the field, or empty
	Text  string
}

// langLink is one language in the switch.
type langLink struct {
	Code    Lang
	Name    string // the language's name in itself
	Current bool
}

// T returns key's text in the page's language, formatted with args.
func (p *page) T(key string, args ...any) string { return p.cat.Text(p.Lang, key, args...) }

// ErrorFor returns the message of the first error about the field with this id, or
// "" when there is none: for the message next to the field.
func (p *page) ErrorFor(field string) string {
	for _, e := range p.Errors {
		if e.Field == field {
			return e.Text
		}
	}
	return ""
}

// LevelText returns the text of the level badge, "Level: substantial", or "" when
// the header has no valid level.
func (p *page) LevelText() string {
	var key string
	switch p.Header.Level {
	case authz.LevelLow:
		key = "layout.level_low"
	case authz.LevelSubstantial:
		key = "layout.level_substantial"
	case authz.LevelHigh:
		key = "layout.level_high"
	default:
		return ""
	}
	return p.T("layout.level", p.T(key))
}

// Render executes the page into a buffer (never a half-written page), sets the
// security headers (SetHeaders, with v.FormAction), Cache-Control: no-store and the
// content type, and writes it with v.Status. The language is Negotiate's. On an
// error (an unknown page, a script outside /static/, a template that fails) it
// logs nothing itself but writes a plain-language 500 page and returns the error.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, v View) error {
	lang := Negotiate(r)
	t, ok := p.pages[v.Page]
	if !ok {
		p.fail(w, lang)
		return fmt.Errorf("web: render: no page %q", v.Page)
	}
	for _, s := range v.Scripts {
		if !strings.HasPrefix(s, "/static/") || strings.Contains(s, "..") || !LocalPath(s) {
			p.fail(w, lang)
			return fmt.Errorf("web: render %s: script %q is not under /static/", v.Page, s)
		}
	}
	data := &page{
		Lang:    lang,
		Header:  v.Header,
		CSRF:    v.CSRF,
		Data:    v.Data,
		Path:    r.URL.RequestURI(),
		Scripts: v.Scripts,
		cat:     p.cat,
	}
	for _, e := range v.Errors {
		data.Errors = append(data.Errors, shownError{Field: e.Field, Text: p.cat.Text(lang, e.Key, e.Args...)})
	}
	for _, l := range Languages() {
		data.Langs = append(data.Langs, langLink{Code: l, Name: l.Name(), Current: l == lang})
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		p.fail(w, lang)
		return fmt.Errorf("web: render %s: %w", v.Page, err)
	}
	h := w.Header()
	SetHeaders(h, v.FormAction)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	status := v.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// fail writes the page shown when a page cannot be rendered: a 500 that says, in
// plain language, that the fault is ours. It uses no template, so it cannot fail.
func (p *Pages) fail(w http.ResponseWriter, lang Lang) {
	h := w.Header()
	SetHeaders(h, nil)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	esc := template.HTMLEscapeString
	title := esc(p.cat.Text(lang, "error.title"))
	_, _ = fmt.Fprintf(w, `<!doctype html>
<html lang="%s">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%s – %s</title>
<link rel="stylesheet" href="/static/fullmakt.css">
</head>
<body>
<header class="site-header"><div class="header-bar"><p class="brand">%s</p></div></header>
<main id="main">
<h1>%s</h1>
<p>%s</p>
</main>
</body>
</html>
`, esc(string(lang)), title, esc(p.cat.Text(lang, "layout.brand")), esc(p.cat.Text(lang, "layout.brand")),
		title, esc(p.cat.Text(lang, "error.generic")))
}
