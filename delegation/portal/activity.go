package portal

import (
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/web"
)

// Who has acted on my behalf (GET /activity): the decision log for the visitor,
// or with ?for=<ref> for a minor child under the visitor's parental
// responsibility; newest first, filtered by period and service, 50 rows a page.
// GET /activity/export?format=csv|json gives every matching event as a file:
// the person's own copy (GDPR art. 15), the one place a full identity number
// is shown.

const (
	// activityPageSize is the number of rows on a page.
	activityPageSize = 50
	// maxActivityScan bounds the events read for one page; a page that found
	// fewer rows goes on from where it stopped with its "Older entries" link.
	maxActivityScan = 20000
	// maxExport is the most events a download holds; the file says so when
	// there were more.
	maxExport = 100000
	// logChunk is how many events one read of the decision log asks for.
	logChunk = 500
)

// walkLog calls fn with party's events in the decision log, newest first,
// starting below before (0: at the newest), until fn returns false or max
// events were read (max <= 0: no limit). It returns the Seq of the last event
// read and whether the log was read to its end.
func (s *Service) walkLog(ctx context.Context, party delegation.PartyID, before uint64, max int,
	fn func(delegation.AccessEvent) bool) (last uint64, done bool, err error) {
	read := 0
	for {
		n := logChunk
		if max > 0 {
			n = min(n, max-read)
		}
		if n <= 0 {
			return last, false, nil
		}
		events, err := s.store.AccessTo(ctx, party, before, n)
		if err != nil {
			return last, false, err
		}
		for _, e := range events {
			read++
			last = e.Seq
			if !fn(e) {
				return last, false, nil
			}
		}
		if len(events) < n || last <= 1 {
			return last, true, nil
		}
		before = last
	}
}

// activitySubject is whose decision log a page shows.
type activitySubject struct {
	Party delegation.PartyID
	// Name and Ref are set for a child: their name, and the ref in ?for=.
	Name string
	Ref  string
}

// activitySubject is the visitor, or with ?for= a minor child under their
// parental responsibility. Anything else shows the page for a record not found
// and returns false.
func (p *page) activitySubject() (activitySubject, bool) {
	ref := p.r.URL.Query().Get("for")
	if _, ok := p.r.URL.Query()["for"]; !ok {
		return activitySubject{Party: p.v.Person}, true
	}
	d, ok, err := p.dependantByRef(ref)
	if err != nil {
		p.fail("list children and wards", err)
		return activitySubject{}, false
	}
	if !ok || !d.child() || !p.parentOf(d.Person.ID) {
		p.notFound()
		return activitySubject{}, false
	}
	return activitySubject{Party: d.Person.ID, Name: d.Person.Name, Ref: ref}, true
}

// activityFilter is what the log is filtered by: days in Oslo, both included
// (zero: no bound), and a service ("": every service).
type activityFilter struct {
	From, To delegation.Date
	Service  string
}

// activityForm is the filter form as typed.
type activityForm struct {
	From, To, Service string
}

// activityFilter reads the filter from the query, with the problems found.
func (p *page) activityFilter() (activityFilter, activityForm, []web.FieldError) {
	q := p.r.URL.Query()
	form := activityForm{
		From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")),
		Service: strings.TrimSpace(q.Get("service")),
	}
	var f activityFilter
	var errs []web.FieldError
	var ok bool
	if f.From, ok = parseFilterDay(form.From); !ok {
		errs = append(errs, web.FieldError{Field: "from", Key: "portal.activity.error.from"})
	}
	if f.To, ok = parseFilterDay(form.To); !ok {
		errs = append(errs, web.FieldError{Field: "to", Key: "portal.activity.error.to"})
	}
	if len(errs) == 0 && !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		errs = append(errs, web.FieldError{Field: "to", Key: "portal.activity.error.order"})
	}
	if form.Service != "" {
		if _, known := p.pack.Catalogue.Service(form.Service); !known {
			errs = append(errs, web.FieldError{Field: "service", Key: "portal.activity.error.service"})
		}
		f.Service = form.Service
	}
	return f, form, errs
}

// parseFilterDay reads a day as people type it: 2026-11-23, 23.11.2026 or 3.1.2026;
// "" is no day, and ok.
func parseFilterDay(s string) (delegation.Date, bool) {
	if s == "" {
		return delegation.Date{}, true
	}
	for _, layout := range []string{"2006-01-02", "2.1.2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return delegation.NewDate(t.Year(), t.Month(), t.Day()), true
		}
	}
	return delegation.Date{}, false
}

// match reports whether e passes the filter.
func (f activityFilter) match(e delegation.AccessEvent) bool {
	day := delegation.Today(e.At)
	return (f.From.IsZero() || !day.Before(f.From)) && (f.To.IsZero() || !day.After(f.To)) &&
		(f.Service == "" || e.Service == f.Service)
}

