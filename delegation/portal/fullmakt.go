package portal

import (
	"errors"
	"net/http"

	"github.com/fullmakt/fullmakt/delegation"
)

// One fullmakt: who gave it to whom, everything it unlocks, for how long, how
// it was confirmed; revoking it (the grantor, whoever passed it on, a parent of
// a minor grantor, a guardian of the grantor within the guardianship's
// matters) and giving it up (the proxy), with immediate effect.

// fullmaktData is the data of fullmakt.html and fullmakt_end.html.
type fullmaktData struct {
	ID                         string
	Grantor, GrantorNumber     string
	Proxy, ProxyNumber         string
	DelegatedBy                string // who passed it on, for a sub-delegated one
	Status                     status
	State                      delegation.FullmaktStatus // as stored: active, revoked or renounced
	Period                     string
	Scope                      scopeView
	Subdelegate                bool
	Level                      string // the level it was confirmed at; empty when not known
	Origin                     string
	Created, CreatedBy         string // CreatedBy only when not the grantor
	Ended, EndedBy             string
	IsGrantor, IsProxy, Parent bool
	// Guardian names the matters of the visitor's guardianship of the grantor,
	// when that is why the visitor sees it.
	Guardian string
	// End is how the visitor may end it: "revoke", "renounce" or empty.
	End string
}

// loadFullmakt returns the fullmakt named in the URL if the visitor may see
// it; otherwise it has shown the not-found page, the same for both.
func (p *page) loadFullmakt() (delegation.Fullmakt, bool) {
	f, err := p.s.store.Fullmakt(p.r.Context(), p.r.PathValue("id"))
	switch {
	case errors.Is(err, delegation.ErrNotFound):
		p.notFound()
		return delegation.Fullmakt{}, false
	case err != nil:
		p.fail("read a fullmakt", err)
		return delegation.Fullmakt{}, false
	case !p.mayView(f):
		p.notFound()
		return delegation.Fullmakt{}, false
	}
	return f, true
}

// mayEnd asks the domain whether and how the visitor may end f: as grantor,
// proxy, delegator or parent (delegation.MayEnd), else as guardian
// (delegation.GuardianMayEnd). A fullmakt whose period is over has ended by
// itself: there is nothing to revoke.
func (p *page) mayEnd(f delegation.Fullmakt) (delegation.EndFullmakt, error) {
	if f.StateOn(p.today) == delegation.StatusExpired {
		return delegation.EndFullmakt{}, errf("fullmakt %s has expired: %w", f.ID, delegation.ErrConflict)
	}
	grantor, _ := p.person(f.Grantor)
	if p.v.Person == f.Grantor || p.v.Person == f.Proxy || p.v.Person == f.DelegatedBy {
		return delegation.MayEnd(f, p.v.Person, grantor, nil, p.now)
	}
	rel := p.relations(f.Grantor)
	end, err := delegation.MayEnd(f, p.v.Person, grantor, rel.Parental, p.now)
	if errors.Is(err, delegation.ErrForbidden) {
		return delegation.GuardianMayEnd(f, p.v.Person, grantor, rel.Guardianships, guardianReach(p.pack.Catalogue, f.Scope), p.now)
	}
	return end, err
}

// levelName names the level of assurance of an acr value; "" when unknown.
func (p *page) levelName(acr string) string {
	l, ok := p.pack.ACRs().Level(acr)
	if !ok {
		return ""
	}
	return p.T("layout.level_" + l.String())
}

