package login

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/policies"
)

// partyCatalogue loads web's own messages and this file's: party.json, in every
// language it has. Loading checks that en and nb are complete and agree.
func partyCatalogue(t *testing.T) *web.Catalogue {
	t.Helper()
	files := fstest.MapFS{}
	for _, lang := range web.Languages() {
		name := string(lang) + "/party.json"
		b, err := fs.ReadFile(Messages(), name)
		if err != nil {
			continue
		}
		files[name] = &fstest.MapFile{Data: b}
	}
	cat, err := web.LoadCatalogue(web.Messages(), files)
	if err != nil {
		t.Fatalf("LoadCatalogue(party.json) = %v", err)
	}
	return cat
}

func TestRelationNote(t *testing.T) {
	cat := partyCatalogue(t)
	today := delegation.NewDate(2026, time.March, 1)
	end := delegation.NewDate(2027, time.December, 31)
	guardianship := func(to delegation.Date, scope ...string) delegation.Guardianship {
		return delegation.Guardianship{Scope: scope, Period: delegation.Period{To: to}}
	}
	tests := []struct {
		name  string
		lang  web.Lang
		rel   *authz.Relation
		facts delegation.Relations
		want  string
	}{
		{"no relation", web.EN, nil, delegation.Relations{}, "You are allowed to act for them."},
		{"self", web.EN, &authz.Relation{Kind: delegation.RelSelf}, delegation.Relations{}, "This is you."},
		{"parent", web.EN, &authz.Relation{Kind: delegation.RelParent}, delegation.Relations{}, "You are their parent."},
		{"parent nb", web.NB, &authz.Relation{Kind: delegation.RelParent}, delegation.Relations{}, "Du har foreldreansvar for barnet."},
		{"guardian without the record", web.EN, &authz.Relation{Kind: delegation.RelGuardian}, delegation.Relations{},
			"You are their guardian."},
		{"guardian with scope and end", web.EN, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{guardianship(end, "economic")}},
			"You are their guardian in economic matters until 31.12.2027."},
		{"guardian with scope and end nb", web.NB, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{guardianship(end, "economic", "personal")}},
			"Du er verge for økonomiske og personlige forhold til og med 31.12.2027."},
		{"guardian without end", web.EN, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{guardianship(delegation.Date{}, "personal")}},
			"You are their guardian in personal matters."},
		{"guardian: one ended, two in force, one without end", web.EN, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{
				guardianship(delegation.NewDate(2025, time.January, 1), "medical"),
				guardianship(end, "economic"),
				guardianship(delegation.Date{}, "personal"),
			}},
			"You are their guardian in economic and personal matters."},
		{"guardian: the latest end of those in force", web.EN, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{
				guardianship(delegation.NewDate(2026, time.June, 30), "economic"),
				guardianship(end, "economic"),
			}},
			"You are their guardian in economic matters until 31.12.2027."},
		{"guardian: scope unknown to the catalogue", web.EN, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{guardianship(end, "medical")}},
			"You are their guardian in medical matters until 31.12.2027."},
		{"guardian: end but no scope", web.NB, &authz.Relation{Kind: delegation.RelGuardian},
			delegation.Relations{Guardianships: []delegation.Guardianship{guardianship(end)}},
			"Du er verge til og med 31.12.2027."},
		{"fullmakt with end", web.EN, &authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_1"},
			delegation.Relations{Fullmakter: []delegation.Fullmakt{
				{ID: "fm_0", Period: delegation.Period{To: delegation.NewDate(2026, time.May, 17)}},
				{ID: "fm_1", Period: delegation.Period{To: end}},
			}},
			"They gave you a fullmakt until 31.12.2027."},
		{"fullmakt with end nb", web.NB, &authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_1"},
			delegation.Relations{Fullmakter: []delegation.Fullmakt{{ID: "fm_1", Period: delegation.Period{To: end}}}},
			"Du har fått fullmakt fra dem til og med 31.12.2027."},
		{"fullmakt without end", web.EN, &authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_1"},
			delegation.Relations{Fullmakter: []delegation.Fullmakt{{ID: "fm_1"}}},
			"They gave you a fullmakt."},
		{"fullmakt not among the records", web.EN, &authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_2"},
			delegation.Relations{Fullmakter: []delegation.Fullmakt{{ID: "fm_1", Period: delegation.Period{To: end}}}},
			"They gave you a fullmakt."},
		{"fullmakt passed on", web.EN, &authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_3", Depth: 1},
			delegation.Relations{Fullmakter: []delegation.Fullmakt{{ID: "fm_3", Period: delegation.Period{To: end}}}},
			"You have a fullmakt from them until 31.12.2027. Someone else passed it on to you."},
		{"fullmakt passed on, no record", web.NB, &authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_3", Depth: 2},
			delegation.Relations{},
			"Du har fullmakt fra dem. En annen har gitt den videre til deg."},
		{"role", web.EN, &authz.Relation{Kind: delegation.RelRole, Role: "ceo"}, delegation.Relations{}, "Your role: CEO."},
		{"role nb", web.NB, &authz.Relation{Kind: delegation.RelRole, Role: "board_member"}, delegation.Relations{}, "Din rolle: styremedlem."},
		{"role unknown", web.EN, &authz.Relation{Kind: delegation.RelRole, Role: "deputy_chair"}, delegation.Relations{}, "Your role: deputy chair."},
		{"consent", web.EN, &authz.Relation{Kind: delegation.RelConsent, ID: "c_1"}, delegation.Relations{}, "They consented to share data with you."},
		{"unknown kind", web.NB, &authz.Relation{Kind: "future"}, delegation.Relations{}, "Du har lov til å handle på vegne av dem."},
		{"swedish", web.SV, &authz.Relation{Kind: delegation.RelParent}, delegation.Relations{}, "Du är vårdnadshavare för barnet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := relationNote(cat, tt.lang, tt.rel, tt.facts, today); got != tt.want {
				t.Errorf("relationNote(%s, %+v) = %q, want %q", tt.lang, tt.rel, got, tt.want)
			}
		})
	}
}

