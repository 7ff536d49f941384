package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// Tests of the wizard: giving a fullmakt (and, through the same pages, asking
// for one: request_test.go), over HTTP with the fixture.

var draftRE = regexp.MustCompile(`^/draft/([A-Za-z0-9_-]{43})/([a-z]+)(\?.*)?$`)

// draftOf returns the draft id in a redirect's location and checks the step.
func draftOf(t *testing.T, r response, step string) string {
	t.Helper()
	m := draftRE.FindStringSubmatch(r.Location)
	if r.Status != http.StatusSeeOther || m == nil || m[2] != step {
		t.Fatalf("got %d to %q, want a redirect to the draft's %s step; body:\n%s", r.Status, r.Location, step, text(r.Body))
	}
	return m[1]
}

// surname is the last word of a cast member's name.
func (f *fixture) surname(name string) string {
	words := strings.Fields(f.cast[name].Name)
	return words[len(words)-1]
}

// startDraft posts the first step of kind ("give" or "ask") naming the cast
// member to and returns the draft id.
func (b *browser) startDraft(kind, to string) string {
	b.f.t.Helper()
	r := b.post("/"+kind, url.Values{"id": {string(b.f.id(to))}, "surname": {b.f.surname(to)}})
	return draftOf(b.f.t, r, "scope")
}

// step posts a step of draft id and checks that it goes on to next.
func (b *browser) step(id, step string, form url.Values, next string) {
	b.f.t.Helper()
	r := b.post("/draft/"+id+"/"+step, form)
	if got := draftOf(b.f.t, r, next); got != id {
		b.f.t.Fatalf("POST %s went to draft %s, want %s", step, got, id)
	}
}

// toReview takes a started draft through the steps to the review, with scope
// form sc, every action, and a year from today.
func (b *browser) toReview(id string, sc url.Values) {
	b.f.t.Helper()
	b.step(id, "scope", sc, "options")
	b.step(id, "options", url.Values{"actions": {"all"}}, "period")
	b.step(id, "period", url.Values{"from": {"2026-11-23"}, "until": {"date"}, "to": {"2027-11-23"}}, "review")
}

// confirm presses confirm on the review and follows the step-up back; it
// returns the response of the confirmed page.
func (b *browser) confirm(id string) response {
	b.f.t.Helper()
	r := b.post("/draft/"+id+"/send", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/draft/"+id+"/confirmed" {
		b.f.t.Fatalf("POST send = %d to %q, want the step-up back to /draft/%s/confirmed; body:\n%s", r.Status, r.Location, id, text(r.Body))
	}
	return b.get(r.Location)
}

// fullmaktRE is the page of a fullmakt, in a redirect.
var fullmaktRE = regexp.MustCompile(`^/fullmakter/(fm_[a-z0-9]+)(\?.*)?$`)

// fullmaktOf returns the fullmakt id a redirect goes to.
func fullmaktOf(t *testing.T, r response) string {
	t.Helper()
	m := fullmaktRE.FindStringSubmatch(r.Location)
	if r.Status != http.StatusSeeOther || m == nil {
		t.Fatalf("got %d to %q, want a redirect to a fullmakt; body:\n%s", r.Status, r.Location, text(r.Body))
	}
	return m[1]
}

// mainOf returns the <main> of a page: the page without the layout's menus.
func mainOf(html string) string {
	_, after, _ := strings.Cut(html, "<main")
	before, _, _ := strings.Cut(after, "</main>")
	return before
}

// fieldError returns the message shown next to the field with id field, or "".
func fieldError(html, field string) string {
	re := regexp.MustCompile(`<p id="` + regexp.QuoteMeta(field) + `-error" class="error-message">(.*?)</p>`)
	m := re.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return strings.TrimPrefix(text(m[1]), "Error: ")
}

