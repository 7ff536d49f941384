package storetest

import (
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
)

// testParties: persons and organisations come back with every field, and unknown ids
// are ErrNotFound.
func testParties(t *testing.T, newStore newStoreFunc) {
	f := newFixture(t, newStore)
	living := f.adult("Kari Nordmann")
	deceased := f.person("Ola Nordmann", f.today.AddYears(-90))
	deceased.DeathDate = f.today.AddDays(-30)
	protected := f.adult("Skjermet Person")
	protected.ConfidentialAddress = true
	child := f.minor("Emma Nordmann", 7)
	org := f.organization("Nordmann Bygg AS")
	unknownPerson := f.adult("Ikke Registrert")
	unknownOrg := f.organization("Ikke Registrert AS")

	persons := []delegation.Person{living, deceased, protected, child}
	f.update(func(tx delegation.RegisterTx) error {
		for _, p := range persons {
			if err := tx.PutPerson(p); err != nil {
				return err
			}
		}
		return tx.PutOrganization(org)
	})

	t.Run("person", func(t *testing.T) {
		for _, want := range persons {
			got, err := f.s.Person(f.ctx, want.ID)
			if err != nil {
				t.Errorf("Person(%v): %v", want.ID, err)
				continue
			}
			if d := diff(want, got); d != "" {
				t.Errorf("Person(%v) mismatch (-want +got):\n%s", want.ID, d)
			}
		}
	})
	t.Run("organization", func(t *testing.T) {
		got, err := f.s.Organization(f.ctx, org.ID)
		if err != nil {
			t.Fatalf("Organization(%v): %v", org.ID, err)
		}
		if d := diff(org, got); d != "" {
			t.Errorf("Organization(%v) mismatch (-want +got):\n%s", org.ID, d)
		}
	})
	t.Run("not found", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			get  func() error
		}{
			{"unknown person", func() error { _, err := f.s.Person(f.ctx, unknownPerson.ID); return err }},
			{"organisation asked for as a person", func() error { _, err := f.s.Person(f.ctx, org.ID); return err }},
			{"unknown organisation", func() error { _, err := f.s.Organization(f.ctx, unknownOrg.ID); return err }},
			{"person asked for as an organisation", func() error { _, err := f.s.Organization(f.ctx, living.ID); return err }},
		} {
			t.Run(tt.name, func(t *testing.T) { wantErr(t, tt.name, tt.get(), delegation.ErrNotFound) })
		}
	})
}
