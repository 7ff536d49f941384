package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

var requestRE = regexp.MustCompile(`^/requests/(rq_[a-z0-9]+)(\?.*)?$`)

// ask has ingrid ask astrid for a fullmakt for tax, until revoked, with a
// message, and returns the request's id.
func (f *fixture) ask() string {
	f.t.Helper()
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	id := ingrid.startDraft("ask", "astrid")
	ingrid.step(id, "scope", url.Values{"area": {"tax"}}, "options")
	ingrid.step(id, "options", url.Values{"actions": {"all"}}, "period")
	ingrid.step(id, "period", url.Values{"from": {"2026-11-23"}, "until": {"open"}, "message": {"Mamma, jeg kan ta skatten for deg."}}, "review")
	r := ingrid.post("/draft/"+id+"/send", nil)
	m := requestRE.FindStringSubmatch(r.Location)
	if r.Status != http.StatusSeeOther || m == nil || m[2] != "?sent=1" {
		f.t.Fatalf("POST send (asking) = %d to %q, want the request with ?sent=1; body:\n%s", r.Status, r.Location, text(r.Body))
	}
	return m[1]
}

func TestAskJourney(t *testing.T) {
	f := newFixture(t)
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	if r := ingrid.get("/ask"); !strings.Contains(text(r.Body), "Who do you want to ask for a fullmakt?") {
		t.Errorf("GET /ask:\n%s", text(r.Body))
	}
	id := ingrid.startDraft("ask", "astrid")
	if body := text(ingrid.get("/draft/" + id + "/scope").Body); !strings.Contains(body, "What do you want to do for Astrid Hansen?") {
		t.Errorf("GET scope (asking):\n%s", body)
	}
	ingrid.step(id, "scope", url.Values{"area": {"tax"}, "service": {"nav.pensjon"}}, "options")
	if r := ingrid.get("/draft/" + id + "/options"); strings.Contains(r.Body, `name="subdelegate"`) {
		t.Errorf("GET options (asking) offers passing it on")
	}
	ingrid.step(id, "options", url.Values{"actions": {"some"}, "action": {"read"}, "subdelegate": {"yes"}}, "period")
	page := ingrid.get("/draft/" + id + "/period")
	if !strings.Contains(page.Body, `id="message"`) || !strings.Contains(text(page.Body), "Until Astrid Hansen revokes it") {
		t.Errorf("GET period (asking): want a message field and until revoked:\n%s", text(page.Body))
	}
	ingrid.step(id, "period", url.Values{"from": {"2026-11-23"}, "until": {"open"}, "message": {"  Mamma, jeg kan ta skatten for deg.  "}}, "review")
	body := text(ingrid.get("/draft/" + id + "/review").Body)
	for _, want := range []string{"Check your request before you send it", "Who you ask", "Astrid Hansen", "Tax return", "Retirement pension", "Read", "Mamma, jeg kan ta skatten for deg.", "Send the request"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET review (asking): the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "passkey") || strings.Contains(body, "May it be passed on") {
		t.Errorf("GET review (asking) speaks of a passkey or passing it on:\n%s", body)
	}
	before := f.changes()
	r := ingrid.post("/draft/"+id+"/send", nil)
	m := requestRE.FindStringSubmatch(r.Location)
	if r.Status != http.StatusSeeOther || m == nil || m[2] != "?sent=1" {
		t.Fatalf("POST send = %d to %q, want the request with ?sent=1", r.Status, r.Location)
	}
	rq := m[1]
	got, err := f.store.Request(f.ctx, rq)
	if err != nil {
		t.Fatal(err)
	}
	want := delegation.Request{
		ID: rq, Requester: f.id("ingrid"), Grantor: f.id("astrid"),
		Scope:   delegation.Scope{Areas: []string{"tax"}, Services: []string{"nav.pensjon"}, Actions: []string{"read"}},
		Period:  delegation.Period{From: delegation.NewDate(2026, 11, 23)},
		Message: "Mamma, jeg kan ta skatten for deg.", Status: delegation.RequestPending,
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Request{}, "CreatedAt")); diff != "" {
		t.Errorf("Request(%s) (-want +got):\n%s", rq, diff)
	}
	if f.changes() == before {
		t.Errorf("sending a request did not call Changed")
	}
	body = text(mainOf(ingrid.follow(r).Body))
	for _, want := range []string{"The request is sent", "Your request to Astrid Hansen", "Waiting for an answer", "Waiting for Astrid Hansen to answer."} {
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: the page lacks %q:\n%s", r.Location, want, body)
		}
	}
	if strings.Contains(body, "Approve") {
		t.Errorf("the requester is offered to approve her own request")
	}
	// Sent once: a second press goes to the same request.
	if r := ingrid.post("/draft/"+id+"/send", nil); r.Location != "/requests/"+rq {
		t.Errorf("POST send again = %d to %q, want the request", r.Status, r.Location)
	}
	if all, _ := f.store.RequestsFrom(f.ctx, f.id("ingrid")); len(all) != 1 {
		t.Errorf("RequestsFrom(ingrid) = %d requests, want 1", len(all))
	}
}

