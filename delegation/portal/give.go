package portal

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
)

// The wizard: giving a fullmakt (/give) and asking for one (/ask), one
// question per page, the same pages with wording per kind. To whom, for what,
// which actions, for how long, then a review; giving is confirmed with a
// step-up to level high (confirmedPage), asking sends the request.
//
// A step asked for from the review's "Change" link (?change=1) returns to the
// review when answered; changing what the fullmakt covers passes the actions
// on the way, as they depend on it.

// statusInvalid is the status of a form sent back with errors.
const statusInvalid = http.StatusUnprocessableEntity

// --- To whom -----------------------------------------------------------------

// startData is the data of give_start.html.
type startData struct {
	Kind draftKind
	// Draft is the draft whose person is being changed (from the review);
	// empty when starting a new one.
	Draft string
	// Complete is set when that draft has every answer: back goes to its
	// review.
	Complete bool
	// Number is what was typed, shown again only when it is not a valid
	// identity number (a valid one may be someone's: never shown in full).
	Number  string
	Surname string
}

// startPage serves GET /give and /ask: whom the fullmakt is for, or whom to ask.
func (s *Service) startPage(k draftKind) func(*page) {
	return func(p *page) {
		data := startData{Kind: k}
		if id := p.r.URL.Query().Get("draft"); id != "" {
			o, ok := p.openDraft(id)
			if !ok {
				return
			}
			if o.Kind != k {
				p.draftGone("")
				return
			}
			data.Draft, data.Complete = id, o.scopeDone() && o.periodDone()
		}
		p.render(http.StatusOK, "give_start.html", sectionOf(k), data)
	}
}

// sectionOf is the menu section of a kind of draft.
func sectionOf(k draftKind) string {
	if k == draftAsk {
		return secAsk
	}
	return secGive
}

// Failed look-ups of a person (an unknown number, a surname that does not
// match) are bounded per visitor, so the register cannot be probed for who a
// number belongs to. They are counted in the drafts store, so every instance
// of the server shares the count and it survives a restart.
const (
	maxFailedLookups = 10
	lookupWindow     = 10 * time.Minute
)

// lookupFailures is the record of a visitor's recent failed look-ups.
type lookupFailures struct {
	At []time.Time `json:"at"`
}

// lookupKey is the store key of the visitor's failed look-ups: keyed under the
// portal's key, so the store holds no hash of an identity number.
func (p *page) lookupKey() string {
	return hashKey("portal lookups\x00" + p.s.ref(p.v.Person, p.v.Person))
}

// failedLookups returns the visitor's failed look-ups within the window.
func (p *page) failedLookups() (lookupFailures, error) {
	var f lookupFailures
	rec, err := p.s.drafts.Grant(p.r.Context(), grants.Draft, p.lookupKey())
	switch {
	case errors.Is(err, grants.ErrNotFound):
		return f, nil
	case err != nil:
		return f, errf("read failed look-ups: %w", err)
	}
	if err := json.Unmarshal(rec.Data, &f); err != nil {
		return lookupFailures{}, errf("decode failed look-ups: %w", err)
	}
	f.At = slices.DeleteFunc(f.At, func(t time.Time) bool { return p.now.Sub(t) >= lookupWindow })
	return f, nil
}

// lookupFailed counts a failed look-up.
func (p *page) lookupFailed() error {
	f, err := p.failedLookups()
	if err != nil {
		return err
	}
	f.At = append(f.At, p.now)
	data, err := json.Marshal(f)
	if err != nil {
		return errf("encode failed look-ups: %w", err)
	}
	rec := grants.Record{Kind: grants.Draft, Key: p.lookupKey(), ExpiresAt: p.now.Add(lookupWindow), Data: data}
	if err := p.s.drafts.ApplyGrants(p.r.Context(), grants.Put(rec)); err != nil {
		return errf("count a failed look-up: %w", err)
	}
	return nil
}

// surnameMatches reports whether typed is the surname of the register's name:
// its last word, or its last words for a double surname, in any case.
func surnameMatches(name, typed string) bool {
	words, want := strings.Fields(name), strings.Fields(typed)
	if len(want) == 0 || len(want) > len(words) {
		return false
	}
	for i, w := range words[len(words)-len(want):] {
		if !strings.EqualFold(w, want[i]) {
			return false
		}
	}
	return true
}