func TestPartyShownNumber(t *testing.T) {
	tests := []struct {
		id   delegation.PartyID
		want string
	}{
		{"01017012345", "010170 *****"},
		{"41017012345", "410170 *****"}, // a d-number
		{"974761076", "974 761 076"},    // an organisation: public, in full
		{"se:199001011234", "se:19900101 ****"},
		{"dk:0101901234", "dk:010190 ****"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := shownNumber(tt.id); got != tt.want {
			t.Errorf("shownNumber(%q) = %q, want %q", string(tt.id), got, tt.want)
		}
		if tt.id.Kind() == delegation.KindPerson && len(tt.id) > 6 && strings.Contains(shownNumber(tt.id), string(tt.id)[len(tt.id)-4:]) {
			t.Errorf("shownNumber(%q) shows the personal number", string(tt.id))
		}
	}
}

func TestPartyDateText(t *testing.T) {
	tests := []struct {
		d    delegation.Date
		want string
	}{
		{delegation.NewDate(2027, time.December, 31), "31.12.2027"},
		{delegation.NewDate(2026, time.February, 3), "03.02.2026"},
		{delegation.NewDate(999, time.January, 1), "01.01.0999"},
	}
	for _, tt := range tests {
		if got := dateText(tt.d); got != tt.want {
			t.Errorf("dateText(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestPartyOrder(t *testing.T) {
	rel := func(kind delegation.RelationKind) *authz.Relation { return &authz.Relation{Kind: kind} }
	choices := []partyChoice{
		{ID: "910000001", Name: "Ålesund Fisk AS", Org: true, Relation: rel(delegation.RelRole)},
		{ID: "01010000004", Name: "Zahl, Ida", Relation: rel(delegation.RelFullmakt)},
		{ID: "01010000001", Name: "Øvre, Per", Relation: rel(delegation.RelGuardian)},
		{ID: "910000002", Name: "Berg Bygg AS", Org: true, Relation: rel(delegation.RelRole)},
		{ID: "01010000002", Name: "Zahl, Emma", Relation: rel(delegation.RelParent)},
		{ID: "01010000005", Name: "Aas, Ola", Relation: rel(delegation.RelFullmakt)},
		{ID: "01010000006", Name: "Berg, Kim", Relation: rel(delegation.RelConsent)},
		{ID: "01010000003", Name: "ærlig, Siv", Relation: rel(delegation.RelParent)},
		{ID: "01010000007", Name: "Zahl, Emma", Relation: rel(delegation.RelGuardian)}, // a namesake
	}
	names := func(cs []partyChoice) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Name+" "+string(c.ID))
		}
		return out
	}
	tests := []struct {
		lang web.Lang
		want []string
	}{
		{web.NB, []string{
			// Children and wards, by name (Æ, Ø, Å after Z), namesakes by party.
			"Zahl, Emma 01010000002", "Zahl, Emma 01010000007", "ærlig, Siv 01010000003", "Øvre, Per 01010000001",
			// Those who gave a fullmakt (Aa is the old spelling of Å, and sorts so).
			"Zahl, Ida 01010000004", "Aas, Ola 01010000005",
			// Other people.
			"Berg, Kim 01010000006",
			// Organisations.
			"Berg Bygg AS 910000002", "Ålesund Fisk AS 910000001",
		}},
		{web.EN, []string{
			"ærlig, Siv 01010000003", "Øvre, Per 01010000001", "Zahl, Emma 01010000002", "Zahl, Emma 01010000007",
			"Aas, Ola 01010000005", "Zahl, Ida 01010000004",
			"Berg, Kim 01010000006",
			"Ålesund Fisk AS 910000001", "Berg Bygg AS 910000002",
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			got := slices.Clone(choices)
			sortChoices(got, tt.lang)
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("sortChoices(%s) order (-want +got):\n%s", tt.lang, diff)
			}
		})
	}
}

