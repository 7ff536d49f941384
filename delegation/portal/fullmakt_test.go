package portal_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// give stores a fullmakt from grantor to proxy, given today by the domain's
// rules, and returns its id.
func (f *fixture) give(grantor, proxy string, sc delegation.Scope) string {
	f.t.Helper()
	g, err := f.store.Person(f.ctx, f.id(grantor))
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.store.Person(f.ctx, f.id(proxy))
	if err != nil {
		f.t.Fatal(err)
	}
	fm, err := delegation.Give(delegation.NewFullmakt{
		Grantor: g, Proxy: p, Scope: sc, Period: delegation.Period{From: delegation.Today(f.clock())},
		ConfirmedACR: authz.LevelHigh.ACR(), Origin: delegation.OriginPortal,
	}, f.clock())
	if err != nil {
		f.t.Fatalf("Give(%s to %s, %v): %v", grantor, proxy, sc, err)
	}
	if err := f.store.CreateFullmakt(f.ctx, fm); err != nil {
		f.t.Fatal(err)
	}
	return fm.ID
}

// inForce reports whether the fullmakt id is among the relations of proxy to
// grantor in force today: what the decision engine acts on.
func (f *fixture) inForce(proxy, grantor, id string) bool {
	f.t.Helper()
	rels, err := f.store.Relations(f.ctx, f.id(proxy), f.id(grantor))
	if err != nil {
		f.t.Fatal(err)
	}
	today := delegation.Today(f.clock())
	return slices.ContainsFunc(rels.Fullmakter, func(x delegation.Fullmakt) bool { return x.ID == id && x.InForceOn(today) })
}

