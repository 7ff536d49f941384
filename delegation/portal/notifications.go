package portal

import (
	"net/url"
	"strconv"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Notifications (GET /notifications): the visitor's notifications, newest
// first, 50 a page, each a sentence with its time and a link to what it is
// about; those not seen before are marked. Once the page is shown, they count
// as read.

// notificationsPageSize is the number of notifications on a page.
const notificationsPageSize = 50

// notificationsData is the notifications page's data.
type notificationsData struct {
	Notes []noteItem
	// Unread counts the unread notifications on the page.
	Unread int
	// Older continues the list; Newest goes back to its start.
	Older, Newest string
}

// noteItem is one notification on the page.
type noteItem struct {
	Text    string
	When    string
	WhenISO string
	Href    string
	Link    string
	Unread  bool
}

func (s *Service) notificationsPage(p *page) {
	ctx := p.r.Context()
	before, _ := strconv.ParseUint(p.r.URL.Query().Get("before"), 10, 64)
	read, err := s.store.ReadUpTo(ctx, p.v.Person)
	if err != nil {
		p.fail("read the notifications' read mark", err)
		return
	}
	ns, err := s.store.NotificationsFor(ctx, p.v.Person, before, notificationsPageSize)
	if err != nil {
		p.fail("list notifications", err)
		return
	}
	var d notificationsData
	newest := uint64(0)
	for _, n := range ns {
		item := p.noteItem(n)
		item.Unread = n.Seq > read
		if item.Unread {
			d.Unread++
		}
		d.Notes = append(d.Notes, item)
		newest = max(newest, n.Seq)
	}
	if len(ns) == notificationsPageSize {
		d.Older = "/notifications?before=" + strconv.FormatUint(ns[len(ns)-1].Seq, 10)
	}
	if before > 0 {
		d.Newest = "/notifications"
	}
	p.render(0, "notifications.html", secNotifications, d)
	if newest > read {
		if err := s.store.MarkRead(ctx, p.v.Person, newest); err != nil && !ctxErr(ctx, err) {
			p.logError("mark notifications read", err)
		}
	}
}

// noteItem is n as the page shows it: a sentence, its time, and a link to the
// fullmakt, request or consent it is about.
func (p *page) noteItem(n delegation.Notification) noteItem {
	item := noteItem{When: p.clock(n.At), WhenISO: n.At.UTC().Format(time.RFC3339)}
	other := p.T("portal.notifications.someone")
	if n.Other != "" {
		other = p.name(n.Other)
	}
	ref := url.PathEscape(n.Ref)
	switch n.Kind {
	case delegation.NoteFullmaktGiven, delegation.NoteFullmaktReceived, delegation.NoteFullmaktRevoked,
		delegation.NoteFullmaktRenounced:
		item.Text = p.T("portal.notifications."+string(n.Kind), other)
		item.Href, item.Link = "/fullmakter/"+ref, p.T("portal.notifications.see_fullmakt")
	case delegation.NoteFullmaktExpiring:
		item.Text = p.T("portal.notifications.fullmakt.expiring", other, delegation.ExpiringNotice)
		item.Href, item.Link = "/fullmakter/"+ref, p.T("portal.notifications.see_fullmakt")
	case delegation.NoteFullmaktFirstUsed:
		item.Text = p.T("portal.notifications.fullmakt.first_used", other, p.serviceName(n.Detail))
		item.Href, item.Link = "/fullmakter/"+ref, p.T("portal.notifications.see_fullmakt")
	case delegation.NoteRequestReceived:
		item.Text = p.T("portal.notifications.request.received", other)
		item.Href, item.Link = "/requests/"+ref, p.T("portal.notifications.see_request")
	case delegation.NoteRequestAnswered:
		key := "portal.notifications.request.answered"
		switch n.Detail {
		case string(delegation.RequestApproved):
			key = "portal.notifications.request.approved"
		case string(delegation.RequestDeclined):
			key = "portal.notifications.request.declined"
		}
		item.Text = p.T(key, other)
		item.Href, item.Link = "/requests/"+ref, p.T("portal.notifications.see_request")
	case delegation.NoteConsentUsed:
		item.Text = p.T("portal.notifications.consent.used", other, p.serviceName(n.Detail))
		item.Href, item.Link = "/consents/"+ref, p.T("portal.notifications.see_consent")
	default:
		item.Text = p.T("portal.notifications.other")
	}
	return item
}
