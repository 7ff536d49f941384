package portal

import (
	"slices"

	"github.com/fullmakt/fullmakt/delegation"
)

// A child or ward (GET /people/{ref}): what the registers say about the
// visitor's right to act for them. For a minor child under the visitor's
// parental responsibility: the fullmakter the child has given (a parent may
// revoke them, on the fullmakt's page), those the child holds, and who has
// acted for the child. For a ward: the guardianship's matters and period, the
// services it reaches, and the fullmakter the ward has given within its matters
// (a guardian may revoke them, on the fullmakt's page).

// personData is the person page's data.
type personData struct {
	Name      string
	Relations []string
	// Child is set for a minor child under the visitor's parental
	// responsibility.
	Child    bool
	Given    []overviewFullmakt
	Held     []overviewFullmakt
	Activity string // the child's activity page
	AnyEnded bool
	Months   int
	// Wards lists the visitor's guardianships of this person in force today.
	Wards []personWard
	// Ward is set when the visitor is this person's guardian and not their
	// parent: WardGiven lists the fullmakter the ward has given within the
	// guardianships' matters.
	Ward      bool
	WardGiven []overviewFullmakt
}

// personWard is one guardianship on the person page.
type personWard struct {
	Matters  string
	Period   string
	Services []string
}

func (s *Service) personPage(p *page) {
	ref := p.r.PathValue("ref")
	dep, ok, err := p.dependantByRef(ref)
	if err != nil {
		p.fail("list children and wards", err)
		return
	}
	if !ok {
		p.notFound()
		return
	}
	d := personData{Name: dep.Person.Name, Relations: p.dependantRelations(dep), Child: dep.child(), Months: p.retentionMonths()}
	if d.Child {
		ctx := p.r.Context()
		given, err := s.store.FullmakterGivenBy(ctx, dep.Person.ID)
		if err != nil {
			p.fail("list a child's fullmakter", err)
			return
		}
		for _, f := range newestFullmakter(given) {
			if f.Grantor != dep.Person.ID || !p.fullmaktShown(f) {
				continue
			}
			item := p.overviewFullmakt(f, f.Proxy, titleGiven)
			d.Given = append(d.Given, item)
			d.AnyEnded = d.AnyEnded || item.Ended != ""
		}
		held, err := s.store.FullmakterReceivedBy(ctx, dep.Person.ID)
		if err != nil {
			p.fail("list a child's fullmakter", err)
			return
		}
		for _, f := range newestFullmakter(held) {
			if !p.fullmaktShown(f) {
				continue
			}
			// The fullmakt's own page is for its grantor and proxy: a parent of
			// the proxy sees it here, without a link.
			item := p.overviewFullmakt(f, f.Grantor, titleReceived)
			item.Href = ""
			d.Held = append(d.Held, item)
			d.AnyEnded = d.AnyEnded || item.Ended != ""
		}
		d.Activity = "/activity?for=" + ref
	}
	for _, g := range dep.Guardianships {
		d.Wards = append(d.Wards, personWard{
			Matters: p.guardianshipScope(g.Scope), Period: p.guardianshipPeriod(g.Period), Services: p.guardianshipServices(g),
		})
	}
	if !d.Child && len(dep.Guardianships) > 0 {
		d.Ward = true
		given, err := s.store.FullmakterGivenBy(p.r.Context(), dep.Person.ID)
		if err != nil {
			p.fail("list a ward's fullmakter", err)
			return
		}
		for _, f := range newestFullmakter(given) {
			reach := guardianReach(p.pack.Catalogue, f.Scope)
			if f.Grantor != dep.Person.ID || !p.fullmaktShown(f) ||
				!delegation.GuardianMaySee(f, p.v.Person, dep.Person, dep.Guardianships, reach, p.today) {
				continue
			}
			item := p.overviewFullmakt(f, f.Proxy, titleGiven)
			d.WardGiven = append(d.WardGiven, item)
			d.AnyEnded = d.AnyEnded || item.Ended != ""
		}
	}
	p.render(0, "person.html", secOverview, d)
}

// guardianshipPeriod says when a guardianship applies: "1.1.2024 – 31.12.2030",
// "from 1.1.2024, with no end date".
func (p *page) guardianshipPeriod(per delegation.Period) string {
	switch {
	case per.To.IsZero() && per.From.IsZero():
		return p.T("portal.people.period_open")
	case per.To.IsZero():
		return p.T("portal.people.period_from", p.date(per.From))
	}
	return p.period(per)
}

// guardianshipServices names the services of the catalogue a guardianship
// reaches: those whose guardianship scopes meet its scope. Highly personal
// services are never done by a guardian.
func (p *page) guardianshipServices(g delegation.Guardianship) []string {
	var out []string
	for _, svc := range p.pack.Catalogue.Services {
		if svc.HighlyPersonal {
			continue
		}
		if slices.ContainsFunc(svc.GuardianshipScopes, func(s string) bool { return slices.Contains(g.Scope, s) }) {
			out = append(out, p.text(svc.Name, svc.ID))
		}
	}
	return out
}