// startForm serves POST /give and /ask: the person must be in the register
// under the number and surname typed. An unknown number, a wrong surname and a
// deceased person get the same message, so the page never tells whom a number
// belongs to.
func (s *Service) startForm(k draftKind) func(*page) {
	return func(p *page) {
		data := startData{Kind: k, Draft: p.r.PostForm.Get("draft"), Surname: strings.TrimSpace(p.r.PostForm.Get("surname"))}
		var change openDraft
		if data.Draft != "" {
			o, st, err := p.loadDraft(data.Draft)
			switch {
			case err != nil:
				p.fail("open a draft", err)
				return
			case st == draftUsed:
				p.toResult(o)
				return
			case st == draftGone || o.Kind != k:
				p.draftGone(o.Kind)
				return
			}
			change = o
			data.Complete = o.scopeDone() && o.periodDone()
		}
		sec := sectionOf(k)
		typed := strings.TrimSpace(p.r.PostForm.Get("id"))
		var errs []web.FieldError
		id, err := p.s.cfg.IDRules.ParsePerson(typed)
		switch {
		case typed == "":
			errs = append(errs, web.FieldError{Field: "id", Key: "portal.give.start.id_missing"})
		case err != nil:
			errs = append(errs, web.FieldError{Field: "id", Key: "portal.give.start.id_invalid"})
			data.Number = typed
		case id == p.v.Person:
			errs = append(errs, web.FieldError{Field: "id", Key: "portal.give.start.self_" + string(k)})
		}
		if data.Surname == "" {
			errs = append(errs, web.FieldError{Field: "surname", Key: "portal.give.start.surname_missing"})
		}
		if len(errs) > 0 {
			p.render(statusInvalid, "give_start.html", sec, data, errs...)
			return
		}
		failed, err := p.failedLookups()
		if err != nil {
			p.fail("count failed look-ups", err)
			return
		}
		if len(failed.At) >= maxFailedLookups {
			p.render(http.StatusTooManyRequests, "give_start.html", sec, data,
				web.FieldError{Field: "id", Key: "portal.give.start.too_many", Args: []any{int(lookupWindow.Minutes())}})
			return
		}
		person, ok := p.person(id)
		if !ok || person.DeceasedOn(p.today) || !surnameMatches(person.Name, data.Surname) {
			if err := p.lookupFailed(); err != nil {
				p.fail("count a failed look-up", err)
				return
			}
			p.render(statusInvalid, "give_start.html", sec, data, web.FieldError{Field: "id", Key: "portal.give.start.not_found"})
			return
		}
		if data.Draft != "" {
			change.Other = id
			if p.saveStep(change) {
				p.redirect(draftPath(change.id, "review"))
			}
			return
		}
		o, err := p.newDraft(draft{Kind: k, Other: id})
		if err != nil {
			p.fail("start a draft", err)
			return
		}
		p.redirect(draftPath(o.id, "scope"))
	}
}

// saveStep saves an answer to a step. A confirmation pressed before it no
// longer counts: what is confirmed is what was on the review when confirm was
// pressed.
func (p *page) saveStep(o openDraft) bool {
	o.Confirming = time.Time{}
	return p.saveOrGone(o)
}

// confirmingAt is the time a confirmation was asked for, to the second: a
// step-up's time of authentication may be kept to the second (an ID token's
// auth_time is), and one in the same second must count as after it.
func confirmingAt(now time.Time) time.Time { return now.UTC().Truncate(time.Second) }

// --- The parties and the domain's rules --------------------------------------

// parties returns the grantor and the proxy of the draft from the register; ok
// is false (and the page shown) when either is missing.
func (p *page) parties(d draft) (grantor, proxy delegation.Person, ok bool) {
	g, okG := p.person(d.grantor())
	x, okX := p.person(d.proxy())
	if !okG || !okX {
		p.errorPage(http.StatusConflict, "portal.give.person_gone")
		return delegation.Person{}, delegation.Person{}, false
	}
	return g, x, true
}