func TestRevokeByGrantor(t *testing.T) {
	f := newFixture(t)
	id := f.give("kari", "ingrid", delegation.Scope{Areas: []string{"family"}})
	if !f.inForce("ingrid", "kari", id) {
		t.Fatalf("the fullmakt is not in force before it is revoked")
	}
	kari := f.login("kari", authz.LevelSubstantial)

	page := kari.get("/fullmakter/" + id)
	body := text(mainOf(page.Body))
	for _, want := range []string{
		"Fullmakt to Ingrid Hansen", "Active", "Child benefit", "Parental benefit", "Notice of change of address",
		"Never included, as nobody can do it for someone else: Notice of marriage, Will.",
		"Everything the services offer", "Given here and confirmed with an eID (level high)", "Revoke the fullmakt",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /fullmakter/%s: the page lacks %q:\n%s", id, want, body)
		}
	}
	if strings.Contains(page.Body, "<li>Will</li>") || strings.Contains(body, "Give up the fullmakt") {
		t.Errorf("GET /fullmakter/%s lists a highly personal service, or offers the grantor to give it up", id)
	}
	if strings.Contains(page.Body, string(f.id("ingrid"))) || strings.Contains(page.Body, string(f.id("kari"))) {
		t.Errorf("GET /fullmakter/%s shows a whole identity number", id)
	}

	page = kari.get("/fullmakter/" + id + "/end")
	if body := text(mainOf(page.Body)); page.Status != http.StatusOK || !strings.Contains(body, "From now on Ingrid Hansen can no longer act for you") {
		t.Errorf("GET end = %d, want what revoking means:\n%s", page.Status, body)
	}
	before := f.changes()
	f.advance(time.Minute)
	r := kari.post("/fullmakter/"+id+"/end", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/fullmakter/"+id+"?ended=1" {
		t.Fatalf("POST end = %d to %q, want the fullmakt with ?ended=1", r.Status, r.Location)
	}
	got, err := f.store.Fullmakt(f.ctx, id)
	if err != nil || got.Status != delegation.StatusRevoked || got.EndedBy != f.id("kari") || !got.EndedAt.Equal(f.clock()) {
		t.Errorf("Fullmakt(%s) after revoking = %s by %v at %v (%v), want revoked by kari now", id, got.Status, got.EndedBy == f.id("kari"), got.EndedAt, err)
	}
	if f.inForce("ingrid", "kari", id) {
		t.Errorf("the revoked fullmakt is still in force for the proxy")
	}
	if f.changes() == before {
		t.Errorf("revoking did not call Changed")
	}
	body = text(mainOf(kari.follow(r).Body))
	for _, want := range []string{"The fullmakt is revoked. From now on Ingrid Hansen can no longer act for you.", "Revoked", "by Kari Nordmann"} {
		if !strings.Contains(body, want) {
			t.Errorf("GET after revoking: the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("GET after revoking still offers to revoke it")
	}

	// Once is all.
	if r := kari.post("/fullmakter/"+id+"/end", nil); r.Status != http.StatusConflict || !strings.Contains(text(r.Body), "This fullmakt has already ended") {
		t.Errorf("POST end again = %d, want 409 saying it has ended; body:\n%s", r.Status, text(r.Body))
	}
	if r := kari.get("/fullmakter/" + id + "/end"); r.Status != http.StatusConflict {
		t.Errorf("GET end of an ended fullmakt = %d, want 409", r.Status)
	}
	// The proxy sees it ended, with no banner of someone else's act.
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	body = text(mainOf(ingrid.get("/fullmakter/" + id + "?ended=1").Body))
	if !strings.Contains(body, "Revoked") || strings.Contains(body, "Give up") || strings.Contains(body, "The fullmakt is revoked.") {
		t.Errorf("ingrid GET the revoked fullmakt:\n%s", body)
	}
}

// changes is how many times the portal called Changed.
func (f *fixture) changes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

func TestRenounceByProxy(t *testing.T) {
	f := newFixture(t)
	id := f.give("kari", "ingrid", delegation.Scope{Services: []string{"nav.dagpenger"}})
	ingrid := f.login("ingrid", authz.LevelSubstantial)
	if body := text(mainOf(ingrid.get("/fullmakter/" + id).Body)); !strings.Contains(body, "Give up the fullmakt") || strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("the proxy's page: want give up, not revoke:\n%s", body)
	}
	if body := text(mainOf(ingrid.get("/fullmakter/" + id + "/end").Body)); !strings.Contains(body, "From now on you can no longer act for Kari Nordmann") {
		t.Errorf("GET end for the proxy:\n%s", body)
	}
	r := ingrid.post("/fullmakter/"+id+"/end", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST end by the proxy = %d", r.Status)
	}
	got, err := f.store.Fullmakt(f.ctx, id)
	if err != nil || got.Status != delegation.StatusRenounced || got.EndedBy != f.id("ingrid") {
		t.Errorf("Fullmakt(%s) after giving it up = %s (%v), want renounced by ingrid", id, got.Status, err)
	}
	if f.inForce("ingrid", "kari", id) {
		t.Errorf("the renounced fullmakt is still in force")
	}
	if body := text(mainOf(ingrid.follow(r).Body)); !strings.Contains(body, "You have given up the fullmakt. From now on you can no longer act for Kari Nordmann.") {
		t.Errorf("GET after giving it up: no banner:\n%s", body)
	}
}

