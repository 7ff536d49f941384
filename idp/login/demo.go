package login

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/web"
)

// demoMethodID names the demo eID.
const demoMethodID = "demo"

// DemoPerson is a person the demo eID offers to log in as.
type DemoPerson struct {
	ID    delegation.PartyID
	Name  string
	Story string // one line about them, shown as the choice's hint
}

// Demo is the demo eID ("TestID"): whoever opens it says which person of the
// register they are, by choosing from a list or typing an identity number, and at
// which level. Nobody is authenticated, and every page says so: it exists so that
// a newcomer can try the product in a minute. Only `serve --demo` (or explicit
// configuration) adds it.
type Demo struct {
	people []DemoPerson
	ids    delegation.IDRules
	s      *Service
}

// NewDemo returns the demo eID offering people (typing any identity number of the
// register works too, parsed with ids).
func NewDemo(people []DemoPerson, ids delegation.IDRules) *Demo {
	return &Demo{people: people, ids: ids}
}

// demoLevels are the levels the demo eID offers, lowest first.
var demoLevels = []authz.Level{authz.LevelSubstantial, authz.LevelHigh}

// ID implements Method.
func (d *Demo) ID() string { return demoMethodID }

// Label implements Method.
func (d *Demo) Label(lang web.Lang) string { return d.s.pages.Catalogue().Text(lang, "demo.method") }

// MaxLevel implements Method.
func (d *Demo) MaxLevel() authz.Level { return authz.LevelHigh }

// bind gives the method its service.
func (d *Demo) bind(s *Service) { d.s = s }

// Routes implements Router.
func (d *Demo) Routes(mux *http.ServeMux) {
	mux.Handle("POST /login/demo", d.submit())
}

// demoData is the demo eID page's data.
type demoData struct {
	Flow    string
	Client  string
	People  []demoOption
	Levels  []demoOption
	Typed   string // the identity number typed, shown again after a mistake
	Asked   string // the level asked for, in words
	Passkey bool   // offer passkeys in the identity number's autofill
}

// demoOption is a radio button.
type demoOption struct {
	Value, Label, Hint string
	Checked            bool
}

// demoAnswers are the form's fields as posted.
type demoAnswers struct {
	person, typed, level string
}

// Begin implements Method: the form.
func (d *Demo) Begin(w http.ResponseWriter, r *http.Request, f *Flow) {
	a := demoAnswers{level: demoLevelFor(f.Level).String()}
	if f.Login != nil && f.Login.LoginHint != "" {
		for i, p := range d.people {
			if string(p.ID) == f.Login.LoginHint {
				a.person = strconv.Itoa(i)
			}
		}
	}
	d.render(w, r, f, a, nil)
}

// demoLevelFor is the level to preselect: the one asked for, or the lowest.
func demoLevelFor(asked authz.Level) authz.Level {
	for _, lv := range demoLevels {
		if lv >= asked {
			return lv
		}
	}
	return demoLevels[len(demoLevels)-1]
}

func (d *Demo) render(w http.ResponseWriter, r *http.Request, f *Flow, a demoAnswers, errs []web.FieldError) {
	lang := web.Negotiate(r)
	cat := d.s.pages.Catalogue()
	data := demoData{Flow: f.ID, Typed: a.typed, Passkey: d.s.passkeys != nil}
	if f.Login != nil {
		data.Client = clientName(f.Login)
	}
	if f.Level > 0 {
		data.Asked = cat.Text(lang, "level."+f.Level.String())
	}
	for i, p := range d.people {
		v := strconv.Itoa(i)
		data.People = append(data.People, demoOption{Value: v, Label: p.Name, Hint: p.Story, Checked: a.person == v})
	}
	data.People = append(data.People, demoOption{Value: "typed", Label: cat.Text(lang, "demo.someone_else"), Checked: a.person == "typed"})
	for _, lv := range demoLevels {
		if lv < f.Level {
			continue
		}
		data.Levels = append(data.Levels, demoOption{
			Value: lv.String(), Label: cat.Text(lang, "level."+lv.String()),
			Hint: cat.Text(lang, "demo.level_hint."+lv.String()), Checked: a.level == lv.String(),
		})
	}
	sess, _ := d.s.Current(r)
	v := d.s.view(r, sess, f, "demo.html", data)
	v.Header.Test = true
	v.Errors = errs
	if len(errs) > 0 {
		v.Status = http.StatusUnprocessableEntity
	}
	if d.s.passkeys != nil {
		v.Scripts = []string{"/static/passkey.js"}
	}
	d.s.render(w, r, v)
}

// submit serves POST /login/demo.
func (d *Demo) submit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := d.s.flowForm(w, r)
		if !ok {
			return
		}
		// The address first: a typed identity number is checked against the
		// register, which must not be probed without bound.
		if ok, wait := d.s.limits.allow(addressKey(r)); !ok {
			d.s.tooMany(w, r, wait)
			return
		}
		a := demoAnswers{person: r.PostForm.Get("person"), typed: strings.TrimSpace(r.PostForm.Get("id")), level: r.PostForm.Get("level")}
		var errs []web.FieldError
		person, err := d.person(r, a)
		if err != nil {
			field, key := "person-0", "demo.error.choose"
			if a.person == "typed" {
				field, key = "id", "demo.error.id"
				if errors.Is(err, errUnknownPerson) {
					key = "demo.error.unknown"
				}
			}
			errs = append(errs, web.FieldError{Field: field, Key: key})
		}
		level := authz.Level(0)
		for _, lv := range demoLevels {
			if lv.String() == a.level && lv >= f.Level {
				level = lv
			}
		}
		if level == 0 {
			errs = append(errs, web.FieldError{Field: "level-0", Key: "demo.error.level"})
		}
		if len(errs) > 0 {
			d.render(w, r, f, a, errs)
			return
		}
		if ok, wait := d.s.limits.allow(d.s.personLimit(person)); !ok {
			d.s.tooMany(w, r, wait)
			return
		}
		next, err := d.s.Authenticated(w, r, f, Proof{Person: person, Level: level, AMR: []string{"user"}, Method: demoMethodID, Test: true})
		if err != nil {
			d.s.log.ErrorContext(r.Context(), "login: demo eID", "error", err)
			d.s.Failed(w, r, f, idp.Cancelled, "The login failed.")
			return
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

var errUnknownPerson = errors.New("login: no such person in the register")

// person returns the person the answers name, who must be in the register.
func (d *Demo) person(r *http.Request, a demoAnswers) (delegation.PartyID, error) {
	var id delegation.PartyID
	if a.person == "typed" {
		parsed, err := d.ids.ParsePerson(strings.ReplaceAll(a.typed, " ", ""))
		if err != nil {
			return "", err
		}
		id = parsed
	} else {
		i, err := strconv.Atoi(a.person)
		if err != nil || i < 0 || i >= len(d.people) {
			return "", errors.New("login: no person chosen")
		}
		id = d.people[i].ID
	}
	p, err := d.s.people.Person(r.Context(), id)
	if err != nil {
		return "", errUnknownPerson
	}
	if p.DeceasedOn(delegation.Today(d.s.now())) {
		return "", errUnknownPerson
	}
	return id, nil
}