// check runs the domain's rules for the draft with scope sc and period per:
// delegation.Give for giving and approving, delegation.NewRequest for asking.
// Nothing is stored.
func (p *page) check(d draft, grantor, proxy delegation.Person, sc delegation.Scope, per delegation.Period) error {
	if d.Kind == draftAsk {
		_, err := delegation.NewRequest(proxy, grantor, sc, per, d.Message, p.now)
		return err
	}
	_, err := delegation.Give(delegation.NewFullmakt{Grantor: grantor, Proxy: proxy, Scope: sc, Period: per, MaySubdelegate: d.MaySubdelegate}, p.now)
	return err
}

// refusal turns a refusal of the domain's rules into a plain message: a minor
// grantor may give a fullmakt for the health area only, and only from 16;
// anything else (the other person has died meanwhile, the period has ended)
// says the fullmakt cannot be given. The scope page shows it next to its
// field; other pages above the form.
func (p *page) refusal(d draft, grantor delegation.Person, err error) web.FieldError {
	if errors.Is(err, delegation.ErrForbidden) && grantor.MinorOn(p.today) && !grantor.DeceasedOn(p.today) {
		return web.FieldError{Key: p.minorKey(d, grantor), Args: p.minorArgs(d, grantor)}
	}
	return web.FieldError{Key: "portal.give.refused_" + string(d.Kind)}
}

// minorKey is the message that says what a minor grantor may give.
func (p *page) minorKey(d draft, grantor delegation.Person) string {
	who := "you"
	if d.Kind == draftAsk {
		who = "other"
	}
	if grantor.AgeOn(p.today) >= delegation.HealthAgeOfMajority {
		return "portal.give.minor_health_" + who
	}
	return "portal.give.minor_none_" + who
}

func (p *page) minorArgs(d draft, grantor delegation.Person) []any {
	if d.Kind == draftAsk {
		return []any{grantor.Name, p.areaName(delegation.HealthArea)}
	}
	return []any{p.areaName(delegation.HealthArea)}
}

// mayBeOpenEnded reports whether the grantor may give a fullmakt "until I
// revoke it". The rule: only an adult may. A minor (who can give one for
// health only, from 16) gives it with a last day, so that it comes up again
// when their situation changes, at the latest when they come of age and may
// give any fullmakt.
func mayBeOpenEnded(grantor delegation.Person, today delegation.Date) bool {
	return !grantor.MinorOn(today)
}

// --- For what ----------------------------------------------------------------

// scopeData is the data of give_scope.html.
type scopeData struct {
	ID     string
	Kind   draftKind
	Other  string // the other person's name
	Change bool
	// Notice says what a minor grantor may give, before they choose.
	Notice string
	Areas  []areaChoice
	Groups []serviceGroup
}

// areaChoice is an area to tick, with every service it unlocks and the names
// of those it never includes.
type areaChoice struct {
	Value, Input, Name string
	Checked            bool
	Services           []string
	Never              string
}

// serviceGroup is the single services of one area.
type serviceGroup struct {
	Name     string
	Services []choice
}

// choice is a checkbox or radio button.
type choice struct {
	Value, Input, Label string
	Checked             bool
}

// inputID makes an element id of a prefix and a catalogue id; the first
// choice of a question gets the question's own id, which its errors link to.
func inputID(first bool, question, prefix, id string) string {
	if first {
		return question
	}
	return prefix + "-" + strings.ReplaceAll(id, ".", "-")
}

// scopeData lists the catalogue for the scope page, with chosen ticked.
func (p *page) scopeData(o openDraft, chosen delegation.Scope, change bool, grantor delegation.Person) scopeData {
	cat := p.pack.Catalogue
	data := scopeData{ID: o.id, Kind: o.Kind, Other: p.name(o.Other), Change: change}
	if grantor.MinorOn(p.today) {
		data.Notice = p.T(p.minorKey(o.draft, grantor), p.minorArgs(o.draft, grantor)...)
	}
	for _, a := range cat.Areas {
		covered, never := areaServices(cat, a.ID)
		if len(covered) == 0 {
			continue
		}
		c := areaChoice{
			Value: a.ID, Input: inputID(len(data.Areas) == 0, "scope", "area", a.ID), Name: p.text(a.Name, a.ID),
			Checked: slices.Contains(chosen.Areas, a.ID),
		}
		for _, svc := range covered {
			c.Services = append(c.Services, p.text(svc.Name, svc.ID))
		}
		var names []string
		for _, svc := range never {
			names = append(names, p.text(svc.Name, svc.ID))
		}
		c.Never = strings.Join(names, ", ")
		data.Areas = append(data.Areas, c)
	}
	// Single services, each under its first area.
	for _, a := range cat.Areas {
		g := serviceGroup{Name: p.text(a.Name, a.ID)}
		for _, svc := range cat.Services {
			if svc.HighlyPersonal || len(svc.Areas) == 0 || svc.Areas[0] != a.ID {
				continue
			}
			g.Services = append(g.Services, choice{
				Value: svc.ID, Input: inputID(false, "", "service", svc.ID), Label: p.text(svc.Name, svc.ID),
				Checked: slices.Contains(chosen.Services, svc.ID),
			})
		}
		if len(g.Services) > 0 {
			data.Groups = append(data.Groups, g)
		}
	}
	return data
}