func TestGiveJourney(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)

	r := kari.get("/give")
	if r.Status != http.StatusOK || !strings.Contains(text(r.Body), "Who do you want to give a fullmakt to?") {
		t.Fatalf("GET /give = %d, want the first question; body:\n%s", r.Status, text(r.Body))
	}
	// The surname in any case.
	r = kari.post("/give", url.Values{"id": {" " + string(f.id("ingrid")) + " "}, "surname": {"hANSEN"}})
	id := draftOf(t, r, "scope")

	page := kari.get("/draft/" + id + "/scope")
	body := text(page.Body)
	for _, want := range []string{
		"What may Ingrid Hansen do for you?",
		"Services in Health", "Patient record", "GP appointments", // every service of an area
		"Never included, as nobody can do it for someone else: Notice of marriage, Will.",
		"Tax return",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET scope: the page lacks %q:\n%s", want, body)
		}
	}
	for _, never := range []string{`value="valg.stemmegivning"`, `value="elections"`, `value="domstol.testament"`, `value="folkeregisteret.ekteskap"`} {
		if strings.Contains(page.Body, never) {
			t.Errorf("GET scope offers %s, which is highly personal (or an area of only such services)", never)
		}
	}

	kari.step(id, "scope", url.Values{"area": {"health"}, "service": {"skatteetaten.skattemelding"}}, "options")
	page = kari.get("/draft/" + id + "/options")
	if !strings.Contains(page.Body, `id="subdelegate"`) || strings.Contains(page.Body, `aria-describedby="subdelegate-hint" checked`) {
		t.Errorf("GET options: want the pass-on box, not ticked:\n%s", page.Body)
	}
	for _, want := range []string{`value="read"`, `value="submit"`, `value="book"`} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("GET options: no action %s of the chosen services", want)
		}
	}
	if strings.Contains(page.Body, `value="sign"`) || strings.Contains(page.Body, `value="vote"`) {
		t.Errorf("GET options offers an action no chosen service has:\n%s", text(page.Body))
	}
	kari.step(id, "options", url.Values{"actions": {"some"}, "action": {"read", "book"}, "subdelegate": {"yes"}}, "period")
	page = kari.get("/draft/" + id + "/period")
	if !strings.Contains(page.Body, `value="2026-11-23"`) || !strings.Contains(page.Body, `value="2027-11-23"`) || !strings.Contains(page.Body, `value="open"`) {
		t.Errorf("GET period: want today, a year on and until revoked by default:\n%s", page.Body)
	}
	kari.step(id, "period", url.Values{"from": {"24.11.2026"}, "until": {"date"}, "to": {"2027-12-31"}}, "review")

	page = kari.get("/draft/" + id + "/review")
	body = text(page.Body)
	for _, want := range []string{
		"Check the fullmakt before you give it", "Ingrid Hansen (", "Patient record", "Prescriptions",
		"Vaccinations", "Tax return", "Read, Book", "Yes, Ingrid Hansen may pass it on", "24.11.2026 – 31.12.2027",
		"Confirm with your passkey", "level high",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET review: the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, string(f.id("ingrid"))) {
		t.Errorf("GET review shows Ingrid's whole identity number")
	}
	for _, step := range []string{"/give?draft=" + id, "/draft/" + id + "/scope?change=1", "/draft/" + id + "/options?change=1", "/draft/" + id + "/period?change=1"} {
		if !strings.Contains(page.Body, `href="`+step+`"`) {
			t.Errorf("GET review: no change link to %s", step)
		}
	}

	f.advance(time.Minute)
	r = kari.confirm(id)
	fm := fullmaktOf(t, r)
	if !strings.HasSuffix(r.Location, "?given=1") {
		t.Errorf("confirmed went to %q, want the fullmakt with ?given=1", r.Location)
	}
	got, err := f.store.Fullmakt(f.ctx, fm)
	if err != nil {
		t.Fatal(err)
	}
	want := delegation.Fullmakt{
		ID: fm, Grantor: f.id("kari"), Proxy: f.id("ingrid"),
		Scope:          delegation.Scope{Areas: []string{"health"}, Services: []string{"skatteetaten.skattemelding"}, Actions: []string{"book", "read"}},
		Period:         delegation.Period{From: delegation.NewDate(2026, 11, 24), To: delegation.NewDate(2027, 12, 31)},
		MaySubdelegate: true, Status: delegation.StatusActive, ConfirmedACR: authz.LevelHigh.ACR(),
		Origin: delegation.OriginPortal, CreatedBy: f.id("kari"),
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Fullmakt{}, "CreatedAt")); diff != "" {
		t.Errorf("Fullmakt(%s) after giving (-want +got):\n%s", fm, diff)
	}
	if f.changes() == 0 {
		t.Errorf("giving did not call Changed")
	}

	page = kari.follow(r)
	body = text(page.Body)
	for _, want := range []string{"The fullmakt is given", "Ingrid Hansen can act for you from 24.11.2026", "services are told at once", "Not started yet", "(level high)"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: the page lacks %q:\n%s", r.Location, want, body)
		}
	}

	// The proxy sees it at once, with the button to give it up.
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	page = ingrid.get("/fullmakter/" + fm)
	body = text(page.Body)
	for _, want := range []string{"Fullmakt from Kari Nordmann", "Patient record", "Tax return", "Give up the fullmakt"} {
		if !strings.Contains(body, want) {
			t.Errorf("ingrid GET /fullmakter/%s: the page lacks %q:\n%s", fm, want, body)
		}
	}
	if strings.Contains(body, "The fullmakt is given") {
		t.Errorf("the proxy sees the grantor's banner")
	}
	if r := ingrid.get("/fullmakter/" + fm + "?given=1"); strings.Contains(text(r.Body), "The fullmakt is given") {
		t.Errorf("the proxy sees the grantor's banner with ?given=1")
	}

	// The draft is used: its pages go to the fullmakt.
	if r := kari.get("/draft/" + id + "/review"); r.Status != http.StatusSeeOther || r.Location != "/fullmakter/"+fm {
		t.Errorf("GET review of a used draft = %d to %q, want a redirect to the fullmakt", r.Status, r.Location)
	}
}

