package portal

import (
	"cmp"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/web"
)

// The overview (GET / for a logged-in person): requests waiting for me, the
// fullmakter I have given and received, my children and wards as the registers
// show them, the requests I have sent, and how many consents I have given.

// overviewData is the overview page's data. Every list is newest first.
type overviewData struct {
	Waiting  []overviewRequest
	Given    []overviewFullmakt
	Received []overviewFullmakt
	People   []overviewPerson
	Sent     []overviewRequest
	// GivenEnded and ReceivedEnded are set when the list shows an ended
	// fullmakt: the page says how long ended ones stay.
	GivenEnded, ReceivedEnded bool
	Months                    int
	// Consents counts the consents in force today, ConsentsShown those on the
	// consents page.
	Consents      int
	ConsentsShown int
}

// overviewFullmakt is a fullmakt on a list: the other person, what it covers,
// when, and its state.
// Its texts are whole sentences, so that one template (fullmakt-item, in
// _records.html) shows every list of them.
type overviewFullmakt struct {
	Href   string // "" for none: the fullmakt's page is not the visitor's to open
	Title  string // "To Ingrid Hansen", "From Astrid Hansen"
	Note   string // a fullmakt passed on: by whom, or on whose behalf
	Covers string // "Covers: Tax"
	When   string // "Period: …"
	Status status
	Ended  string // "Ended 1.2.2026" for an ended one, else ""
}

// The titles of a fullmakt on a list: the other person is its proxy (given) or
// its grantor (received).
const (
	titleGiven    = "portal.overview.given_to"
	titleReceived = "portal.overview.received_from"
)

// overviewRequest is a request on a list.
type overviewRequest struct {
	Href    string
	Name    string // the requester on "waiting", the person asked on "sent"
	Scope   string
	Period  string
	Sent    string
	Status  status
	Outcome string // "Answered 1.2.2026" once answered
}

// overviewPerson is a child or ward on the overview.
type overviewPerson struct {
	Href      string
	Name      string
	Relations []string
}

func (s *Service) overviewPage(p *page) {
	ctx := p.r.Context()
	me := p.v.Person
	d := overviewData{Months: p.retentionMonths()}

	to, err := s.store.RequestsTo(ctx, me)
	if err != nil {
		p.fail("list requests to the visitor", err)
		return
	}
	for _, r := range newestRequests(to) {
		if r.Status == delegation.RequestPending {
			d.Waiting = append(d.Waiting, p.overviewRequest(r, r.Requester))
		}
	}

	given, err := s.store.FullmakterGivenBy(ctx, me)
	if err != nil {
		p.fail("list fullmakter given", err)
		return
	}
	for _, f := range newestFullmakter(given) {
		if !p.fullmaktShown(f) {
			continue
		}
		item := p.overviewFullmakt(f, f.Proxy, titleGiven)
		if f.Grantor != me {
			item.Note = p.T("portal.overview.passed_on_for", p.name(f.Grantor))
		}
		d.Given = append(d.Given, item)
		d.GivenEnded = d.GivenEnded || item.Ended != ""
	}

	received, err := s.store.FullmakterReceivedBy(ctx, me)
	if err != nil {
		p.fail("list fullmakter received", err)
		return
	}
	for _, f := range newestFullmakter(received) {
		if !p.fullmaktShown(f) {
			continue
		}
		item := p.overviewFullmakt(f, f.Grantor, titleReceived)
		if f.DelegatedBy != "" {
			item.Note = p.T("portal.overview.passed_on_by", p.name(f.DelegatedBy))
		}
		d.Received = append(d.Received, item)
		d.ReceivedEnded = d.ReceivedEnded || item.Ended != ""
	}

	deps, err := p.dependants()
	if err != nil {
		p.fail("list children and wards", err)
		return
	}
	for _, dep := range deps {
		d.People = append(d.People, overviewPerson{
			Href: "/people/" + s.ref(me, dep.Person.ID), Name: dep.Person.Name, Relations: p.dependantRelations(dep),
		})
	}

	from, err := s.store.RequestsFrom(ctx, me)
	if err != nil {
		p.fail("list requests from the visitor", err)
		return
	}
	for _, r := range newestRequests(from) {
		if r.Status == delegation.RequestPending || p.retained(r.AnsweredAt) {
			d.Sent = append(d.Sent, p.overviewRequest(r, r.Grantor))
		}
	}

	consents, err := s.store.ConsentsByParty(ctx, me)
	if err != nil {
		p.fail("list consents", err)
		return
	}
	for _, c := range consents {
		if c.InForceOn(p.today) {
			d.Consents++
		}
		if p.consentShown(c) {
			d.ConsentsShown++
		}
	}

	p.render(0, "overview.html", secOverview, d)
}

// overviewFullmakt is f on a list, titled with the message title names other.
func (p *page) overviewFullmakt(f delegation.Fullmakt, other delegation.PartyID, title string) overviewFullmakt {
	item := overviewFullmakt{
		Href: "/fullmakter/" + url.PathEscape(f.ID), Title: p.T(title, p.name(other)),
		Covers: p.T("portal.overview.covers", p.scopeSummary(f.Scope)),
		When:   p.T("portal.overview.period", p.period(f.Period)), Status: p.fullmaktStatus(f),
	}
	switch st := f.StateOn(p.today); {
	case !f.EndedAt.IsZero():
		item.Ended = p.T("portal.overview.ended_on", p.dayOf(f.EndedAt))
	case st == delegation.StatusExpired:
		item.Ended = p.T("portal.overview.ended_on", p.date(f.Period.To))
	}
	return item
}

