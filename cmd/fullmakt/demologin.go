package main

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
	"github.com/fullmakt/fullmakt/idp"
)

// demoLogin is the login of `serve --demo`: a form where whoever opens it says
// which person of the demo cast they are, at which level of assurance, whom they act
// for and whether they consent. No one is authenticated: it exists so that the OAuth
// flows can be tried without an eID, and the page says so. The OAuth server checks
// the answers as it would a real login's (the level asked for, the right to act
// for the party chosen).
//
// The form posts to POST /login/demo on the browser mux, so Go's cross-origin
// protection refuses a form posted from another site; the login id in it is good
// once, and only for a few minutes.
type demoLogin struct {
	tmpl    *template.Template
	log     *slog.Logger
	now     func() time.Time
	cast    []demo.Character
	org     delegation.Organization
	clients *idp.ClientRegistry // for the page's form-action
	catalog func() *authz.Catalogue
	server  *idp.Server // set once the server is built

	mu      sync.Mutex
	pending map[string]pendingLogin // by login id: what the form must ask again after a mistake
}

// pendingLogin is a login the form was shown for.
type pendingLogin struct {
	req     idp.LoginRequest
	expires time.Time
}

// Bounds of the pending logins kept in memory: the idp forgets a login after 15
// minutes by default, and a demo has few people logging in at once.
const (
	demoLoginLifetime   = 15 * time.Minute
	maxDemoLoginsAtOnce = 10_000
)

// demoLevels are the levels offered, lowest first.
var demoLevels = []authz.Level{authz.LevelSubstantial, authz.LevelHigh}

func newDemoLogin(log *slog.Logger, cast []demo.Character, clients *idp.ClientRegistry, catalog func() *authz.Catalogue) (*demoLogin, error) {
	tmpl, err := template.ParseFS(web, "web/demologin.html")
	if err != nil {
		return nil, fmt.Errorf("parse the demo login page: %w", err)
	}
	return &demoLogin{
		tmpl: tmpl, log: log, now: time.Now, cast: cast, org: demo.CastOrganization(),
		clients: clients, catalog: catalog, pending: map[string]pendingLogin{},
	}, nil
}

// demoLoginPage is what the template shows.
type demoLoginPage struct {
	LoginID    string
	ClientName string
	Errors     []demoLoginError
	People     []demoOption
	Levels     []demoOption
	AskedLevel string // the level the service asked for, if any
	Represent  bool
	Parties    []demoOption
	Consents   []string
	Consented  bool
}

// demoLoginError is one problem with the answers: its message and the field it is
// about (for the error summary's link).
type demoLoginError struct {
	Field, Message string
}

// demoOption is a radio button or an option of a select.
type demoOption struct {
	Value, Label, Hint string
	Checked            bool
}

// answers are the form's fields, as posted.
type answers struct {
	person, level, party string
	consents             int
}

// Start implements idp.Login: it shows the form.
func (l *demoLogin) Start(w http.ResponseWriter, r *http.Request, req idp.LoginRequest) {
	now := l.now()
	l.mu.Lock()
	for id, p := range l.pending {
		if now.After(p.expires) {
			delete(l.pending, id)
		}
	}
	full := len(l.pending) >= maxDemoLoginsAtOnce
	if !full {
		l.pending[req.ID] = pendingLogin{req: req, expires: now.Add(demoLoginLifetime)}
	}
	l.mu.Unlock()
	if full {
		l.server.FailLogin(w, r, req.ID, false, "Too many demo logins are under way; try again in a few minutes.")
		return
	}
	a := answers{level: demoLevelFor(req.Level).ACR()}
	for i, c := range l.cast {
		if req.LoginHint != "" && string(c.ID) == req.LoginHint {
			a.person = strconv.Itoa(i)
		}
	}
	l.render(w, r, http.StatusOK, req, a, nil)
}

// demoLevelFor returns the level to preselect: the one asked for, or the lowest
// offered.
func demoLevelFor(asked authz.Level) authz.Level {
	for _, lv := range demoLevels {
		if lv >= asked {
			return lv
		}
	}
	return demoLevels[len(demoLevels)-1]
}