func TestConfirmNeedsStepUp(t *testing.T) {
	tests := []struct {
		name string
		// before runs when the draft is at the review, before the browser
		// opens the confirmed page.
		before func(t *testing.T, f *fixture, b *browser, id string)
	}{
		{"confirmed page without pressing confirm", func(t *testing.T, f *fixture, b *browser, id string) {}},
		{"pressed confirm, still at substantial", func(t *testing.T, f *fixture, b *browser, id string) {
			r := b.post("/draft/"+id+"/send", nil)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("POST send = %d", r.Status)
			}
			f.setSession("kari", authz.LevelSubstantial, f.clock().Add(-time.Minute))
		}},
		{"at high, but authenticated before pressing confirm", func(t *testing.T, f *fixture, b *browser, id string) {
			f.advance(time.Minute)
			r := b.post("/draft/"+id+"/send", nil)
			if r.Status != http.StatusSeeOther {
				t.Fatalf("POST send = %d", r.Status)
			}
			f.setSession("kari", authz.LevelHigh, start)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			kari := f.login("kari", authz.LevelHigh)
			id := kari.startDraft("give", "ingrid")
			kari.toReview(id, url.Values{"area": {"tax"}})
			tt.before(t, f, kari, id)
			r := kari.get("/draft/" + id + "/confirmed")
			if r.Status != http.StatusForbidden || !strings.Contains(text(r.Body), "The fullmakt is not given yet. To give it, confirm it with your passkey.") {
				t.Errorf("GET confirmed = %d, want 403 with the review saying it is not given yet; body:\n%s", r.Status, text(r.Body))
			}
			if given, err := f.store.FullmakterGivenBy(f.ctx, f.id("kari")); err != nil || len(given) != 0 {
				t.Errorf("FullmakterGivenBy(kari) = %v, %v, want none", given, err)
			}
		})
	}
}

// setSession changes a logged-in cast member's level and time of
// authentication, as a login would.
func (f *fixture) setSession(name string, level authz.Level, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.sessions[f.id(name)]
	v.Level, v.AuthTime = level, at
}

// What is confirmed is what was on the review when confirm was pressed: a
// change made after (in another tab) needs confirming again.
func TestChangeAfterConfirmPressed(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	kari.toReview(id, url.Values{"area": {"tax"}})
	if r := kari.post("/draft/"+id+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("POST send = %d", r.Status)
	}
	kari.step(id, "scope", url.Values{"area": {"tax", "health"}, "change": {"1"}}, "options")
	if r := kari.get("/draft/" + id + "/confirmed"); r.Status != http.StatusForbidden {
		t.Errorf("GET confirmed after a change = %d, want 403", r.Status)
	}
	fm := fullmaktOf(t, kari.confirm(id))
	if got, _ := f.store.Fullmakt(f.ctx, fm); !cmp.Equal(got.Scope.Areas, []string{"health", "tax"}) {
		t.Errorf("the fullmakt confirmed after the change covers %v, want health and tax", got.Scope.Areas)
	}
}

// A step-up within the second confirm was pressed counts, even where the time
// of authentication is kept to the second.
func TestConfirmSameSecond(t *testing.T) {
	f := newFixture(t)
	f.advance(700 * time.Millisecond)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	kari.toReview(id, url.Values{"area": {"tax"}})
	if r := kari.post("/draft/"+id+"/send", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("POST send = %d", r.Status)
	}
	f.setSession("kari", authz.LevelHigh, f.clock().Truncate(time.Second))
	fullmaktOf(t, kari.get("/draft/"+id+"/confirmed"))
}

