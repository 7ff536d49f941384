package portal

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/web"
)

// Sections of the main menu: a page says which one it belongs to.
const (
	secOverview      = "overview"
	secGive          = "give"
	secAsk           = "ask"
	secConsents      = "consents"
	secActivity      = "activity"
	secNotifications = "notifications"
	secNone          = ""
)

// maxForm bounds a form's body: the longest field is a message of
// delegation.MaxMessageLen characters.
const maxForm = 32 << 10

// page is one request to a portal page by a logged-in person: what every
// handler needs, worked out once.
type page struct {
	s     *Service
	w     http.ResponseWriter
	r     *http.Request
	v     Visitor
	lang  web.Lang
	now   time.Time
	today delegation.Date
	pack  *authz.Pack
	// people caches the register's answers within the request.
	people map[delegation.PartyID]delegation.Person
}

// handle makes a handler of fn for a logged-in person. Without a session, a GET
// goes to log in and comes back; anything else goes to the front page. A POST's
// form is parsed (bounded) and its form token checked before fn runs.
func (s *Service) handle(fn func(p *page)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.sessions.Visitor(r)
		if !ok {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, "/login?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		now := s.now()
		p := &page{
			s: s, w: w, r: r, v: v, lang: web.Negotiate(r), now: now,
			today: delegation.Today(now), pack: s.packs.Pack(),
			people: map[delegation.PartyID]delegation.Person{},
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				p.errorPage(http.StatusBadRequest, "portal.error.form")
				return
			}
			token := r.PostForm.Get("csrf")
			if v.FormToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(v.FormToken)) != 1 {
				p.errorPage(http.StatusForbidden, "error.forbidden")
				return
			}
		}
		fn(p)
	})
}

// render shows page file name in section, with data and the form's errors.
func (p *page) render(status int, name, section string, data any, errs ...web.FieldError) {
	v := web.View{
		Page: name, Status: status, CSRF: p.v.FormToken, Errors: errs, Data: data,
		Header: web.Header{LoggedIn: true, Name: p.v.Name, Level: p.v.Level, Test: p.v.Test, Nav: p.nav(section)},
	}
	if err := p.s.pages.Render(p.w, p.r, v); err != nil {
		p.s.log.ErrorContext(p.r.Context(), "portal: render a page", "page", name, "error", err)
	}
}

// nav is the main menu, with section current and the unread notifications
// counted.
func (p *page) nav(section string) []web.NavLink {
	links := []web.NavLink{
		{Href: "/", Key: "portal.nav.overview", Current: section == secOverview},
		{Href: "/give", Key: "portal.nav.give", Current: section == secGive},
		{Href: "/ask", Key: "portal.nav.ask", Current: section == secAsk},
		{Href: "/consents", Key: "portal.nav.consents", Current: section == secConsents},
		{Href: "/activity", Key: "portal.nav.activity", Current: section == secActivity},
		{Href: "/notifications", Key: "portal.nav.notifications", Current: section == secNotifications, Count: p.unread()},
		{Href: "/account", Key: "portal.nav.account"},
	}
	return links
}

// maxUnread is the most unread notifications counted; more show as this many.
const maxUnread = 99

// unread counts the visitor's unread notifications, up to maxUnread.
func (p *page) unread() int {
	ctx := p.r.Context()
	read, err := p.s.store.ReadUpTo(ctx, p.v.Person)
	if err != nil {
		p.logError("read the notifications' read mark", err)
		return 0
	}
	ns, err := p.s.store.NotificationsFor(ctx, p.v.Person, 0, maxUnread)
	if err != nil {
		p.logError("list notifications", err)
		return 0
	}
	n := 0
	for _, x := range ns {
		if x.Seq > read {
			n++
		}
	}
	return n
}

// errorPage shows a page with one message.
func (p *page) errorPage(status int, key string, args ...any) {
	p.render(status, "error.html", secNone, errorData{Message: p.T(key, args...)})
}

// errorData is the error page's data.
type errorData struct {
	Message string
}

// fail logs err and shows the page that says the fault is ours; a request the
// browser gave up on is not logged.
func (p *page) fail(what string, err error) {
	if !ctxErr(p.r.Context(), err) {
		p.logError(what, err)
	}
	p.errorPage(http.StatusInternalServerError, "error.generic")
}

