package portal

import "net/http"

// Routes lists every page of the portal. They are browser routes: mount them on
// the mux wrapped in cross-origin protection and the security headers.
func (s *Service) Routes(mux *http.ServeMux) {
	// Overview: what I have given and received, my children and wards, requests
	// waiting for me; the front page for visitors not logged in.
	mux.Handle("GET /{$}", s.home())
	mux.Handle("GET /people/{ref}", s.handle(s.personPage))

	// Giving a fullmakt, and asking for one: the same questions, one per page,
	// kept in a draft; giving is confirmed with a step-up to level high.
	mux.Handle("GET /give", s.handle(s.startPage(draftGive)))
	mux.Handle("POST /give", s.handle(s.startForm(draftGive)))
	mux.Handle("GET /ask", s.handle(s.startPage(draftAsk)))
	mux.Handle("POST /ask", s.handle(s.startForm(draftAsk)))
	mux.Handle("GET /draft/{id}/scope", s.handle(s.scopePage))
	mux.Handle("POST /draft/{id}/scope", s.handle(s.scopeForm))
	mux.Handle("GET /draft/{id}/options", s.handle(s.optionsPage))
	mux.Handle("POST /draft/{id}/options", s.handle(s.optionsForm))
	mux.Handle("GET /draft/{id}/period", s.handle(s.periodPage))
	mux.Handle("POST /draft/{id}/period", s.handle(s.periodForm))
	mux.Handle("GET /draft/{id}/review", s.handle(s.reviewPage))
	mux.Handle("POST /draft/{id}/send", s.handle(s.sendForm))
	mux.Handle("GET /draft/{id}/confirmed", s.handle(s.confirmedPage))

	// One fullmakt: what it covers; revoke or renounce it.
	mux.Handle("GET /fullmakter/{id}", s.handle(s.fullmaktPage))
	mux.Handle("GET /fullmakter/{id}/end", s.handle(s.endPage))
	mux.Handle("POST /fullmakter/{id}/end", s.handle(s.endForm))

	// One request: its answer; approve (confirmed like giving) or decline it.
	mux.Handle("GET /requests/{id}", s.handle(s.requestPage))
	mux.Handle("POST /requests/{id}/approve", s.handle(s.approveForm))
	mux.Handle("GET /requests/{id}/decline", s.handle(s.declinePage))
	mux.Handle("POST /requests/{id}/decline", s.handle(s.declineForm))

	// Consents: list, one with every use, withdraw.
	mux.Handle("GET /consents", s.handle(s.consentsPage))
	mux.Handle("GET /consents/{id}", s.handle(s.consentPage))
	mux.Handle("GET /consents/{id}/withdraw", s.handle(s.withdrawPage))
	mux.Handle("POST /consents/{id}/withdraw", s.handle(s.withdrawForm))

	// Who has acted on my behalf (or my child's): the decision log, filtered,
	// and the whole of it as CSV or JSON (a GDPR art. 15 copy).
	mux.Handle("GET /activity", s.handle(s.activityPage))
	mux.Handle("GET /activity/export", s.handle(s.activityExport))

	// Notifications, with unread markers.
	mux.Handle("GET /notifications", s.handle(s.notificationsPage))
}