func TestApproveRequest(t *testing.T) {
	f := newFixture(t)
	rq := f.ask()
	astrid := f.login("astrid", authz.LevelSubstantial)
	body := text(mainOf(astrid.get("/requests/" + rq).Body))
	for _, want := range []string{"Ingrid Hansen asks you for a fullmakt", "Tax return", "Mamma, jeg kan ta skatten for deg.", "Approve with your passkey", "Decline", "level high"} {
		if !strings.Contains(body, want) {
			t.Errorf("astrid GET the request: the page lacks %q:\n%s", want, body)
		}
	}
	f.advance(time.Minute)
	r := astrid.post("/requests/"+rq+"/approve", nil)
	id := draftOf(t, r, "confirmed")
	r = astrid.get(r.Location)
	fm := fullmaktOf(t, r)
	got, err := f.store.Fullmakt(f.ctx, fm)
	if err != nil {
		t.Fatal(err)
	}
	want := delegation.Fullmakt{
		ID: fm, Grantor: f.id("astrid"), Proxy: f.id("ingrid"), Scope: delegation.Scope{Areas: []string{"tax"}},
		Period: delegation.Period{From: delegation.NewDate(2026, 11, 23)}, Status: delegation.StatusActive,
		ConfirmedACR: authz.LevelHigh.ACR(), Origin: delegation.OriginRequest, CreatedBy: f.id("astrid"),
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Fullmakt{}, "CreatedAt")); diff != "" {
		t.Errorf("Fullmakt(%s) after approving (-want +got):\n%s", fm, diff)
	}
	req, _ := f.store.Request(f.ctx, rq)
	if req.Status != delegation.RequestApproved || req.FullmaktID != fm {
		t.Errorf("Request(%s) = %s, fullmakt %q; want approved, %q", rq, req.Status, req.FullmaktID, fm)
	}
	if body := text(mainOf(astrid.follow(r).Body)); !strings.Contains(body, "Ingrid Hansen can now act for you") || !strings.Contains(body, "Given by approving a request") {
		t.Errorf("astrid GET the new fullmakt:\n%s", body)
	}
	// Replayed, the confirmation goes to the same fullmakt and makes no other.
	if r := astrid.get("/draft/" + id + "/confirmed"); r.Location != "/fullmakter/"+fm {
		t.Errorf("GET confirmed again = %d to %q, want the fullmakt", r.Status, r.Location)
	}
	given, _ := f.store.FullmakterGivenBy(f.ctx, f.id("astrid"))
	if n := countOrigin(given, delegation.OriginRequest); n != 1 {
		t.Errorf("astrid has given %d fullmakter by request, want 1", n)
	}
	// The requester sees the outcome.
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	page := ingrid.get("/requests/" + rq)
	if body := text(mainOf(page.Body)); !strings.Contains(body, "Approved") || !strings.Contains(page.Body, `href="/fullmakter/`+fm+`"`) {
		t.Errorf("ingrid GET the approved request: want approved and a link to the fullmakt:\n%s", body)
	}
	if r := ingrid.get("/fullmakter/" + fm); r.Status != http.StatusOK {
		t.Errorf("ingrid GET the fullmakt she asked for = %d", r.Status)
	}
	// Answered once.
	for _, tt := range []struct{ method, path string }{
		{"POST", "/requests/" + rq + "/approve"}, {"POST", "/requests/" + rq + "/decline"}, {"GET", "/requests/" + rq + "/decline"},
	} {
		var r response
		if tt.method == "POST" {
			r = astrid.post(tt.path, url.Values{"reason": {"no"}})
		} else {
			r = astrid.get(tt.path)
		}
		if r.Status != http.StatusConflict || !strings.Contains(text(r.Body), "This request has already been answered.") {
			t.Errorf("%s %s after approving = %d, want 409 saying it is answered", tt.method, tt.path, r.Status)
		}
	}
	if req, _ := f.store.Request(f.ctx, rq); req.Status != delegation.RequestApproved {
		t.Errorf("the request is %s after the second answers, want approved", req.Status)
	}
}

