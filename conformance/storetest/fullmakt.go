package storetest

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/delegation"
)

// testFullmakter: fullmakter are created once, read back whole, listed for the
// grantor, the proxy who passed one on and the proxy, and by their last day, and
// ended exactly once.
func testFullmakter(t *testing.T, newStore newStoreFunc) {
	t.Run("create and read", func(t *testing.T) {
		f := newFixture(t, newStore)
		grantor, proxy, subproxy := f.adult("Giver"), f.adult("Fullmektig"), f.adult("Underfullmektig")
		f.register(grantor, proxy, subproxy)
		last := f.last()
		fm := f.give(grantor, proxy, true)
		sub := f.subdelegate(fm, grantor, subproxy)
		for _, want := range []delegation.Fullmakt{fm, sub} {
			got, err := f.s.Fullmakt(f.ctx, want.ID)
			if err != nil {
				t.Errorf("Fullmakt(%v): %v", want.ID, err)
			} else if d := diff(want, got); d != "" {
				t.Errorf("Fullmakt(%v) mismatch (-want +got):\n%s", want.ID, d)
			}
		}
		checkChanges(t, "CreateFullmakt", f.changesAfter(last),
			fullmaktChange(delegation.ChangeFullmaktCreated, fm),
			fullmaktChange(delegation.ChangeFullmaktCreated, sub))
	})

	t.Run("unknown", func(t *testing.T) {
		f := newFixture(t, newStore)
		_, err := f.s.Fullmakt(f.ctx, "fm_unknown")
		wantErr(t, "Fullmakt(unknown)", err, delegation.ErrNotFound)
		_, err = f.s.EndFullmakt(f.ctx, delegation.EndFullmakt{
			ID: "fm_unknown", Status: delegation.StatusRevoked, By: f.adult("Giver").ID, At: f.now,
		})
		wantErr(t, "EndFullmakt(unknown)", err, delegation.ErrNotFound)
		f.noChangeSince("EndFullmakt(unknown)", 0)
	})

	t.Run("duplicate id", func(t *testing.T) {
		f := newFixture(t, newStore)
		grantor, proxy, other := f.adult("Giver"), f.adult("Fullmektig"), f.adult("Annen")
		f.register(grantor, proxy, other)
		fm := f.give(grantor, proxy, false)
		last := f.last()
		dup := f.newFullmakt(grantor, other, true)
		dup.ID = fm.ID
		wantErr(t, "CreateFullmakt(existing id)", f.s.CreateFullmakt(f.ctx, dup), delegation.ErrConflict)
		f.noChangeSince("CreateFullmakt(existing id)", last)
		if got, err := f.s.Fullmakt(f.ctx, fm.ID); err != nil {
			t.Errorf("Fullmakt(%v): %v", fm.ID, err)
		} else if d := diff(fm, got); d != "" {
			t.Errorf("Fullmakt(%v) after a refused duplicate mismatch (-want +got):\n%s", fm.ID, d)
		}
		if got, err := f.s.FullmakterReceivedBy(f.ctx, other.ID); err != nil || len(got) > 0 {
			t.Errorf("FullmakterReceivedBy(%v) = %+v, %v, want none", other.ID, got, err)
		}
	})

	t.Run("given and received", func(t *testing.T) {
		f := newFixture(t, newStore)
		grantor, proxy, subproxy := f.adult("Giver"), f.adult("Fullmektig"), f.adult("Underfullmektig")
		otherGrantor, bystander := f.adult("Annen Giver"), f.adult("Utenforstående")
		f.register(grantor, proxy, subproxy, otherGrantor, bystander)
		fm := f.give(grantor, proxy, true)
		sub := f.subdelegate(fm, grantor, subproxy)
		another := f.give(grantor, subproxy, false)
		fromOther := f.give(otherGrantor, proxy, false)
		revoked := f.end(f.give(otherGrantor, grantor, false), otherGrantor.ID, otherGrantor)

		for _, tt := range []struct {
			name  string
			query func(p delegation.PartyID) ([]delegation.Fullmakt, error)
			p     delegation.Person
			want  []delegation.Fullmakt
		}{
			{"FullmakterGivenBy(grantor)", f.fullmakterGivenBy, grantor, []delegation.Fullmakt{fm, sub, another}},
			{"FullmakterGivenBy(proxy who passed one on)", f.fullmakterGivenBy, proxy, []delegation.Fullmakt{sub}},
			{"FullmakterGivenBy(other grantor, one revoked)", f.fullmakterGivenBy, otherGrantor, []delegation.Fullmakt{fromOther, revoked}},
			{"FullmakterGivenBy(sub-delegated proxy)", f.fullmakterGivenBy, subproxy, nil},
			{"FullmakterGivenBy(bystander)", f.fullmakterGivenBy, bystander, nil},
			{"FullmakterReceivedBy(proxy)", f.fullmakterReceivedBy, proxy, []delegation.Fullmakt{fm, fromOther}},
			{"FullmakterReceivedBy(sub-delegated proxy)", f.fullmakterReceivedBy, subproxy, []delegation.Fullmakt{sub, another}},
			{"FullmakterReceivedBy(grantor, revoked)", f.fullmakterReceivedBy, grantor, []delegation.Fullmakt{revoked}},
			{"FullmakterReceivedBy(bystander)", f.fullmakterReceivedBy, bystander, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.query(tt.p.ID)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				checkList(t, tt.name, tt.want, got, fullmaktCreated)
			})
		}
	})

	t.Run("end", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			// who ends: the grantor, the proxy, or the proxy who passed it on.
			who  string
			sub  bool // end the sub-delegated fullmakt rather than its parent
			want delegation.FullmaktStatus
			kind delegation.ChangeKind
		}{
			{"grantor revokes", "grantor", false, delegation.StatusRevoked, delegation.ChangeFullmaktRevoked},
			{"proxy renounces", "proxy", false, delegation.StatusRenounced, delegation.ChangeFullmaktRenounced},
			{"grantor revokes a sub-delegated one", "grantor", true, delegation.StatusRevoked, delegation.ChangeFullmaktRevoked},
			{"delegating proxy revokes a sub-delegated one", "delegator", true, delegation.StatusRevoked, delegation.ChangeFullmaktRevoked},
			{"sub-delegated proxy renounces", "proxy", true, delegation.StatusRenounced, delegation.ChangeFullmaktRenounced},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, newStore)
				grantor, proxy, subproxy := f.adult("Giver"), f.adult("Fullmektig"), f.adult("Underfullmektig")
				f.register(grantor, proxy, subproxy)
				fm := f.give(grantor, proxy, true)
				if tt.sub {
					fm = f.subdelegate(fm, grantor, subproxy)
				}
				by := map[string]delegation.PartyID{"grantor": fm.Grantor, "proxy": fm.Proxy, "delegator": fm.DelegatedBy}[tt.who]
				e, err := delegation.MayEnd(fm, by, grantor, nil, f.later(time.Hour))
				if err != nil {
					t.Fatalf("MayEnd: %v", err)
				}
				last := f.last()
				got, err := f.s.EndFullmakt(f.ctx, e)
				if err != nil {
					t.Fatalf("EndFullmakt(%+v): %v", e, err)
				}
				want := fm
				want.Status, want.EndedAt, want.EndedBy = tt.want, e.At, by
				if d := diff(want, got); d != "" {
					t.Errorf("EndFullmakt(%+v) mismatch (-want +got):\n%s", e, d)
				}
				checkChanges(t, "EndFullmakt", f.changesAfter(last), fullmaktChange(tt.kind, want))

				// Ended fullmakter stay visible, ended, in every query.
				if got, err := f.s.Fullmakt(f.ctx, fm.ID); err != nil {
					t.Errorf("Fullmakt(%v): %v", fm.ID, err)
				} else if d := diff(want, got); d != "" {
					t.Errorf("Fullmakt(%v) after EndFullmakt mismatch (-want +got):\n%s", fm.ID, d)
				}
				f.wantListed(t, "FullmakterGivenBy(grantor)", f.fullmakterGivenBy, fm.Grantor, want)
				f.wantListed(t, "FullmakterReceivedBy(proxy)", f.fullmakterReceivedBy, fm.Proxy, want)
				if rels, err := f.s.Relations(f.ctx, fm.Proxy, fm.Grantor); err != nil {
					t.Errorf("Relations(%v, %v): %v", fm.Proxy, fm.Grantor, err)
				} else if d := diff(delegation.Relations{Fullmakter: []delegation.Fullmakt{want}}, rels); d != "" {
					t.Errorf("Relations(%v, %v) after EndFullmakt mismatch (-want +got):\n%s", fm.Proxy, fm.Grantor, d)
				}

				// It ends once.
				last = f.last()
				for _, again := range []delegation.EndFullmakt{
					e,
					{ID: fm.ID, Status: delegation.StatusRevoked, By: fm.Grantor, At: f.later(2 * time.Hour)},
					{ID: fm.ID, Status: delegation.StatusRenounced, By: fm.Proxy, At: f.later(2 * time.Hour)},
				} {
					_, err := f.s.EndFullmakt(f.ctx, again)
					wantErr(t, "EndFullmakt(ended)", err, delegation.ErrConflict)
				}
				f.noChangeSince("EndFullmakt(ended)", last)
				if got, err := f.s.Fullmakt(f.ctx, fm.ID); err != nil || got.Status != want.Status || !got.EndedAt.Equal(want.EndedAt) || got.EndedBy != want.EndedBy {
					t.Errorf("Fullmakt(%v) after ending it again = %+v, %v, want status %v ended at %v by %v",
						fm.ID, got, err, want.Status, want.EndedAt, want.EndedBy)
				}
			})
		}
	})
}

