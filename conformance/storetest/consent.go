package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/delegation"
)

// testConsents: consents are created once, listed for the party and the recipient,
// withdrawn once, and a one-time consent is used once.
func testConsents(t *testing.T, newStore newStoreFunc) {
	t.Run("create and read", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, agency, hospital := f.adult("Pasient"), f.organization("NAV"), f.organization("Helse Vest")
		f.register(party, agency, hospital)
		last := f.last()
		for _, oneTime := range []bool{false, true} {
			c := f.consent(party, agency.ID, hospital.ID, oneTime)
			if got, err := f.s.Consent(f.ctx, c.ID); err != nil {
				t.Errorf("Consent(%v): %v", c.ID, err)
			} else if d := diff(c, got); d != "" {
				t.Errorf("Consent(%v) mismatch (-want +got):\n%s", c.ID, d)
			}
			checkChanges(t, "CreateConsent", f.changesAfter(last), consentChange(delegation.ChangeConsentCreated, c))
			last = f.last()
		}
	})

	t.Run("unknown", func(t *testing.T) {
		f := newFixture(t, newStore)
		_, err := f.s.Consent(f.ctx, "cs_unknown")
		wantErr(t, "Consent(unknown)", err, delegation.ErrNotFound)
		_, err = f.s.WithdrawConsent(f.ctx, "cs_unknown", f.now)
		wantErr(t, "WithdrawConsent(unknown)", err, delegation.ErrNotFound)
		_, err = f.s.UseConsent(f.ctx, "cs_unknown", f.now)
		wantErr(t, "UseConsent(unknown)", err, delegation.ErrNotFound)
		f.noChangeSince("unknown consent", 0)
	})

	t.Run("duplicate id", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, other, agency, hospital := f.adult("Pasient"), f.adult("Annen"), f.organization("NAV"), f.organization("Helse Vest")
		f.register(party, other, agency, hospital)
		c := f.consent(party, agency.ID, hospital.ID, false)
		last := f.last()
		dup := f.newConsent(other, agency.ID, hospital.ID, true)
		dup.ID = c.ID
		wantErr(t, "CreateConsent(existing id)", f.s.CreateConsent(f.ctx, dup), delegation.ErrConflict)
		f.noChangeSince("CreateConsent(existing id)", last)
		if got, err := f.s.Consent(f.ctx, c.ID); err != nil {
			t.Errorf("Consent(%v): %v", c.ID, err)
		} else if d := diff(c, got); d != "" {
			t.Errorf("Consent(%v) after a refused duplicate mismatch (-want +got):\n%s", c.ID, d)
		}
		if got, err := f.s.ConsentsByParty(f.ctx, other.ID); err != nil || len(got) > 0 {
			t.Errorf("ConsentsByParty(%v) = %+v, %v, want none", other.ID, got, err)
		}
	})

	t.Run("by party and recipient", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn := f.adult("Anna"), f.adult("Bjørn")
		nav, lanekassen, hospital := f.organization("NAV"), f.organization("Lånekassen"), f.organization("Helse Vest")
		f.register(anna, bjorn, nav, lanekassen, hospital)
		annaNAV := f.consent(anna, nav.ID, hospital.ID, false)
		annaLanekassen := f.consent(anna, lanekassen.ID, hospital.ID, true)
		bjornNAV := f.consent(bjorn, nav.ID, hospital.ID, false)
		withdrawn, err := f.s.WithdrawConsent(f.ctx, f.consent(bjorn, lanekassen.ID, hospital.ID, false).ID, f.later(time.Hour))
		if err != nil {
			t.Fatalf("WithdrawConsent: %v", err)
		}
		for _, tt := range []struct {
			name  string
			query func() ([]delegation.Consent, error)
			want  []delegation.Consent
		}{
			{"ConsentsByParty(anna)", func() ([]delegation.Consent, error) { return f.s.ConsentsByParty(f.ctx, anna.ID) }, []delegation.Consent{annaNAV, annaLanekassen}},
			{"ConsentsByParty(bjørn, one withdrawn)", func() ([]delegation.Consent, error) { return f.s.ConsentsByParty(f.ctx, bjorn.ID) }, []delegation.Consent{bjornNAV, withdrawn}},
			{"ConsentsByParty(recipient)", func() ([]delegation.Consent, error) { return f.s.ConsentsByParty(f.ctx, nav.ID) }, nil},
			{"ConsentsByRecipient(nav)", func() ([]delegation.Consent, error) { return f.s.ConsentsByRecipient(f.ctx, nav.ID) }, []delegation.Consent{annaNAV, bjornNAV}},
			{"ConsentsByRecipient(lånekassen)", func() ([]delegation.Consent, error) { return f.s.ConsentsByRecipient(f.ctx, lanekassen.ID) }, []delegation.Consent{annaLanekassen, withdrawn}},
			{"ConsentsByRecipient(provider)", func() ([]delegation.Consent, error) { return f.s.ConsentsByRecipient(f.ctx, hospital.ID) }, nil},
			{"ConsentsByRecipient(party)", func() ([]delegation.Consent, error) { return f.s.ConsentsByRecipient(f.ctx, anna.ID) }, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.query()
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				checkList(t, tt.name, tt.want, got, consentCreated)
			})
		}
	})

	t.Run("withdraw", func(t *testing.T) {
		for _, oneTime := range []bool{false, true} {
			t.Run(map[bool]string{false: "consent", true: "one-time consent"}[oneTime], func(t *testing.T) {
				f := newFixture(t, newStore)
				party, agency, hospital := f.adult("Pasient"), f.organization("NAV"), f.organization("Helse Vest")
				f.register(party, agency, hospital)
				c := f.consent(party, agency.ID, hospital.ID, oneTime)
				last := f.last()
				at := f.later(time.Hour)
				got, err := f.s.WithdrawConsent(f.ctx, c.ID, at)
				if err != nil {
					t.Fatalf("WithdrawConsent(%v): %v", c.ID, err)
				}
				want := c
				want.Status, want.EndedAt = delegation.ConsentWithdrawn, at
				if d := diff(want, got); d != "" {
					t.Errorf("WithdrawConsent(%v) mismatch (-want +got):\n%s", c.ID, d)
				}
				f.wantConsent(t, want)
				checkChanges(t, "WithdrawConsent", f.changesAfter(last), consentChange(delegation.ChangeConsentWithdrawn, want))

				last = f.last()
				_, err = f.s.WithdrawConsent(f.ctx, c.ID, f.later(2*time.Hour))
				wantErr(t, "WithdrawConsent(withdrawn)", err, delegation.ErrConflict)
				if oneTime {
					_, err = f.s.UseConsent(f.ctx, c.ID, f.later(2*time.Hour))
					wantErr(t, "UseConsent(withdrawn)", err, delegation.ErrConflict)
				}
				f.noChangeSince("ending a withdrawn consent", last)
				f.wantConsent(t, want)
			})
		}
	})

	t.Run("use one-time consent", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, agency, hospital := f.adult("Pasient"), f.organization("NAV"), f.organization("Helse Vest")
		f.register(party, agency, hospital)
		c := f.consent(party, agency.ID, hospital.ID, true)
		last := f.last()
		got, err := f.s.UseConsent(f.ctx, c.ID, f.later(time.Hour))
		if err != nil {
			t.Fatalf("UseConsent(%v): %v", c.ID, err)
		}
		want := c
		want.Status = delegation.ConsentUsed
		// When a use is recorded in EndedAt is the backend's choice.
		ignoreEnd := cmpopts.IgnoreFields(delegation.Consent{}, "EndedAt")
		if d := diff(want, got, ignoreEnd); d != "" {
			t.Errorf("UseConsent(%v) mismatch (-want +got):\n%s", c.ID, d)
		}
		if stored, err := f.s.Consent(f.ctx, c.ID); err != nil {
			t.Errorf("Consent(%v): %v", c.ID, err)
		} else if d := diff(got, stored); d != "" {
			t.Errorf("Consent(%v) differs from what UseConsent returned (-returned +stored):\n%s", c.ID, d)
		}
		checkChanges(t, "UseConsent", f.changesAfter(last), consentChange(delegation.ChangeConsentUsed, want))

		last = f.last()
		_, err = f.s.UseConsent(f.ctx, c.ID, f.later(2*time.Hour))
		wantErr(t, "UseConsent(used)", err, delegation.ErrConflict)
		_, err = f.s.WithdrawConsent(f.ctx, c.ID, f.later(2*time.Hour))
		wantErr(t, "WithdrawConsent(used)", err, delegation.ErrConflict)
		f.noChangeSince("ending a used consent", last)
		f.wantConsent(t, got)
	})

	t.Run("use consent that is not one-time", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, agency, hospital := f.adult("Pasient"), f.organization("NAV"), f.organization("Helse Vest")
		f.register(party, agency, hospital)
		c := f.consent(party, agency.ID, hospital.ID, false)
		last := f.last()
		for i := range 3 {
			got, err := f.s.UseConsent(f.ctx, c.ID, f.later(time.Duration(i+1)*time.Hour))
			if err != nil {
				t.Fatalf("UseConsent(%v) #%d: %v", c.ID, i+1, err)
			}
			if d := diff(c, got); d != "" {
				t.Errorf("UseConsent(%v) #%d mismatch (-want +got):\n%s", c.ID, i+1, d)
			}
		}
		f.noChangeSince("UseConsent(not one-time)", last)
		f.wantConsent(t, c)
	})
}

// wantConsent fails the test unless the store holds want, and lists it as it is for
// the party and the recipient.
func (f *fixture) wantConsent(t *testing.T, want delegation.Consent) {
	t.Helper()
	if got, err := f.s.Consent(f.ctx, want.ID); err != nil {
		t.Errorf("Consent(%v): %v", want.ID, err)
	} else if d := diff(want, got); d != "" {
		t.Errorf("Consent(%v) mismatch (-want +got):\n%s", want.ID, d)
	}
	for _, l := range []struct {
		name  string
		query func() ([]delegation.Consent, error)
	}{
		{"ConsentsByParty(party)", func() ([]delegation.Consent, error) { return f.s.ConsentsByParty(f.ctx, want.Party) }},
		{"ConsentsByRecipient(recipient)", func() ([]delegation.Consent, error) { return f.s.ConsentsByRecipient(f.ctx, want.Recipient) }},
	} {
		got, err := l.query()
		if err != nil {
			t.Errorf("%s: %v", l.name, err)
		} else {
			checkList(t, l.name, []delegation.Consent{want}, got, consentCreated)
		}
	}
}
