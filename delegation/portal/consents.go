package portal

import (
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Consents (GET /consents, /consents/{id}): what the visitor has allowed whom
// to obtain about them, from whom, why and until when, and every time it was
// used; and withdrawing one (GET and POST /consents/{id}/withdraw). Only the
// person who gave a consent sees it: to anyone else it does not exist.

// maxUseScan bounds how much of the visitor's decision log is read to find the
// uses of their consents.
const maxUseScan = 5000

// consentsData is the consents page's data.
type consentsData struct {
	Consents []consentItem
	AnyEnded bool
	Months   int
	// Partial is set when the decision log was too long to count every use.
	Partial bool
}

// consentItem is a consent as the pages show it.
type consentItem struct {
	Href      string
	Data      string // the data set: a service's name
	Recipient string
	Provider  string
	Purpose   string
	Until     string
	Given     string
	Ended     string // "Withdrawn 1.2.2026", or "" while it applies
	Status    status
	OneTime   bool
	Uses      int
	// Active is set while the consent can still be used (and withdrawn).
	Active bool
}

// consentData is one consent's page.
type consentData struct {
	Consent consentItem
	Uses    []consentUse
	Partial bool
	// Withdrawn is set just after the visitor withdrew it.
	Withdrawn bool
	Withdraw  string
}

// consentUse is one decision made through a consent.
type consentUse struct {
	When    string
	WhenISO string
	Who     string
	Service string
	Action  string
	Result  status
}

func (s *Service) consentsPage(p *page) {
	cs, err := s.store.ConsentsByParty(p.r.Context(), p.v.Person)
	if err != nil {
		p.fail("list consents", err)
		return
	}
	cs = slices.DeleteFunc(slices.Clone(cs), func(c delegation.Consent) bool { return !p.consentShown(c) })
	slices.SortStableFunc(cs, func(a, b delegation.Consent) int { return b.CreatedAt.Compare(a.CreatedAt) })
	d := consentsData{Months: p.retentionMonths()}
	if len(cs) > 0 {
		uses := map[string]int{}
		_, done, err := s.walkLog(p.r.Context(), p.v.Person, 0, maxUseScan, func(e delegation.AccessEvent) bool {
			if e.Relation == delegation.RelConsent && e.Allowed {
				uses[e.RelationID]++
			}
			return true
		})
		if err != nil {
			p.fail("read the decision log", err)
			return
		}
		d.Partial = !done
		for _, c := range cs {
			item := p.consentItem(c)
			item.Uses = uses[c.ID]
			d.Consents = append(d.Consents, item)
			d.AnyEnded = d.AnyEnded || item.Ended != ""
		}
	}
	p.render(0, "consents.html", secConsents, d)
}

func (s *Service) consentPage(p *page) {
	c, ok := p.ownConsent()
	if !ok {
		return
	}
	d := consentData{
		Consent:   p.consentItem(c),
		Withdrawn: p.r.URL.Query().Get("withdrawn") == "1" && c.Status == delegation.ConsentWithdrawn,
		Withdraw:  "/consents/" + url.PathEscape(c.ID) + "/withdraw",
	}
	_, done, err := s.walkLog(p.r.Context(), p.v.Person, 0, maxUseScan, func(e delegation.AccessEvent) bool {
		if e.Relation == delegation.RelConsent && e.RelationID == c.ID {
			d.Uses = append(d.Uses, consentUse{
				When: p.clock(e.At), WhenISO: e.At.UTC().Format(time.RFC3339), Who: p.name(e.Actor),
				Service: p.serviceName(e.Service), Action: p.actionName(e.Action), Result: p.decisionStatus(e.Allowed),
			})
			if e.Allowed {
				d.Consent.Uses++
			}
		}
		return true
	})
	if err != nil {
		p.fail("read the decision log", err)
		return
	}
	d.Partial = !done
	p.render(0, "consent.html", secConsents, d)
}

// withdrawData is the page that asks before a consent is withdrawn.
type withdrawData struct {
	Consent consentItem
	Action  string
	Back    string
}

func (s *Service) withdrawPage(p *page) {
	c, ok := p.ownConsent()
	if !ok {
		return
	}
	d := withdrawData{
		Consent: p.consentItem(c), Action: "/consents/" + url.PathEscape(c.ID) + "/withdraw",
		Back: "/consents/" + url.PathEscape(c.ID),
	}
	p.render(0, "consent_withdraw.html", secConsents, d)
}

func (s *Service) withdrawForm(p *page) {
	c, ok := p.ownConsent()
	if !ok {
		return
	}
	back := "/consents/" + url.PathEscape(c.ID)
	if !c.InForceOn(p.today) {
		// Nothing to withdraw: the page says so.
		p.redirect(back + "/withdraw")
		return
	}
	if _, err := s.store.WithdrawConsent(p.r.Context(), c.ID, p.now); err != nil {
		if errors.Is(err, delegation.ErrConflict) {
			// Withdrawn or used up a moment ago.
			p.redirect(back + "/withdraw")
			return
		}
		p.fail("withdraw a consent", err)
		return
	}
	s.changed()
	p.redirect(back + "?withdrawn=1")
}

// ownConsent reads the consent of the request's path, which must be the
// visitor's own; otherwise it shows the page for a record not found and returns
// false.
func (p *page) ownConsent() (delegation.Consent, bool) {
	c, err := p.s.store.Consent(p.r.Context(), p.r.PathValue("id"))
	switch {
	case errors.Is(err, delegation.ErrNotFound):
		p.notFound()
		return delegation.Consent{}, false
	case err != nil:
		p.fail("read a consent", err)
		return delegation.Consent{}, false
	case c.Party != p.v.Person:
		p.notFound()
		return delegation.Consent{}, false
	}
	return c, true
}

// consentShown reports whether a consent belongs on the list: in force, or
// ended (withdrawn, used up, expired) within the retention period.
func (p *page) consentShown(c delegation.Consent) bool {
	switch {
	case c.InForceOn(p.today):
		return true
	case !c.EndedAt.IsZero():
		return p.retained(c.EndedAt)
	}
	return p.retained(c.ValidTo.AddDays(1).Start())
}

// consentItem is c as the pages show it.
func (p *page) consentItem(c delegation.Consent) consentItem {
	item := consentItem{
		Href: "/consents/" + url.PathEscape(c.ID), Data: p.serviceName(c.DataSet),
		Recipient: p.name(c.Recipient), Provider: p.name(c.Provider), Purpose: c.Purpose,
		Until: p.date(c.ValidTo), Given: p.dayOf(c.CreatedAt), Status: p.consentStatus(c),
		OneTime: c.OneTime, Active: c.InForceOn(p.today),
	}
	switch {
	case item.Active:
	case c.Status == delegation.ConsentWithdrawn:
		item.Ended = p.T("portal.consents.withdrawn_on", p.dayOf(c.EndedAt))
	case c.Status == delegation.ConsentUsed:
		item.Ended = p.T("portal.consents.used_on", p.dayOf(c.EndedAt))
	default:
		item.Ended = p.T("portal.consents.expired_on", p.date(c.ValidTo))
	}
	return item
}