// scopePage serves GET /draft/{id}/scope.
func (s *Service) scopePage(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	grantor, _, ok := p.parties(o.draft)
	if !ok {
		return
	}
	p.render(http.StatusOK, "give_scope.html", sectionOf(o.Kind), p.scopeData(o, o.Scope, p.changing(), grantor))
}

// wizardDraft reports whether o is a draft the wizard's pages show (giving or
// asking); an approval has no such pages, and gets the expired page.
func (p *page) wizardDraft(o openDraft) bool {
	if o.Kind == draftGive || o.Kind == draftAsk {
		return true
	}
	p.draftGone("")
	return false
}

// changing reports whether the step was asked for from the review.
func (p *page) changing() bool {
	if p.r.Method == http.MethodPost {
		return p.r.PostForm.Get("change") == "1"
	}
	return p.r.URL.Query().Get("change") == "1"
}

// scopeForm serves POST /draft/{id}/scope: at least one area or service, each
// in the catalogue and never highly personal, and what the grantor may give.
func (s *Service) scopeForm(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	grantor, proxy, ok := p.parties(o.draft)
	if !ok {
		return
	}
	cat := p.pack.Catalogue
	sc := delegation.Scope{Areas: p.r.PostForm["area"], Services: p.r.PostForm["service"]}
	change := p.changing()
	var bad web.FieldError
	switch {
	case slices.ContainsFunc(sc.Areas, func(a string) bool { return !offeredArea(cat, a) }),
		slices.ContainsFunc(sc.Services, func(svc string) bool { return !grantable(cat, svc) }):
		bad = web.FieldError{Field: "scope", Key: "portal.give.scope.unknown"}
	case len(sc.Areas)+len(sc.Services) == 0:
		bad = web.FieldError{Field: "scope", Key: "portal.give.scope.none_" + string(o.Kind)}
	default:
		if err := p.check(o.draft, grantor, proxy, sc, delegation.Period{}); err != nil {
			bad = p.refusal(o.draft, grantor, err)
			bad.Field = "scope"
		}
	}
	if bad.Key != "" {
		p.render(statusInvalid, "give_scope.html", sectionOf(o.Kind), p.scopeData(o, sc, change, grantor), bad)
		return
	}
	// Keep the actions chosen before that the new choice still offers.
	offered := offeredActions(cat, sc)
	sc.Actions = slices.DeleteFunc(slices.Clone(o.Scope.Actions), func(a string) bool { return !slices.Contains(offered, a) })
	if len(sc.Actions) == 0 {
		sc.Actions = nil
	}
	slices.Sort(sc.Areas)
	sc.Areas = slices.Compact(sc.Areas)
	slices.Sort(sc.Services)
	sc.Services = slices.Compact(sc.Services)
	o.Scope = sc
	if !p.saveStep(o) {
		return
	}
	next := draftPath(o.id, "options")
	if change {
		next += "?change=1"
	}
	p.redirect(next)
}

// --- Which actions, and passing it on ------------------------------------------

// optionsData is the data of give_options.html.
type optionsData struct {
	ID          string
	Kind        draftKind
	Other       string
	Change      bool
	Some        bool // only some actions
	Actions     []choice
	Subdelegate bool
}

func (p *page) optionsData(o openDraft, some bool, chosen []string, subdelegate, change bool) optionsData {
	data := optionsData{ID: o.id, Kind: o.Kind, Other: p.name(o.Other), Change: change, Some: some, Subdelegate: subdelegate}
	for i, a := range offeredActions(p.pack.Catalogue, o.Scope) {
		data.Actions = append(data.Actions, choice{
			Value: a, Input: inputID(i == 0, "action", "action", a), Label: p.actionName(a), Checked: slices.Contains(chosen, a),
		})
	}
	return data
}

