package portal

import (
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/web"
)

// One request for a fullmakt, seen by whoever asked and whoever was asked. The
// person asked approves it through the same confirmation as giving (a draft of
// kind approve and a step-up to level high) or declines it, with a reason if
// they like. A request is answered once.

// requestData is the data of request.html and request_decline.html.
type requestData struct {
	ID                         string
	Requester, RequesterNumber string
	Grantor, GrantorNumber     string
	IsRequester, IsGrantor     bool
	Status                     status
	Pending                    bool
	Scope                      scopeView
	Period                     string
	Message                    string
	Created, Answered          string
	Reason                     string
	Fullmakt                   string // the fullmakt an approval made
	Sent, Declined             bool   // the banners after sending and declining it
	// ReasonText is the decline form's reason, sent back with an error.
	ReasonText string
	MaxReason  int
}

// loadRequest returns the request named in the URL if the visitor asked or
// was asked; otherwise it has shown the not-found page.
func (p *page) loadRequest() (delegation.Request, bool) {
	r, err := p.s.store.Request(p.r.Context(), p.r.PathValue("id"))
	switch {
	case errors.Is(err, delegation.ErrNotFound):
		p.notFound()
		return delegation.Request{}, false
	case err != nil:
		p.fail("read a request", err)
		return delegation.Request{}, false
	case p.v.Person != r.Requester && p.v.Person != r.Grantor:
		p.notFound()
		return delegation.Request{}, false
	}
	return r, true
}

// requestData describes r for the visitor.
func (p *page) requestData(r delegation.Request) requestData {
	d := requestData{
		ID: r.ID, Requester: p.name(r.Requester), RequesterNumber: shownNumber(r.Requester),
		Grantor: p.name(r.Grantor), GrantorNumber: shownNumber(r.Grantor),
		IsRequester: p.v.Person == r.Requester, IsGrantor: p.v.Person == r.Grantor,
		Status: p.requestStatus(r), Pending: r.Status == delegation.RequestPending,
		Scope: p.scopeView(r.Scope), Period: p.period(r.Period), Message: r.Message,
		Created: p.clock(r.CreatedAt), Answered: p.clock(r.AnsweredAt), Reason: r.DeclineReason,
		MaxReason: delegation.MaxMessageLen,
	}
	if r.Status == delegation.RequestApproved {
		d.Fullmakt = r.FullmaktID
	}
	return d
}

// showRequest shows the request page with errs.
func (p *page) showRequest(r delegation.Request, status int, errs ...web.FieldError) {
	d := p.requestData(r)
	q := p.r.URL.Query()
	d.Sent = q.Get("sent") == "1" && d.IsRequester
	d.Declined = q.Get("declined") == "1" && d.IsGrantor && r.Status == delegation.RequestDeclined
	p.render(status, "request.html", secOverview, d, errs...)
}

// requestPage serves GET /requests/{id}.
func (s *Service) requestPage(p *page) {
	r, ok := p.loadRequest()
	if !ok {
		return
	}
	p.showRequest(r, http.StatusOK)
}

// answerable reports whether the visitor may answer r now; otherwise it has
// shown why not: only the person asked answers, and only once.
func (p *page) answerable(r delegation.Request) bool {
	switch {
	case p.v.Person != r.Grantor:
		p.errorPage(http.StatusForbidden, "portal.request.not_yours")
		return false
	case r.Status != delegation.RequestPending:
		p.showRequest(r, http.StatusConflict, web.FieldError{Key: "portal.request.already_answered"})
		return false
	}
	return true
}

// approveForm serves POST /requests/{id}/approve: the approval is kept in a
// draft while the browser steps up to level high, then confirmedPage
// approves it (confirmApproval).
func (s *Service) approveForm(p *page) {
	r, ok := p.loadRequest()
	if !ok || !p.answerable(r) {
		return
	}
	grantor, okG := p.person(r.Grantor)
	proxy, okP := p.person(r.Requester)
	if !okG || !okP {
		p.errorPage(http.StatusConflict, "portal.give.person_gone")
		return
	}
	// The rules first, so a request that cannot be approved says so now
	// rather than after the passkey.
	if _, err := delegation.Approve(r, grantor, proxy, authz.LevelHigh.ACR(), p.now); err != nil {
		p.showRequest(r, statusInvalid, p.answerRefusal(grantor, err))
		return
	}
	o, err := p.newDraft(draft{
		Kind: draftApprove, Other: r.Requester, Scope: r.Scope, Period: r.Period, OpenEnded: r.Period.To.IsZero(),
		Request: r.ID, Confirming: confirmingAt(p.now),
	})
	if err != nil {
		p.fail("start an approval", err)
		return
	}
	p.s.sessions.StepUp(p.w, p.r, authz.LevelHigh, draftPath(o.id, "confirmed"))
}