// notFound shows the page for a record that does not exist or is not the
// visitor's to see: the two look the same.
func (p *page) notFound() {
	p.errorPage(http.StatusNotFound, "portal.error.not_found")
}

// logError logs a failure of the request.
func (p *page) logError(what string, err error) {
	p.s.log.ErrorContext(p.r.Context(), "portal: "+what, "error", err)
}

// redirect ends a form: post-redirect-get.
func (p *page) redirect(path string) {
	http.Redirect(p.w, p.r, path, http.StatusSeeOther)
}

// T returns key's text in the page's language.
func (p *page) T(key string, args ...any) string {
	return p.s.pages.Catalogue().Text(p.lang, key, args...)
}

// person returns a person of the register, asking the store once per request.
// ok is false when the person is unknown (or the store failed, which is logged).
func (p *page) person(id delegation.PartyID) (delegation.Person, bool) {
	if x, ok := p.people[id]; ok {
		return x, x.ID != ""
	}
	x, err := p.s.store.Person(p.r.Context(), id)
	if err != nil && !errors.Is(err, delegation.ErrNotFound) {
		p.logError("read a person", err)
	}
	p.people[id] = x
	return x, err == nil
}

// name returns what the pages call a party: a person's or organisation's name
// from the register, else their masked number.
func (p *page) name(id delegation.PartyID) string {
	if id.Kind() == delegation.KindOrganization {
		if o, err := p.s.store.Organization(p.r.Context(), id); err == nil {
			return o.Name
		}
		return shownNumber(id)
	}
	if x, ok := p.person(id); ok {
		return x.Name
	}
	return shownNumber(id)
}

// date formats a day as the pages show it: 31.12.2027.
func (p *page) date(d delegation.Date) string {
	if d.IsZero() {
		return ""
	}
	return d.Start().In(p.s.loc).Format("02.01.2006")
}

// clock formats a time as the pages show it, in Oslo: 31.12.2027 14:05.
func (p *page) clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.s.loc).Format("02.01.2006 15:04")
}

// text picks a catalogue name in the page's language: the language itself,
// Bokmål for Nynorsk, then English, then Bokmål, then fallback.
func (p *page) text(t authz.Text, fallback string) string {
	order := []string{string(p.lang), "en", "nb"}
	if p.lang == web.NN {
		order = []string{"nn", "nb", "en"}
	}
	for _, l := range order {
		if s := t[l]; s != "" {
			return s
		}
	}
	return fallback
}

// serviceName names a service of the catalogue; its id when unknown.
func (p *page) serviceName(id string) string {
	if svc, ok := p.pack.Catalogue.Service(id); ok {
		return p.text(svc.Name, id)
	}
	return id
}

// areaName names an area of the catalogue; its id when unknown.
func (p *page) areaName(id string) string {
	for _, a := range p.pack.Catalogue.Areas {
		if a.ID == id {
			return p.text(a.Name, id)
		}
	}
	return id
}

// actionName names an action of the catalogue; its id when unknown.
func (p *page) actionName(id string) string {
	for _, a := range p.pack.Catalogue.Actions {
		if a.ID == id {
			return p.text(a.Name, id)
		}
	}
	return id
}

// shownNumber is how pages show an identity number: a person's masked
// (010170 *****), an organisation's in groups of three.
func shownNumber(id delegation.PartyID) string {
	s := string(id)
	if id.Kind() == delegation.KindOrganization {
		if len(s) == 9 {
			return s[:3] + " " + s[3:6] + " " + s[6:]
		}
		return s
	}
	m := id.Masked()
	for i := range len(m) {
		if m[i] == '*' && i > 0 {
			return m[:i] + " " + m[i:]
		}
	}
	return m
}

// home serves the front page: the overview for a logged-in person, the
// front page (what Fullmakt is, how to log in) for everyone else.
func (s *Service) home() http.Handler {
	overview := s.handle(s.overviewPage)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.sessions.Visitor(r); !ok {
			s.front.ServeHTTP(w, r)
			return
		}
		overview.ServeHTTP(w, r)
	})
}