// testFullmakterEnding: FullmakterEnding lists the fullmakter whose last day is in
// the range, both ends included, whatever their status, by day and then id, and
// follows a migrated fullmakt whose end a re-import moves or takes away.
func testFullmakterEnding(t *testing.T, newStore newStoreFunc) {
	f := newFixture(t, newStore)
	grantor, proxy, subproxy := f.adult("Giver"), f.adult("Fullmektig"), f.adult("Underfullmektig")
	f.register(grantor, proxy, subproxy)
	d := f.today.AddDays
	f.wantEnding(t, f.today, d(1000), nil)

	parent := f.give(grantor, proxy, true) // ends in a year
	soon := f.giveFor(grantor, proxy, delegation.Period{From: f.today, To: d(3)})
	revoked := f.end(f.giveFor(grantor, subproxy, delegation.Period{From: f.today, To: d(3)}), grantor.ID, grantor)
	later := f.giveFor(proxy, grantor, delegation.Period{From: d(2), To: d(10)})
	sub := f.subdelegate(parent, grantor, subproxy)             // ends in 30 days
	f.giveFor(grantor, proxy, delegation.Period{From: f.today}) // no end: never listed
	f.giveFor(subproxy, grantor, delegation.Period{})           // no period at all
	stored := []delegation.Fullmakt{parent, soon, revoked, later, sub}

	migrate := func(to delegation.Date) delegation.Fullmakt {
		t.Helper()
		m := delegation.MigratedFullmakt(grantor.ID, proxy.ID, delegation.Scope{Areas: []string{"tax"}},
			delegation.Period{From: f.today, To: to}, false, "altinn-77")
		if changed, err := f.apply(m); !changed || err != nil {
			t.Fatalf("ApplyRecord(migrated fullmakt ending %v) = %v, %v, want true, nil", to, changed, err)
		}
		return m
	}
	migrated := migrate(d(5))

	yearEnd := parent.Period.To
	for _, tt := range []struct {
		name     string
		from, to delegation.Date
		want     []delegation.Fullmakt
	}{
		{"today", f.today, f.today, nil},
		{"one day, two fullmakter, one revoked", d(3), d(3), []delegation.Fullmakt{soon, revoked}},
		{"both ends included", d(3), d(10), []delegation.Fullmakt{soon, revoked, migrated, later}},
		{"between", d(4), d(9), []delegation.Fullmakt{migrated}},
		{"the last day only", d(10), d(10), []delegation.Fullmakt{later}},
		{"a sub-delegated one", d(11), d(30), []delegation.Fullmakt{sub}},
		{"a year on", yearEnd, yearEnd, []delegation.Fullmakt{parent}},
		{"everything", f.today.AddYears(-10), f.today.AddYears(10), append(slices.Clone(stored), migrated)},
		{"after the last", yearEnd.AddDays(1), f.today.AddYears(10), nil},
		{"before the first", f.today.AddYears(-10), d(2), nil},
		{"from after to", d(10), d(3), nil},
	} {
		t.Run(tt.name, func(t *testing.T) { f.wantEnding(t, tt.from, tt.to, tt.want) })
	}

	t.Run("a re-import moves the end", func(t *testing.T) {
		moved := migrate(d(20))
		f.wantEnding(t, d(5), d(5), nil)
		f.wantEnding(t, d(3), d(10), []delegation.Fullmakt{soon, revoked, later})
		f.wantEnding(t, d(20), d(20), []delegation.Fullmakt{moved})
		f.wantEnding(t, f.today, f.today.AddYears(10), append(slices.Clone(stored), moved))

		migrate(delegation.Date{}) // no end any more
		f.wantEnding(t, d(20), d(20), nil)
		f.wantEnding(t, f.today, f.today.AddYears(10), stored)

		back := migrate(d(5))
		f.wantEnding(t, d(4), d(9), []delegation.Fullmakt{back})
	})
}

