package storetest

import (
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
)

// testApplyRecord: register import (delegation.ApplyRecord) through the store is
// idempotent, refuses records about unknown parties or that break the register
// rules, and replaces corrected records.
func testApplyRecord(t *testing.T, newStore newStoreFunc) {
	t.Run("importing twice changes nothing", func(t *testing.T) {
		for _, tt := range []struct {
			name string
			// records returns what must be imported before, and the record.
			records func(f *fixture) (known []delegation.Record, rec delegation.Record)
		}{
			{"person", func(f *fixture) ([]delegation.Record, delegation.Record) {
				return nil, f.adult("Kari Nordmann")
			}},
			{"deceased person", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p := f.person("Ola Nordmann", f.today.AddYears(-80))
				p.DeathDate = f.today.AddDays(-2)
				return nil, p
			}},
			{"organization", func(f *fixture) ([]delegation.Record, delegation.Record) {
				return nil, f.organization("Nordmann AS")
			}},
			{"parental responsibility", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p, c := f.adult("Mor"), f.minor("Barn", 3)
				return []delegation.Record{p, c}, delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodyJoint}
			}},
			{"guardianship with an unsorted scope", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, w := f.adult("Verge"), f.adult("Vergehaver")
				return []delegation.Record{g, w}, delegation.Guardianship{
					Guardian: g.ID, Ward: w.ID, Scope: []string{"personal", "economic"},
					Period: delegation.Period{From: f.today.AddYears(-1), To: f.today.AddYears(1)},
				}
			}},
			{"role", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p, o := f.adult("Styreleder"), f.organization("Firma AS")
				return []delegation.Record{p, o}, delegation.Role{Person: p.ID, Organization: o.ID, Role: "chair"}
			}},
			{"migrated fullmakt", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, p := f.adult("Giver"), f.adult("Fullmektig")
				return []delegation.Record{g, p}, delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), true, "altinn-42")
			}},
			{"migrated fullmakt without a source id", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, p := f.adult("Giver"), f.adult("Fullmektig")
				return []delegation.Record{g, p}, delegation.MigratedFullmakt(g.ID, p.ID, scope(), delegation.Period{}, false, "")
			}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, newStore)
				known, rec := tt.records(f)
				f.register(known...)
				last := f.last()
				if changed, err := f.apply(rec); !changed || err != nil {
					t.Fatalf("first ApplyRecord(%+v) = %v, %v, want true, nil", rec, changed, err)
				}
				if got := f.last(); got != last+1 {
					t.Errorf("LastChange() after the first import = %d, want %d", got, last+1)
				}
				if changed, err := f.apply(rec); changed || err != nil {
					t.Errorf("second ApplyRecord(%+v) = %v, %v, want false, nil", rec, changed, err)
				}
				f.noChangeSince("second import", last+1)
			})
		}
	})

	t.Run("unknown party", func(t *testing.T) {
		for _, tt := range []struct {
			name    string
			records func(f *fixture) (known []delegation.Record, rec delegation.Record)
		}{
			{"parental responsibility, unknown child", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p, c := f.adult("Mor"), f.minor("Barn", 3)
				return []delegation.Record{p}, delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodySole}
			}},
			{"parental responsibility, unknown parent", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p, c := f.adult("Far"), f.minor("Barn", 3)
				return []delegation.Record{c}, delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodySole}
			}},
			{"guardianship, unknown ward", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, w := f.adult("Verge"), f.adult("Vergehaver")
				return []delegation.Record{g}, delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic"}}
			}},
			{"guardianship, unknown guardian", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, w := f.adult("Verge"), f.adult("Vergehaver")
				return []delegation.Record{w}, delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic"}}
			}},
			{"role, unknown person", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p, o := f.adult("Daglig Leder"), f.organization("Firma AS")
				return []delegation.Record{o}, delegation.Role{Person: p.ID, Organization: o.ID, Role: "ceo"}
			}},
			{"role, unknown organisation", func(f *fixture) ([]delegation.Record, delegation.Record) {
				p, o := f.adult("Daglig Leder"), f.organization("Firma AS")
				return []delegation.Record{p}, delegation.Role{Person: p.ID, Organization: o.ID, Role: "ceo"}
			}},
			{"migrated fullmakt, unknown proxy", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, p := f.adult("Giver"), f.adult("Fullmektig")
				return []delegation.Record{g}, delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), false, "altinn-1")
			}},
			{"migrated fullmakt, unknown grantor", func(f *fixture) ([]delegation.Record, delegation.Record) {
				g, p := f.adult("Giver"), f.adult("Fullmektig")
				return []delegation.Record{p}, delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), false, "altinn-2")
			}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, newStore)
				known, rec := tt.records(f)
				f.register(known...)
				last := f.last()
				changed, err := f.apply(rec)
				wantErr(t, "ApplyRecord", err, delegation.ErrNotFound)
				if changed {
					t.Errorf("ApplyRecord(%+v) changed = true, want false", rec)
				}
				f.noChangeSince("refused import", last)
			})
		}
	})

	t.Run("child older than parent", func(t *testing.T) {
		f := newFixture(t, newStore)
		parent, child := f.person("Ung Forelder", f.today.AddYears(-20)), f.person("Eldre Barn", f.today.AddYears(-30))
		f.register(parent, child)
		last := f.last()
		_, err := f.apply(delegation.ParentalResponsibility{Parent: parent.ID, Child: child.ID, Kind: delegation.CustodyJoint})
		wantErr(t, "ApplyRecord(child older than parent)", err, delegation.ErrInvalid)
		f.noChangeSince("refused import", last)
	})

	// Each case imports first, then second; the second is refused with wantErr or,
	// when wantErr is nil, accepted; afterwards actor and party have want.
	type sequence struct {
		first, second delegation.Record
		wantErr       error
		kind          delegation.ChangeKind // the change the second records when accepted
		actor, party  delegation.PartyID
		want          delegation.Relations
	}
	for _, tt := range []struct {
		name  string
		build func(f *fixture) sequence
	}{
		{"overlapping parental responsibility", func(f *fixture) sequence {
			p, c := f.adult("Mor"), f.minor("Barn", 10)
			f.register(p, c)
			first := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodyJoint}
			return sequence{
				first:   first,
				second:  delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodySole, ValidFrom: f.today.AddYears(-2)},
				wantErr: delegation.ErrConflict,
				actor:   p.ID, party: c.ID, want: delegation.Relations{Parental: []delegation.ParentalResponsibility{first}},
			}
		}},
		{"consecutive parental responsibilities", func(f *fixture) sequence {
			p, c := f.adult("Mor"), f.minor("Barn", 10)
			f.register(p, c)
			first := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodyJoint, CeasedAt: f.today.AddYears(-2)}
			second := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodySole, ValidFrom: f.today.AddYears(-2)}
			return sequence{
				first: first, second: second, kind: delegation.ChangeParental,
				actor: p.ID, party: c.ID, want: delegation.Relations{Parental: []delegation.ParentalResponsibility{first, second}},
			}
		}},
		{"corrected parental responsibility", func(f *fixture) sequence {
			p, c := f.adult("Far"), f.minor("Barn", 10)
			f.register(p, c)
			from := f.today.AddYears(-4)
			second := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodySole, ValidFrom: from, CeasedAt: f.today}
			return sequence{
				first:  delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodyJoint, ValidFrom: from},
				second: second, kind: delegation.ChangeParental,
				actor: p.ID, party: c.ID, want: delegation.Relations{Parental: []delegation.ParentalResponsibility{second}},
			}
		}},
		{"overlapping guardianship", func(f *fixture) sequence {
			g, w := f.adult("Verge"), f.adult("Vergehaver")
			f.register(g, w)
			first := delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic"}, Period: delegation.Period{From: f.today.AddYears(-3)}}
			return sequence{
				first:   first,
				second:  delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"personal"}, Period: delegation.Period{From: f.today.AddYears(-1), To: f.today.AddYears(1)}},
				wantErr: delegation.ErrConflict,
				actor:   g.ID, party: w.ID, want: delegation.Relations{Guardianships: []delegation.Guardianship{first}},
			}
		}},
		{"corrected guardianship", func(f *fixture) sequence {
			g, w := f.adult("Verge"), f.adult("Vergehaver")
			f.register(g, w)
			from := f.today.AddYears(-3)
			second := delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic", "personal"}, Period: delegation.Period{From: from, To: f.today.AddYears(2)}}
			return sequence{
				first:  delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic"}, Period: delegation.Period{From: from}},
				second: second, kind: delegation.ChangeGuardianship,
				actor: g.ID, party: w.ID, want: delegation.Relations{Guardianships: []delegation.Guardianship{second}},
			}
		}},
		{"corrected migrated fullmakt", func(f *fixture) sequence {
			g, p := f.adult("Giver"), f.adult("Fullmektig")
			f.register(g, p)
			second := delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), true, "altinn-9")
			return sequence{
				first:  delegation.MigratedFullmakt(g.ID, p.ID, delegation.Scope{Areas: []string{"tax"}}, f.year(), false, "altinn-9"),
				second: second, kind: delegation.ChangeFullmaktChanged,
				actor: p.ID, party: g.ID, want: delegation.Relations{Fullmakter: []delegation.Fullmakt{second}},
			}
		}},
		{"migrated fullmakt duplicating an active one", func(f *fixture) sequence {
			g, p := f.adult("Giver"), f.adult("Fullmektig")
			f.register(g, p)
			first := delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), false, "altinn-10")
			return sequence{
				first:   first,
				second:  delegation.MigratedFullmakt(g.ID, p.ID, scope(), delegation.Period{From: f.today.AddDays(100)}, false, "altinn-11"),
				wantErr: delegation.ErrConflict,
				actor:   p.ID, party: g.ID, want: delegation.Relations{Fullmakter: []delegation.Fullmakt{first}},
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newStore)
			seq := tt.build(f)
			if _, err := f.apply(seq.first); err != nil {
				t.Fatalf("ApplyRecord(%+v): %v", seq.first, err)
			}
			last := f.last()
			changed, err := f.apply(seq.second)
			if seq.wantErr != nil {
				wantErr(t, "second ApplyRecord", err, seq.wantErr)
				f.noChangeSince("refused import", last)
			} else if !changed || err != nil {
				t.Errorf("second ApplyRecord(%+v) = %v, %v, want true, nil", seq.second, changed, err)
			} else {
				checkChanges(t, "second ApplyRecord", f.changesAfter(last),
					wantChange{Kind: seq.kind, Parties: []delegation.PartyID{seq.actor, seq.party}})
			}
			got, err := f.s.Relations(f.ctx, seq.actor, seq.party)
			if err != nil {
				t.Fatalf("Relations(%v, %v): %v", seq.actor, seq.party, err)
			}
			if d := diff(seq.want, got); d != "" {
				t.Errorf("Relations(%v, %v) mismatch (-want +got):\n%s", seq.actor, seq.party, d)
			}
		})
	}

	t.Run("revoked migrated fullmakt is not brought back", func(t *testing.T) {
		f := newFixture(t, newStore)
		g, p := f.adult("Giver"), f.adult("Fullmektig")
		f.register(g, p)
		fm := delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), false, "altinn-5")
		if _, err := f.apply(fm); err != nil {
			t.Fatalf("ApplyRecord(%+v): %v", fm, err)
		}
		revoked := f.end(fm, g.ID, g)
		last := f.last()
		changed, err := f.apply(fm)
		wantErr(t, "ApplyRecord(revoked fullmakt again)", err, delegation.ErrConflict)
		if changed {
			t.Errorf("ApplyRecord(revoked fullmakt again) changed = true, want false")
		}
		f.noChangeSince("refused import", last)
		if got, err := f.s.Fullmakt(f.ctx, fm.ID); err != nil {
			t.Errorf("Fullmakt(%v): %v", fm.ID, err)
		} else if d := diff(revoked, got); d != "" {
			t.Errorf("Fullmakt(%v) mismatch (-want +got):\n%s", fm.ID, d)
		}
	})

	t.Run("migration does not overwrite a fullmakt given here", func(t *testing.T) {
		f := newFixture(t, newStore)
		g, p := f.adult("Giver"), f.adult("Fullmektig")
		f.register(g, p)
		migrated := delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), false, "altinn-6")
		given := f.newFullmakt(g, p, false)
		given.ID = migrated.ID // the improbable collision, made on purpose
		if err := f.s.CreateFullmakt(f.ctx, given); err != nil {
			t.Fatalf("CreateFullmakt: %v", err)
		}
		last := f.last()
		_, err := f.apply(migrated)
		wantErr(t, "ApplyRecord(migrated fullmakt with the id of a portal one)", err, delegation.ErrConflict)
		f.noChangeSince("refused import", last)
		if got, err := f.s.Fullmakt(f.ctx, given.ID); err != nil {
			t.Errorf("Fullmakt(%v): %v", given.ID, err)
		} else if d := diff(given, got); d != "" {
			t.Errorf("Fullmakt(%v) mismatch (-want +got):\n%s", given.ID, d)
		}
	})
}