// Test people: the actor Kari, her child Anna, her ward Øystein, Bjørn who gave
// her a fullmakt, Carl who gave her one she needs a higher level for, and the
// organisation where she is CEO.
const (
	idKari    delegation.PartyID = "01017012345"
	idAnna    delegation.PartyID = "15051512345"
	idOystein delegation.PartyID = "20024012345"
	idBjorn   delegation.PartyID = "03035012345"
	idCarl    delegation.PartyID = "04045012345"
	idFjord   delegation.PartyID = "320000017"
	idTax     delegation.PartyID = "974761076"
)

// fakeDecider answers Parties from a table by service, recording the questions.
type fakeDecider struct {
	pack    *authz.Pack
	parties map[string][]pdp.Party
	asked   []authz.Request
}

func (d *fakeDecider) Parties(_ context.Context, req authz.Request) ([]pdp.Party, error) {
	d.asked = append(d.asked, req)
	return d.parties[req.Service], nil
}

func (d *fakeDecider) Pack() *authz.Pack { return d.pack }

// fakePeople is the register: organisations and relations.
type fakePeople struct {
	orgs      map[delegation.PartyID]delegation.Organization
	relations map[delegation.PartyID]delegation.Relations // by party, for idKari
}

func (p *fakePeople) Person(_ context.Context, id delegation.PartyID) (delegation.Person, error) {
	if id != idKari {
		return delegation.Person{}, delegation.ErrNotFound
	}
	return delegation.Person{ID: idKari, Name: "Kari Nordmann"}, nil
}

func (p *fakePeople) Organization(_ context.Context, id delegation.PartyID) (delegation.Organization, error) {
	o, ok := p.orgs[id]
	if !ok {
		return delegation.Organization{}, delegation.ErrNotFound
	}
	return o, nil
}

func (p *fakePeople) Relations(_ context.Context, actor, party delegation.PartyID) (delegation.Relations, error) {
	if actor != idKari {
		return delegation.Relations{}, nil
	}
	return p.relations[party], nil
}