func TestConfirmOnce(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	kari.toReview(id, url.Values{"area": {"tax"}})
	r := kari.post("/draft/"+id+"/send", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST send = %d", r.Status)
	}
	// The browser replays the confirmation, many times at once.
	const n = 8
	var wg sync.WaitGroup
	locations := make([]string, n)
	for i := range n {
		wg.Go(func() {
			res, err := kari.c.Get(f.srv.URL + "/draft/" + id + "/confirmed")
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			locations[i] = res.Header.Get("Location")
		})
	}
	wg.Wait()
	given, err := f.store.FullmakterGivenBy(f.ctx, f.id("kari"))
	if err != nil || len(given) != 1 {
		t.Fatalf("FullmakterGivenBy(kari) = %d fullmakter, %v; want exactly 1", len(given), err)
	}
	for i, loc := range locations {
		if !strings.HasPrefix(loc, "/fullmakter/"+given[0].ID) {
			t.Errorf("confirmation %d went to %q, want the fullmakt %s", i, loc, given[0].ID)
		}
	}
	// And once more, later.
	if r := kari.get("/draft/" + id + "/confirmed"); r.Location != "/fullmakter/"+given[0].ID {
		t.Errorf("GET confirmed again = %d to %q, want the fullmakt", r.Status, r.Location)
	}
	if r := kari.post("/draft/"+id+"/send", nil); r.Location != "/fullmakter/"+given[0].ID {
		t.Errorf("POST send after confirming = %d to %q, want the fullmakt", r.Status, r.Location)
	}
	if given, _ := f.store.FullmakterGivenBy(f.ctx, f.id("kari")); len(given) != 1 {
		t.Errorf("FullmakterGivenBy(kari) = %d fullmakter after the replays, want 1", len(given))
	}
}

func TestStartErrors(t *testing.T) {
	f := newFixture(t)
	ingrid := string(f.id("ingrid"))
	// A valid number of nobody in the register.
	var nobody delegation.PartyID
	for ind := 0; nobody == ""; ind++ {
		if id, ok := delegation.NorwegianPersonID(delegation.NewDate(1950, 3, 3), ind, false, true); ok {
			nobody = id
		}
	}
	bad := ingrid[:10] + string('0'+(ingrid[10]-'0'+1)%10) // a wrong control digit
	const notFound = "We found nobody with this identity number and surname. Check both."
	tests := []struct {
		name, kind   string
		id, surname  string
		field, want  string
		showsTheNumb bool
	}{
		{"wrong surname", "give", ingrid, "Nordmann", "id", notFound, false},
		{"unknown number", "give", string(nobody), "Hansen", "id", notFound, false},
		{"deceased", "give", string(f.id("olav")), "Strand", "id", notFound, false},
		{"first name for surname", "give", ingrid, "Ingrid", "id", notFound, false},
		{"checksum", "give", bad, "Hansen", "id", "This is not a valid identity number. Check that you have typed all 11 digits correctly.", true},
		{"organisation number", "give", "974761076", "Hansen", "id", "This is not a valid identity number. Check that you have typed all 11 digits correctly.", true},
		{"no number", "give", "", "Hansen", "id", "Enter the identity number", false},
		{"no surname", "give", ingrid, " ", "surname", "Enter the surname", false},
		{"self", "give", string(f.id("kari")), "Nordmann", "id", "You cannot give a fullmakt to yourself. Enter the identity number of the person you want to give it to.", false},
		{"asking oneself", "ask", string(f.id("kari")), "Nordmann", "id", "You cannot ask yourself for a fullmakt. Enter the identity number of the person you want to ask.", false},
	}
	kari := f.login("kari", authz.LevelSubstantial)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kari.post("/"+tt.kind, url.Values{"id": {tt.id}, "surname": {tt.surname}})
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("POST /%s = %d, want 422; body:\n%s", tt.kind, r.Status, text(r.Body))
			}
			if got := fieldError(r.Body, tt.field); got != tt.want {
				t.Errorf("POST /%s: message at %s = %q, want %q", tt.kind, tt.field, got, tt.want)
			}
			if !strings.Contains(r.Body, `href="#`+tt.field+`"`) {
				t.Errorf("POST /%s: the error summary does not link to #%s", tt.kind, tt.field)
			}
			if shown := tt.id != "" && strings.Contains(r.Body, `value="`+tt.id+`"`); shown != tt.showsTheNumb {
				t.Errorf("POST /%s: the typed number is shown again: %v, want %v", tt.kind, shown, tt.showsTheNumb)
			}
		})
	}
}