// render shows the form for req with the answers a and the problems errs.
func (l *demoLogin) render(w http.ResponseWriter, r *http.Request, status int, req idp.LoginRequest, a answers, errs []demoLoginError) {
	page := demoLoginPage{
		LoginID: req.ID, ClientName: req.ClientName, Errors: errs, Represent: req.Represent,
		Consented: a.consents > 0 && a.consents == len(req.Consents),
	}
	if page.ClientName == "" {
		page.ClientName = req.ClientID
	}
	if req.Level != 0 {
		page.AskedLevel = req.Level.String()
	}
	for i, c := range l.cast {
		v := strconv.Itoa(i)
		page.People = append(page.People, demoOption{Value: v, Label: fmt.Sprintf("%s (%d)", c.Name, c.Age), Hint: c.Story, Checked: a.person == v})
	}
	for _, lv := range demoLevels {
		page.Levels = append(page.Levels, demoOption{
			Value: lv.ACR(), Label: strings.ToUpper(lv.String()[:1]) + lv.String()[1:], Hint: demoLevelHint(lv),
			Checked: a.level == lv.ACR(),
		})
	}
	if req.Represent {
		named := ""
		if req.Party != "" {
			named = l.partyValue(req.Party)
		}
		party := a.party
		if party == "" {
			party = named
		}
		page.Parties = append(page.Parties, demoOption{Value: "self", Label: "Myself", Checked: party == "" || party == "self"})
		for i, c := range l.cast {
			v := "p" + strconv.Itoa(i)
			page.Parties = append(page.Parties, demoOption{Value: v, Label: c.Name, Checked: party == v})
		}
		page.Parties = append(page.Parties, demoOption{Value: "org", Label: l.org.Name + " (organisation)", Checked: party == "org"})
	}
	for _, d := range req.Consents {
		page.Consents = append(page.Consents, l.describeConsent(page.ClientName, d))
	}

	var buf bytes.Buffer
	if err := l.tmpl.Execute(&buf, page); err != nil {
		l.log.ErrorContext(r.Context(), "render the demo login page", "error", err)
		http.Error(w, "Something went wrong on our side. Try again in a moment.", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w.Header(), l.redirectOrigins(req.ClientID))
	w.WriteHeader(status)
	buf.WriteTo(w)
}

func demoLevelHint(lv authz.Level) string {
	if lv == authz.LevelHigh {
		return "As with BankID or a passport chip: enough for health records and submitting tax returns."
	}
	return "As with MinID and a code by text message: enough for most services."
}

// partyValue returns the select's value for a party named in the request.
func (l *demoLogin) partyValue(p delegation.PartyID) string {
	if p == l.org.ID {
		return "org"
	}
	for i, c := range l.cast {
		if c.ID == p {
			return "p" + strconv.Itoa(i)
		}
	}
	return ""
}

// describeConsent says in words what the person consents to.
func (l *demoLogin) describeConsent(client string, d idp.AuthorizationDetail) string {
	data := d.DataSet
	if cat := l.catalog(); cat != nil {
		if s, ok := cat.Service(d.DataSet); ok && s.Name["en"] != "" {
			data = s.Name["en"]
		}
	}
	text := fmt.Sprintf("%s may get %s about you from organisation %s, for this purpose: %s. The consent lasts until %s",
		client, data, d.Provider, strings.TrimSuffix(d.Purpose, "."), d.ValidTo)
	if d.OneTime {
		text += " and can be used once"
	}
	return text + "."
}

// redirectOrigins returns the origins of the client's redirect URIs as CSP
// sources, for the page's form-action: after the post, the browser is redirected
// there. Anything that is not a plain origin is left out.
func (l *demoLogin) redirectOrigins(clientID string) []string {
	c, ok := l.clients.Clients().Get(clientID)
	if !ok {
		return nil
	}
	var out []string
	for _, raw := range c.RedirectURIs {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" {
			continue
		}
		src := u.Scheme + ":"
		if u.Host != "" {
			src = u.Scheme + "://" + u.Host
		}
		if !cspSource(src) {
			continue
		}
		out = append(out, src)
	}
	return out
}

// cspSource reports whether s can stand in a CSP source list as it is.
func cspSource(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune(".-+:/[]", r):
		default:
			return false
		}
	}
	return true
}

// finish serves POST /login/demo: it ends the login with what the form says, or
// shows the form again with what is missing.
func (l *demoLogin) finish() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "The form could not be read. Go back and try again.", http.StatusBadRequest)
			return
		}
		id := r.PostForm.Get("login")
		if r.PostForm.Get("action") == "cancel" {
			l.forget(id)
			l.server.FailLogin(w, r, id, false, "The person cancelled the login.")
			return
		}
		a := answers{person: r.PostForm.Get("person"), level: r.PostForm.Get("acr"), party: r.PostForm.Get("party"),
			consents: len(r.PostForm["consent"])}
		l.mu.Lock()
		p, known := l.pending[id]
		l.mu.Unlock()
		var errs []demoLoginError
		person, ok := l.castMember(a.person)
		if !ok {
			errs = append(errs, demoLoginError{Field: "person-0", Message: "Choose who you are"})
		}
		if !validDemoLevel(a.level) {
			errs = append(errs, demoLoginError{Field: "acr-0", Message: "Choose a level of assurance"})
		}
		party, ok := l.partyOf(a.party, person)
		if !ok {
			errs = append(errs, demoLoginError{Field: "party", Message: "Choose whom you act for"})
		}
		if known && len(p.req.Consents) > 0 && a.consents != len(p.req.Consents) {
			errs = append(errs, demoLoginError{Field: "consent-0", Message: "Tick every box to consent, or cancel"})
		}
		if len(errs) > 0 {
			if !known {
				// The form of a login this process did not start (a restart): the
				// server knows whether it is still good.
				l.server.FailLogin(w, r, id, false, "The demo login form was not filled in.")
				return
			}
			l.render(w, r, http.StatusUnprocessableEntity, p.req, a, errs)
			return
		}
		l.forget(id)
		l.server.FinishLogin(w, r, id, idp.Authentication{
			Person: person, ACR: a.level, AMR: []string{"user"}, AuthTime: l.now(),
			Party: party, Consented: a.consents > 0 && (!known || a.consents == len(p.req.Consents)),
		})
	})
}

func (l *demoLogin) forget(id string) {
	l.mu.Lock()
	delete(l.pending, id)
	l.mu.Unlock()
}

// castMember returns the person of the radio button's value.
func (l *demoLogin) castMember(v string) (delegation.PartyID, bool) {
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 || i >= len(l.cast) {
		return "", false
	}
	return l.cast[i].ID, true
}

// partyOf returns the party of the select's value: empty for oneself (and when no
// representation was asked, the field is absent).
func (l *demoLogin) partyOf(v string, person delegation.PartyID) (delegation.PartyID, bool) {
	switch v {
	case "", "self":
		return "", true
	case "org":
		return l.org.ID, true
	}
	p, ok := l.castMember(strings.TrimPrefix(v, "p"))
	if !ok || !strings.HasPrefix(v, "p") {
		return "", false
	}
	if p == person {
		return "", true
	}
	return p, true
}

func validDemoLevel(acr string) bool {
	for _, lv := range demoLevels {
		if lv.ACR() == acr {
			return true
		}
	}
	return false
}
