package portal_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// rowsOn counts the rows of the activity table on a page.
func rowsOn(body string) int { return strings.Count(body, `<tr>`) - 1 } // less the header

// tableText is the text of the activity table's rows, "" when there is none.
func tableText(body string) string {
	i, j := strings.Index(body, "<tbody>"), strings.Index(body, "</tbody>")
	if i < 0 || j < i {
		return ""
	}
	return text(body[i:j])
}

// olderLink returns the page's "Older entries" link, or "".
func olderLink(body string) string {
	m := regexp.MustCompile(`<a href="([^"]+)">Older entries</a>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

func TestActivityShowsDecision(t *testing.T) {
	f := newFixture(t)
	fm := f.seedFullmakt("kari", "ingrid", []string{"tax"}, delegation.Period{})
	f.advance(time.Minute)
	f.seedAccess(delegation.AccessEvent{
		At: f.clock().Add(-time.Second), Actor: f.id("ingrid"), Party: f.id("kari"), Service: "skatteetaten.skattemelding",
		Action: "submit", Allowed: true, Relation: delegation.RelFullmakt, RelationID: fm.ID, Client: "skatt-web",
	})
	f.seedAccess(delegation.AccessEvent{Actor: f.id("ingrid"), Party: f.id("astrid"), Service: "helsenorge.journal"})

	body := f.login("kari", authz.LevelSubstantial).page("/activity").Body
	txt := text(body)
	for _, want := range []string{"Ingrid Hansen", "Tax return", "Submit", "Allowed", "Fullmakt", "skatt-web", "23.11.2026 12:00"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Kari's activity = %q, want %q", txt, want)
		}
	}
	if !strings.Contains(body, `<a href="/fullmakter/`+fm.ID+`">Fullmakt</a>`) {
		t.Errorf("Kari's activity: the relation does not link to the fullmakt")
	}
	if !strings.Contains(body, `<table class="stack"`) || !strings.Contains(body, `data-label="Who"`) {
		t.Errorf("Kari's activity: want a stacking table with data-label on its cells")
	}
	if strings.Contains(tableText(body), "Patient record") {
		t.Errorf("Kari's activity shows a decision about Astrid: %q", txt)
	}
	if got := rowsOn(body); got != 1 {
		t.Errorf("Kari's activity has %d rows, want 1", got)
	}
}

// activityCast appends decisions for Kari on three days and in two services,
// by Ingrid: the 20th (tax), 21st (health) and 22nd of November (tax), at noon.
func activityCast(f *fixture) {
	for i, svc := range []string{"skatteetaten.skattemelding", "helsenorge.journal", "skatteetaten.skattemelding"} {
		f.seedAccess(delegation.AccessEvent{
			At:    time.Date(2026, time.November, 20+i, 12, 0, 0, 0, delegation.Oslo()),
			Actor: f.id("ingrid"), Party: f.id("kari"), Service: svc, Allowed: i != 1, Client: fmt.Sprintf("client-%d", 20+i),
		})
	}
}

func TestActivityFilter(t *testing.T) {
	f := newFixture(t)
	activityCast(f)
	kari := f.login("kari", authz.LevelSubstantial)
	tests := []struct {
		name  string
		query string
		want  []string // the clients shown
	}{
		{"everything", "", []string{"client-22", "client-21", "client-20"}},
		{"a service", "service=skatteetaten.skattemelding", []string{"client-22", "client-20"}},
		{"from a day, ISO", "from=2026-11-21", []string{"client-22", "client-21"}},
		{"to a day, as people write it", "to=21.11.2026", []string{"client-21", "client-20"}},
		{"one day, short form", "from=21.11.2026&to=21.11.2026", []string{"client-21"}},
		{"a period and a service", "from=2026-11-21&service=skatteetaten.skattemelding", []string{"client-22"}},
		{"nothing matches", "service=nav.pensjon", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := kari.page("/activity?" + tt.query).Body
			got := regexp.MustCompile(`client-\d+`).FindAllString(text(body), -1)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("GET /activity?%s: clients (-want +got):\n%s", tt.query, diff)
			}
			if tt.want == nil && !strings.Contains(text(body), "Nothing matches the filter.") {
				t.Errorf("GET /activity?%s = %q, want it to say nothing matches", tt.query, text(body))
			}
		})
	}
}

func TestActivityFilterErrors(t *testing.T) {
	f := newFixture(t)
	activityCast(f)
	kari := f.login("kari", authz.LevelSubstantial)
	tests := []struct {
		query, field, message string
	}{
		{"from=yesterday", "from", "Enter the from date as a date"},
		{"to=31.02.2026", "to", "Enter the to date as a date"},
		{"from=2026-11-22&to=2026-11-21", "to", "The to date must be the same as or later than the from date"},
		{"service=nope.nothing", "service", "Choose a service from the list"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			for _, path := range []string{"/activity?", "/activity/export?format=csv&"} {
				r := kari.get(path + tt.query)
				if r.Status != http.StatusUnprocessableEntity {
					t.Fatalf("GET %s%s = %d, want 422", path, tt.query, r.Status)
				}
				for _, want := range []string{
					`<p id="` + tt.field + `-error" class="error-message">`, `href="#` + tt.field + `"`, `aria-invalid="true"`,
				} {
					if !strings.Contains(r.Body, want) {
						t.Errorf("GET %s%s: no %s on the page", path, tt.query, want)
					}
				}
				if !strings.Contains(text(r.Body), tt.message) {
					t.Errorf("GET %s%s = %q, want %q", path, tt.query, text(r.Body), tt.message)
				}
				if strings.Contains(r.Body, "client-2") {
					t.Errorf("GET %s%s shows entries despite the error", path, tt.query)
				}
			}
		})
	}
}

func TestActivityPaging(t *testing.T) {
	f := newFixture(t)
	var events []delegation.AccessEvent
	for i := range 120 {
		svc := "nav.dagpenger"
		if i%2 == 1 {
			svc = "nav.sykepenger"
		}
		events = append(events, delegation.AccessEvent{
			At: f.clock().Add(time.Duration(i-120) * time.Minute), Actor: f.id("per"), Party: f.id("kari"),
			Service: svc, Client: fmt.Sprintf("c%03d", i),
		})
	}
	f.seedAccess(events...)
	kari := f.login("kari", authz.LevelSubstantial)

	tests := []struct {
		name  string
		start string
		pages []int
		first string // the first client shown
	}{
		{"everything", "/activity", []int{50, 50, 20}, "c119"},
		{"one service", "/activity?service=nav.sykepenger", []int{50, 10}, "c119"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.start
			var seen []string
			for i, want := range tt.pages {
				body := kari.page(path).Body
				if got := rowsOn(body); got != want {
					t.Fatalf("page %d (%s) has %d rows, want %d", i+1, path, got, want)
				}
				seen = append(seen, regexp.MustCompile(`c\d{3}`).FindAllString(text(body), -1)...)
				older := olderLink(body)
				if last := i == len(tt.pages)-1; last != (older == "") {
					t.Fatalf("page %d: older link %q, want one on every page but the last", i+1, older)
				}
				if i > 0 && !strings.Contains(text(body), "Newest entries") {
					t.Errorf("page %d has no link back to the newest entries", i+1)
				}
				if strings.Contains(tt.start, "service=") && older != "" && !strings.Contains(older, "service=") {
					t.Errorf("the older link %q loses the filter", older)
				}
				path = older
			}
			if seen[0] != tt.first {
				t.Errorf("the first entry is %s, want %s (newest first)", seen[0], tt.first)
			}
			for i := 1; i < len(seen); i++ {
				if seen[i] >= seen[i-1] {
					t.Fatalf("entries out of order or repeated: %s after %s", seen[i], seen[i-1])
				}
			}
		})
	}
}

func TestActivityForChild(t *testing.T) {
	f := newFixture(t)
	f.seedAccess(
		delegation.AccessEvent{Actor: f.id("per"), Party: f.id("ola"), Service: "vigo.soknad", Allowed: true, Relation: delegation.RelParent, Client: "vigo"},
		delegation.AccessEvent{Actor: f.id("ingrid"), Party: f.id("kari"), Service: "nav.dagpenger", Client: "nav"},
	)
	kari := f.login("kari", authz.LevelSubstantial)
	ref := peopleRef(t, kari.page("/").Body, "Ola Nordmann")

	body := kari.page("/activity?for=" + ref).Body
	txt := text(body)
	for _, want := range []string{"Who has acted on behalf of Ola Nordmann", "Per Nordmann", "Upper secondary school application", "Parent", "vigo"} {
		if !strings.Contains(txt, want) {
			t.Errorf("Ola's activity = %q, want %q", txt, want)
		}
	}
	if strings.Contains(tableText(body), "Unemployment benefit") {
		t.Errorf("Ola's activity shows Kari's own: %q", txt)
	}
	if !strings.Contains(body, `name="for" value="`+ref+`"`) || !strings.Contains(body, "for="+ref) {
		t.Errorf("Ola's activity: the filter and the downloads lose whom it is for")
	}

	mari := f.login("mari", authz.LevelSubstantial)
	for _, path := range []string{"/activity?for=" + ref, "/activity/export?format=csv&for=" + ref, "/activity?for=", "/activity?for=nonsense"} {
		if r := mari.get(path); r.Status != http.StatusNotFound {
			t.Errorf("Mari: GET %s = %d, want 404", path, r.Status)
		}
	}

	// From his 18th birthday, Ola's log is his own.
	ola := f.castPerson("ola")
	f.advance(ola.BirthDate.AddYears(18).Start().Sub(f.clock()))
	if r := kari.get("/activity?for=" + ref); r.Status != http.StatusNotFound {
		t.Errorf("GET /activity?for={Ola} on his 18th birthday = %d, want 404", r.Status)
	}
}

func TestActivityExport(t *testing.T) {
	f := newFixture(t)
	fm := f.seedFullmakt("kari", "ingrid", []string{"tax"}, delegation.Period{})
	activityCast(f)
	f.seedAccess(delegation.AccessEvent{
		At: time.Date(2026, time.November, 22, 13, 0, 0, 0, delegation.Oslo()), Actor: f.id("ingrid"), Party: f.id("kari"),
		Service: "skatteetaten.skattemelding", Action: "submit", Allowed: true, Relation: delegation.RelFullmakt, RelationID: fm.ID,
		Client: "=HYPERLINK(\"http://evil\")",
	})
	f.seedAccess(delegation.AccessEvent{Actor: f.id("ingrid"), Party: f.id("astrid"), Service: "skatteetaten.skattemelding"})
	kari := f.login("kari", authz.LevelSubstantial)
	query := "from=2026-11-21&service=skatteetaten.skattemelding"
	ingrid := string(f.id("ingrid"))

	t.Run("csv", func(t *testing.T) {
		r := kari.get("/activity/export?format=csv&" + query)
		if r.Status != http.StatusOK {
			t.Fatalf("GET csv = %d: %s", r.Status, r.Body)
		}
		checkDownload(t, r, "text/csv", "fullmakt-activity-2026-11-23.csv")
		rows, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, r.Body)
		}
		want := [][]string{
			{"time", "actor_id", "actor_name", "party_id", "service", "service_name", "action", "allowed", "relation", "relation_id", "policy_version", "client"},
			{"2026-11-22T13:00:00+01:00", ingrid, "Ingrid Hansen", string(f.id("kari")), "skatteetaten.skattemelding", "Tax return", "submit", "true", "fullmakt", fm.ID, "test-1", "'=HYPERLINK(\"http://evil\")"},
			{"2026-11-22T12:00:00+01:00", ingrid, "Ingrid Hansen", string(f.id("kari")), "skatteetaten.skattemelding", "Tax return", "read", "true", "", "", "test-1", "client-22"},
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Errorf("the CSV (-want +got):\n%s", diff)
		}
	})

	t.Run("json", func(t *testing.T) {
		r := kari.get("/activity/export?format=json&" + query)
		if r.Status != http.StatusOK {
			t.Fatalf("GET json = %d: %s", r.Status, r.Body)
		}
		checkDownload(t, r, "application/json", "fullmakt-activity-2026-11-23.json")
		var got struct {
			Party struct {
				ID, Name string
			} `json:"party"`
			GeneratedAt string            `json:"generated_at"`
			Filters     map[string]string `json:"filters"`
			Events      []struct {
				Time     string `json:"time"`
				ActorID  string `json:"actor_id"`
				Service  string `json:"service"`
				Allowed  bool   `json:"allowed"`
				Relation string `json:"relation"`
				Client   string `json:"client"`
			} `json:"events"`
		}
		if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
			t.Fatalf("the JSON does not parse: %v\n%s", err, r.Body)
		}
		if got.Party.ID != string(f.id("kari")) || got.Party.Name != "Kari Nordmann" || got.GeneratedAt != "2026-11-23T12:00:00+01:00" {
			t.Errorf("the JSON's party and time = %+v, %s", got.Party, got.GeneratedAt)
		}
		if diff := cmp.Diff(map[string]string{"from": "2026-11-21", "service": "skatteetaten.skattemelding"}, got.Filters); diff != "" {
			t.Errorf("the JSON's filters (-want +got):\n%s", diff)
		}
		var clients []string
		for _, e := range got.Events {
			clients = append(clients, e.Client)
			if e.ActorID != ingrid || e.Service != "skatteetaten.skattemelding" {
				t.Errorf("event %+v: want Ingrid in the tax return", e)
			}
		}
		if diff := cmp.Diff([]string{"=HYPERLINK(\"http://evil\")", "client-22"}, clients); diff != "" {
			t.Errorf("the JSON's events (-want +got):\n%s", diff)
		}
	})

	t.Run("no events", func(t *testing.T) {
		r := f.login("sofie", authz.LevelSubstantial).get("/activity/export?format=json")
		if r.Status != http.StatusOK || !strings.Contains(r.Body, `"events": []`) {
			t.Errorf("an empty JSON download = %d:\n%s\nwant an empty list of events", r.Status, r.Body)
		}
	})

	t.Run("unknown format", func(t *testing.T) {
		if r := kari.get("/activity/export?format=xlsx"); r.Status != http.StatusBadRequest {
			t.Errorf("GET /activity/export?format=xlsx = %d, want 400", r.Status)
		}
	})

	t.Run("the page links to the downloads", func(t *testing.T) {
		body := kari.page("/activity?" + query).Body
		for _, format := range []string{"csv", "json"} {
			want := "/activity/export?format=" + format + "&amp;from=2026-11-21&amp;service=skatteetaten.skattemelding"
			if !strings.Contains(body, want) {
				t.Errorf("the page has no link %s", want)
			}
		}
	})
}

// checkDownload checks a download's headers.
func checkDownload(t *testing.T, r response, contentType, filename string) {
	t.Helper()
	if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, contentType) {
		t.Errorf("Content-Type = %q, want %s", got, contentType)
	}
	if got, want := r.Header.Get("Content-Disposition"), `attachment; filename="`+filename+`"`; got != want {
		t.Errorf("Content-Disposition = %q, want %q", got, want)
	}
	if got := r.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
}

// The pages show no full identity number of anyone; the visitor's own download
// is the one place they appear.
func TestNoIdentityNumbers(t *testing.T) {
	f := newFixture(t)
	fm := f.seedFullmakt("kari", "ingrid", []string{"tax"}, delegation.Period{})
	f.seedFullmakt("per", "kari", []string{"health"}, delegation.Period{})
	f.seedRequest("mari", "kari", []string{"welfare"})
	f.seedRequest("kari", "jon", []string{"transport"})
	c := f.seedConsent("kari", "skatteetaten.inntekt", f.today().AddDays(30), false)
	f.seedAccess(
		delegation.AccessEvent{Actor: f.id("ingrid"), Party: f.id("kari"), Service: "skatteetaten.skattemelding", Allowed: true, Relation: delegation.RelFullmakt, RelationID: fm.ID},
		// An actor the register does not know is shown masked.
		delegation.AccessEvent{Actor: "01017012345", Party: f.id("kari"), Service: "nav.dagpenger"},
		delegation.AccessEvent{Actor: f.id("per"), Party: f.id("ola"), Service: "vigo.soknad", Allowed: true, Relation: delegation.RelParent},
	)
	if _, err := f.store.AddNotifications(f.ctx, "", 0, []delegation.Notification{
		{Person: f.id("kari"), Kind: delegation.NoteFullmaktReceived, Ref: "fm_x", Other: f.id("per"), At: f.clock(), Key: "a"},
		{Person: f.id("kari"), Kind: delegation.NoteConsentUsed, Ref: c.ID, Other: "01017012345", Detail: "skatteetaten.inntekt", At: f.clock(), Key: "b"},
	}); err != nil {
		t.Fatal(err)
	}
	kari := f.login("kari", authz.LevelSubstantial)
	ref := peopleRef(t, kari.page("/").Body, "Ola Nordmann")
	for _, path := range []string{
		"/", "/people/" + ref, "/consents", "/consents/" + c.ID, "/consents/" + c.ID + "/withdraw",
		"/activity", "/activity?for=" + ref, "/notifications",
	} {
		body := kari.page(path).Body // checks the cast's numbers
		if strings.Contains(body, "01017012345") {
			t.Errorf("GET %s shows an unknown person's full number", path)
		}
	}
	if got := text(kari.page("/activity").Body); !strings.Contains(got, "010170 *****") {
		t.Errorf("Kari's activity = %q, want the unknown actor's number masked", got)
	}
	if r := kari.get("/activity/export?format=csv"); !strings.Contains(r.Body, string(f.id("ingrid"))) {
		t.Errorf("the download holds no full identity numbers:\n%s", r.Body)
	}
}
