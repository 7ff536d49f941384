package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// world is a small population with one relation of every kind, and some that must
// not be mistaken for relations: siblings, the reverse direction, the proxy who
// passed a fullmakt on, the provider of a consent.
type world struct {
	mother, father, child, sibling delegation.Person
	guardian, ward                 delegation.Person
	ceo, boardMember               delegation.Person
	grantor, proxy, subproxy       delegation.Person
	formerProxy                    delegation.Person
	company, agency, hospital      delegation.Organization

	motherChild, motherSibling, fatherChild delegation.ParentalResponsibility
	guardianship                            delegation.Guardianship
	ceoRole, chairRole, boardRole           delegation.Role
	motherRole                              delegation.Role
	// fullmakt is passed on as subdelegated; revoked was revoked; wardFullmakt is a
	// fullmakt the ward gave their guardian.
	fullmakt, subdelegated, revoked, wardFullmakt delegation.Fullmakt
	consent, withdrawn                            delegation.Consent
}

func newWorld(f *fixture) *world {
	f.t.Helper()
	w := &world{
		mother: f.adult("Mor Hansen"), father: f.adult("Far Hansen"),
		child: f.minor("Emma Hansen", 10), sibling: f.minor("Jonas Hansen", 14),
		guardian: f.adult("Verge Olsen"), ward: f.adult("Vergehaver Olsen"),
		ceo: f.adult("Daglig Leder Berg"), boardMember: f.adult("Styremedlem Lie"),
		grantor: f.adult("Fullmaktsgiver Dahl"), proxy: f.adult("Fullmektig Dahl"),
		subproxy: f.adult("Underfullmektig Moe"), formerProxy: f.adult("Tidligere Fullmektig Ås"),
		company: f.organization("Hansen Bygg AS"), agency: f.organization("NAV"),
		hospital: f.organization("Helse Vest"),
	}
	w.motherChild = delegation.ParentalResponsibility{Parent: w.mother.ID, Child: w.child.ID, Kind: delegation.CustodyJoint}
	w.motherSibling = delegation.ParentalResponsibility{Parent: w.mother.ID, Child: w.sibling.ID, Kind: delegation.CustodySole}
	w.fatherChild = delegation.ParentalResponsibility{Parent: w.father.ID, Child: w.child.ID, Kind: delegation.CustodyJoint, CeasedAt: f.today.AddYears(-1)}
	w.guardianship = delegation.Guardianship{
		Guardian: w.guardian.ID, Ward: w.ward.ID, Scope: []string{"economic", "personal"},
		Period: delegation.Period{From: f.today.AddYears(-2)},
	}
	w.ceoRole = delegation.Role{Person: w.ceo.ID, Organization: w.company.ID, Role: "ceo"}
	w.chairRole = delegation.Role{Person: w.ceo.ID, Organization: w.company.ID, Role: "chair"}
	w.boardRole = delegation.Role{Person: w.boardMember.ID, Organization: w.company.ID, Role: "board_member"}
	w.motherRole = delegation.Role{Person: w.mother.ID, Organization: w.company.ID, Role: "signatory"}

	var recs []delegation.Record
	for _, p := range []delegation.Person{w.mother, w.father, w.child, w.sibling, w.guardian, w.ward,
		w.ceo, w.boardMember, w.grantor, w.proxy, w.subproxy, w.formerProxy} {
		recs = append(recs, p)
	}
	f.register(append(recs, w.company, w.agency, w.hospital,
		w.motherSibling, w.motherChild, w.fatherChild, w.guardianship,
		w.chairRole, w.ceoRole, w.boardRole, w.motherRole)...)

	w.fullmakt = f.give(w.grantor, w.proxy, true)
	w.subdelegated = f.subdelegate(w.fullmakt, w.grantor, w.subproxy)
	w.revoked = f.end(f.give(w.grantor, w.formerProxy, false), w.grantor.ID, w.grantor)
	w.wardFullmakt = f.give(w.ward, w.guardian, false)

	w.consent = f.consent(w.grantor, w.agency.ID, w.hospital.ID, false)
	withdrawn := f.consent(w.grantor, w.agency.ID, w.hospital.ID, true)
	var err error
	if w.withdrawn, err = f.s.WithdrawConsent(f.ctx, withdrawn.ID, f.later(2*time.Hour)); err != nil {
		f.t.Fatalf("WithdrawConsent: %v", err)
	}
	return w
}