// query is the filter (and the subject) in a URL's query.
func (f activityFilter) query(subject activitySubject) url.Values {
	q := url.Values{}
	if subject.Ref != "" {
		q.Set("for", subject.Ref)
	}
	if !f.From.IsZero() {
		q.Set("from", f.From.String())
	}
	if !f.To.IsZero() {
		q.Set("to", f.To.String())
	}
	if f.Service != "" {
		q.Set("service", f.Service)
	}
	return q
}

// activityData is the activity page's data.
type activityData struct {
	// Child is the child's name when the page is about a child.
	Child    string
	For      string
	Form     activityForm
	Services []activityOption
	Filtered bool
	Rows     []activityRow
	// Older continues the list; Newest goes back to its start.
	Older, Newest string
	CSV, JSON     string
	// Invalid is set when the filter has errors: no rows are shown.
	Invalid bool
}

// activityOption is a service in the filter's list.
type activityOption struct {
	Value, Name string
	Selected    bool
}

// activityRow is one decision on the page.
type activityRow struct {
	When, WhenISO string
	Who           string
	Service       string
	Action        string
	Result        status
	Relation      string
	RelationHref  string
	Client        string
}

func (s *Service) activityPage(p *page) {
	subject, ok := p.activitySubject()
	if !ok {
		return
	}
	filter, form, errs := p.activityFilter()
	if len(errs) > 0 {
		p.renderActivity(http.StatusUnprocessableEntity, subject, filter, form, nil, 0, errs)
		return
	}
	before, _ := strconv.ParseUint(p.r.URL.Query().Get("before"), 10, 64)
	var events []delegation.AccessEvent
	more := false
	last, done, err := s.walkLog(p.r.Context(), subject.Party, before, maxActivityScan, func(e delegation.AccessEvent) bool {
		if !filter.match(e) {
			return true
		}
		if len(events) == activityPageSize {
			more = true
			return false
		}
		events = append(events, e)
		return true
	})
	if err != nil {
		p.fail("read the decision log", err)
		return
	}
	next := uint64(0)
	switch {
	case more:
		next = events[len(events)-1].Seq
	case !done:
		// The page read as far as it may: the next one goes on from there.
		next = last
	}
	d := p.renderActivityData(subject, filter, form, events, next)
	if before > 0 {
		d.Newest = "/activity"
		if q := filter.query(subject).Encode(); q != "" {
			d.Newest += "?" + q
		}
	}
	p.render(0, "activity.html", secActivity, d)
}

// renderActivity shows the activity page with the filter's errors.
func (p *page) renderActivity(status int, subject activitySubject, filter activityFilter, form activityForm,
	events []delegation.AccessEvent, next uint64, errs []web.FieldError) {
	d := p.renderActivityData(subject, filter, form, events, next)
	d.Invalid = len(errs) > 0
	p.render(status, "activity.html", secActivity, d, errs...)
}

// renderActivityData is the activity page's data for events, with the link to
// the events below next (0: none).
func (p *page) renderActivityData(subject activitySubject, filter activityFilter, form activityForm,
	events []delegation.AccessEvent, next uint64) activityData {
	d := activityData{
		Child: subject.Name, For: subject.Ref, Form: form,
		Filtered: !filter.From.IsZero() || !filter.To.IsZero() || filter.Service != "",
	}
	for _, svc := range p.pack.Catalogue.Services {
		d.Services = append(d.Services, activityOption{Value: svc.ID, Name: p.text(svc.Name, svc.ID), Selected: svc.ID == form.Service})
	}
	slices.SortStableFunc(d.Services, func(a, b activityOption) int { return cmp.Compare(a.Name, b.Name) })
	for _, e := range events {
		d.Rows = append(d.Rows, p.activityRow(e, subject))
	}
	q := filter.query(subject)
	if next > 0 {
		older := url.Values{}
		for k, v := range q {
			older[k] = v
		}
		older.Set("before", strconv.FormatUint(next, 10))
		d.Older = "/activity?" + older.Encode()
	}
	q.Set("format", "csv")
	d.CSV = "/activity/export?" + q.Encode()
	q.Set("format", "json")
	d.JSON = "/activity/export?" + q.Encode()
	return d
}

// activityRow is e as a row of the page.
func (p *page) activityRow(e delegation.AccessEvent, subject activitySubject) activityRow {
	row := activityRow{
		When: p.clock(e.At), WhenISO: e.At.UTC().Format(time.RFC3339), Who: p.name(e.Actor),
		Service: p.serviceName(e.Service), Action: p.actionName(e.Action), Result: p.decisionStatus(e.Allowed),
		Relation: p.relationName(e.Relation), Client: e.Client,
	}
	switch {
	case e.RelationID == "":
	case e.Relation == delegation.RelFullmakt:
		row.RelationHref = "/fullmakter/" + url.PathEscape(e.RelationID)
	case e.Relation == delegation.RelConsent && subject.Ref == "":
		// A consent is shown to the person who gave it only.
		row.RelationHref = "/consents/" + url.PathEscape(e.RelationID)
	}
	return row
}

