package portal_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// Records are written with the domain's own constructors, as the portal and
// the registers write them.

// castPerson returns a cast member as the register has them.
func (f *fixture) castPerson(name string) delegation.Person {
	f.t.Helper()
	p, err := f.store.Person(f.ctx, f.id(name))
	if err != nil {
		f.t.Fatalf("Person(%s) = %v", name, err)
	}
	return p
}

// today is the fixture's day in Oslo.
func (f *fixture) today() delegation.Date { return delegation.Today(f.clock()) }

// seedFullmakt stores a fullmakt grantor gives proxy for scope (areas and
// services, as the import format lists them) and period, given now.
func (f *fixture) seedFullmakt(grantor, proxy string, scope []string, period delegation.Period) delegation.Fullmakt {
	f.t.Helper()
	sc, err := delegation.ParseScope(scope, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	fm, err := delegation.Give(delegation.NewFullmakt{
		Grantor: f.castPerson(grantor), Proxy: f.castPerson(proxy), Scope: sc, Period: period,
		ConfirmedACR: "http://eidas.europa.eu/LoA/high",
	}, f.clock())
	if err != nil {
		f.t.Fatalf("Give(%s → %s) = %v", grantor, proxy, err)
	}
	if err := f.store.CreateFullmakt(f.ctx, fm); err != nil {
		f.t.Fatal(err)
	}
	return fm
}

// seedRevoke has the grantor revoke fm now.
func (f *fixture) seedRevoke(fm delegation.Fullmakt) {
	f.t.Helper()
	grantor, err := f.store.Person(f.ctx, fm.Grantor)
	if err != nil {
		f.t.Fatal(err)
	}
	end, err := delegation.MayEnd(fm, fm.Grantor, grantor, nil, f.clock())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.EndFullmakt(f.ctx, end); err != nil {
		f.t.Fatal(err)
	}
}

// seedRequest stores requester's request to grantor for scope, made now.
func (f *fixture) seedRequest(requester, grantor string, scope []string) delegation.Request {
	f.t.Helper()
	sc, err := delegation.ParseScope(scope, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	r, err := delegation.NewRequest(f.castPerson(requester), f.castPerson(grantor), sc,
		delegation.Period{From: f.today()}, "Please", f.clock())
	if err != nil {
		f.t.Fatalf("NewRequest(%s → %s) = %v", requester, grantor, err)
	}
	if err := f.store.CreateRequest(f.ctx, r); err != nil {
		f.t.Fatal(err)
	}
	return r
}

// seedDecline has the grantor decline r now.
func (f *fixture) seedDecline(r delegation.Request) {
	f.t.Helper()
	a, err := delegation.Decline(r, r.Grantor, "Not now", f.clock())
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.AnswerRequest(f.ctx, a); err != nil {
		f.t.Fatal(err)
	}
}

// seedConsent stores party's consent that the cast's organisation obtains
// dataSet from the tax administration until validTo.
func (f *fixture) seedConsent(party, dataSet string, validTo delegation.Date, oneTime bool) delegation.Consent {
	f.t.Helper()
	c, err := delegation.NewConsent(f.castPerson(party), demo.CastOrganization().ID, taxID, dataSet, "A loan application", validTo, oneTime, f.clock())
	if err != nil {
		f.t.Fatalf("NewConsent(%s) = %v", party, err)
	}
	if err := f.store.CreateConsent(f.ctx, c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// seedAccess appends events to the decision log, with a time (now), an
// action, a policy version and a client where they have none.
func (f *fixture) seedAccess(events ...delegation.AccessEvent) []delegation.AccessEvent {
	f.t.Helper()
	for i := range events {
		e := &events[i]
		if e.At.IsZero() {
			e.At = f.clock()
		}
		if e.Action == "" {
			e.Action = "read"
		}
		if e.PolicyVersion == "" {
			e.PolicyVersion = "test-1"
		}
		if e.Client == "" {
			e.Client = "demo-agency"
		}
	}
	if err := f.store.AppendAccess(f.ctx, events); err != nil {
		f.t.Fatal(err)
	}
	return events
}

// checkNoIDs fails when an HTML page shows a full identity number of anyone in
// the cast: pages show them masked.
func (f *fixture) checkNoIDs(path, body string) {
	f.t.Helper()
	for name, c := range f.cast {
		if strings.Contains(body, string(c.ID)) {
			f.t.Errorf("GET %s shows %s's full identity number", path, name)
		}
	}
}

// page gets an HTML page, wants status 200, and checks it holds no identity
// number.
func (b *browser) page(path string) response {
	b.f.t.Helper()
	r := b.get(path)
	if r.Status != http.StatusOK {
		b.f.t.Fatalf("GET %s = %d, want 200; body:\n%s", path, r.Status, r.Body)
	}
	b.f.checkNoIDs(path, r.Body)
	return r
}

// taxID is the tax administration's organisation number: a consent's
// provider, not in the register (the cast's organisation, Fjordtech Demo AS, is
// the recipient).
const taxID = delegation.PartyID("974761076")

// section returns the text of the overview's section whose heading has the id.
func section(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no heading %q on the page:\n%s", id, body)
	}
	rest := body[i:]
	if j := strings.Index(rest, "</section>"); j >= 0 {
		rest = rest[:j]
	}
	return text(`<h2 ` + rest)
}

// peopleRef returns the ref in the link to name's page on the overview.
func peopleRef(t *testing.T, body, name string) string {
	t.Helper()
	m := regexp.MustCompile(`href="/people/([^"]+)">` + regexp.QuoteMeta(name) + `<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the overview has no link to %s's page:\n%s", name, body)
	}
	return m[1]
}

func TestOverviewSections(t *testing.T) {
	f := newFixture(t)
	toPer := f.seedFullmakt("kari", "per", []string{"tax"}, delegation.Period{From: f.today()})
	f.advance(time.Hour)
	toIngrid := f.seedFullmakt("kari", "ingrid", []string{"skatteetaten.skattemelding"},
		delegation.Period{From: f.today().AddDays(10), To: f.today().AddDays(100)})
	fromIngrid := f.seedFullmakt("ingrid", "kari", []string{"health"}, delegation.Period{})
	f.seedFullmakt("astrid", "per", []string{"tax"}, delegation.Period{}) // nothing to do with Kari
	waiting := f.seedRequest("mari", "kari", []string{"welfare"})
	sent := f.seedRequest("kari", "per", []string{"housing"})
	declined := f.seedRequest("kari", "jon", []string{"transport"})
	f.seedDecline(declined)
	f.seedConsent("kari", "skatteetaten.inntekt", f.today().AddDays(30), false)
	f.seedConsent("per", "skatteetaten.inntekt", f.today().AddDays(30), false)

	kari := f.login("kari", authz.LevelSubstantial)
	body := kari.page("/").Body
	ola := f.castPerson("ola")

	tests := []struct {
		section string
		want    []string
		notWant []string
	}{
		{"waiting-heading", []string{"Mari Bakke asks you for a fullmakt", "Work and welfare", "Waiting for an answer", `href="/requests/` + waiting.ID + `"`}, []string{"Per Nordmann"}},
		{"given-heading", []string{
			"To Ingrid Hansen", "Covers: Tax return", "Not started yet",
			"To Per Nordmann", "Covers: Tax", "Active", "From 23.11.2026, with no end date",
			`href="/fullmakter/` + toPer.ID + `"`, `href="/fullmakter/` + toIngrid.ID + `"`, `href="/give"`,
		}, []string{"Astrid"}},
		{"received-heading", []string{"From Ingrid Hansen", "Covers: Health", "No end date: until it is revoked", `href="/fullmakter/` + fromIngrid.ID + `"`}, nil},
		{"people-heading", []string{
			"Emma Nordmann", "Ola Nordmann", "National Population Register",
			"Parent with joint parental responsibility, until " + ola.BirthDate.AddYears(18).Start().Format("02.01.2006") + ", when Ola Nordmann turns 18",
		}, []string{"Nora Bakke", "Per Nordmann"}},
		{"sent-heading", []string{"To Per Nordmann", "Waiting for an answer", "To Jon Berg", "Declined", "answered 23.11.2026",
			`href="/requests/` + sent.ID + `"`, `href="/ask"`}, []string{"Mari"}},
		{"consents-heading", []string{"You have 1 active consent.", `href="/consents"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			html := body[strings.Index(body, `id="`+tt.section+`"`):]
			html = html[:strings.Index(html, "</section>")]
			txt := text(html)
			for _, w := range tt.want {
				if !strings.Contains(txt, w) && !strings.Contains(html, w) {
					t.Errorf("section %s = %q, want %q in it", tt.section, txt, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(txt, w) {
					t.Errorf("section %s = %q, want no %q in it", tt.section, txt, w)
				}
			}
		})
	}

	// The sections come in order, and each list newest first.
	last := -1
	for _, id := range []string{"waiting-heading", "given-heading", "received-heading", "people-heading", "sent-heading", "consents-heading"} {
		i := strings.Index(body, `id="`+id+`"`)
		if i < last {
			t.Errorf("section %s comes before the one above it", id)
		}
		last = i
	}
	given := section(t, body, "given-heading")
	if i, j := strings.Index(given, "To Ingrid Hansen"), strings.Index(given, "To Per Nordmann"); i > j {
		t.Errorf("given = %q, want the newest (to Ingrid) first", given)
	}
	people := section(t, body, "people-heading")
	if i, j := strings.Index(people, "Emma"), strings.Index(people, "Ola"); i > j {
		t.Errorf("people = %q, want Emma before Ola", people)
	}
}

func TestOverviewEmpty(t *testing.T) {
	f := newFixture(t)
	body := f.login("sofie", authz.LevelSubstantial).page("/").Body
	for _, want := range []string{
		"Nobody is waiting for an answer from you.", "You have not given anyone a fullmakt.",
		"Nobody has given you a fullmakt.", "The registers show no children under 18",
		"You have not asked anyone for a fullmakt.", "You have no active consents.",
	} {
		if !strings.Contains(text(body), want) {
			t.Errorf("Sofie's overview = %q, want %q", text(body), want)
		}
	}
}

func TestOverviewGuardian(t *testing.T) {
	f := newFixture(t)
	body := f.login("jon", authz.LevelSubstantial).page("/").Body
	if got, want := section(t, body, "people-heading"), "Lars Dahl Guardian for economic matters, with no end date"; !strings.Contains(got, want) {
		t.Errorf("Jon's people = %q, want %q", got, want)
	}
}

// Ended fullmakter stay on the lists, marked, for the retention period (15
// months), counted from the revocation or the last day of the period.
func TestOverviewRetention(t *testing.T) {
	const month = 30 * 24 * time.Hour
	tests := []struct {
		name   string
		end    func(f *fixture) delegation.Fullmakt
		after  time.Duration
		shown  bool
		status string
	}{
		{"revoked 14 months ago", revokedNow, 14 * month, true, "Revoked"},
		{"revoked 16 months ago", revokedNow, 16 * month, false, ""},
		{"expired 14 months ago", expiresToday, 14 * month, true, "Expired"},
		{"expired 16 months ago", expiresToday, 16 * month, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			fm := tt.end(f)
			f.advance(tt.after)
			for _, who := range []string{"kari", "per"} {
				body := f.login(who, authz.LevelSubstantial).page("/").Body
				shown := strings.Contains(body, "/fullmakter/"+fm.ID)
				if shown != tt.shown {
					t.Fatalf("%s's overview shows the fullmakt: %v, want %v", who, shown, tt.shown)
				}
				if tt.shown {
					heading := "given-heading"
					if who == "per" {
						heading = "received-heading"
					}
					got := section(t, body, heading)
					for _, want := range []string{tt.status, "Ended ", "stay on the list for 15 months"} {
						if !strings.Contains(got, want) {
							t.Errorf("%s's list = %q, want %q", who, got, want)
						}
					}
				}
			}
		})
	}
}

func revokedNow(f *fixture) delegation.Fullmakt {
	fm := f.seedFullmakt("kari", "per", []string{"tax"}, delegation.Period{})
	f.seedRevoke(fm)
	return fm
}

func expiresToday(f *fixture) delegation.Fullmakt {
	return f.seedFullmakt("kari", "per", []string{"tax"}, delegation.Period{From: f.today(), To: f.today()})
}

func TestPersonPage(t *testing.T) {
	f := newFixture(t)
	byOla := f.seedFullmakt("ola", "ingrid", []string{"health"}, delegation.Period{})
	toOla := f.seedFullmakt("astrid", "ola", []string{"tax"}, delegation.Period{})
	kari := f.login("kari", authz.LevelSubstantial)
	ref := peopleRef(t, kari.page("/").Body, "Ola Nordmann")

	body := kari.page("/people/" + ref).Body
	txt := text(body)
	for _, want := range []string{
		"Ola Nordmann", "Parent with joint parental responsibility",
		"Fullmakter Ola Nordmann has given", "To Ingrid Hansen", "Covers: Health",
		"Fullmakter Ola Nordmann holds", "From Astrid Hansen", "Covers: Tax",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("Ola's page = %q, want %q", txt, want)
		}
	}
	for _, want := range []string{`href="/fullmakter/` + byOla.ID + `"`, `href="/activity?for=` + ref + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("Ola's page has no %s", want)
		}
	}
	if strings.Contains(body, `href="/fullmakter/`+toOla.ID+`"`) {
		t.Errorf("Ola's page links to the fullmakt Astrid gave him, which is not the parent's to open")
	}

	perRef := peopleRef(t, f.login("per", authz.LevelSubstantial).page("/").Body, "Ola Nordmann")
	if perRef == ref {
		t.Fatalf("Per's ref for Ola = Kari's ref: a ref must be the viewer's own")
	}
	mari := f.login("mari", authz.LevelSubstantial)
	for _, tt := range []struct {
		name string
		b    *browser
		path string
	}{
		{"Mari with Kari's ref", mari, "/people/" + ref},
		{"Kari with Per's ref", kari, "/people/" + perRef},
		{"Kari with a made-up ref", kari, "/people/AAAAAAAAAAAAAAAA"},
	} {
		if r := tt.b.get(tt.path); r.Status != http.StatusNotFound {
			t.Errorf("%s: GET %s = %d, want 404", tt.name, tt.path, r.Status)
		}
	}

	// From his 18th birthday, Ola is nobody's child in the portal.
	ola := f.castPerson("ola")
	f.advance(ola.BirthDate.AddYears(18).Start().Sub(f.clock()) + time.Minute)
	if r := kari.get("/people/" + ref); r.Status != http.StatusNotFound {
		t.Errorf("GET /people/{Ola} on his 18th birthday = %d, want 404", r.Status)
	}
	if got := section(t, kari.page("/").Body, "people-heading"); strings.Contains(got, "Ola") {
		t.Errorf("Kari's people on Ola's 18th birthday = %q, want no Ola", got)
	}
}

func TestWardPage(t *testing.T) {
	f := newFixture(t)
	jon := f.login("jon", authz.LevelSubstantial)
	ref := peopleRef(t, jon.page("/").Body, "Lars Dahl")
	txt := text(jon.page("/people/" + ref).Body)
	for _, want := range []string{"Guardianship", "economic matters", "Tax return", "Retirement pension", "with no end date"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Lars's page = %q, want %q", txt, want)
		}
	}
	for _, notWant := range []string{"Patient record", "Voting", "Fullmakter Lars Dahl has given"} {
		if strings.Contains(txt, notWant) {
			t.Errorf("Lars's page = %q, want no %q", txt, notWant)
		}
	}
	// A guardian sees no decision log for the ward (that is for parents).
	if r := jon.get("/activity?for=" + ref); r.Status != http.StatusNotFound {
		t.Errorf("GET /activity?for={ward} = %d, want 404", r.Status)
	}
}
