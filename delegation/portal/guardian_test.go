package portal_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// In the demo cast Jon Berg is guardian of Lars Dahl (79) for economic matters,
// with no end date. A guardian acts only within the registered scope and period:
// Jon sees, and may revoke, the fullmakter Lars has given for economic matters
// while the guardianship applies, and nothing else of Lars's.

// registerGuardianship writes g to the guardianship register, as an import
// would: a record with the guardian, ward and start of a stored one replaces it.
func (f *fixture) registerGuardianship(g delegation.Guardianship) {
	f.t.Helper()
	err := f.store.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		_, err := delegation.ApplyRecord(tx, g, f.today())
		return err
	})
	if err != nil {
		f.t.Fatalf("register the guardianship: %v", err)
	}
}

// guardianship returns the register's only guardianship of guardian for ward.
func (f *fixture) guardianship(guardian, ward string) delegation.Guardianship {
	f.t.Helper()
	rels, err := f.store.Relations(f.ctx, f.id(guardian), f.id(ward))
	if err != nil || len(rels.Guardianships) != 1 {
		f.t.Fatalf("Relations(%s, %s) = %d guardianships (%v), want 1", guardian, ward, len(rels.Guardianships), err)
	}
	return rels.Guardianships[0]
}

// hidden checks that b finds nothing at the fullmakt id: its page, the page
// that ends it and the form that does are the same 404 as for a fullmakt that
// does not exist, and the fullmakt is still in force.
func hidden(t *testing.T, b *browser, who, id string) {
	t.Helper()
	unknown := b.get("/fullmakter/fm_doesnotexist")
	for _, path := range []string{"/fullmakter/" + id, "/fullmakter/" + id + "/end"} {
		if r := b.get(path); r.Status != http.StatusNotFound || mainOf(r.Body) != mainOf(unknown.Body) {
			t.Errorf("%s GET %s = %d, want 404 like an unknown fullmakt; body:\n%s", who, path, r.Status, text(mainOf(r.Body)))
		}
	}
	if r := b.post("/fullmakter/"+id+"/end", nil); r.Status != http.StatusNotFound {
		t.Errorf("%s POST /fullmakter/%s/end = %d, want 404", who, id, r.Status)
	}
	if !b.f.inForce("ingrid", "lars", id) {
		t.Errorf("%s ended fullmakt %s, which is not theirs to end", who, id)
	}
}