// giveFor creates a fullmakt grantor gives proxy for period.
func (f *fixture) giveFor(grantor, proxy delegation.Person, period delegation.Period) delegation.Fullmakt {
	f.t.Helper()
	fm, err := delegation.Give(delegation.NewFullmakt{
		Grantor: grantor, Proxy: proxy, Scope: scope(), Period: period, ConfirmedACR: acr,
	}, f.tick())
	if err != nil {
		f.t.Fatalf("Give: %v", err)
	}
	if err := f.s.CreateFullmakt(f.ctx, fm); err != nil {
		f.t.Fatalf("CreateFullmakt(%v): %v", fm.ID, err)
	}
	return fm
}

// wantEnding fails the test unless FullmakterEnding(from, to) returns want, ordered
// by last day and then id.
func (f *fixture) wantEnding(t *testing.T, from, to delegation.Date, want []delegation.Fullmakt) {
	t.Helper()
	got, err := f.s.FullmakterEnding(f.ctx, from, to)
	if err != nil {
		t.Errorf("FullmakterEnding(%v, %v): %v", from, to, err)
		return
	}
	want = slices.Clone(want)
	byEnd := func(a, b delegation.Fullmakt) int {
		return cmp.Or(a.Period.To.Compare(b.Period.To), strings.Compare(a.ID, b.ID))
	}
	slices.SortFunc(want, byEnd)
	if d := gocmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("FullmakterEnding(%v, %v) mismatch (-want +got):\n%s", from, to, d)
	}
}

func (f *fixture) fullmakterGivenBy(p delegation.PartyID) ([]delegation.Fullmakt, error) {
	return f.s.FullmakterGivenBy(f.ctx, p)
}

func (f *fixture) fullmakterReceivedBy(p delegation.PartyID) ([]delegation.Fullmakt, error) {
	return f.s.FullmakterReceivedBy(f.ctx, p)
}

// wantListed fails the test unless query(p) lists want, as it is.
func (f *fixture) wantListed(t *testing.T, name string, query func(delegation.PartyID) ([]delegation.Fullmakt, error), p delegation.PartyID, want delegation.Fullmakt) {
	t.Helper()
	fms, err := query(p)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	checkNewestFirst(t, name, fms, fullmaktCreated)
	for _, got := range fms {
		if got.ID == want.ID {
			if d := diff(want, got); d != "" {
				t.Errorf("%s lists %v as (-want +got):\n%s", name, want.ID, d)
			}
			return
		}
	}
	t.Errorf("%s = %+v, want it to list %v", name, fms, want.ID)
}
