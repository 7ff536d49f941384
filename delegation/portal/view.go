package portal

import (
	"slices"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// What the pages show of records, shared by the lists and the detail pages.

// status is a record's state as a page shows it: a text and the class of its
// tag (active, pending, ended).
type status struct {
	Text  string
	Class string
}

// fullmaktStatus is a fullmakt's state today.
func (p *page) fullmaktStatus(f delegation.Fullmakt) status {
	st := f.StateOn(p.today)
	class := "ended"
	switch st {
	case delegation.StatusActive:
		class = "active"
	case delegation.StatusPending:
		class = "pending"
	}
	return status{Text: p.T("portal.status." + string(st)), Class: class}
}

// requestStatus is a request's state.
func (p *page) requestStatus(r delegation.Request) status {
	class := "ended"
	switch r.Status {
	case delegation.RequestPending:
		class = "waiting"
	case delegation.RequestApproved:
		class = "active"
	}
	return status{Text: p.T("portal.request_status." + string(r.Status)), Class: class}
}

// consentStatus is a consent's state today.
func (p *page) consentStatus(c delegation.Consent) status {
	switch {
	case c.InForceOn(p.today):
		return status{Text: p.T("portal.consent_status.active"), Class: "active"}
	case c.Status == delegation.ConsentActive:
		return status{Text: p.T("portal.consent_status.expired"), Class: "ended"}
	}
	return status{Text: p.T("portal.consent_status." + string(c.Status)), Class: "ended"}
}

// period says when something applies: "1.1.2026 – 31.12.2026", "from 1.1.2026
// until revoked".
func (p *page) period(per delegation.Period) string {
	from := per.From
	switch {
	case from.IsZero() && per.To.IsZero():
		return p.T("portal.period.open")
	case per.To.IsZero():
		return p.T("portal.period.from", p.date(from))
	case from.IsZero():
		return p.T("portal.period.until", p.date(per.To))
	}
	return p.T("portal.period.between", p.date(from), p.date(per.To))
}

// retained reports whether a record that ended at end is still shown: ended
// records stay visible, marked, for the retention period (15 months).
func (p *page) retained(end time.Time) bool {
	return end.IsZero() || p.now.Sub(end) < p.s.cfg.Retention
}

// fullmaktShown reports whether a fullmakt belongs on the lists: in force or
// about to be, or ended within the retention period.
func (p *page) fullmaktShown(f delegation.Fullmakt) bool {
	if !f.EndedAt.IsZero() {
		return p.retained(f.EndedAt)
	}
	if f.StateOn(p.today) == delegation.StatusExpired {
		return p.retained(f.Period.To.AddDays(1).Start())
	}
	return true
}

// scopeSummary names what a scope covers in one line: its areas and services,
// and the actions when it is limited to some.
func (p *page) scopeSummary(sc delegation.Scope) string {
	var names []string
	for _, a := range sc.Areas {
		names = append(names, p.areaName(a))
	}
	for _, svc := range sc.Services {
		names = append(names, p.serviceName(svc))
	}
	s := strings.Join(names, ", ")
	if len(sc.Actions) > 0 {
		var acts []string
		for _, a := range sc.Actions {
			acts = append(acts, strings.ToLower(p.actionName(a)))
		}
		s = p.T("portal.scope.only_actions", s, strings.Join(acts, ", "))
	}
	return s
}

// parentOf reports whether the visitor has parental responsibility today for
// child, who is a minor: the parent sees, and may revoke, the child's
// fullmakter and sees who acted for the child.
func (p *page) parentOf(child delegation.PartyID) bool {
	c, ok := p.person(child)
	if !ok || !c.MinorOn(p.today) {
		return false
	}
	rel, err := p.s.store.Relations(p.r.Context(), p.v.Person, child)
	if err != nil {
		p.logError("read relations", err)
		return false
	}
	return slices.ContainsFunc(rel.Parental, func(r delegation.ParentalResponsibility) bool { return r.ActiveOn(p.today) })
}

// relations returns the register's relations of the visitor to the grantor
// (parental responsibilities, guardianships), for delegation.MayEnd and
// delegation.GuardianMayEnd.
func (p *page) relations(grantor delegation.PartyID) delegation.Relations {
	rel, err := p.s.store.Relations(p.r.Context(), p.v.Person, grantor)
	if err != nil {
		p.logError("read relations", err)
		return delegation.Relations{}
	}
	return rel
}

// guardianMatters names the matters of the visitor's guardianship of f's
// grantor that let them see f ("economic matters"); "" when none does: a
// guardian sees a fullmakt only when the guardianship is in force today and its
// matters cover every service the fullmakt reaches (a guardian for economic
// matters does not see a fullmakt for health).
func (p *page) guardianMatters(f delegation.Fullmakt) string {
	grantor, ok := p.person(f.Grantor)
	if !ok {
		return ""
	}
	reach := guardianReach(p.pack.Catalogue, f.Scope)
	for _, g := range p.relations(f.Grantor).Guardianships {
		if delegation.GuardianMaySee(f, p.v.Person, grantor, []delegation.Guardianship{g}, reach, p.today) {
			return p.guardianshipScope(g.Scope)
		}
	}
	return ""
}

// mayView reports whether the visitor may see a fullmakt: its grantor, its
// proxy, whoever passed it on, a parent of its minor grantor, or a guardian of
// its grantor within the guardianship's matters.
func (p *page) mayView(f delegation.Fullmakt) bool {
	me := p.v.Person
	return me == f.Grantor || me == f.Proxy || (f.DelegatedBy != "" && me == f.DelegatedBy) || p.parentOf(f.Grantor) || p.guardianMatters(f) != ""
}