func countOrigin(fs []delegation.Fullmakt, o delegation.Origin) int {
	n := 0
	for _, x := range fs {
		if x.Origin == o {
			n++
		}
	}
	return n
}

func TestApproveNeedsStepUp(t *testing.T) {
	f := newFixture(t)
	rq := f.ask()
	astrid := f.login("astrid", authz.LevelSubstantial)
	f.advance(time.Minute)
	r := astrid.post("/requests/"+rq+"/approve", nil)
	draftOf(t, r, "confirmed")
	f.setSession("astrid", authz.LevelSubstantial, f.clock())
	page := astrid.get(r.Location)
	if page.Status != http.StatusForbidden || !strings.Contains(text(page.Body), "The request is not approved yet. To approve it, confirm with your passkey.") {
		t.Errorf("GET confirmed at substantial = %d, want 403 on the request page; body:\n%s", page.Status, text(page.Body))
	}
	f.setSession("astrid", authz.LevelHigh, f.clock().Add(-time.Second))
	if page := astrid.get(r.Location); page.Status != http.StatusForbidden {
		t.Errorf("GET confirmed at high from before the approval = %d, want 403", page.Status)
	}
	if req, _ := f.store.Request(f.ctx, rq); req.Status != delegation.RequestPending {
		t.Errorf("the request is %s without a step-up, want pending", req.Status)
	}
}

