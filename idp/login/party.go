package login

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/web"
)

// relationReader is what the party picker reads, when the register behind People
// offers it, to say more of a relation than the decision names: a guardianship's
// scope and last day, a fullmakt's last day. delegation.Store satisfies it.
// Without it the notes are shorter ("You are their guardian").
type relationReader interface {
	Relations(ctx context.Context, actor, party delegation.PartyID) (delegation.Relations, error)
}

var _ relationReader = delegation.Store(nil)

// partyChoice is one party the person may act for, as the picker lists it.
type partyChoice struct {
	// ID is the party; empty for the person themself.
	ID delegation.PartyID
	// Name is the person's or the organisation's name.
	Name string
	// Number is the identity number as shown: masked for a person, in full for
	// an organisation (organisation numbers are public).
	Number string
	Org    bool
	Self   bool
	// Relation is the relation the decision engine allowed by; nil for self.
	Relation *authz.Relation
	// Note says why, in plain words.
	Note string
}

// partyData is the party picker's data.
type partyData struct {
	Flow   string
	Client string
	// List names the list the page showed (listTag): a choice posted from a list
	// that has changed since is not taken.
	List    string
	Choices []partyOption
}

// partyOption is one radio button of the picker. The value posted is its index.
type partyOption struct {
	Name   string
	Number string
	Org    bool
	Self   bool
	Note   string
}

// partyPage serves GET /login/party?flow=: who are you acting for?
func (s *Service) partyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		sess, ok := s.partySession(w, r, f)
		if !ok {
			return
		}
		choices, ok := s.choicesOrError(w, r, sess, f)
		if !ok {
			return
		}
		if len(choices) == 1 {
			// Nobody else to choose: the person acts for themself.
			f.Chosen, f.Party = true, ""
			if err := s.saveFlow(r.Context(), f); err != nil {
				s.log.ErrorContext(r.Context(), "login: save the party choice", "error", err)
				s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
				return
			}
			s.advance(w, r, f)
			return
		}
		s.renderParty(w, r, sess, f, choices, nil)
	})
}

// partyChoose serves POST /login/party: the person chose. The posted value is an
// index into the list, which is worked out again here: only a party the decision
// engine allows now can be chosen.
func (s *Service) partyChoose() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flowForm(w, r)
		if !ok {
			return
		}
		sess, ok := s.partySession(w, r, f)
		if !ok {
			return
		}
		choices, ok := s.choicesOrError(w, r, sess, f)
		if !ok {
			return
		}
		i, err := strconv.Atoi(r.PostForm.Get("party"))
		switch {
		case err != nil || i < 0 || i >= len(choices):
			s.renderParty(w, r, sess, f, choices, []web.FieldError{{Field: "party-0", Key: "party.error.choose"}})
			return
		case !hmac.Equal([]byte(r.PostForm.Get("list")), []byte(s.listTag(choices))):
			// Someone was added or left the list since the page was shown: the
			// index may name another party now.
			s.renderParty(w, r, sess, f, choices, []web.FieldError{{Field: "party-0", Key: "party.error.changed"}})
			return
		}
		f.Chosen, f.Party = true, choices[i].ID
		if err := s.saveFlow(r.Context(), f); err != nil {
			s.log.ErrorContext(r.Context(), "login: save the party choice", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		http.Redirect(w, r, flowURL("/login/next", f), http.StatusSeeOther)
	})
}

// partySession returns the session of a flow at the party picker. Without one,
// or when the flow has nothing to choose (any more), it sends the browser on to
// the flow's next page and returns false.
func (s *Service) partySession(w http.ResponseWriter, r *http.Request, f *Flow) (*Session, bool) {
	sess, ok := s.session(r)
	if !ok || f.Login == nil || !f.Login.Represent || f.Chosen || s.needsAuthentication(f, sess) {
		http.Redirect(w, r, flowURL("/login/next", f), http.StatusSeeOther)
		return nil, false
	}
	return sess, true
}

// choicesOrError works out the choices, or shows the error page.
func (s *Service) choicesOrError(w http.ResponseWriter, r *http.Request, sess *Session, f *Flow) ([]partyChoice, bool) {
	choices, err := s.partyChoices(r.Context(), sess, f.Login.ClientID, web.Negotiate(r))
	if err != nil {
		s.log.ErrorContext(r.Context(), "login: list the parties", "error", err)
		s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
		return nil, false
	}
	return choices, true
}