// optionsPage serves GET /draft/{id}/options.
func (s *Service) optionsPage(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	if !o.scopeDone() {
		p.redirect(draftPath(o.id, "scope"))
		return
	}
	p.render(http.StatusOK, "give_options.html", sectionOf(o.Kind),
		p.optionsData(o, len(o.Scope.Actions) > 0, o.Scope.Actions, o.MaySubdelegate, p.changing()))
}

// optionsForm serves POST /draft/{id}/options: every action (the default) or
// some of those the chosen services offer; when giving, whether the proxy may
// pass the fullmakt on (off unless ticked).
func (s *Service) optionsForm(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	if !o.scopeDone() {
		p.redirect(draftPath(o.id, "scope"))
		return
	}
	change := p.changing()
	mode := p.r.PostForm.Get("actions")
	chosen := p.r.PostForm["action"]
	subdelegate := o.Kind == draftGive && p.r.PostForm.Get("subdelegate") == "yes"
	offered := offeredActions(p.pack.Catalogue, o.Scope)
	var bad web.FieldError
	switch {
	case mode != "all" && mode != "some":
		bad = web.FieldError{Field: "actions", Key: "portal.give.options.choose"}
	case mode == "some" && slices.ContainsFunc(chosen, func(a string) bool { return !slices.Contains(offered, a) }):
		bad = web.FieldError{Field: "action", Key: "portal.give.options.unknown"}
	case mode == "some" && len(chosen) == 0:
		bad = web.FieldError{Field: "action", Key: "portal.give.options.none"}
	}
	if bad.Key != "" {
		p.render(statusInvalid, "give_options.html", sectionOf(o.Kind), p.optionsData(o, mode == "some", chosen, subdelegate, change), bad)
		return
	}
	o.Scope.Actions = nil
	if mode == "some" {
		// In the catalogue's order, without repeats.
		o.Scope.Actions = slices.DeleteFunc(slices.Clone(offered), func(a string) bool { return !slices.Contains(chosen, a) })
	}
	o.MaySubdelegate = subdelegate
	if !p.saveStep(o) {
		return
	}
	if change && o.periodDone() {
		p.redirect(draftPath(o.id, "review"))
		return
	}
	p.redirect(draftPath(o.id, "period"))
}

// --- For how long ------------------------------------------------------------

// periodData is the data of give_period.html.
type periodData struct {
	ID          string
	Kind        draftKind
	Other       string
	Change      bool
	From, To    string
	Open        bool // "until I revoke it" chosen
	OpenAllowed bool
	Minor       bool // the grantor is a minor: the fullmakt must have a last day
	Message     string
	MaxMessage  int
}

// periodPage serves GET /draft/{id}/period: from today, for a year, unless
// the draft says otherwise.
func (s *Service) periodPage(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	if !o.scopeDone() {
		p.redirect(draftPath(o.id, "scope"))
		return
	}
	grantor, _, ok := p.parties(o.draft)
	if !ok {
		return
	}
	from, to := p.today, p.today.AddYears(1)
	if o.periodDone() {
		from = o.Period.From
		if !o.Period.To.IsZero() {
			to = o.Period.To
		}
	}
	open := mayBeOpenEnded(grantor, p.today)
	p.render(http.StatusOK, "give_period.html", sectionOf(o.Kind), periodData{
		ID: o.id, Kind: o.Kind, Other: p.name(o.Other), Change: p.changing(), From: from.String(), To: to.String(),
		Open: o.OpenEnded && open, OpenAllowed: open, Minor: grantor.MinorOn(p.today), Message: o.Message,
		MaxMessage: delegation.MaxMessageLen,
	})
}