func TestDoubleSurname(t *testing.T) {
	f := newFixture(t)
	var id delegation.PartyID
	for ind := 0; id == ""; ind++ {
		if x, ok := delegation.NorwegianPersonID(delegation.NewDate(1960, 5, 6), ind, false, true); ok {
			id = x
		}
	}
	err := f.store.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		return tx.PutPerson(delegation.Person{ID: id, Name: "Anne Marie Berg Olsen", BirthDate: delegation.NewDate(1960, 5, 6)})
	})
	if err != nil {
		t.Fatal(err)
	}
	kari := f.login("kari", authz.LevelSubstantial)
	for _, tt := range []struct {
		surname string
		ok      bool
	}{
		{"Olsen", true}, {"berg olsen", true}, {"  Berg   Olsen ", true}, {"Marie Berg Olsen", true},
		{"Berg", false}, {"Anne", false}, {"Olsen Berg", false}, {"BergOlsen", false},
	} {
		r := kari.post("/give", url.Values{"id": {string(id)}, "surname": {tt.surname}})
		if ok := r.Status == http.StatusSeeOther; ok != tt.ok {
			t.Errorf("POST /give with surname %q = %d, want accepted %v", tt.surname, r.Status, tt.ok)
		}
	}
}

func TestFailedLookupsBounded(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	// post sets the form token in the form it is given: a new form each time.
	wrong := func() url.Values { return url.Values{"id": {string(f.id("ingrid"))}, "surname": {"Olsen"}} }
	right := func() url.Values { return url.Values{"id": {string(f.id("ingrid"))}, "surname": {"Hansen"}} }
	for i := range 10 {
		if r := kari.post("/give", wrong()); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("failed look-up %d = %d, want 422", i+1, r.Status)
		}
	}
	r := kari.post("/give", right())
	if r.Status != http.StatusTooManyRequests || !strings.Contains(text(r.Body), "You have tried too many times. Wait 10 minutes") {
		t.Errorf("look-up after 10 failures = %d, want 429 saying to wait; body:\n%s", r.Status, text(r.Body))
	}
	// Another visitor is not held back.
	if r := f.login("per", authz.LevelSubstantial).post("/give", right()); r.Status != http.StatusSeeOther {
		t.Errorf("another visitor's look-up = %d, want it accepted; body:\n%s", r.Status, text(r.Body))
	}
	f.advance(10 * time.Minute)
	if r := kari.post("/give", right()); r.Status != http.StatusSeeOther {
		t.Errorf("look-up 10 minutes later = %d, want it accepted; body:\n%s", r.Status, text(r.Body))
	}
}

func TestScopeErrors(t *testing.T) {
	tests := []struct {
		name string
		form url.Values
		want string
	}{
		{"nothing chosen", url.Values{}, "Choose at least one area or service"},
		{"a highly personal service", url.Values{"service": {"valg.stemmegivning"}}, "One of your choices cannot be part of a fullmakt. Choose again."},
		{"a highly personal service beside a good one", url.Values{"area": {"tax"}, "service": {"domstol.testament"}}, "One of your choices cannot be part of a fullmakt. Choose again."},
		{"an area of highly personal services only", url.Values{"area": {"elections"}}, "One of your choices cannot be part of a fullmakt. Choose again."},
		{"an unknown service", url.Values{"service": {"nav.nothing"}}, "One of your choices cannot be part of a fullmakt. Choose again."},
		{"an unknown area", url.Values{"area": {"space"}}, "One of your choices cannot be part of a fullmakt. Choose again."},
	}
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kari.post("/draft/"+id+"/scope", tt.form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("POST scope = %d, want 422", r.Status)
			}
			if got := fieldError(r.Body, "scope"); got != tt.want {
				t.Errorf("POST scope: message = %q, want %q", got, tt.want)
			}
			if !strings.Contains(r.Body, `id="scope"`) {
				t.Errorf("POST scope: no element with the id the error links to")
			}
		})
	}
	// The choice is kept when the page comes back with an error.
	r := kari.post("/draft/"+id+"/scope", url.Values{"area": {"tax"}, "service": {"valg.stemmegivning", "nav.dagpenger"}})
	if !strings.Contains(r.Body, `value="nav.dagpenger" checked`) {
		t.Errorf("POST scope with an error lost the ticked service")
	}
	// Nothing was saved: options still needs a scope.
	if r := kari.get("/draft/" + id + "/options"); r.Location != "/draft/"+id+"/scope" {
		t.Errorf("GET options after only refused choices = %d to %q, want back to the scope", r.Status, r.Location)
	}
}