// fullmaktData describes f for the visitor.
func (p *page) fullmaktData(f delegation.Fullmakt) fullmaktData {
	me := p.v.Person
	d := fullmaktData{
		ID: f.ID, Grantor: p.name(f.Grantor), GrantorNumber: shownNumber(f.Grantor),
		Proxy: p.name(f.Proxy), ProxyNumber: shownNumber(f.Proxy),
		Status: p.fullmaktStatus(f), State: f.Status, Period: p.period(f.Period), Scope: p.scopeView(f.Scope),
		Subdelegate: f.MaySubdelegate, Level: p.levelName(f.ConfirmedACR),
		Origin: p.T("portal.fullmakt.origin_" + string(f.Origin)), Created: p.clock(f.CreatedAt),
		IsGrantor: me == f.Grantor, IsProxy: me == f.Proxy,
	}
	if !d.IsGrantor && !d.IsProxy && me != f.DelegatedBy {
		d.Parent = p.parentOf(f.Grantor)
		if !d.Parent {
			d.Guardian = p.guardianMatters(f)
		}
	}
	if f.DelegatedBy != "" {
		d.DelegatedBy = p.name(f.DelegatedBy)
	}
	if f.CreatedBy != "" && f.CreatedBy != f.Grantor {
		d.CreatedBy = p.name(f.CreatedBy)
	}
	if !f.EndedAt.IsZero() {
		d.Ended, d.EndedBy = p.clock(f.EndedAt), p.name(f.EndedBy)
	}
	if end, err := p.mayEnd(f); err == nil {
		d.End = "revoke"
		if end.Status == delegation.StatusRenounced {
			d.End = "renounce"
		}
	}
	return d
}

// fullmaktView is fullmakt.html's data: the fullmakt and its banners.
type fullmaktView struct {
	fullmaktData
	// ShowGiven is the banner after giving it (to the grantor), ShowEnded after
	// ending it.
	ShowGiven, ShowEnded bool
	GivenPending         bool // the period begins later: GivenFrom says when
	GivenFrom            string
}

// fullmaktPage serves GET /fullmakter/{id}.
func (s *Service) fullmaktPage(p *page) {
	f, ok := p.loadFullmakt()
	if !ok {
		return
	}
	v := fullmaktView{fullmaktData: p.fullmaktData(f)}
	q := p.r.URL.Query()
	if q.Get("given") == "1" && v.IsGrantor && f.Status == delegation.StatusActive {
		v.ShowGiven = true
		if f.StateOn(p.today) == delegation.StatusPending {
			v.GivenPending, v.GivenFrom = true, p.date(f.Period.From)
		}
	}
	v.ShowEnded = q.Get("ended") == "1" && !f.EndedAt.IsZero() && f.EndedBy == p.v.Person
	p.render(http.StatusOK, "fullmakt.html", secOverview, v)
}

// endPage serves GET /fullmakter/{id}/end: what ending it means, and the
// button that does it.
func (s *Service) endPage(p *page) {
	f, ok := p.loadFullmakt()
	if !ok {
		return
	}
	if _, err := p.mayEnd(f); err != nil {
		p.endRefused(err)
		return
	}
	p.render(http.StatusOK, "fullmakt_end.html", secOverview, p.fullmaktData(f))
}

// endRefused shows why the visitor cannot end a fullmakt they may see.
func (p *page) endRefused(err error) {
	switch {
	case errors.Is(err, delegation.ErrConflict):
		p.errorPage(http.StatusConflict, "portal.fullmakt.already_ended")
	case errors.Is(err, delegation.ErrForbidden):
		p.errorPage(http.StatusForbidden, "portal.fullmakt.may_not_end")
	default:
		p.fail("end a fullmakt", err)
	}
}

// endForm serves POST /fullmakter/{id}/end: revoked or given up at once; the
// change sequence tells every service.
func (s *Service) endForm(p *page) {
	f, ok := p.loadFullmakt()
	if !ok {
		return
	}
	end, err := p.mayEnd(f)
	if err != nil {
		p.endRefused(err)
		return
	}
	if _, err := p.s.store.EndFullmakt(p.r.Context(), end); err != nil {
		p.endRefused(err)
		return
	}
	p.s.changed()
	p.redirect("/fullmakter/" + f.ID + "?ended=1")
}