// relationName names a relation in plain words.
func (p *page) relationName(k delegation.RelationKind) string {
	switch k {
	case delegation.RelSelf, delegation.RelParent, delegation.RelGuardian, delegation.RelFullmakt,
		delegation.RelRole, delegation.RelConsent:
		return p.T("portal.activity.relation." + string(k))
	}
	return p.T("portal.activity.relation.none")
}

// decisionStatus is an allowed or refused decision as a tag.
func (p *page) decisionStatus(allowed bool) status {
	if allowed {
		return status{Text: p.T("portal.activity.allowed"), Class: "active"}
	}
	return status{Text: p.T("portal.activity.refused"), Class: "ended"}
}

// exportFile is the JSON download.
type exportFile struct {
	Party       exportParty   `json:"party"`
	GeneratedAt string        `json:"generated_at"`
	Filters     exportFilters `json:"filters"`
	// Truncated is set when there were more than maxExport events: Note says
	// how to get the rest.
	Truncated bool          `json:"truncated,omitempty"`
	Note      string        `json:"note,omitempty"`
	Events    []exportEvent `json:"events"`
}

type exportParty struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type exportFilters struct {
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Service string `json:"service,omitempty"`
}

// exportEvent is one decision in a download: the CSV's columns, in order.
type exportEvent struct {
	Time          string `json:"time"`
	ActorID       string `json:"actor_id"`
	ActorName     string `json:"actor_name"`
	PartyID       string `json:"party_id"`
	Service       string `json:"service"`
	ServiceName   string `json:"service_name"`
	Action        string `json:"action"`
	Allowed       bool   `json:"allowed"`
	Relation      string `json:"relation"`
	RelationID    string `json:"relation_id"`
	PolicyVersion string `json:"policy_version"`
	Client        string `json:"client"`
}

// csvHeader names the CSV's columns.
var csvHeader = []string{
	"time", "actor_id", "actor_name", "party_id", "service", "service_name", "action", "allowed",
	"relation", "relation_id", "policy_version", "client",
}

func (e exportEvent) record() []string {
	return []string{
		e.Time, e.ActorID, e.ActorName, e.PartyID, e.Service, e.ServiceName, e.Action, strconv.FormatBool(e.Allowed),
		e.Relation, e.RelationID, e.PolicyVersion, e.Client,
	}
}

func (s *Service) activityExport(p *page) {
	subject, ok := p.activitySubject()
	if !ok {
		return
	}
	format := p.r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		p.errorPage(http.StatusBadRequest, "portal.activity.error.format")
		return
	}
	filter, form, errs := p.activityFilter()
	if len(errs) > 0 {
		p.renderActivity(http.StatusUnprocessableEntity, subject, filter, form, nil, 0, errs)
		return
	}
	events := []exportEvent{}
	truncated := false
	_, _, err := s.walkLog(p.r.Context(), subject.Party, 0, 0, func(e delegation.AccessEvent) bool {
		if !filter.match(e) {
			return true
		}
		if len(events) == maxExport {
			truncated = true
			return false
		}
		events = append(events, exportEvent{
			Time: e.At.In(s.loc).Format(time.RFC3339), ActorID: string(e.Actor), ActorName: p.name(e.Actor),
			PartyID: string(e.Party), Service: e.Service, ServiceName: p.serviceName(e.Service), Action: e.Action,
			Allowed: e.Allowed, Relation: string(e.Relation), RelationID: e.RelationID,
			PolicyVersion: e.PolicyVersion, Client: e.Client,
		})
		return true
	})
	if err != nil {
		p.fail("read the decision log", err)
		return
	}
	note := ""
	if truncated {
		note = p.T("portal.activity.export_truncated", maxExport)
	}

	h := p.w.Header()
	web.SetHeaders(h, nil)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="fullmakt-activity-`+p.today.String()+"."+format+`"`)
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
		w := csv.NewWriter(p.w)
		_ = w.Write(csvHeader)
		for _, e := range events {
			_ = w.Write(safeCells(e.record()))
		}
		if truncated {
			row := make([]string, len(csvHeader))
			row[0] = note
			_ = w.Write(safeCells(row))
		}
		w.Flush()
		if err := w.Error(); err != nil && !ctxErr(p.r.Context(), err) {
			p.logError("write the activity download", err)
		}
		return
	}
	name := p.name(subject.Party)
	if subject.Party == p.v.Person {
		name = p.v.Name
	}
	file := exportFile{
		Party:       exportParty{ID: string(subject.Party), Name: name},
		GeneratedAt: p.now.In(s.loc).Format(time.RFC3339),
		Filters:     exportFilters{From: filter.From.String(), To: filter.To.String(), Service: filter.Service},
		Truncated:   truncated, Note: note, Events: events,
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	enc := json.NewEncoder(p.w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(file); err != nil && !ctxErr(p.r.Context(), err) {
		p.logError("write the activity download", err)
	}
}

// safeCells guards a CSV row against formula injection: a spreadsheet takes a
// cell that starts with = + - @ (or a tab or carriage return) for a formula, so
// such a cell gets a leading apostrophe.
func safeCells(row []string) []string {
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}