// parseDay reads a day as people type it: 2026-12-31 (what a date field
// sends) or 31.12.2026 (what people write; 1.2.2026 too).
func parseDay(s string) (delegation.Date, bool) {
	s = strings.TrimSpace(s)
	if d, err := delegation.ParseDate(s); err == nil {
		return d, true
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || len(parts[2]) != 4 {
		return delegation.Date{}, false
	}
	var n [3]int
	for i, part := range parts {
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 || part == "" || len(part) > 4 {
			return delegation.Date{}, false
		}
		n[i] = v
	}
	day, month, year := n[0], n[1], n[2]
	t := time.Date(year, time.Month(month), day, 12, 0, 0, 0, time.UTC)
	if t.Day() != day || int(t.Month()) != month || t.Year() != year {
		return delegation.Date{}, false // 31.02.2026
	}
	return delegation.NewDate(year, time.Month(month), day), true
}

// periodForm serves POST /draft/{id}/period: a first day from today on, and a
// last day not before it, or "until I revoke it" where the grantor may give
// one; when asking, an optional message.
func (s *Service) periodForm(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	if !o.scopeDone() {
		p.redirect(draftPath(o.id, "scope"))
		return
	}
	grantor, proxy, ok := p.parties(o.draft)
	if !ok {
		return
	}
	f := p.r.PostForm
	allowed := mayBeOpenEnded(grantor, p.today)
	data := periodData{
		ID: o.id, Kind: o.Kind, Other: p.name(o.Other), Change: p.changing(), From: f.Get("from"), To: f.Get("to"),
		Open: f.Get("until") == "open", OpenAllowed: allowed, Minor: grantor.MinorOn(p.today),
		MaxMessage: delegation.MaxMessageLen,
	}
	if o.Kind == draftAsk {
		data.Message = strings.TrimSpace(f.Get("message"))
	}
	var errs []web.FieldError
	from, okFrom := parseDay(data.From)
	switch {
	case strings.TrimSpace(data.From) == "":
		errs = append(errs, web.FieldError{Field: "from", Key: "portal.give.period.from_missing"})
	case !okFrom:
		errs = append(errs, web.FieldError{Field: "from", Key: "portal.give.period.not_a_date"})
	case from.Before(p.today):
		errs = append(errs, web.FieldError{Field: "from", Key: "portal.give.period.from_past"})
	}
	per := delegation.Period{From: from}
	switch {
	case data.Open && !allowed:
		// Only a forged form gets here: the page offers no such choice.
		errs = append(errs, web.FieldError{Field: "to", Key: "portal.give.period.open_minor"})
	case data.Open:
	case strings.TrimSpace(data.To) == "":
		errs = append(errs, web.FieldError{Field: "to", Key: "portal.give.period.to_missing"})
	default:
		to, okTo := parseDay(data.To)
		switch {
		case !okTo:
			errs = append(errs, web.FieldError{Field: "to", Key: "portal.give.period.not_a_date"})
		case okFrom && to.Before(from):
			errs = append(errs, web.FieldError{Field: "to", Key: "portal.give.period.to_before"})
		}
		per.To = to
	}
	if utf8.RuneCountInString(data.Message) > delegation.MaxMessageLen {
		errs = append(errs, web.FieldError{Field: "message", Key: "portal.give.period.message_long", Args: []any{delegation.MaxMessageLen}})
	}
	if len(errs) == 0 {
		d := o.draft
		d.Message = data.Message
		if err := p.check(d, grantor, proxy, o.Scope, per); err != nil {
			errs = append(errs, p.refusal(o.draft, grantor, err))
		}
	}
	if len(errs) > 0 {
		p.render(statusInvalid, "give_period.html", sectionOf(o.Kind), data, errs...)
		return
	}
	o.Period, o.OpenEnded, o.Message = per, data.Open, data.Message
	if !p.saveStep(o) {
		return
	}
	p.redirect(draftPath(o.id, "review"))
}

// --- Review, send and confirm ------------------------------------------------

// reviewData is the data of give_review.html.
type reviewData struct {
	ID          string
	Kind        draftKind
	Other       string
	OtherNumber string
	Scope       scopeView
	Period      string
	Subdelegate bool
	Message     string
}

// reviewPage serves GET /draft/{id}/review.
func (s *Service) reviewPage(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	p.review(o, http.StatusOK)
}

// review shows the review of o with errs, or sends the browser to the first
// step not yet answered.
func (p *page) review(o openDraft, status int, errs ...web.FieldError) {
	switch {
	case !o.scopeDone():
		p.redirect(draftPath(o.id, "scope"))
		return
	case !o.periodDone():
		p.redirect(draftPath(o.id, "period"))
		return
	}
	p.render(status, "give_review.html", sectionOf(o.Kind), reviewData{
		ID: o.id, Kind: o.Kind, Other: p.name(o.Other), OtherNumber: shownNumber(o.Other),
		Scope: p.scopeView(o.Scope), Period: p.period(o.Period), Subdelegate: o.MaySubdelegate, Message: o.Message,
	}, errs...)
}

// sendForm serves POST /draft/{id}/send. Giving: the time is noted and the
// browser sent to step up to level high, then to confirmedPage. Asking: the
// request is made, once.
func (s *Service) sendForm(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok || !p.wizardDraft(o) {
		return
	}
	if !o.scopeDone() || !o.periodDone() {
		p.review(o, http.StatusOK)
		return
	}
	grantor, proxy, ok := p.parties(o.draft)
	if !ok {
		return
	}
	if o.Kind == draftGive {
		if err := p.check(o.draft, grantor, proxy, o.Scope, o.Period); err != nil {
			p.review(o, statusInvalid, p.refusal(o.draft, grantor, err))
			return
		}
		o.Confirming = confirmingAt(p.now)
		if !p.saveOrGone(o) {
			return
		}
		p.s.sessions.StepUp(p.w, p.r, authz.LevelHigh, draftPath(o.id, "confirmed"))
		return
	}
	r, err := delegation.NewRequest(proxy, grantor, o.Scope, o.Period, o.Message, p.now)
	if err != nil {
		p.review(o, statusInvalid, p.refusal(o.draft, grantor, err))
		return
	}
	if p.commit(o, "/requests/"+r.ID, "create a request", func() error { return p.s.store.CreateRequest(p.r.Context(), r) }) {
		p.redirect("/requests/" + r.ID + "?sent=1")
	}
}

// commit uses the draft for what it makes at path, then stores that with
// write: a confirmation is good once. When write fails the draft is restored,
// so the person can try again. It reports whether the record was stored; when
// not, it has answered the request.
func (p *page) commit(o openDraft, path, what string, write func() error) bool {
	if !p.use(o, path) {
		return false
	}
	if err := write(); err != nil {
		p.restoreDraft(o)
		p.fail(what, err)
		return false
	}
	p.s.changed()
	return true
}

// use uses the draft for what it makes at path, and reports whether it did;
// when it was used (or expired) meanwhile it has shown the matching page.
func (p *page) use(o openDraft, path string) bool {
	err := p.useDraft(o, path)
	switch {
	case err == nil:
		return true
	case errors.Is(err, grants.ErrInactive):
		p.toResult(o)
	case errors.Is(err, grants.ErrNotFound):
		p.draftGone(o.Kind)
	default:
		p.fail("use a draft", err)
	}
	return false
}

// confirmedPage serves GET /draft/{id}/confirmed, where the login sends the
// browser after the step-up: the visitor must be at level high, authenticated
// at or after they pressed confirm. Then the draft is used, once, and the
// fullmakt given (or the request approved).
func (s *Service) confirmedPage(p *page) {
	o, ok := p.openDraft(p.r.PathValue("id"))
	if !ok {
		return
	}
	if o.Kind == draftAsk {
		p.redirect(draftPath(o.id, "review"))
		return
	}
	confirmed := !o.Confirming.IsZero() && p.v.Level >= authz.LevelHigh && !p.v.AuthTime.Before(o.Confirming)
	if o.Kind == draftApprove {
		p.confirmApproval(o, confirmed)
		return
	}
	if !confirmed {
		p.review(o, http.StatusForbidden, web.FieldError{Key: "portal.give.not_confirmed"})
		return
	}
	grantor, proxy, ok := p.parties(o.draft)
	if !ok {
		return
	}
	f, err := delegation.Give(delegation.NewFullmakt{
		Grantor: grantor, Proxy: proxy, Scope: o.Scope, Period: o.Period, MaySubdelegate: o.MaySubdelegate,
		ConfirmedACR: p.v.Level.ACR(), Origin: delegation.OriginPortal,
	}, p.now)
	if err != nil {
		p.review(o, statusInvalid, p.refusal(o.draft, grantor, err))
		return
	}
	if p.commit(o, "/fullmakter/"+f.ID, "create a fullmakt", func() error { return p.s.store.CreateFullmakt(p.r.Context(), f) }) {
		p.redirect("/fullmakter/" + f.ID + "?given=1")
	}
}