func TestMinorGrantor(t *testing.T) {
	f := newFixture(t)
	nora := f.login("nora", authz.LevelSubstantial) // 16
	id := nora.startDraft("give", "mari")
	page := nora.get("/draft/" + id + "/scope")
	if !strings.Contains(text(page.Body), "You are under 18, so you can give a fullmakt only for the whole area Health.") {
		t.Errorf("GET scope for a 16-year-old: no word of what she may give:\n%s", text(page.Body))
	}
	for _, form := range []url.Values{
		{"area": {"tax"}},
		{"area": {"health", "tax"}},
		{"service": {"helsenorge.journal"}}, // a health service, but not the area
	} {
		r := nora.post("/draft/"+id+"/scope", form)
		if got, want := fieldError(r.Body, "scope"), "You are under 18, so you can give a fullmakt only for the whole area Health."; r.Status != http.StatusUnprocessableEntity || got != want {
			t.Errorf("POST scope %v by a 16-year-old = %d, %q; want 422, %q", form, r.Status, got, want)
		}
	}
	nora.step(id, "scope", url.Values{"area": {"health"}}, "options")
	nora.step(id, "options", url.Values{"actions": {"all"}}, "period")
	page = nora.get("/draft/" + id + "/period")
	if strings.Contains(page.Body, `value="open"`) {
		t.Errorf("GET period offers a 16-year-old \"until I revoke it\"")
	}
	r := nora.post("/draft/"+id+"/period", url.Values{"from": {"2026-11-23"}, "until": {"open"}})
	if got := fieldError(r.Body, "to"); r.Status != http.StatusUnprocessableEntity || got != "A fullmakt from someone under 18 must have a last day. Enter the last day." {
		t.Errorf("POST period open-ended by a 16-year-old = %d, %q; want 422 and a last day asked for", r.Status, got)
	}
	nora.step(id, "period", url.Values{"from": {"2026-11-23"}, "to": {"2027-06-30"}}, "review")
	fm := fullmaktOf(t, nora.confirm(id))
	got, err := f.store.Fullmakt(f.ctx, fm)
	if err != nil || !cmp.Equal(got.Scope, delegation.Scope{Areas: []string{"health"}}) || got.Period.To != delegation.NewDate(2027, 6, 30) {
		t.Errorf("Fullmakt(%s) = %+v, %v; want health until 30.06.2027", fm, got, err)
	}

	// Asking a minor says so, in the asker's words.
	mari := f.login("mari", authz.LevelSubstantial)
	id = mari.startDraft("ask", "nora")
	r = mari.post("/draft/"+id+"/scope", url.Values{"area": {"tax"}})
	if got, want := fieldError(r.Body, "scope"), "Nora Bakke is under 18, and can give a fullmakt only for the whole area Health."; got != want {
		t.Errorf("POST scope asking a 16-year-old for tax: message %q, want %q", got, want)
	}
	// A child under 16 can give none.
	kari := f.login("kari", authz.LevelSubstantial)
	id = kari.startDraft("ask", "emma")
	r = kari.post("/draft/"+id+"/scope", url.Values{"area": {"health"}})
	if got, want := fieldError(r.Body, "scope"), "Emma Nordmann is under 16, and cannot give a fullmakt yet. From 16, it can be given for the area Health."; got != want {
		t.Errorf("POST scope asking a 10-year-old: message %q, want %q", got, want)
	}
}

