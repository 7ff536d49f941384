package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/net/html"

	"github.com/fullmakt/fullmakt/authz"
)

// demoMessages are the texts of testdata/demo.html.
var demoMessages = map[string]string{
	"en/demo.json": `{"demo.title": "Choose a nickname", "demo.greeting": "Hello, %s.", "demo.nickname": "Nickname", "demo.nickname_missing": "Enter a nickname"}`,
	"nb/demo.json": `{"demo.title": "Velg et kallenavn", "demo.greeting": "Hei, %s.", "demo.nickname": "Kallenavn", "demo.nickname_missing": "Skriv inn et kallenavn"}`,
}

// demoData is the page data of testdata/demo.html.
type demoData struct{ Name, Nickname string }

// testPages parses testdata/*.html with the demo messages.
func testPages(t *testing.T) *Pages {
	t.Helper()
	cat, err := LoadCatalogue(Messages(), files(demoMessages))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(cat, os.DirFS("testdata"), "*.html")
	if err != nil {
		t.Fatal(err)
	}
	if p.Catalogue() != cat {
		t.Error("Catalogue() is not the catalogue NewPages got")
	}
	return p
}

// render renders v for a request with the given Accept-Language.
func render(t *testing.T, p *Pages, target, acceptLanguage string, v View) (*http.Response, string, error) {
	t.Helper()
	r := httptest.NewRequest("GET", target, nil)
	r.Header.Set("Accept-Language", acceptLanguage)
	w := httptest.NewRecorder()
	err := p.Render(w, r, v)
	return w.Result(), w.Body.String(), err
}

const wantCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func TestRender(t *testing.T) {
	p := testPages(t)
	res, body, err := render(t, p, "/demo?flow=f1", "nb", View{
		Page: "demo.html",
		CSRF: "tok-123",
		Data: demoData{Name: "Kari <Nordmann>"},
	})
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	if res.StatusCode != 200 {
		t.Errorf("status = %d, want 200", res.StatusCode)
	}
	wantHeaders := map[string]string{
		"Content-Security-Policy":    wantCSP,
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Permissions-Policy":         "publickey-credentials-get=(self), publickey-credentials-create=(self)",
		"Cache-Control":              "no-store",
		"Content-Type":               "text/html; charset=utf-8",
	}
	for k, want := range wantHeaders {
		if got := res.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	doc := parseHTML(t, body)
	checkNoInline(t, doc)
	if got := attr(find(doc, "html")[0], "lang"); got != "nb" {
		t.Errorf(`<html lang> = %q, want "nb"`, got)
	}
	if got := text(find(doc, "title")[0]); got != "Velg et kallenavn – Fullmakt" {
		t.Errorf("<title> = %q", got)
	}
	if got := text(find(doc, "h1")[0]); got != "Velg et kallenavn" {
		t.Errorf("<h1> = %q", got)
	}
	for _, want := range []string{"Hei, Kari &lt;Nordmann&gt;.", `<a class="skip-link" href="#main">Gå til hovedinnholdet</a>`, `<main id="main"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, unwanted := range []string{"⟦", "error-summary", "test-banner", "/account/logout", "Feil:"} {
		if strings.Contains(body, unwanted) {
			t.Errorf("the page has %q", unwanted)
		}
	}
	// The form's token.
	inputs := find(doc, "input")
	if len(inputs) == 0 || attr(inputs[0], "name") != "csrf" || attr(inputs[0], "value") != "tok-123" || attr(inputs[0], "type") != "hidden" {
		t.Errorf("the first input is not the csrf field: %v", inputs)
	}
	// The language switch: a nav of links, one per language, the current one marked.
	navs := find(doc, "nav")
	if len(navs) != 1 || attr(navs[0], "aria-label") != "Språk" {
		t.Fatalf("want one <nav aria-label=Språk>, got %d", len(navs))
	}
	links := find(navs[0], "a")
	if len(links) != len(Languages()) {
		t.Fatalf("the switch has %d links, want %d", len(links), len(Languages()))
	}
	for i, a := range links {
		l := Languages()[i]
		want := "/lang?to=" + string(l) + "&return=%2fdemo%3fflow%3df1"
		if got := attr(a, "href"); got != want {
			t.Errorf("switch link %d href = %q, want %q", i, got, want)
		}
		if attr(a, "lang") != string(l) || attr(a, "hreflang") != string(l) || text(a) != l.Name() {
			t.Errorf("switch link %d = lang %q hreflang %q %q", i, attr(a, "lang"), attr(a, "hreflang"), text(a))
		}
		if got, want := hasAttr(a, "aria-current"), l == NB; got != want {
			t.Errorf("switch link %s aria-current = %v, want %v", l, got, want)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	p := testPages(t)
	res, body, err := render(t, p, "/demo", "en-GB", View{
		Page:   "demo.html",
		Status: http.StatusUnprocessableEntity,
		Errors: []FieldError{{Field: "nickname", Key: "demo.nickname_missing"}, {Key: "error.rate_limited", Args: []any{5}}},
		Data:   demoData{Name: "Kari"},
	})
	if err != nil {
		t.Fatalf("Render() = %v", err)
	}
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("status = %d, want 422", res.StatusCode)
	}
	doc := parseHTML(t, body)
	checkNoInline(t, doc)
	if got := text(find(doc, "title")[0]); got != "Error: Choose a nickname – Fullmakt" {
		t.Errorf("<title> = %q", got)
	}
	if got := text(find(doc, "h1")[0]); got != "Choose a nickname" {
		t.Errorf("<h1> = %q (the prefix belongs to the title only)", got)
	}
	summary := byClass(doc, "error-summary")
	if len(summary) != 1 {
		t.Fatalf("want one error summary, got %d", len(summary))
	}
	if got := attr(summary[0], "role"); got != "alert" {
		t.Errorf("the error summary's role = %q, want alert", got)
	}
	if got := text(find(summary[0], "h2")[0]); got != "There is a problem" {
		t.Errorf("the error summary's heading = %q", got)
	}
	items := find(summary[0], "li")
	if len(items) != 2 {
		t.Fatalf("the error summary lists %d problems, want 2", len(items))
	}
	if a := find(items[0], "a"); len(a) != 1 || attr(a[0], "href") != "#nickname" || text(a[0]) != "Enter a nickname" {
		t.Errorf("the first problem is not a link to #nickname: %q", text(items[0]))
	}
	if got := text(items[1]); !strings.Contains(got, "Wait 5 minutes") || len(find(items[1], "a")) != 0 {
		t.Errorf("the second problem = %q, want the rate limit text without a link", got)
	}
	// The summary comes first in <main>, before the page's heading.
	if i, j := strings.Index(body, "error-summary"), strings.Index(body, "<h1>"); i < 0 || j < i {
		t.Errorf("the error summary is not before the heading")
	}
	// The page's own message next to the field (ErrorFor).
	if msg := byClass(doc, "error-message"); len(msg) != 1 || text(msg[0]) != "Enter a nickname" {
		t.Errorf("the field's error message is missing")
	}

	// In Bokmål.
	_, body, err = render(t, p, "/demo", "nb", View{Page: "demo.html", Errors: []FieldError{{Field: "nickname", Key: "demo.nickname_missing"}}, Data: demoData{}})
	if err != nil {
		t.Fatal(err)
	}
	doc = parseHTML(t, body)
	if got := text(find(doc, "title")[0]); got != "Feil: Velg et kallenavn – Fullmakt" {
		t.Errorf("<title> = %q", got)
	}
	if got := text(find(byClass(doc, "error-summary")[0], "h2")[0]); got != "Det er et problem" {
		t.Errorf("the error summary's heading = %q", got)
	}
}

func TestRenderHeader(t *testing.T) {
	p := testPages(t)
	tests := []struct {
		name    string
		lang    string
		header  Header
		want    []string
		wantNot []string
	}{
		{
			name:   "logged in",
			lang:   "en",
			header: Header{LoggedIn: true, Name: "Kari Nordmann", Level: authz.LevelSubstantial},
			want: []string{"Logged in as <strong>Kari Nordmann</strong>", `<p class="badge level-badge">Level: substantial</p>`,
				`<form class="logout" method="post" action="/account/logout">`, `<input type="hidden" name="csrf" value="tok">`, ">Log out</button>"},
			wantNot: []string{"test-banner", "Acting for"},
		},
		{
			name:   "logged in at high, in Bokmål, acting for someone",
			lang:   "nb",
			header: Header{LoggedIn: true, Name: "Kari Nordmann", Level: authz.LevelHigh, Acting: "Ola Nordmann"},
			want:   []string{"Sikkerhetsnivå: høy", "Handler på vegne av Ola Nordmann", ">Logg ut</button>"},
		},
		{
			name:   "test login",
			lang:   "sv",
			header: Header{LoggedIn: true, Name: "Test Person", Level: authz.LevelLow, Test: true},
			want:   []string{`<div class="test-banner">`, "<strong>Testinloggning.</strong>", "Tillitsnivå: låg"},
		},
		{
			name:    "logged in without a level",
			lang:    "en",
			header:  Header{LoggedIn: true, Name: "Kari Nordmann"},
			want:    []string{"Kari Nordmann"},
			wantNot: []string{"badge"},
		},
		{
			name:    "not logged in",
			lang:    "en",
			header:  Header{Name: "Kari Nordmann", Level: authz.LevelHigh},
			wantNot: []string{"Kari Nordmann", "badge", "/account/logout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, body, err := render(t, p, "/demo", tt.lang, View{Page: "demo.html", Header: tt.header, CSRF: "tok", Data: demoData{}})
			if err != nil {
				t.Fatal(err)
			}
			checkNoInline(t, parseHTML(t, body))
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(body, w) {
					t.Errorf("the page has %q", w)
				}
			}
		})
	}
}

func TestRenderScriptsAndFormAction(t *testing.T) {
	p := testPages(t)
	res, body, err := render(t, p, "/demo", "en", View{
		Page:       "demo.html",
		Scripts:    []string{"/static/passkey.js"},
		FormAction: []string{"https://client.example", "http://localhost:8080", "https://client.example/callback", "https://x.example; script-src *"},
		Data:       demoData{},
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := parseHTML(t, body)
	checkNoInline(t, doc)
	scripts := find(doc, "script")
	if len(scripts) != 1 || attr(scripts[0], "src") != "/static/passkey.js" || !hasAttr(scripts[0], "defer") {
		t.Errorf("want one <script src=/static/passkey.js defer>, got %d", len(scripts))
	}
	want := strings.Replace(wantCSP, "form-action 'self'", "form-action 'self' https://client.example http://localhost:8080", 1)
	if got := res.Header.Get("Content-Security-Policy"); got != want {
		t.Errorf("CSP = %q, want %q", got, want)
	}
}

func TestRenderFailure(t *testing.T) {
	cat, err := LoadCatalogue(Messages())
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(cat, fstest.MapFS{
		"broken.html": {Data: []byte(`{{define "title"}}Broken{{end}}{{define "main"}}<p>before</p>{{.Data.Nope}}{{end}}`)},
	}, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		view View
	}{
		{"a template error", View{Page: "broken.html", Data: struct{}{}}},
		{"an unknown page", View{Page: "nope.html"}},
		{"a script outside /static/", View{Page: "broken.html", Scripts: []string{"https://cdn.example/x.js"}, Data: struct{ Nope string }{}}},
		{"a script climbing out of /static/", View{Page: "broken.html", Scripts: []string{"/static/../x.js"}, Data: struct{ Nope string }{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body, err := render(t, p, "/x", "nb", tt.view)
			if err == nil {
				t.Fatal("Render() = nil, want an error")
			}
			if !strings.HasPrefix(err.Error(), "web: ") {
				t.Errorf("Render() error %q lacks the package prefix", err)
			}
			if res.StatusCode != 500 {
				t.Errorf("status = %d, want 500", res.StatusCode)
			}
			if got := res.Header.Get("Content-Security-Policy"); got != wantCSP {
				t.Errorf("CSP = %q", got)
			}
			if strings.Contains(body, "before") || strings.Contains(body, "skip-link") {
				t.Errorf("a half-written page was sent:\n%s", body)
			}
			for _, want := range []string{`<html lang="nb">`, "<h1>Noe gikk galt</h1>", "Prøv igjen om noen minutter"} {
				if !strings.Contains(body, want) {
					t.Errorf("the error page lacks %q:\n%s", want, body)
				}
			}
			checkNoInline(t, parseHTML(t, body))
		})
	}
}

func TestNewPagesErrors(t *testing.T) {
	cat, err := LoadCatalogue(Messages())
	if err != nil {
		t.Fatal(err)
	}
	page := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	const ok = `{{define "title"}}T{{end}}{{define "main"}}M{{end}}`
	tests := []struct {
		name     string
		fsys     fs.FS
		patterns []string
		want     string
	}{
		{"no main", fstest.MapFS{"a.html": page(`{{define "title"}}T{{end}}`)}, []string{"*.html"}, `web: page a.html: defines no "main" template`},
		{"no title", fstest.MapFS{"a.html": page(`{{define "main"}}M{{end}}`)}, []string{"*.html"}, `defines no "title" template`},
		{"scripts", fstest.MapFS{"a.html": page(ok + `{{define "scripts"}}<script>alert(1)</script>{{end}}`)}, []string{"*.html"}, `defines "scripts"`},
		{"redefines csrf", fstest.MapFS{"a.html": page(ok + `{{define "csrf"}}{{end}}`)}, []string{"*.html"}, `redefines the layout's "csrf" template`},
		{"redefines layout", fstest.MapFS{"a.html": page(ok + `{{define "layout"}}{{end}}`)}, []string{"*.html"}, `redefines the layout's "layout" template`},
		{"parse error", fstest.MapFS{"a.html": page(`{{define "title"}}T{{end}}{{define "main"}}{{if}}{{end}}`)}, []string{"*.html"}, `web: page template: a.html:1:`},
		{"no match", fstest.MapFS{"a.html": page(ok)}, []string{"*.tmpl"}, `pattern "*.tmpl" matches no files`},
		{"bad pattern", fstest.MapFS{"a.html": page(ok)}, []string{"[.html"}, `pattern "[.html"`},
		{"same name", fstest.MapFS{"x/a.html": page(ok), "y/a.html": page(ok)}, []string{"x/*.html", "y/*.html"}, `x/a.html and y/a.html have the same name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPages(cat, tt.fsys, tt.patterns...)
			if err == nil || p != nil {
				t.Fatalf("NewPages() = %v, %v; want an error", p, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewPages() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := NewPages(nil, fstest.MapFS{"a.html": page(ok)}, "*.html"); err == nil {
		t.Error("NewPages(nil catalogue) = nil error")
	}
	// A catalogue without web's own messages would show ⟦layout.logout⟧.
	bare, err := LoadCatalogue(files(demoMessages))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewPages(bare, fstest.MapFS{"a.html": page(ok)}, "*.html"); err == nil || !strings.Contains(err.Error(), "layout.logout") {
		t.Errorf("NewPages(a catalogue without web's messages) = %v, want an error naming the missing keys", err)
	}
	// The same file matched by two patterns is one page.
	if _, err := NewPages(cat, fstest.MapFS{"a.html": page(ok)}, "*.html", "a.*"); err != nil {
		t.Errorf("NewPages(a file matched twice) = %v", err)
	}
}

// parseHTML parses a rendered page.
func parseHTML(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the page does not parse: %v", err)
	}
	return doc
}

// checkNoInline fails on anything the Content-Security-Policy would refuse: a
// <script> without src, a <style> element, a style attribute, an event handler
// attribute, a javascript: URL.
func checkNoInline(t *testing.T, doc *html.Node) {
	t.Helper()
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if n.Data == "script" && (attr(n, "src") == "" || text(n) != "") {
			t.Errorf("an inline <script>")
		}
		if n.Data == "style" {
			t.Errorf("a <style> element")
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: inline style or script", n.Data, a.Key, a.Val)
			}
			if strings.HasPrefix(strings.TrimSpace(strings.ToLower(a.Val)), "javascript:") {
				t.Errorf("<%s %s=%q>: a javascript: URL", n.Data, a.Key, a.Val)
			}
		}
	})
}

// walk calls f on n and every node under it, in document order.
func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// find returns the elements named tag under n.
func find(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(n, func(m *html.Node) {
		if m.Type == html.ElementNode && m.Data == tag {
			out = append(out, m)
		}
	})
	return out
}

// byClass returns the elements under n that have class c.
func byClass(n *html.Node, c string) []*html.Node {
	var out []*html.Node
	walk(n, func(m *html.Node) {
		if m.Type == html.ElementNode && strings.Contains(" "+attr(m, "class")+" ", " "+c+" ") {
			out = append(out, m)
		}
	})
	return out
}

// attr returns n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// hasAttr reports whether n has the attribute key.
func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

// text returns the text under n, with runs of white space made one space.
func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(m *html.Node) {
		if m.Type == html.TextNode {
			b.WriteString(m.Data)
		}
	})
	return strings.Join(strings.Fields(b.String()), " ")
}

// TestPartials: a file named _*.html defines templates every page may call, and
// is not a page itself.
func TestPartials(t *testing.T) {
	cat, err := LoadCatalogue(Messages())
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPages(cat, fstest.MapFS{
		"_greeting.html": {Data: []byte(`{{define "greeting"}}<p class="greeting">Hello, {{$.Data}}</p>{{end}}`)},
		"a.html":         {Data: []byte(`{{define "title"}}A{{end}}{{define "main"}}{{template "greeting" $}}{{end}}`)},
	}, "*.html")
	if err != nil {
		t.Fatal(err)
	}
	_, body, err := render(t, p, "/a", "en", View{Page: "a.html", Data: "Kari"})
	if err != nil || !strings.Contains(body, `<p class="greeting">Hello, Kari</p>`) {
		t.Errorf("Render(a.html) = %v, want the partial's greeting in:\n%s", err, body)
	}
	if _, _, err := render(t, p, "/a", "en", View{Page: "_greeting.html"}); err == nil {
		t.Errorf("Render(_greeting.html) = nil, want an error: a partial is not a page")
	}
	if _, err := NewPages(cat, fstest.MapFS{
		"_broken.html": {Data: []byte(`{{define "x"}}{{end`)},
		"a.html":       {Data: []byte(`{{define "title"}}A{{end}}{{define "main"}}{{end}}`)},
	}, "*.html"); err == nil || !strings.Contains(err.Error(), "web: partial _broken.html") {
		t.Errorf("NewPages with a broken partial = %v, want an error naming it", err)
	}
}