// overviewRequest is r on a list, naming other.
func (p *page) overviewRequest(r delegation.Request, other delegation.PartyID) overviewRequest {
	item := overviewRequest{
		Href: "/requests/" + url.PathEscape(r.ID), Name: p.name(other), Scope: p.scopeSummary(r.Scope),
		Period: p.period(r.Period), Sent: p.dayOf(r.CreatedAt), Status: p.requestStatus(r),
	}
	if !r.AnsweredAt.IsZero() {
		item.Outcome = p.T("portal.overview.answered_on", p.dayOf(r.AnsweredAt))
	}
	return item
}

// dayOf formats the Oslo day of an instant: 31.12.2027.
func (p *page) dayOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return p.date(delegation.Today(t))
}

// retentionMonths is the retention period in whole months, as the pages name it.
func (p *page) retentionMonths() int {
	return int(math.Round(p.s.cfg.Retention.Hours() / 24 / 30.44))
}

// newestFullmakter returns fs newest first by CreatedAt.
func newestFullmakter(fs []delegation.Fullmakt) []delegation.Fullmakt {
	fs = slices.Clone(fs)
	slices.SortStableFunc(fs, func(a, b delegation.Fullmakt) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return fs
}

// newestRequests returns rs newest first by CreatedAt.
func newestRequests(rs []delegation.Request) []delegation.Request {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b delegation.Request) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return rs
}

// dependant is a child or ward of the visitor as the registers show them
// today: Parental holds the visitor's parental responsibilities in force for a
// minor child, Guardianships the visitor's guardianships in force for a living
// ward. At least one of them is set.
type dependant struct {
	Person        delegation.Person
	Parental      []delegation.ParentalResponsibility
	Guardianships []delegation.Guardianship
}

// child reports whether the visitor has parental responsibility for the
// dependant today (who is then a minor).
func (d dependant) child() bool { return len(d.Parental) > 0 }

// dependants lists the visitor's children and wards from the registers,
// ordered by name: nobody applies for a right the registers already give.
func (p *page) dependants() ([]dependant, error) {
	rels, err := p.s.store.Represented(p.r.Context(), p.v.Person)
	if err != nil {
		return nil, err
	}
	var out []dependant
	for _, pr := range rels {
		if pr.Party.Kind() != delegation.KindPerson ||
			(len(pr.Relations.Parental) == 0 && len(pr.Relations.Guardianships) == 0) {
			continue
		}
		who, ok := p.person(pr.Party)
		if !ok {
			continue
		}
		d := dependant{Person: who}
		if who.MinorOn(p.today) && !who.DeceasedOn(p.today) {
			for _, r := range pr.Relations.Parental {
				if r.Parent == p.v.Person && r.Child == who.ID && r.ActiveOn(p.today) {
					d.Parental = append(d.Parental, r)
				}
			}
		}
		if !who.DeceasedOn(p.today) {
			for _, g := range pr.Relations.Guardianships {
				if g.Guardian == p.v.Person && g.Ward == who.ID && g.ActiveOn(p.today) {
					d.Guardianships = append(d.Guardianships, g)
				}
			}
		}
		if len(d.Parental) > 0 || len(d.Guardianships) > 0 {
			out = append(out, d)
		}
	}
	slices.SortStableFunc(out, func(a, b dependant) int { return cmp.Compare(a.Person.Name, b.Person.Name) })
	return out, nil
}

// dependantByRef finds the child or ward whose ref (Service.ref) is ref.
func (p *page) dependantByRef(ref string) (dependant, bool, error) {
	if ref == "" {
		return dependant{}, false, nil
	}
	deps, err := p.dependants()
	if err != nil {
		return dependant{}, false, err
	}
	for _, d := range deps {
		if p.s.ref(p.v.Person, d.Person.ID) == ref {
			return d, true, nil
		}
	}
	return dependant{}, false, nil
}

// dependantRelations says in plain words why the visitor may act for d: "Parent
// (joint responsibility) until 5.8.2027, when Ola turns 18", "Guardian for
// economic matters, with no end date".
func (p *page) dependantRelations(d dependant) []string {
	var out []string
	for _, r := range d.Parental {
		kind := p.T("portal.people.custody." + string(r.Kind))
		adult := d.Person.BirthDate.AddYears(delegation.AgeOfMajority)
		if !r.CeasedAt.IsZero() && r.CeasedAt.Before(adult) {
			out = append(out, p.T("portal.people.parent_until", kind, p.date(r.CeasedAt)))
			continue
		}
		out = append(out, p.T("portal.people.parent_until_adult", kind, p.date(adult), d.Person.Name))
	}
	for _, g := range d.Guardianships {
		scope := p.guardianshipScope(g.Scope)
		if g.Period.To.IsZero() {
			out = append(out, p.T("portal.people.guardian_open", scope))
		} else {
			out = append(out, p.T("portal.people.guardian_until", scope, p.date(g.Period.To)))
		}
	}
	return out
}

// guardianshipScope names a guardianship's matters: "economic and personal
// matters".
func (p *page) guardianshipScope(scope []string) string {
	var names []string
	for _, s := range scope {
		key := "portal.people.matters." + s
		if p.s.pages.Catalogue().Has(web.EN, key) {
			names = append(names, p.T(key))
		} else {
			names = append(names, s)
		}
	}
	return p.andList(names)
}

// andList joins words as a sentence does: "a", "a and b", "a, b and c".
func (p *page) andList(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return p.T("portal.overview.and_list", strings.Join(words[:len(words)-1], ", "), words[len(words)-1])
}