func TestGuardianRevokes(t *testing.T) {
	f := newFixture(t)
	tax := f.give("lars", "ingrid", delegation.Scope{Areas: []string{"tax"}})
	health := f.give("lars", "ingrid", delegation.Scope{Areas: []string{"health"}})
	// Partly outside the guardianship: not Jon's to see either.
	both := f.give("lars", "ingrid", delegation.Scope{Areas: []string{"tax", "health"}})
	jon := f.login("jon", authz.LevelSubstantial)

	// Lars's page lists, for Jon, only what the guardianship covers.
	ref := peopleRef(t, jon.page("/").Body, "Lars Dahl")
	page := jon.page("/people/" + ref).Body
	if !strings.Contains(page, `href="/fullmakter/`+tax+`"`) {
		t.Errorf("Lars's page for Jon has no link to the tax fullmakt:\n%s", text(mainOf(page)))
	}
	for _, id := range []string{health, both} {
		if strings.Contains(page, id) {
			t.Errorf("Lars's page for Jon shows fullmakt %s, which reaches health:\n%s", id, text(mainOf(page)))
		}
	}
	body := text(mainOf(page))
	for _, want := range []string{"Fullmakter given by Lars Dahl within the guardianship", "To Ingrid Hansen", "Covers: Tax", "As guardian you can revoke it"} {
		if !strings.Contains(body, want) {
			t.Errorf("Lars's page for Jon lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Health") {
		t.Errorf("Lars's page for Jon names health:\n%s", body)
	}

	// Out of scope, and a stranger: nothing to see.
	hidden(t, jon, "Jon", health)
	hidden(t, jon, "Jon", both)
	hidden(t, f.login("sofie", authz.LevelHigh), "a stranger", tax)

	body = text(mainOf(jon.page("/fullmakter/" + tax).Body))
	for _, want := range []string{
		"Fullmakt from Lars Dahl to Ingrid Hansen", "You see this fullmakt because you are the guardian of Lars Dahl for economic matters.",
		"Tax return", "Revoke the fullmakt",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Jon GET the tax fullmakt: the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "parental responsibility") || strings.Contains(body, "Give up the fullmakt") {
		t.Errorf("Jon GET the tax fullmakt: want him shown as guardian, with nothing to give up:\n%s", body)
	}
	if body := text(mainOf(jon.page("/fullmakter/" + tax + "/end").Body)); !strings.Contains(body, "From now on Ingrid Hansen can no longer act for Lars Dahl") {
		t.Errorf("Jon GET end:\n%s", body)
	}

	before := f.changes()
	f.advance(time.Minute)
	r := jon.post("/fullmakter/"+tax+"/end", nil)
	if r.Status != http.StatusSeeOther || r.Location != "/fullmakter/"+tax+"?ended=1" {
		t.Fatalf("Jon POST end = %d to %q, want the fullmakt with ?ended=1; body:\n%s", r.Status, r.Location, text(r.Body))
	}
	got, err := f.store.Fullmakt(f.ctx, tax)
	if err != nil || got.Status != delegation.StatusRevoked || got.EndedBy != f.id("jon") || !got.EndedAt.Equal(f.clock()) {
		t.Errorf("Fullmakt(%s) after Jon revoked it = %s, by Jon %v, at %v (%v), want revoked by Jon now", tax, got.Status, got.EndedBy == f.id("jon"), got.EndedAt, err)
	}
	if f.inForce("ingrid", "lars", tax) {
		t.Errorf("the tax fullmakt Jon revoked is still in force")
	}
	if f.changes() == before {
		t.Errorf("revoking did not call Changed")
	}
	body = text(mainOf(jon.follow(r).Body))
	for _, want := range []string{"The fullmakt is revoked. From now on Ingrid Hansen can no longer act for Lars Dahl.", "Revoked", "by Jon Berg"} {
		if !strings.Contains(body, want) {
			t.Errorf("Jon GET after revoking: the page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("Jon GET after revoking still offers to revoke it")
	}
	if r := jon.post("/fullmakter/"+tax+"/end", nil); r.Status != http.StatusConflict {
		t.Errorf("Jon POST end again = %d, want 409", r.Status)
	}
	// The revoked one stays on Lars's page, marked.
	if body := text(mainOf(jon.page("/people/" + ref).Body)); !strings.Contains(body, "Revoked") || !strings.Contains(body, "stay on the list for 15 months") {
		t.Errorf("Lars's page for Jon after revoking:\n%s", body)
	}
	// Lars sees who revoked it.
	if body := text(mainOf(f.login("lars", authz.LevelSubstantial).page("/fullmakter/" + tax).Body)); !strings.Contains(body, "by Jon Berg") {
		t.Errorf("Lars GET the fullmakt Jon revoked:\n%s", body)
	}
}

func TestGuardianOutsidePeriod(t *testing.T) {
	f := newFixture(t)
	tax := f.give("lars", "ingrid", delegation.Scope{Areas: []string{"tax"}})

	// The register ends Jon's guardianship tomorrow, the last day it applies.
	g := f.guardianship("jon", "lars")
	g.Period.To = f.today().AddDays(1)
	f.registerGuardianship(g)
	// Sofie becomes Lars's guardian for economic matters the day after.
	f.registerGuardianship(delegation.Guardianship{
		Guardian: f.id("sofie"), Ward: f.id("lars"), Scope: []string{"economic"}, Period: delegation.Period{From: f.today().AddDays(2)},
	})
	jon, sofie := f.login("jon", authz.LevelSubstantial), f.login("sofie", authz.LevelSubstantial)

	f.advance(24 * time.Hour)
	if body := text(mainOf(jon.page("/fullmakter/" + tax).Body)); !strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("Jon GET on the last day of the guardianship: want revoke offered:\n%s", body)
	}
	hidden(t, sofie, "Sofie, before her guardianship begins", tax)

	f.advance(24 * time.Hour)
	hidden(t, jon, "Jon, after the guardianship ended", tax)
	if r := jon.get("/"); strings.Contains(r.Body, "Lars Dahl") {
		t.Errorf("Jon's overview after the guardianship ended still names Lars Dahl")
	}

	if body := text(mainOf(sofie.page("/fullmakter/" + tax).Body)); !strings.Contains(body, "Revoke the fullmakt") {
		t.Errorf("Sofie GET once her guardianship applies: want revoke offered:\n%s", body)
	}
	if r := sofie.post("/fullmakter/"+tax+"/end", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("Sofie POST end = %d; body:\n%s", r.Status, text(r.Body))
	}
	if got, _ := f.store.Fullmakt(f.ctx, tax); got.Status != delegation.StatusRevoked || got.EndedBy != f.id("sofie") {
		t.Errorf("Fullmakt(%s) after Sofie revoked it = %s, by Sofie %v", tax, got.Status, got.EndedBy == f.id("sofie"))
	}
}
