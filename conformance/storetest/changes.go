package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// testChanges: the change sequence numbers every committed write from 1 without gaps,
// and Changes pages through it.
func testChanges(t *testing.T, newStore newStoreFunc) {
	t.Run("empty store", func(t *testing.T) {
		f := newFixture(t, newStore)
		if got := f.last(); got != 0 {
			t.Errorf("LastChange() = %d, want 0", got)
		}
		if got, err := f.s.Changes(f.ctx, 0, 10); err != nil || len(got) > 0 {
			t.Errorf("Changes(0, 10) = %+v, %v, want none", got, err)
		}
	})

	f := newFixture(t, newStore)
	a, b, org := f.adult("Anna"), f.adult("Bjørn"), f.organization("NAV")
	f.register(a, b, org)
	fm := f.give(a, b, false)
	dup := f.newFullmakt(a, b, false)
	dup.ID = fm.ID
	if err := f.s.CreateFullmakt(f.ctx, dup); !errors.Is(err, delegation.ErrConflict) {
		t.Fatalf("CreateFullmakt(existing id) = %v, want %v", err, delegation.ErrConflict)
	}
	r := f.request(b, a)
	c := f.consent(a, org.ID, org.ID, false)
	if err := f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		if err := tx.PutPerson(f.adult("Rullet Tilbake")); err != nil {
			return err
		}
		return errors.New("storetest: roll back")
	}); err == nil {
		t.Fatal("UpdateRegister(fn returning an error) = nil, want the error")
	}
	revoked := f.end(fm, a.ID, a)
	withdrawn, err := f.s.WithdrawConsent(f.ctx, c.ID, f.later(time.Hour))
	if err != nil {
		t.Fatalf("WithdrawConsent: %v", err)
	}
	decline, err := delegation.Decline(r, a.ID, "", f.later(time.Hour))
	if err != nil {
		t.Fatalf("Decline: %v", err)
	}
	declined, err := f.s.AnswerRequest(f.ctx, decline)
	if err != nil {
		t.Fatalf("AnswerRequest: %v", err)
	}
	want := []wantChange{
		{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{a.ID}},
		{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{b.ID}},
		{Kind: delegation.ChangeOrganization, Parties: []delegation.PartyID{org.ID}},
		fullmaktChange(delegation.ChangeFullmaktCreated, fm),
		requestChange(delegation.ChangeRequestCreated, r),
		consentChange(delegation.ChangeConsentCreated, c),
		fullmaktChange(delegation.ChangeFullmaktRevoked, revoked),
		consentChange(delegation.ChangeConsentWithdrawn, withdrawn),
		requestChange(delegation.ChangeRequestDeclined, declined),
	}
	n := uint64(len(want))

	all, err := f.s.Changes(f.ctx, 0, 100)
	if err != nil {
		t.Fatalf("Changes(0, 100): %v", err)
	}

	t.Run("every committed write, numbered from 1", func(t *testing.T) {
		checkChanges(t, "the writes", all, want...)
		if len(all) > 0 && all[0].Seq != 1 {
			t.Errorf("Changes(0, 100)[0].Seq = %d, want 1", all[0].Seq)
		}
		if got, err := f.s.LastChange(f.ctx); err != nil || got != n {
			t.Errorf("LastChange() = %d, %v, want %d", got, err, n)
		}
	})
	if uint64(len(all)) != n {
		t.Fatalf("Changes(0, 100) returned %d changes, want %d: cannot page through them", len(all), n)
	}

	t.Run("after and limit", func(t *testing.T) {
		for _, tt := range []struct {
			after uint64
			limit int
			want  []delegation.Change
		}{
			{0, 1, all[:1]},
			{0, 3, all[:3]},
			{2, 3, all[2:5]},
			{n - 1, 10, all[n-1:]},
			{n - 2, 2, all[n-2:]},
			{0, int(n), all},
			{0, int(n) + 1, all},
			{n, 10, nil},
			{n + 100, 10, nil},
		} {
			t.Run(fmt.Sprintf("Changes(%d, %d)", tt.after, tt.limit), func(t *testing.T) {
				got, err := f.s.Changes(f.ctx, tt.after, tt.limit)
				if err != nil {
					t.Fatalf("Changes(%d, %d): %v", tt.after, tt.limit, err)
				}
				if d := diff(tt.want, got); d != "" {
					t.Errorf("Changes(%d, %d) mismatch (-want +got):\n%s", tt.after, tt.limit, d)
				}
			})
		}
	})

	t.Run("paging", func(t *testing.T) {
		var got []delegation.Change
		for after := uint64(0); ; {
			page, err := f.s.Changes(f.ctx, after, 2)
			if err != nil {
				t.Fatalf("Changes(%d, 2): %v", after, err)
			}
			if len(page) > 2 {
				t.Fatalf("Changes(%d, 2) returned %d changes", after, len(page))
			}
			if len(page) == 0 {
				break
			}
			got = append(got, page...)
			after = page[len(page)-1].Seq
			if len(got) > len(all) {
				t.Fatalf("paging returned %d changes or more, want %d", len(got), len(all))
			}
		}
		if d := diff(all, got); d != "" {
			t.Errorf("paging with limit 2 mismatch (-want +got):\n%s", d)
		}
	})
}