// testRelations: Relations, Represented and Representatives return every record, of
// whatever status, that lets an actor act for a party, and nothing else.
func testRelations(t *testing.T, newStore newStoreFunc) {
	f := newFixture(t, newStore)
	w := newWorld(f)
	none := delegation.Relations{}

	t.Run("Relations", func(t *testing.T) {
		for _, tt := range []struct {
			name         string
			actor, party delegation.PartyID
			want         delegation.Relations
		}{
			{"parent to child", w.mother.ID, w.child.ID, delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherChild}}},
			{"parent to second child", w.mother.ID, w.sibling.ID, delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherSibling}}},
			{"parent whose responsibility ceased", w.father.ID, w.child.ID, delegation.Relations{Parental: []delegation.ParentalResponsibility{w.fatherChild}}},
			{"parent to the other parent's child", w.father.ID, w.sibling.ID, none},
			{"child to parent", w.child.ID, w.mother.ID, none},
			{"sibling to sibling", w.child.ID, w.sibling.ID, none},
			{"parent to parent", w.mother.ID, w.father.ID, none},
			{"guardian to ward, who gave a fullmakt too", w.guardian.ID, w.ward.ID, delegation.Relations{
				Guardianships: []delegation.Guardianship{w.guardianship}, Fullmakter: []delegation.Fullmakt{w.wardFullmakt}}},
			{"ward to guardian", w.ward.ID, w.guardian.ID, none},
			{"person with two roles", w.ceo.ID, w.company.ID, delegation.Relations{Roles: []delegation.Role{w.ceoRole, w.chairRole}}},
			{"board member", w.boardMember.ID, w.company.ID, delegation.Relations{Roles: []delegation.Role{w.boardRole}}},
			{"parent with a role", w.mother.ID, w.company.ID, delegation.Relations{Roles: []delegation.Role{w.motherRole}}},
			{"organisation to role holder", w.company.ID, w.ceo.ID, none},
			{"role holder to fellow role holder", w.ceo.ID, w.boardMember.ID, none},
			{"proxy to grantor", w.proxy.ID, w.grantor.ID, delegation.Relations{Fullmakter: []delegation.Fullmakt{w.fullmakt}}},
			{"sub-delegated proxy to grantor", w.subproxy.ID, w.grantor.ID, delegation.Relations{Fullmakter: []delegation.Fullmakt{w.subdelegated}}},
			{"sub-delegated proxy to the proxy who passed it on", w.subproxy.ID, w.proxy.ID, none},
			{"proxy who passed it on to the sub-delegated proxy", w.proxy.ID, w.subproxy.ID, none},
			{"grantor to proxy", w.grantor.ID, w.proxy.ID, none},
			{"proxy of a revoked fullmakt", w.formerProxy.ID, w.grantor.ID, delegation.Relations{Fullmakter: []delegation.Fullmakt{w.revoked}}},
			{"consent recipient to consenting person", w.agency.ID, w.grantor.ID, delegation.Relations{Consents: []delegation.Consent{w.consent, w.withdrawn}}},
			{"consent provider to consenting person", w.hospital.ID, w.grantor.ID, none},
			{"consenting person to recipient", w.grantor.ID, w.agency.ID, none},
			{"person to themself", w.mother.ID, w.mother.ID, none},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := f.s.Relations(f.ctx, tt.actor, tt.party)
				if err != nil {
					t.Fatalf("Relations(%v, %v): %v", tt.actor, tt.party, err)
				}
				if d := diff(tt.want, got); d != "" {
					t.Errorf("Relations(%v, %v) mismatch (-want +got):\n%s", tt.actor, tt.party, d)
				}
			})
		}
	})

	t.Run("Represented", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			actor delegation.PartyID
			want  []delegation.PartyRelations
		}{
			{"parent with a role", w.mother.ID, byParty(
				delegation.PartyRelations{Party: w.child.ID, Relations: delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherChild}}},
				delegation.PartyRelations{Party: w.sibling.ID, Relations: delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherSibling}}},
				delegation.PartyRelations{Party: w.company.ID, Relations: delegation.Relations{Roles: []delegation.Role{w.motherRole}}},
			)},
			{"guardian", w.guardian.ID, byParty(
				delegation.PartyRelations{Party: w.ward.ID, Relations: delegation.Relations{
					Guardianships: []delegation.Guardianship{w.guardianship}, Fullmakter: []delegation.Fullmakt{w.wardFullmakt}}},
			)},
			{"role holder", w.ceo.ID, byParty(
				delegation.PartyRelations{Party: w.company.ID, Relations: delegation.Relations{Roles: []delegation.Role{w.ceoRole, w.chairRole}}},
			)},
			{"proxy who passed it on", w.proxy.ID, byParty(
				delegation.PartyRelations{Party: w.grantor.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{w.fullmakt}}},
			)},
			{"sub-delegated proxy", w.subproxy.ID, byParty(
				delegation.PartyRelations{Party: w.grantor.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{w.subdelegated}}},
			)},
			{"proxy of a revoked fullmakt", w.formerProxy.ID, byParty(
				delegation.PartyRelations{Party: w.grantor.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{w.revoked}}},
			)},
			{"consent recipient", w.agency.ID, byParty(
				delegation.PartyRelations{Party: w.grantor.ID, Relations: delegation.Relations{Consents: []delegation.Consent{w.consent, w.withdrawn}}},
			)},
			{"child", w.child.ID, nil},
			{"grantor", w.grantor.ID, nil},
			{"consent provider", w.hospital.ID, nil},
			{"organisation", w.company.ID, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := f.s.Represented(f.ctx, tt.actor)
				if err != nil {
					t.Fatalf("Represented(%v): %v", tt.actor, err)
				}
				if d := diff(tt.want, got); d != "" {
					t.Errorf("Represented(%v) mismatch (-want +got):\n%s", tt.actor, d)
				}
			})
		}
	})

	t.Run("Representatives", func(t *testing.T) {
		for _, tt := range []struct {
			name  string
			party delegation.PartyID
			want  []delegation.PartyRelations
		}{
			{"child of two parents", w.child.ID, byParty(
				delegation.PartyRelations{Party: w.mother.ID, Relations: delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherChild}}},
				delegation.PartyRelations{Party: w.father.ID, Relations: delegation.Relations{Parental: []delegation.ParentalResponsibility{w.fatherChild}}},
			)},
			{"child of one parent", w.sibling.ID, byParty(
				delegation.PartyRelations{Party: w.mother.ID, Relations: delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherSibling}}},
			)},
			{"ward", w.ward.ID, byParty(
				delegation.PartyRelations{Party: w.guardian.ID, Relations: delegation.Relations{
					Guardianships: []delegation.Guardianship{w.guardianship}, Fullmakter: []delegation.Fullmakt{w.wardFullmakt}}},
			)},
			{"organisation", w.company.ID, byParty(
				delegation.PartyRelations{Party: w.ceo.ID, Relations: delegation.Relations{Roles: []delegation.Role{w.ceoRole, w.chairRole}}},
				delegation.PartyRelations{Party: w.boardMember.ID, Relations: delegation.Relations{Roles: []delegation.Role{w.boardRole}}},
				delegation.PartyRelations{Party: w.mother.ID, Relations: delegation.Relations{Roles: []delegation.Role{w.motherRole}}},
			)},
			{"grantor", w.grantor.ID, byParty(
				delegation.PartyRelations{Party: w.proxy.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{w.fullmakt}}},
				delegation.PartyRelations{Party: w.subproxy.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{w.subdelegated}}},
				delegation.PartyRelations{Party: w.formerProxy.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{w.revoked}}},
				delegation.PartyRelations{Party: w.agency.ID, Relations: delegation.Relations{Consents: []delegation.Consent{w.consent, w.withdrawn}}},
			)},
			{"parent", w.mother.ID, nil},
			{"proxy who passed it on", w.proxy.ID, nil},
			{"consent recipient", w.agency.ID, nil},
			{"consent provider", w.hospital.ID, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := f.s.Representatives(f.ctx, tt.party)
				if err != nil {
					t.Fatalf("Representatives(%v): %v", tt.party, err)
				}
				if d := diff(tt.want, got); d != "" {
					t.Errorf("Representatives(%v) mismatch (-want +got):\n%s", tt.party, d)
				}
			})
		}
	})

	t.Run("inside a register transaction", func(t *testing.T) {
		// RegisterTx.Relations answers like the store, for every kind of relation.
		err := f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
			for _, tt := range []struct {
				actor, party delegation.PartyID
				want         delegation.Relations
			}{
				{w.mother.ID, w.child.ID, delegation.Relations{Parental: []delegation.ParentalResponsibility{w.motherChild}}},
				{w.guardian.ID, w.ward.ID, delegation.Relations{Guardianships: []delegation.Guardianship{w.guardianship}, Fullmakter: []delegation.Fullmakt{w.wardFullmakt}}},
				{w.ceo.ID, w.company.ID, delegation.Relations{Roles: []delegation.Role{w.ceoRole, w.chairRole}}},
				{w.subproxy.ID, w.grantor.ID, delegation.Relations{Fullmakter: []delegation.Fullmakt{w.subdelegated}}},
				{w.formerProxy.ID, w.grantor.ID, delegation.Relations{Fullmakter: []delegation.Fullmakt{w.revoked}}},
				{w.agency.ID, w.grantor.ID, delegation.Relations{Consents: []delegation.Consent{w.consent, w.withdrawn}}},
				{w.child.ID, w.mother.ID, none},
			} {
				got, err := tx.Relations(tt.actor, tt.party)
				if err != nil {
					t.Errorf("tx.Relations(%v, %v): %v", tt.actor, tt.party, err)
				} else if d := diff(tt.want, got); d != "" {
					t.Errorf("tx.Relations(%v, %v) mismatch (-want +got):\n%s", tt.actor, tt.party, d)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("UpdateRegister: %v", err)
		}
	})

	t.Run("ordered by party", func(t *testing.T) {
		// Fullmakter given in the reverse order of the parties' ids must still come
		// back ordered by id.
		f := newFixture(t, newStore)
		proxy, grantor := f.adult("Fullmektig"), f.adult("Giver")
		var grantors, proxies []delegation.Person
		for range 5 {
			grantors = append(grantors, f.adult("Giver"))
			proxies = append(proxies, f.adult("Fullmektig"))
		}
		byID := func(a, b delegation.Person) int { return strings.Compare(string(a.ID), string(b.ID)) }
		slices.SortFunc(grantors, byID)
		slices.SortFunc(proxies, byID)
		f.register(proxy, grantor)
		for i := len(grantors) - 1; i >= 0; i-- {
			f.register(grantors[i], proxies[i])
		}
		var represented, representatives []delegation.PartyRelations
		for i := len(grantors) - 1; i >= 0; i-- {
			fm := f.give(grantors[i], proxy, false)
			represented = append(represented, delegation.PartyRelations{Party: grantors[i].ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{fm}}})
			fm = f.give(grantor, proxies[i], false)
			representatives = append(representatives, delegation.PartyRelations{Party: proxies[i].ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{fm}}})
		}
		slices.Reverse(represented)
		slices.Reverse(representatives)

		if got, err := f.s.Represented(f.ctx, proxy.ID); err != nil {
			t.Errorf("Represented(%v): %v", proxy.ID, err)
		} else if d := diff(represented, got); d != "" {
			t.Errorf("Represented(%v) mismatch (-want +got):\n%s", proxy.ID, d)
		}
		if got, err := f.s.Representatives(f.ctx, grantor.ID); err != nil {
			t.Errorf("Representatives(%v): %v", grantor.ID, err)
		} else if d := diff(representatives, got); d != "" {
			t.Errorf("Representatives(%v) mismatch (-want +got):\n%s", grantor.ID, d)
		}
	})
}