func TestParentOfMinorGrantor(t *testing.T) {
	f := newFixture(t)
	// Ola (17) gives health to Ingrid: his own business, which his parents see
	// but may not revoke.
	health := f.give("ola", "ingrid", delegation.Scope{Areas: []string{"health"}})
	// An older tax fullmakt of Ola's, moved from an earlier system (the rules of
	// today would not let a 17-year-old give it): his parents may revoke it.
	tax := delegation.Fullmakt{
		ID: "fm_migratedolatax", Grantor: f.id("ola"), Proxy: f.id("ingrid"), Scope: delegation.Scope{Areas: []string{"tax"}},
		Status: delegation.StatusActive, Origin: delegation.OriginMigration, CreatedAt: start.Add(-24 * time.Hour).UTC(),
	}
	if err := f.store.CreateFullmakt(f.ctx, tax); err != nil {
		t.Fatal(err)
	}
	kari := f.login("kari", authz.LevelSubstantial)

	body := text(mainOf(kari.get("/fullmakter/" + health).Body))
	if !strings.Contains(body, "Fullmakt from Ola Nordmann to Ingrid Hansen") || !strings.Contains(body, "because you have parental responsibility for Ola Nordmann") || strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("kari GET Ola's health fullmakt: want it shown to the parent, with no revoke:\n%s", body)
	}
	if r := kari.post("/fullmakter/"+health+"/end", nil); r.Status != http.StatusForbidden {
		t.Errorf("kari POST end of Ola's health fullmakt = %d, want 403", r.Status)
	}
	if !f.inForce("ingrid", "ola", health) {
		t.Errorf("Ola's health fullmakt is no longer in force")
	}

	body = text(mainOf(kari.get("/fullmakter/" + tax.ID).Body))
	if !strings.Contains(body, "Revoke the fullmakt") || !strings.Contains(body, "Moved here from an earlier system") {
		t.Errorf("kari GET Ola's migrated tax fullmakt: want revoke offered:\n%s", body)
	}
	if body := text(mainOf(kari.get("/fullmakter/" + tax.ID + "/end").Body)); !strings.Contains(body, "From now on Ingrid Hansen can no longer act for Ola Nordmann") {
		t.Errorf("kari GET end:\n%s", body)
	}
	r := kari.post("/fullmakter/"+tax.ID+"/end", nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("kari POST end of Ola's tax fullmakt = %d; body:\n%s", r.Status, text(r.Body))
	}
	got, _ := f.store.Fullmakt(f.ctx, tax.ID)
	if got.Status != delegation.StatusRevoked || got.EndedBy != f.id("kari") {
		t.Errorf("Ola's tax fullmakt after kari revoked it: %s, ended by kari %v", got.Status, got.EndedBy == f.id("kari"))
	}
	if f.inForce("ingrid", "ola", tax.ID) {
		t.Errorf("Ola's revoked tax fullmakt is still in force")
	}
	if body := text(mainOf(kari.follow(r).Body)); !strings.Contains(body, "From now on Ingrid Hansen can no longer act for Ola Nordmann.") {
		t.Errorf("kari GET after revoking:\n%s", body)
	}

	// A stranger finds nothing: the same page as a fullmakt that does not exist.
	sofie := f.login("sofie", authz.LevelHigh)
	unknown := sofie.get("/fullmakter/fm_doesnotexist")
	for _, path := range []string{"/fullmakter/" + health, "/fullmakter/" + health + "/end"} {
		r := sofie.get(path)
		if r.Status != http.StatusNotFound || mainOf(r.Body) != mainOf(unknown.Body) {
			t.Errorf("a stranger GET %s = %d, want 404 like an unknown fullmakt; body:\n%s", path, r.Status, text(r.Body))
		}
	}
	if r := sofie.post("/fullmakter/"+health+"/end", nil); r.Status != http.StatusNotFound {
		t.Errorf("a stranger POST end = %d, want 404", r.Status)
	}
	if !f.inForce("ingrid", "ola", health) {
		t.Errorf("a stranger ended Ola's fullmakt")
	}
	// Nor may the proxy's family see it.
	if r := f.login("astrid", authz.LevelHigh).get("/fullmakter/" + health); r.Status != http.StatusNotFound {
		t.Errorf("the proxy's mother GET = %d, want 404", r.Status)
	}
}

func TestExpiredFullmakt(t *testing.T) {
	f := newFixture(t)
	g, _ := f.store.Person(f.ctx, f.id("kari"))
	p, _ := f.store.Person(f.ctx, f.id("ingrid"))
	fm, err := delegation.Give(delegation.NewFullmakt{
		Grantor: g, Proxy: p, Scope: delegation.Scope{Areas: []string{"tax"}},
		Period: delegation.Period{From: delegation.NewDate(2026, 11, 23), To: delegation.NewDate(2026, 11, 24)},
	}, f.clock())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.CreateFullmakt(f.ctx, fm); err != nil {
		t.Fatal(err)
	}
	f.advance(72 * time.Hour)
	kari := f.login("kari", authz.LevelSubstantial)
	body := text(mainOf(kari.get("/fullmakter/" + fm.ID).Body))
	if !strings.Contains(body, "Expired") || strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("GET an expired fullmakt: want it marked expired, with nothing to revoke:\n%s", body)
	}
	if r := kari.post("/fullmakter/"+fm.ID+"/end", nil); r.Status != http.StatusConflict {
		t.Errorf("POST end of an expired fullmakt = %d, want 409", r.Status)
	}
}