func TestDeclineRequest(t *testing.T) {
	f := newFixture(t)
	rq := f.ask()
	astrid := f.login("astrid", authz.LevelSubstantial)
	page := astrid.get("/requests/" + rq + "/decline")
	if body := text(mainOf(page.Body)); page.Status != http.StatusOK || !strings.Contains(body, "Decline the request from Ingrid Hansen?") || !strings.Contains(page.Body, `id="reason"`) {
		t.Errorf("GET decline = %d:\n%s", page.Status, body)
	}
	r := astrid.post("/requests/"+rq+"/decline", url.Values{"reason": {strings.Repeat("x", delegation.MaxMessageLen+1)}})
	if got := fieldError(r.Body, "reason"); r.Status != http.StatusUnprocessableEntity || got != "The reason can be at most 1000 characters" {
		t.Errorf("POST decline with a long reason = %d, %q", r.Status, got)
	}
	r = astrid.post("/requests/"+rq+"/decline", url.Values{"reason": {" Terje tar seg av skatten min. "}})
	if r.Status != http.StatusSeeOther || r.Location != "/requests/"+rq+"?declined=1" {
		t.Fatalf("POST decline = %d to %q", r.Status, r.Location)
	}
	if body := text(mainOf(astrid.follow(r).Body)); !strings.Contains(body, "You have declined the request. Ingrid Hansen is told.") {
		t.Errorf("GET after declining: no banner:\n%s", body)
	}
	req, _ := f.store.Request(f.ctx, rq)
	if req.Status != delegation.RequestDeclined || req.DeclineReason != "Terje tar seg av skatten min." || req.FullmaktID != "" {
		t.Errorf("Request(%s) = %s, reason %q, fullmakt %q; want declined with the reason", rq, req.Status, req.DeclineReason, req.FullmaktID)
	}
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	body := text(mainOf(ingrid.get("/requests/" + rq).Body))
	for _, want := range []string{"Declined", "Reason for declining", "Terje tar seg av skatten min."} {
		if !strings.Contains(body, want) {
			t.Errorf("ingrid GET the declined request: the page lacks %q:\n%s", want, body)
		}
	}
	for _, path := range []string{"/approve", "/decline"} {
		if r := astrid.post("/requests/"+rq+path, nil); r.Status != http.StatusConflict {
			t.Errorf("POST %s after declining = %d, want 409", path, r.Status)
		}
	}
	if given, _ := f.store.FullmakterGivenBy(f.ctx, f.id("astrid")); countOrigin(given, delegation.OriginRequest) != 0 {
		t.Errorf("a declined request made a fullmakt")
	}
}

func TestRequestVisibility(t *testing.T) {
	f := newFixture(t)
	rq := f.ask()
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	for _, path := range []string{"/approve", "/decline"} {
		if r := ingrid.post("/requests/"+rq+path, nil); r.Status != http.StatusForbidden || !strings.Contains(text(r.Body), "Only the person who was asked") {
			t.Errorf("the requester POST %s = %d, want 403", path, r.Status)
		}
	}
	sofie := f.login("sofie", authz.LevelHigh)
	unknown := sofie.get("/requests/rq_doesnotexist")
	for _, path := range []string{"", "/decline"} {
		r := sofie.get("/requests/" + rq + path)
		if r.Status != http.StatusNotFound || mainOf(r.Body) != mainOf(unknown.Body) {
			t.Errorf("a stranger GET /requests/…%s = %d, want 404 like an unknown request", path, r.Status)
		}
	}
	for _, path := range []string{"/approve", "/decline"} {
		if r := sofie.post("/requests/"+rq+path, nil); r.Status != http.StatusNotFound {
			t.Errorf("a stranger POST %s = %d, want 404", path, r.Status)
		}
	}
	if req, _ := f.store.Request(f.ctx, rq); req.Status != delegation.RequestPending {
		t.Errorf("the request is %s, want pending", req.Status)
	}
}

func TestApproveAfterThePeriod(t *testing.T) {
	f := newFixture(t)
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	id := ingrid.startDraft("ask", "astrid")
	ingrid.step(id, "scope", url.Values{"area": {"tax"}}, "options")
	ingrid.step(id, "options", url.Values{"actions": {"all"}}, "period")
	ingrid.step(id, "period", url.Values{"from": {"2026-11-23"}, "until": {"date"}, "to": {"2026-11-24"}}, "review")
	m := requestRE.FindStringSubmatch(ingrid.post("/draft/"+id+"/send", nil).Location)
	if m == nil {
		t.Fatal("no request sent")
	}
	f.advance(72 * time.Hour)
	astrid := f.login("astrid", authz.LevelSubstantial)
	r := astrid.post("/requests/"+m[1]+"/approve", nil)
	if r.Status != http.StatusUnprocessableEntity || !strings.Contains(text(r.Body), "This request can no longer be approved") {
		t.Errorf("POST approve after the period = %d, want 422 saying why; body:\n%s", r.Status, text(r.Body))
	}
	if r := astrid.post("/requests/"+m[1]+"/decline", nil); r.Status != http.StatusSeeOther {
		t.Errorf("POST decline after the period = %d, want it declined", r.Status)
	}
}