func TestPeriodErrors(t *testing.T) {
	long := strings.Repeat("å", delegation.MaxMessageLen+1)
	tests := []struct {
		name, kind string
		form       url.Values
		field      string
		want       string
	}{
		{"no first day", "give", url.Values{"from": {""}, "until": {"date"}, "to": {"2027-01-01"}}, "from", "Enter the first day"},
		{"a first day that does not exist", "give", url.Values{"from": {"31.02.2027"}, "until": {"date"}, "to": {"2027-12-01"}}, "from", "Enter a real date, for example 31.12.2027"},
		{"not a date", "give", url.Values{"from": {"tomorrow"}, "until": {"date"}, "to": {"2027-12-01"}}, "from", "Enter a real date, for example 31.12.2027"},
		{"yesterday", "give", url.Values{"from": {"22.11.2026"}, "until": {"date"}, "to": {"2027-12-01"}}, "from", "The first day cannot be before today"},
		{"no last day", "give", url.Values{"from": {"2026-11-23"}, "until": {"date"}, "to": {" "}}, "to", "Enter the last day"},
		{"no choice of end, no last day", "give", url.Values{"from": {"2026-11-23"}}, "to", "Enter the last day"},
		{"last before first", "give", url.Values{"from": {"2026-12-10"}, "until": {"date"}, "to": {"09.12.2026"}}, "to", "The last day cannot be before the first day"},
		{"a last day that does not exist", "give", url.Values{"from": {"2026-12-10"}, "until": {"date"}, "to": {"2027-13-01"}}, "to", "Enter a real date, for example 31.12.2027"},
		{"a message too long", "ask", url.Values{"from": {"2026-11-23"}, "until": {"open"}, "message": {long}}, "message", "The message can be at most 1000 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			kari := f.login("kari", authz.LevelSubstantial)
			id := kari.startDraft(tt.kind, "ingrid")
			kari.step(id, "scope", url.Values{"area": {"tax"}}, "options")
			kari.step(id, "options", url.Values{"actions": {"all"}}, "period")
			r := kari.post("/draft/"+id+"/period", tt.form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Errorf("POST period = %d, want 422", r.Status)
			}
			if got := fieldError(r.Body, tt.field); got != tt.want {
				t.Errorf("POST period: message at %s = %q, want %q", tt.field, got, tt.want)
			}
			if r := kari.get("/draft/" + id + "/review"); r.Location != "/draft/"+id+"/period" {
				t.Errorf("GET review after a refused period = %d to %q, want back to the period", r.Status, r.Location)
			}
		})
	}
	t.Run("today and until revoked", func(t *testing.T) {
		f := newFixture(t)
		kari := f.login("kari", authz.LevelSubstantial)
		id := kari.startDraft("give", "ingrid")
		kari.step(id, "scope", url.Values{"area": {"tax"}}, "options")
		kari.step(id, "options", url.Values{"actions": {"all"}}, "period")
		kari.step(id, "period", url.Values{"from": {"23.11.2026"}, "until": {"open"}, "to": {"garbage is ignored"}}, "review")
		if r := kari.get("/draft/" + id + "/review"); !strings.Contains(text(r.Body), "From 23.11.2026, with no end date") {
			t.Errorf("GET review: no open-ended period:\n%s", text(r.Body))
		}
	})
}

func TestOptionsErrors(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	kari.step(id, "scope", url.Values{"area": {"tax"}}, "options")
	for _, tt := range []struct {
		name  string
		form  url.Values
		field string
		want  string
	}{
		{"neither", url.Values{}, "actions", "Choose everything, or only some actions"},
		{"some, none ticked", url.Values{"actions": {"some"}}, "action", "Tick at least one action, or choose everything the services offer"},
		{"an action the services lack", url.Values{"actions": {"some"}, "action": {"vote"}}, "action", "One of the actions is not offered by the services you chose. Choose again."},
	} {
		r := kari.post("/draft/"+id+"/options", tt.form)
		if got := fieldError(r.Body, tt.field); r.Status != http.StatusUnprocessableEntity || got != tt.want {
			t.Errorf("%s: POST options = %d, %q; want 422, %q", tt.name, r.Status, got, tt.want)
		}
	}
}

// A change from the review comes back to the review; changing what it covers
// drops the actions the new choice does not offer.
func TestChangeFromReview(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	kari.step(id, "scope", url.Values{"area": {"education"}}, "options")
	kari.step(id, "options", url.Values{"actions": {"some"}, "action": {"read", "sign"}}, "period")
	kari.step(id, "period", url.Values{"from": {"2026-11-23"}, "until": {"open"}}, "review")

	if r := kari.get("/give?draft=" + id); r.Status != http.StatusOK || !strings.Contains(r.Body, `name="draft" value="`+id+`"`) || !strings.Contains(r.Body, `href="/draft/`+id+`/review"`) {
		t.Errorf("GET /give?draft = %d, want the question for the same draft, back to its review; body:\n%s", r.Status, text(r.Body))
	}
	if r := kari.get("/ask?draft=" + id); r.Status != http.StatusNotFound {
		t.Errorf("GET /ask?draft= of a giving draft = %d, want 404", r.Status)
	}
	if r := kari.get("/draft/" + id + "/scope?change=1"); !strings.Contains(r.Body, `name="change" value="1"`) {
		t.Errorf("GET scope?change=1 does not carry the change on")
	}
	r := kari.post("/draft/"+id+"/scope", url.Values{"area": {"health"}, "change": {"1"}})
	if r.Location != "/draft/"+id+"/options?change=1" {
		t.Fatalf("POST scope (change) went to %q, want the options, then back", r.Location)
	}
	page := kari.get(r.Location)
	if !strings.Contains(page.Body, `value="read" checked`) || !strings.Contains(page.Body, `id="actions-some" name="actions" value="some" aria-describedby="actions-some-hint" checked`) ||
		strings.Contains(page.Body, `value="sign"`) || strings.Contains(page.Body, `value="book" checked`) {
		t.Errorf("GET options after changing education to health: want only some, read kept, sign (not offered) gone; got:\n%s", page.Body)
	}
	kari.step(id, "options", url.Values{"actions": {"all"}, "change": {"1"}}, "review")
	kari.step(id, "period", url.Values{"from": {"2026-11-25"}, "until": {"open"}, "change": {"1"}}, "review")

	// A new person, on the same draft.
	r = kari.post("/give", url.Values{"id": {string(f.id("per"))}, "surname": {"Nordmann"}, "draft": {id}})
	if r.Location != "/draft/"+id+"/review" {
		t.Fatalf("POST /give with the draft = %d to %q, want back to its review", r.Status, r.Location)
	}
	body := text(kari.get(r.Location).Body)
	for _, want := range []string{"Per Nordmann", "Patient record", "Everything the services offer", "From 25.11.2026, with no end date"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET review after the changes: the page lacks %q:\n%s", want, body)
		}
	}
}