// renderParty shows the picker, with errs and status 422 when there are any.
func (s *Service) renderParty(w http.ResponseWriter, r *http.Request, sess *Session, f *Flow, choices []partyChoice, errs []web.FieldError) {
	data := partyData{Flow: f.ID, Client: clientName(f.Login), List: s.listTag(choices)}
	for _, c := range choices {
		data.Choices = append(data.Choices, partyOption{Name: c.Name, Number: c.Number, Org: c.Org, Self: c.Self, Note: c.Note})
	}
	v := s.view(r, sess, f, "party.html", data)
	v.Errors = errs
	if len(errs) > 0 {
		v.Status = http.StatusUnprocessableEntity
	}
	s.render(w, r, v)
}

// partyChoices lists whom the person may act for at the client's request: the
// person themself first, then every party the decision engine allows now (not
// after a step-up) for the first action of some service the client may ask about
// (as the OAuth server checks a party chosen at login), once each, with the
// relation of the first service that allows. People come before organisations;
// children and wards before those who gave a fullmakt; each group by name.
func (s *Service) partyChoices(ctx context.Context, sess *Session, clientID string, lang web.Lang) ([]partyChoice, error) {
	self := partyChoice{Self: true, Name: sess.Name, Number: shownNumber(sess.Person)}
	client, ok := s.clients.Clients().Get(clientID)
	pack := s.decider.Pack()
	if !ok || pack == nil || pack.Catalogue == nil {
		return []partyChoice{self}, nil
	}
	now := s.now()
	seen := map[delegation.PartyID]bool{sess.Person: true}
	var others []partyChoice
	for _, svc := range pack.Catalogue.Services {
		if !client.MayAskAbout(svc.ID) || len(svc.Actions) == 0 {
			continue
		}
		parties, err := s.decider.Parties(ctx, authz.Request{
			Actor: sess.Person, ACR: sess.Level.ACR(), AuthTime: sess.AuthTime, Now: now,
			Service: svc.ID, Action: svc.Actions[0],
		})
		if err != nil {
			return nil, fmt.Errorf("login: the parties of service %s: %w", svc.ID, err)
		}
		for _, p := range parties {
			if p.ID == "" || seen[p.ID] || !p.Decision.Allow {
				continue
			}
			seen[p.ID] = true
			others = append(others, choiceOf(p))
		}
	}
	cat := s.pages.Catalogue()
	today := delegation.Today(now)
	reader, canRead := s.people.(relationReader)
	for i := range others {
		c := &others[i]
		var facts delegation.Relations
		if kind := relationKind(c.Relation); canRead && (kind == delegation.RelGuardian || kind == delegation.RelFullmakt) {
			rels, err := reader.Relations(ctx, sess.Person, c.ID)
			if err != nil {
				// The note is shorter without the record; the choice stands.
				s.log.WarnContext(ctx, "login: read a relation for the party picker", "error", err)
			}
			facts = rels
		}
		c.Note = relationNote(cat, lang, c.Relation, facts, today)
	}
	sortChoices(others, lang)
	return append([]partyChoice{self}, others...), nil
}

// choiceOf makes the choice of a party the decision engine allows.
func choiceOf(p pdp.Party) partyChoice {
	c := partyChoice{ID: p.ID, Number: shownNumber(p.ID), Relation: p.Decision.Relation}
	switch {
	case p.Organization != nil:
		c.Name, c.Org = p.Organization.Name, true
	case p.Person != nil:
		c.Name = p.Person.Name
	}
	if p.ID.Kind() == delegation.KindOrganization {
		c.Org = true
	}
	if c.Name == "" {
		c.Name = c.Number
	}
	return c
}