// partyService is a login with the fakes, the real policy pack's catalogue and
// the pages of this file.
func partyService(t *testing.T) (*Service, *fakeDecider) {
	t.Helper()
	pack, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, time.March, 1, 12, 0, 0, 0, time.UTC)
	end := delegation.NewDate(2027, time.December, 31)
	allow := func(rel authz.Relation) authz.Decision { return authz.Decision{Allow: true, Relation: &rel} }
	person := func(id delegation.PartyID, name string, d authz.Decision) pdp.Party {
		return pdp.Party{ID: id, Person: &delegation.Person{ID: id, Name: name}, Decision: d}
	}
	self := person(idKari, "Kari Nordmann", allow(authz.Relation{Kind: delegation.RelSelf}))
	decider := &fakeDecider{pack: pack, parties: map[string][]pdp.Party{
		"helsenorge.journal": {
			self,
			person(idAnna, "Anna Nordmann", allow(authz.Relation{Kind: delegation.RelParent})),
			person(idOystein, "Øystein Ås", allow(authz.Relation{Kind: delegation.RelGuardian})),
			// Allowed only after a step-up: not listed.
			person(idCarl, "Carl Eik", authz.Decision{StepUp: &authz.StepUp{ACR: authz.LevelHigh.ACR()}}),
		},
		"skatteetaten.skattemelding": {
			self,
			// Anna again, by another relation: listed once, by the first.
			person(idAnna, "Anna Nordmann", allow(authz.Relation{Kind: delegation.RelGuardian})),
			person(idBjorn, "Bjørn Dahl", allow(authz.Relation{Kind: delegation.RelFullmakt, ID: "fm_1"})),
			{ID: idFjord, Organization: &delegation.Organization{ID: idFjord, Name: "Fjordtech AS"},
				Decision: allow(authz.Relation{Kind: delegation.RelRole, Role: "ceo"})},
		},
		// The client may not ask about this one.
		"brreg.arsregnskap": {
			{ID: "910000004", Organization: &delegation.Organization{ID: "910000004", Name: "Havbruk AS"},
				Decision: allow(authz.Relation{Kind: delegation.RelRole, Role: "ceo"})},
		},
	}}
	people := &fakePeople{
		orgs: map[delegation.PartyID]delegation.Organization{idTax: {ID: idTax, Name: "Skatteetaten"}},
		relations: map[delegation.PartyID]delegation.Relations{
			idOystein: {Guardianships: []delegation.Guardianship{{Guardian: idKari, Ward: idOystein, Scope: []string{"economic"}, Period: delegation.Period{To: end}}}},
			idBjorn:   {Fullmakter: []delegation.Fullmakt{{ID: "fm_1", Grantor: idBjorn, Proxy: idKari, Period: delegation.Period{To: end}}}},
		},
	}
	clients, err := idp.NewClients([]idp.Client{{
		ID: "helse", Name: "Helseportalen", TokenEndpointAuthMethod: "none",
		GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid", "represent"},
		RedirectURIs: []string{"https://helse.example/callback"},
		Services:     []string{"helsenorge.journal", "skatteetaten.skattemelding", "skatteetaten.inntekt"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	partyCatalogue(t) // this file's messages are complete on their own
	cat, err := web.LoadCatalogue(web.Messages(), Messages())
	if err != nil {
		t.Fatalf("LoadCatalogue = %v", err)
	}
	pages, err := web.NewPages(cat, Templates(), "party.html", "consent.html", "error.html")
	if err != nil {
		t.Fatalf("NewPages(party.html, consent.html, error.html) = %v", err)
	}
	key := []byte(strings.Repeat("k", 32))
	s := &Service{
		people: people, decider: decider, clients: idp.NewClientRegistry(clients, func() time.Time { return now }),
		pages: pages, csrf: web.NewCSRF(key), key: key, log: slog.New(slog.DiscardHandler),
		now: func() time.Time { return now }, loc: time.UTC,
	}
	return s, decider
}

func partySessionOf() *Session {
	return &Session{
		Person: idKari, Name: "Kari Nordmann", Level: authz.LevelSubstantial,
		AuthTime: time.Date(2026, time.March, 1, 11, 55, 0, 0, time.UTC),
	}
}

func TestPartyChoices(t *testing.T) {
	s, decider := partyService(t)
	sess := partySessionOf()
	got, err := s.partyChoices(t.Context(), sess, "helse", web.NB)
	if err != nil {
		t.Fatalf("partyChoices = %v", err)
	}
	type shown struct {
		ID                 delegation.PartyID
		Name, Number, Note string
		Self, Org          bool
	}
	var gotShown []shown
	for _, c := range got {
		gotShown = append(gotShown, shown{c.ID, c.Name, c.Number, c.Note, c.Self, c.Org})
	}
	want := []shown{
		{"", "Kari Nordmann", "010170 *****", "", true, false},
		{idAnna, "Anna Nordmann", "150515 *****", "Du har foreldreansvar for barnet.", false, false},
		{idOystein, "Øystein Ås", "200240 *****", "Du er verge for økonomiske forhold til og med 31.12.2027.", false, false},
		{idBjorn, "Bjørn Dahl", "030350 *****", "Du har fått fullmakt fra dem til og med 31.12.2027.", false, false},
		{idFjord, "Fjordtech AS", "320 000 017", "Din rolle: daglig leder.", false, true},
	}
	if diff := cmp.Diff(want, gotShown); diff != "" {
		t.Errorf("partyChoices (-want +got):\n%s", diff)
	}

	// The questions: each service the client may ask about, for its first action,
	// as the session authenticated.
	var services []string
	for _, req := range decider.asked {
		services = append(services, req.Service+" "+req.Action)
		if req.Actor != idKari || req.ACR != authz.LevelSubstantial.ACR() || !req.AuthTime.Equal(sess.AuthTime) || req.Now.IsZero() {
			t.Errorf("Parties(%+v): not the session's actor, acr, auth time and now", req)
		}
	}
	wantServices := []string{"helsenorge.journal read", "skatteetaten.skattemelding read", "skatteetaten.inntekt read"}
	if diff := cmp.Diff(wantServices, services); diff != "" {
		t.Errorf("Parties asked (-want +got):\n%s", diff)
	}
}

func TestPartyChoicesUnknownClient(t *testing.T) {
	s, decider := partyService(t)
	got, err := s.partyChoices(t.Context(), partySessionOf(), "gone", web.EN)
	if err != nil {
		t.Fatalf("partyChoices = %v", err)
	}
	if len(got) != 1 || !got[0].Self || got[0].ID != "" {
		t.Errorf("partyChoices(unknown client) = %+v, want only the person themself", got)
	}
	if len(decider.asked) != 0 {
		t.Errorf("partyChoices(unknown client) asked %d questions, want none", len(decider.asked))
	}
}

func TestPartyListTag(t *testing.T) {
	s, _ := partyService(t)
	a := []partyChoice{{Self: true}, {ID: idAnna}, {ID: idBjorn}}
	b := []partyChoice{{Self: true}, {ID: idBjorn}, {ID: idAnna}}
	if s.listTag(a) != s.listTag(slices.Clone(a)) {
		t.Errorf("listTag is not stable")
	}
	if s.listTag(a) == s.listTag(b) || s.listTag(a) == s.listTag(a[:2]) {
		t.Errorf("listTag does not tell lists apart")
	}
	if tag := s.listTag(a); strings.Contains(tag, string(idAnna)) {
		t.Errorf("listTag(%v) = %q shows a party", a, tag)
	}
}

// partyFlow is a client's flow that asks whom the person acts for.
func partyFlow(consents ...idp.AuthorizationDetail) *Flow {
	return &Flow{
		ID: "flow-1", MaxAge: -1,
		Login: &idp.LoginRequest{ID: "req-1", ClientID: "helse", ClientName: "Helseportalen", Represent: true, Consents: consents},
	}
}

func TestPartyPage(t *testing.T) {
	s, _ := partyService(t)
	sess := partySessionOf()
	f := partyFlow()
	tests := []struct {
		name   string
		lang   string
		errs   []web.FieldError
		status int
		want   []string
	}{
		{"nb", "nb", nil, http.StatusOK, []string{
			`<legend><h1>Hvem handler du på vegne av?</h1></legend>`,
			`Helseportalen må vite hvem du handler på vegne av.`,
			`<label for="party-0">Meg selv</label>`,
			`Kari Nordmann, fødselsnummer 010170 *****`,
			`<label for="party-2">Øystein Ås</label>`,
			`aria-describedby="party-2-id party-2-note"`,
			`<p id="party-2-note" class="hint">Du er verge for økonomiske forhold til og med 31.12.2027.</p>`,
			`Organisasjonsnummer 320 000 017`,
			`name="party" value="4"`,
			`<input type="hidden" name="flow" value="flow-1">`,
			`<input type="hidden" name="list" value="` + s.listTag(mustChoices(t, s, sess, web.NB)) + `">`,
			`formaction="/login/cancel"`,
			`Avbryt og gå tilbake til Helseportalen`,
		}},
		{"en, nothing chosen", "en", []web.FieldError{{Field: "party-0", Key: "party.error.choose"}}, http.StatusUnprocessableEntity, []string{
			`Who are you acting for?`,
			`<a href="#party-0">Choose whom you are acting for</a>`,
			`aria-describedby="party-hint party-error"`,
			`<p id="party-error" class="error-message">`,
			`You are their parent.`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/login/party?flow=flow-1", nil)
			r.Header.Set("Accept-Language", tt.lang)
			w := httptest.NewRecorder()
			s.renderParty(w, r, sess, f, mustChoices(t, s, sess, web.Lang(tt.lang)), tt.errs)
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("renderParty: status %d, want %d\n%s", w.Code, tt.status, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("renderParty: the page lacks %q\n%s", want, body)
				}
			}
			for _, never := range []string{"⟦", string(idAnna), string(idKari), string(idOystein)} {
				if strings.Contains(body, never) {
					t.Errorf("renderParty: the page shows %q", never)
				}
			}
		})
	}
}

func mustChoices(t *testing.T, s *Service, sess *Session, lang web.Lang) []partyChoice {
	t.Helper()
	c, err := s.partyChoices(t.Context(), sess, "helse", lang)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConsentPage(t *testing.T) {
	s, _ := partyService(t)
	sess := partySessionOf()
	income := idp.AuthorizationDetail{
		Type: idp.DetailConsent, Provider: idTax, DataSet: "skatteetaten.inntekt",
		Purpose: "To check your loan application", ValidTo: delegation.NewDate(2026, time.June, 30), OneTime: true,
	}
	unknown := idp.AuthorizationDetail{
		Type: idp.DetailConsent, Provider: "910000004", DataSet: "nav.ytelser",
		Purpose: "Følge opp søknaden", ValidTo: delegation.NewDate(2027, time.January, 31),
	}
	tests := []struct {
		name     string
		lang     string
		consents []idp.AuthorizationDetail
		ticked   []bool
		status   int
		want     []string
		not      []string
	}{
		{"one consent, en", "en", []idp.AuthorizationDetail{income}, nil, http.StatusOK, []string{
			`<h1>Do you consent to sharing data about you?</h1>`,
			`Helseportalen asks for your consent`,
			`<h2>Income information</h2>`,
			`<dd>Skatteetaten (organisation number 974 761 076)</dd>`,
			`<dd>To check your loan application</dd>`,
			`<dd>Until 30.06.2026</dd>`,
			`<dd>Once</dd>`,
			`<input type="checkbox" id="consent-0" name="consent-0" value="yes">`,
			`<label for="consent-0">I consent to Helseportalen getting Income information about me</label>`,
			`<button type="submit">Give consent</button>`,
			`formaction="/login/cancel"`,
		}, []string{`class="field-error"`}},
		{"two consents, nb, one ticked", "nb", []idp.AuthorizationDetail{income, unknown}, []bool{true, false}, http.StatusUnprocessableEntity, []string{
			`<h2>Samtykke 1 av 2: Inntektsopplysninger</h2>`,
			`<h2>Samtykke 2 av 2: Utbetalte ytelser fra NAV</h2>`,
			// An organisation the register does not know: its number.
			`<dd>910 000 004</dd>`,
			`<dd>Så mange ganger som trengs fram til da</dd>`,
			`<dd>Til og med 31.01.2027</dd>`,
			`id="consent-0" name="consent-0" value="yes" checked>`,
			`<a href="#consent-1">Kryss av for å samtykke til å dele Utbetalte ytelser fra NAV, eller avbryt</a>`,
			`id="consent-1" name="consent-1" value="yes" aria-describedby="consent-1-error">`,
		}, []string{`href="#consent-0"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/login/consent?flow=flow-1", nil)
			r.Header.Set("Accept-Language", tt.lang)
			w := httptest.NewRecorder()
			s.renderConsent(w, r, sess, partyFlow(tt.consents...), tt.ticked)
			body := w.Body.String()
			if w.Code != tt.status {
				t.Fatalf("renderConsent: status %d, want %d\n%s", w.Code, tt.status, body)
			}
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("renderConsent: the page lacks %q\n%s", want, body)
				}
			}
			for _, never := range append(tt.not, "⟦") {
				if strings.Contains(body, never) {
					t.Errorf("renderConsent: the page shows %q", never)
				}
			}
		})
	}
}

func TestConsentTextIn(t *testing.T) {
	name := authz.Text{"nb": "Skattemelding", "en": "Tax return"}
	tests := []struct {
		t    authz.Text
		lang web.Lang
		want string
	}{
		{name, web.NB, "Skattemelding"},
		{name, web.EN, "Tax return"},
		{name, web.NN, "Skattemelding"}, // Bokmål before English for Nynorsk
		{name, web.SV, "Tax return"},
		{authz.Text{"nb": "Bare bokmål"}, web.FI, "Bare bokmål"},
		{authz.Text{}, web.NB, "the.id"},
	}
	for _, tt := range tests {
		if got := textIn(tt.t, tt.lang, "the.id"); got != tt.want {
			t.Errorf("textIn(%v, %s) = %q, want %q", tt.t, tt.lang, got, tt.want)
		}
	}
}

// partyBrowser is a browser logged in as Kari, with a client's flow under way,
// against the picker's and the consent page's handlers over a real store.
type partyBrowser struct {
	t       *testing.T
	s       *Service
	mux     *http.ServeMux
	flow    *Flow
	cookies []*http.Cookie
}

func newPartyBrowser(t *testing.T, clientID string, consents ...idp.AuthorizationDetail) *partyBrowser {
	t.Helper()
	s, _ := partyService(t)
	st, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s.grants, s.cfg = st, Config{PublicURL: "http://localhost:8080"}.withDefaults()
	s.sessionCookie, s.browserCookie = "fullmakt-session", "fullmakt-browser"
	b := &partyBrowser{t: t, s: s, mux: http.NewServeMux(), flow: partyFlow(consents...)}
	b.flow.Login.ClientID = clientID
	b.mux.Handle("GET /login/party", s.partyPage())
	b.mux.Handle("POST /login/party", s.partyChoose())
	b.mux.Handle("GET /login/consent", s.consentPage())
	b.mux.Handle("POST /login/consent", s.consentGive())

	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if err := s.newFlow(w, r, b.flow); err != nil {
		t.Fatal(err)
	}
	if _, err := s.startSession(w, r, nil, Proof{Person: idKari, Level: authz.LevelSubstantial, Method: "demo"}); err != nil {
		t.Fatal(err)
	}
	b.cookies = w.Result().Cookies()
	return b
}

// do sends a request with the browser's cookies; form nil is a GET.
func (b *partyBrowser) do(path string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	var r *http.Request
	if form == nil {
		r = httptest.NewRequest(http.MethodGet, path+"?flow="+url.QueryEscape(b.flow.ID), nil)
	} else {
		form.Set("flow", b.flow.ID)
		form.Set("csrf", b.s.csrf.Token(flowBinding(b.flow)))
		r = httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Accept-Language", "en")
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.mux.ServeHTTP(w, r)
	return w
}

// stored returns the flow as the store has it now.
func (b *partyBrowser) stored() Flow {
	b.t.Helper()
	rec, err := b.s.grants.Grant(b.t.Context(), grants.Flow, hashKey(b.flow.ID))
	if err != nil {
		b.t.Fatal(err)
	}
	var f Flow
	if err := json.Unmarshal(rec.Data, &f); err != nil {
		b.t.Fatal(err)
	}
	return f
}

func (b *partyBrowser) listTag() string {
	b.t.Helper()
	c, err := b.s.partyChoices(b.t.Context(), partySessionOf(), b.flow.Login.ClientID, web.EN)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.s.listTag(c)
}

func TestPartyChoose(t *testing.T) {
	tests := []struct {
		name      string
		form      url.Values
		status    int
		wantParty delegation.PartyID
		wantText  string
	}{
		{"a ward", url.Values{"party": {"2"}}, http.StatusSeeOther, idOystein, ""},
		{"myself", url.Values{"party": {"0"}}, http.StatusSeeOther, "", ""},
		{"an organisation", url.Values{"party": {"4"}}, http.StatusSeeOther, idFjord, ""},
		{"nothing chosen", url.Values{}, http.StatusUnprocessableEntity, "", "Choose whom you are acting for"},
		{"out of the list", url.Values{"party": {"5"}}, http.StatusUnprocessableEntity, "", "Choose whom you are acting for"},
		{"a party id posted", url.Values{"party": {string(idOystein)}}, http.StatusUnprocessableEntity, "", "Choose whom you are acting for"},
		{"from a list that has changed", url.Values{"party": {"2"}, "list": {"stale"}}, http.StatusUnprocessableEntity, "", "has changed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newPartyBrowser(t, "helse")
			if page := b.do("/login/party", nil); page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Who are you acting for?") {
				t.Fatalf("GET /login/party: %d\n%s", page.Code, page.Body)
			}
			if !tt.form.Has("list") {
				tt.form.Set("list", b.listTag())
			}
			w := b.do("/login/party", tt.form)
			if w.Code != tt.status {
				t.Fatalf("POST /login/party %v: status %d, want %d\n%s", tt.form, w.Code, tt.status, w.Body)
			}
			f := b.stored()
			if tt.status != http.StatusSeeOther {
				if f.Chosen || !strings.Contains(w.Body.String(), tt.wantText) {
					t.Errorf("POST /login/party %v: chosen %v, or the page lacks %q\n%s", tt.form, f.Chosen, tt.wantText, w.Body)
				}
				return
			}
			if loc := w.Header().Get("Location"); loc != "/login/next?flow="+url.QueryEscape(b.flow.ID) {
				t.Errorf("POST /login/party: Location %q, want the flow's next page", loc)
			}
			if !f.Chosen || f.Party != tt.wantParty {
				t.Errorf("POST /login/party %v: flow chosen %v party %q, want true %q", tt.form, f.Chosen, string(f.Party), string(tt.wantParty))
			}
		})
	}
}

func TestPartyChooseNeedsFormToken(t *testing.T) {
	b := newPartyBrowser(t, "helse")
	form := url.Values{"party": {"2"}, "list": {b.listTag()}, "flow": {b.flow.ID}}
	r := httptest.NewRequest(http.MethodPost, "/login/party", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range b.cookies {
		r.AddCookie(c)
	}
	w := httptest.NewRecorder()
	b.mux.ServeHTTP(w, r)
	if w.Code != http.StatusForbidden || b.stored().Chosen {
		t.Errorf("POST /login/party without a form token: status %d, chosen %v; want 403, not chosen", w.Code, b.stored().Chosen)
	}
}

func TestPartyPageSkippedWithNobodyElse(t *testing.T) {
	// A client that may ask about no service: only the person themself.
	income := idp.AuthorizationDetail{Type: idp.DetailConsent, Provider: idTax, DataSet: "skatteetaten.inntekt",
		Purpose: "Loan", ValidTo: delegation.NewDate(2026, time.June, 30)}
	b := newPartyBrowser(t, "gone", income)
	w := b.do("/login/party", nil)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login/consent?flow="+url.QueryEscape(b.flow.ID) {
		t.Fatalf("GET /login/party with nobody else: %d to %q, want 303 to the consent page", w.Code, w.Header().Get("Location"))
	}
	if f := b.stored(); !f.Chosen || f.Party != "" {
		t.Errorf("GET /login/party with nobody else: chosen %v party %q, want true and themself", f.Chosen, string(f.Party))
	}
}

func TestConsentGive(t *testing.T) {
	income := idp.AuthorizationDetail{Type: idp.DetailConsent, Provider: idTax, DataSet: "skatteetaten.inntekt",
		Purpose: "Loan", ValidTo: delegation.NewDate(2026, time.June, 30)}
	benefits := idp.AuthorizationDetail{Type: idp.DetailConsent, Provider: "889640782", DataSet: "nav.ytelser",
		Purpose: "Loan", ValidTo: delegation.NewDate(2026, time.June, 30), OneTime: true}
	tests := []struct {
		name   string
		form   url.Values
		status int
		errors []string
	}{
		{"both ticked", url.Values{"consent-0": {"yes"}, "consent-1": {"yes"}}, http.StatusSeeOther, nil},
		{"one ticked", url.Values{"consent-0": {"yes"}}, http.StatusUnprocessableEntity, []string{`href="#consent-1"`}},
		{"none ticked", url.Values{}, http.StatusUnprocessableEntity, []string{`href="#consent-0"`, `href="#consent-1"`}},
		{"another value", url.Values{"consent-0": {"yes"}, "consent-1": {"on"}}, http.StatusUnprocessableEntity, []string{`href="#consent-1"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newPartyBrowser(t, "helse", income, benefits)
			// Before the party is chosen, the consent page sends the browser on.
			if w := b.do("/login/consent", nil); w.Code != http.StatusSeeOther {
				t.Fatalf("GET /login/consent before the party is chosen: %d, want 303", w.Code)
			}
			if w := b.do("/login/party", url.Values{"party": {"0"}, "list": {b.listTag()}}); w.Code != http.StatusSeeOther {
				t.Fatalf("POST /login/party: %d\n%s", w.Code, w.Body)
			}
			b.flow.Chosen = true
			if page := b.do("/login/consent", nil); page.Code != http.StatusOK || !strings.Contains(page.Body.String(), "Benefits paid by NAV") {
				t.Fatalf("GET /login/consent: %d\n%s", page.Code, page.Body)
			}
			w := b.do("/login/consent", tt.form)
			if w.Code != tt.status {
				t.Fatalf("POST /login/consent %v: status %d, want %d\n%s", tt.form, w.Code, tt.status, w.Body)
			}
			f := b.stored()
			if f.Consented != (tt.status == http.StatusSeeOther) {
				t.Errorf("POST /login/consent %v: consented %v", tt.form, f.Consented)
			}
			for _, want := range tt.errors {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("POST /login/consent %v: the page lacks %q", tt.form, want)
				}
			}
			if tt.status == http.StatusSeeOther {
				if loc := w.Header().Get("Location"); loc != "/login/next?flow="+url.QueryEscape(b.flow.ID) {
					t.Errorf("POST /login/consent: Location %q, want the flow's next page", loc)
				}
			}
		})
	}
}