func TestDraftNotYours(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	kari.toReview(id, url.Values{"area": {"tax"}})
	ingrid := f.login("ingrid", authz.LevelHigh)
	for _, path := range []string{"scope", "options", "period", "review", "confirmed"} {
		r := ingrid.get("/draft/" + id + "/" + path)
		if r.Status != http.StatusNotFound || !strings.Contains(text(r.Body), "This has expired") {
			t.Errorf("another person's GET %s = %d, want 404 and the expired page; body:\n%s", path, r.Status, text(r.Body))
		}
	}
	for _, path := range []string{"scope", "options", "period", "send"} {
		if r := ingrid.post("/draft/"+id+"/"+path, url.Values{"area": {"health"}}); r.Status != http.StatusNotFound {
			t.Errorf("another person's POST %s = %d, want 404", path, r.Status)
		}
	}
	if r := ingrid.get("/give?draft=" + id); r.Status != http.StatusNotFound {
		t.Errorf("another person's GET /give?draft = %d, want 404", r.Status)
	}
	if r := ingrid.post("/give", url.Values{"draft": {id}, "id": {string(f.id("per"))}, "surname": {"Nordmann"}}); r.Status != http.StatusNotFound {
		t.Errorf("another person's POST /give with the draft = %d, want 404", r.Status)
	}
	// Unknown and expired drafts look the same.
	if r := kari.get("/draft/" + strings.Repeat("A", 43) + "/scope"); r.Status != http.StatusNotFound || !strings.Contains(text(r.Body), "This has expired") {
		t.Errorf("GET an unknown draft = %d, want 404 and the expired page", r.Status)
	}
	f.advance(61 * time.Minute)
	r := kari.get("/draft/" + id + "/review")
	if m := mainOf(r.Body); r.Status != http.StatusNotFound || !strings.Contains(m, `href="/give"`) || strings.Contains(m, `href="/ask"`) {
		t.Errorf("GET an expired draft = %d, want 404 offering to give again; body:\n%s", r.Status, r.Body)
	}
	if given, _ := f.store.FullmakterGivenBy(f.ctx, f.id("kari")); len(given) != 0 {
		t.Errorf("kari gave %d fullmakter, want none", len(given))
	}
}

func TestFormToken(t *testing.T) {
	f := newFixture(t)
	kari := f.login("kari", authz.LevelSubstantial)
	id := kari.startDraft("give", "ingrid")
	for _, tt := range []struct {
		path  string
		token []string
	}{
		{"/give", []string{""}},
		{"/give", []string{"token-ingrid"}},
		{"/draft/" + id + "/scope", []string{""}},
		{"/draft/" + id + "/send", []string{"wrong"}},
	} {
		r := kari.post(tt.path, url.Values{"csrf": tt.token, "id": {string(f.id("ingrid"))}, "surname": {"Hansen"}, "area": {"tax"}})
		if r.Status != http.StatusForbidden {
			t.Errorf("POST %s with form token %q = %d, want 403", tt.path, tt.token, r.Status)
		}
	}
	if r := kari.get("/draft/" + id + "/options"); r.Location != "/draft/"+id+"/scope" {
		t.Errorf("a scope without the form token was saved")
	}
}