// listTag names a list of choices (its parties in order) without showing them:
// an HMAC under the login's key.
func (s *Service) listTag(choices []partyChoice) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("party-list"))
	for _, c := range choices {
		m.Write([]byte{0})
		m.Write([]byte(c.ID))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// choiceRank orders the groups of the list: children and wards, then those who
// gave a fullmakt, then other people, then organisations.
func choiceRank(c partyChoice) int {
	switch {
	case c.Self:
		return -1
	case c.Org:
		return 3
	}
	switch relationKind(c.Relation) {
	case delegation.RelParent, delegation.RelGuardian:
		return 0
	case delegation.RelFullmakt:
		return 1
	}
	return 2
}

// sortChoices orders choices by group, then by name as the page's language sorts
// names (Æ, Ø and Å after Z in Norwegian), then by party.
func sortChoices(choices []partyChoice, lang web.Lang) {
	tag := language.Make(string(lang))
	if lang == web.NB {
		// x/text's collator does not match "nb" to its Norwegian tailoring (it
		// sorts Æ with A); Nynorsk's is the same alphabet.
		tag = language.Make(string(web.NN))
	}
	col := collate.New(tag, collate.IgnoreCase)
	slices.SortStableFunc(choices, func(a, b partyChoice) int {
		return cmp.Or(
			cmp.Compare(choiceRank(a), choiceRank(b)),
			col.CompareString(a.Name, b.Name),
			cmp.Compare(a.ID, b.ID),
		)
	})
}

// relationKind is the kind of rel, or "" for none.
func relationKind(rel *authz.Relation) delegation.RelationKind {
	if rel == nil {
		return ""
	}
	return rel.Kind
}

// relationNote says in plain words why the person may act for a party, from
// the relation the decision engine allowed by and, when the register gave them,
// the records behind it (facts): a guardianship's scope and last day, the last
// day of a fullmakt.
func relationNote(cat *web.Catalogue, lang web.Lang, rel *authz.Relation, facts delegation.Relations, today delegation.Date) string {
	switch relationKind(rel) {
	case delegation.RelSelf:
		return cat.Text(lang, "relation.self")
	case delegation.RelParent:
		return cat.Text(lang, "relation.parent")
	case delegation.RelGuardian:
		scope, until := guardianshipOf(facts.Guardianships, today)
		switch {
		case len(scope) > 0 && !until.IsZero():
			return cat.Text(lang, "relation.guardian_scope_until", scopeText(cat, lang, scope), dateText(until))
		case len(scope) > 0:
			return cat.Text(lang, "relation.guardian_scope", scopeText(cat, lang, scope))
		case !until.IsZero():
			return cat.Text(lang, "relation.guardian_until", dateText(until))
		}
		return cat.Text(lang, "relation.guardian")
	case delegation.RelFullmakt:
		key := "relation.fullmakt"
		if rel.Depth > 0 {
			key = "relation.fullmakt_passed"
		}
		for _, fm := range facts.Fullmakter {
			if fm.ID == rel.ID && rel.ID != "" && !fm.Period.To.IsZero() {
				return cat.Text(lang, key+"_until", dateText(fm.Period.To))
			}
		}
		return cat.Text(lang, key)
	case delegation.RelRole:
		return cat.Text(lang, "relation.role", roleText(cat, lang, rel.Role))
	case delegation.RelConsent:
		return cat.Text(lang, "relation.consent")
	}
	return cat.Text(lang, "relation.other")
}

// guardianshipOf returns the scope of the guardianships in force today (of all
// of them, if none is) and their last day: zero when one has no end.
func guardianshipOf(gs []delegation.Guardianship, today delegation.Date) (scope []string, until delegation.Date) {
	var active []delegation.Guardianship
	for _, g := range gs {
		if g.ActiveOn(today) {
			active = append(active, g)
		}
	}
	if len(active) == 0 {
		active = gs
	}
	noEnd := false
	for _, g := range active {
		for _, sc := range g.Scope {
			if sc != "" && !slices.Contains(scope, sc) {
				scope = append(scope, sc)
			}
		}
		if g.Period.To.IsZero() {
			noEnd = true
		} else if g.Period.To.After(until) {
			until = g.Period.To
		}
	}
	if noEnd {
		// One of them has no end: neither has the guardianship.
		until = delegation.Date{}
	}
	return scope, until
}

// scopeText names a guardianship's scope: "economic and personal".
func scopeText(cat *web.Catalogue, lang web.Lang, scope []string) string {
	words := make([]string, len(scope))
	for i, sc := range scope {
		words[i] = sc
		if key := "relation.scope." + sc; cat.Has(web.EN, key) {
			words[i] = cat.Text(lang, key)
		}
	}
	return listText(cat, lang, words)
}

// roleText names a role in an organisation: "CEO", or the register's name of a
// role the catalogue does not know.
func roleText(cat *web.Catalogue, lang web.Lang, role string) string {
	if key := "relation.role." + role; role != "" && cat.Has(web.EN, key) {
		return cat.Text(lang, key)
	}
	return strings.ReplaceAll(role, "_", " ")
}

// listText joins words as a sentence does: "a", "a and b", "a, b and c".
func listText(cat *web.Catalogue, lang web.Lang, words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	n := len(words)
	return cat.Text(lang, "relation.and", strings.Join(words[:n-1], ", "), words[n-1])
}

// dateText shows a date as Norwegian pages do: 31.12.2027.
func dateText(d delegation.Date) string {
	return fmt.Sprintf("%02d.%02d.%04d", d.Day, int(d.Month), d.Year)
}

// shownNumber is a party's number as the pages show it: a person's masked after
// the birth date ("010170 *****"), an organisation's in full, in groups of three
// ("974 761 076").
func shownNumber(id delegation.PartyID) string {
	s := string(id)
	if id.Kind() == delegation.KindOrganization {
		if len(s) == 9 && strings.Trim(s, "0123456789") == "" {
			return s[:3] + " " + s[3:6] + " " + s[6:]
		}
		return s
	}
	m := id.Masked()
	if i := strings.IndexByte(m, '*'); i > 0 {
		return m[:i] + " " + m[i:]
	}
	return m
}