// answerRefusal is the message for an answer the domain refuses.
func (p *page) answerRefusal(grantor delegation.Person, err error) web.FieldError {
	if errors.Is(err, delegation.ErrConflict) {
		return web.FieldError{Key: "portal.request.already_answered"}
	}
	return p.refusal(draft{Kind: draftApprove}, grantor, err)
}

// confirmApproval is confirmedPage for an approval: with the step-up done,
// the draft is used once and the request approved, which creates the
// fullmakt in the same transaction.
func (p *page) confirmApproval(o openDraft, confirmed bool) {
	r, err := p.s.store.Request(p.r.Context(), o.Request)
	switch {
	case errors.Is(err, delegation.ErrNotFound):
		p.notFound()
		return
	case err != nil:
		p.fail("read a request", err)
		return
	case p.v.Person != r.Grantor:
		p.notFound()
		return
	}
	if !confirmed {
		p.showRequest(r, http.StatusForbidden, web.FieldError{Key: "portal.request.not_confirmed"})
		return
	}
	grantor, okG := p.person(r.Grantor)
	proxy, okP := p.person(r.Requester)
	if !okG || !okP {
		p.errorPage(http.StatusConflict, "portal.give.person_gone")
		return
	}
	a, err := delegation.Approve(r, grantor, proxy, p.v.Level.ACR(), p.now)
	if err != nil {
		p.showRequest(r, statusInvalid, p.answerRefusal(grantor, err))
		return
	}
	if !p.use(o, "/fullmakter/"+a.Fullmakt.ID) {
		return
	}
	if _, err := p.s.store.AnswerRequest(p.r.Context(), a); err != nil {
		if errors.Is(err, delegation.ErrConflict) {
			// Answered meanwhile (in another tab): the draft is of no more use.
			if r, err := p.s.store.Request(p.r.Context(), r.ID); err == nil {
				p.showRequest(r, http.StatusConflict, web.FieldError{Key: "portal.request.already_answered"})
				return
			}
		}
		p.restoreDraft(o)
		p.fail("approve a request", err)
		return
	}
	p.s.changed()
	p.redirect("/fullmakter/" + a.Fullmakt.ID + "?given=1")
}

// declinePage serves GET /requests/{id}/decline: a reason, if they like.
func (s *Service) declinePage(p *page) {
	r, ok := p.loadRequest()
	if !ok || !p.answerable(r) {
		return
	}
	p.render(http.StatusOK, "request_decline.html", secOverview, p.requestData(r))
}

// declineForm serves POST /requests/{id}/decline.
func (s *Service) declineForm(p *page) {
	r, ok := p.loadRequest()
	if !ok || !p.answerable(r) {
		return
	}
	reason := strings.TrimSpace(p.r.PostForm.Get("reason"))
	if utf8.RuneCountInString(reason) > delegation.MaxMessageLen {
		d := p.requestData(r)
		d.ReasonText = reason
		p.render(statusInvalid, "request_decline.html", secOverview, d,
			web.FieldError{Field: "reason", Key: "portal.request.reason_long", Args: []any{delegation.MaxMessageLen}})
		return
	}
	a, err := delegation.Decline(r, p.v.Person, reason, p.now)
	if err == nil {
		_, err = p.s.store.AnswerRequest(p.r.Context(), a)
	}
	switch {
	case errors.Is(err, delegation.ErrConflict):
		if now, err := p.s.store.Request(p.r.Context(), r.ID); err == nil {
			r = now
		}
		p.showRequest(r, http.StatusConflict, web.FieldError{Key: "portal.request.already_answered"})
		return
	case err != nil:
		p.fail("decline a request", err)
		return
	}
	p.s.changed()
	p.redirect("/requests/" + r.ID + "?declined=1")
}
