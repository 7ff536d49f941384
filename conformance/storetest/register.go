package storetest

import (
	"errors"
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
)

// registerSet is one record of each register kind, and the persons and organisation
// they name.
type registerSet struct {
	parent, child, guardian, ward, grantor, proxy delegation.Person
	org                                           delegation.Organization
	parental                                      delegation.ParentalResponsibility
	guardianship                                  delegation.Guardianship
	role                                          delegation.Role
	fullmakt                                      delegation.Fullmakt
}

func (f *fixture) registerSet() registerSet {
	s := registerSet{
		parent: f.adult("Mor Hansen"), child: f.minor("Barn Hansen", 9),
		guardian: f.adult("Verge Olsen"), ward: f.adult("Vergehaver Olsen"),
		grantor: f.adult("Fullmaktsgiver Berg"), proxy: f.adult("Fullmektig Berg"),
		org: f.organization("Hansen Regnskap AS"),
	}
	s.parental = delegation.ParentalResponsibility{Parent: s.parent.ID, Child: s.child.ID, Kind: delegation.CustodyJoint}
	s.guardianship = delegation.Guardianship{
		Guardian: s.guardian.ID, Ward: s.ward.ID, Scope: []string{"economic", "personal"},
		Period: delegation.Period{From: f.today.AddYears(-2), To: f.today.AddYears(3)},
	}
	s.role = delegation.Role{Person: s.parent.ID, Organization: s.org.ID, Role: "ceo"}
	s.fullmakt = delegation.MigratedFullmakt(s.grantor.ID, s.proxy.ID, scope(), f.year(), false, "altinn-1")
	return s
}

// put writes every record of s through the Put methods of tx, persons first.
func (s registerSet) put(tx delegation.RegisterTx) error {
	for _, p := range []delegation.Person{s.parent, s.child, s.guardian, s.ward, s.grantor, s.proxy} {
		if err := tx.PutPerson(p); err != nil {
			return err
		}
	}
	return errors.Join(
		tx.PutOrganization(s.org),
		tx.PutParental(s.parental),
		tx.PutGuardianship(s.guardianship),
		tx.PutRole(s.role),
		tx.PutFullmakt(s.fullmakt),
	)
}

// check fails the test unless r, the reads of a transaction or of the store, shows
// every record of s as it is.
func (s registerSet) check(t *testing.T, where string, r registerReader) {
	t.Helper()
	for _, want := range []delegation.Person{s.parent, s.child, s.guardian, s.ward, s.grantor, s.proxy} {
		got, err := r.Person(want.ID)
		if err != nil {
			t.Errorf("%s: Person(%v): %v", where, want.ID, err)
		} else if d := diff(want, got); d != "" {
			t.Errorf("%s: Person(%v) mismatch (-want +got):\n%s", where, want.ID, d)
		}
	}
	if got, err := r.Organization(s.org.ID); err != nil {
		t.Errorf("%s: Organization(%v): %v", where, s.org.ID, err)
	} else if d := diff(s.org, got); d != "" {
		t.Errorf("%s: Organization(%v) mismatch (-want +got):\n%s", where, s.org.ID, d)
	}
	if got, err := r.Fullmakt(s.fullmakt.ID); err != nil {
		t.Errorf("%s: Fullmakt(%v): %v", where, s.fullmakt.ID, err)
	} else if d := diff(s.fullmakt, got); d != "" {
		t.Errorf("%s: Fullmakt(%v) mismatch (-want +got):\n%s", where, s.fullmakt.ID, d)
	}
	for _, tt := range []struct {
		actor, party delegation.PartyID
		want         delegation.Relations
	}{
		{s.parent.ID, s.child.ID, delegation.Relations{Parental: []delegation.ParentalResponsibility{s.parental}}},
		{s.guardian.ID, s.ward.ID, delegation.Relations{Guardianships: []delegation.Guardianship{s.guardianship}}},
		{s.parent.ID, s.org.ID, delegation.Relations{Roles: []delegation.Role{s.role}}},
		{s.proxy.ID, s.grantor.ID, delegation.Relations{Fullmakter: []delegation.Fullmakt{s.fullmakt}}},
	} {
		got, err := r.Relations(tt.actor, tt.party)
		if err != nil {
			t.Errorf("%s: Relations(%v, %v): %v", where, tt.actor, tt.party, err)
		} else if d := diff(tt.want, got); d != "" {
			t.Errorf("%s: Relations(%v, %v) mismatch (-want +got):\n%s", where, tt.actor, tt.party, d)
		}
	}
}

// registerReader is what a RegisterTx and a Store both read.
type registerReader interface {
	Person(delegation.PartyID) (delegation.Person, error)
	Organization(delegation.PartyID) (delegation.Organization, error)
	Relations(actor, party delegation.PartyID) (delegation.Relations, error)
	Fullmakt(id string) (delegation.Fullmakt, error)
}

// storeReader reads a Store as a registerReader.
type storeReader struct{ f *fixture }

func (r storeReader) Person(id delegation.PartyID) (delegation.Person, error) {
	return r.f.s.Person(r.f.ctx, id)
}

func (r storeReader) Organization(id delegation.PartyID) (delegation.Organization, error) {
	return r.f.s.Organization(r.f.ctx, id)
}

func (r storeReader) Relations(actor, party delegation.PartyID) (delegation.Relations, error) {
	return r.f.s.Relations(r.f.ctx, actor, party)
}

func (r storeReader) Fullmakt(id string) (delegation.Fullmakt, error) {
	return r.f.s.Fullmakt(r.f.ctx, id)
}

// testRegister: UpdateRegister is one transaction whose reads see its own writes, that
// commits whole or not at all, that records one change per Put, and whose Puts replace
// the record with the same natural key.
func testRegister(t *testing.T, newStore newStoreFunc) {
	t.Run("reads see own writes", func(t *testing.T) {
		f := newFixture(t, newStore)
		s := f.registerSet()
		f.update(func(tx delegation.RegisterTx) error {
			if err := s.put(tx); err != nil {
				return err
			}
			s.check(t, "in the transaction", tx)
			return nil
		})
		s.check(t, "after commit", storeReader{f})
	})

	t.Run("reads of unknown records", func(t *testing.T) {
		f := newFixture(t, newStore)
		nobody, noOrg := f.adult("Ingen"), f.organization("Ingen AS")
		other := f.adult("Annen")
		f.update(func(tx delegation.RegisterTx) error {
			_, err := tx.Person(nobody.ID)
			wantErr(t, "tx.Person(unknown)", err, delegation.ErrNotFound)
			_, err = tx.Organization(noOrg.ID)
			wantErr(t, "tx.Organization(unknown)", err, delegation.ErrNotFound)
			_, err = tx.Fullmakt("fm_unknown")
			wantErr(t, "tx.Fullmakt(unknown)", err, delegation.ErrNotFound)
			rels, err := tx.Relations(nobody.ID, other.ID)
			if err != nil || !rels.Empty() {
				t.Errorf("tx.Relations(%v, %v) = %+v, %v, want no relations", nobody.ID, other.ID, rels, err)
			}
			return nil
		})
	})

	t.Run("error rolls back", func(t *testing.T) {
		f := newFixture(t, newStore)
		s := f.registerSet()
		before := s.parent
		before.Name = "Navn Før"
		f.update(func(tx delegation.RegisterTx) error { return tx.PutPerson(before) })
		last := f.last()

		errRollback := errors.New("storetest: roll back")
		err := f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
			if err := s.put(tx); err != nil {
				return err
			}
			s.check(t, "in the transaction", tx)
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Errorf("UpdateRegister(fn returning %v) = %v, want %v", errRollback, err, errRollback)
		}

		if got, err := f.s.Person(f.ctx, s.parent.ID); err != nil || got != before {
			t.Errorf("Person(%v) after rollback = %+v, %v, want %+v", s.parent.ID, got, err, before)
		}
		_, err = f.s.Person(f.ctx, s.child.ID)
		wantErr(t, "Person(rolled back)", err, delegation.ErrNotFound)
		_, err = f.s.Organization(f.ctx, s.org.ID)
		wantErr(t, "Organization(rolled back)", err, delegation.ErrNotFound)
		_, err = f.s.Fullmakt(f.ctx, s.fullmakt.ID)
		wantErr(t, "Fullmakt(rolled back)", err, delegation.ErrNotFound)
		for _, pair := range [][2]delegation.PartyID{
			{s.parent.ID, s.child.ID}, {s.guardian.ID, s.ward.ID}, {s.parent.ID, s.org.ID}, {s.proxy.ID, s.grantor.ID},
		} {
			if rels, err := f.s.Relations(f.ctx, pair[0], pair[1]); err != nil || !rels.Empty() {
				t.Errorf("Relations(%v, %v) after rollback = %+v, %v, want none", pair[0], pair[1], rels, err)
			}
			if prs, err := f.s.Represented(f.ctx, pair[0]); err != nil || len(prs) > 0 {
				t.Errorf("Represented(%v) after rollback = %+v, %v, want none", pair[0], prs, err)
			}
			if prs, err := f.s.Representatives(f.ctx, pair[1]); err != nil || len(prs) > 0 {
				t.Errorf("Representatives(%v) after rollback = %+v, %v, want none", pair[1], prs, err)
			}
		}
		if fms, err := f.s.FullmakterReceivedBy(f.ctx, s.proxy.ID); err != nil || len(fms) > 0 {
			t.Errorf("FullmakterReceivedBy(%v) after rollback = %+v, %v, want none", s.proxy.ID, fms, err)
		}
		if got := f.last(); got != last {
			t.Errorf("LastChange() after rollback = %d, want %d", got, last)
		}
		f.noChangeSince("rolled back UpdateRegister", last)

		// The rolled back changes leave no gap: the next write is numbered last+1.
		f.update(func(tx delegation.RegisterTx) error { return tx.PutOrganization(s.org) })
		if cs := f.changesAfter(last); len(cs) != 1 || cs[0].Seq != last+1 {
			t.Errorf("Changes(%d) after the next commit = %+v, want one change numbered %d", last, cs, last+1)
		}
	})

	t.Run("failed import rolls back the records before it", func(t *testing.T) {
		f := newFixture(t, newStore)
		parent, child, newcomer := f.adult("Forelder"), f.minor("Barn", 4), f.adult("Nykommer")
		f.register(parent)
		last := f.last()
		// One feed: a new person, then a relation to a child who was never imported.
		err := f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
			for _, rec := range []delegation.Record{
				newcomer,
				delegation.ParentalResponsibility{Parent: parent.ID, Child: child.ID, Kind: delegation.CustodySole},
			} {
				if _, err := delegation.ApplyRecord(tx, rec, f.today); err != nil {
					return err
				}
			}
			return nil
		})
		wantErr(t, "UpdateRegister(relation to an unknown child)", err, delegation.ErrNotFound)
		_, err = f.s.Person(f.ctx, newcomer.ID)
		wantErr(t, "Person(imported before the failure)", err, delegation.ErrNotFound)
		f.noChangeSince("failed import", last)
	})

	t.Run("each put records one change", func(t *testing.T) {
		f := newFixture(t, newStore)
		s := f.registerSet()
		last := f.last()
		f.update(s.put)
		got := f.changesAfter(last)
		person := func(p delegation.Person) wantChange {
			return wantChange{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{p.ID}}
		}
		checkChanges(t, "UpdateRegister(one record of each kind)", got,
			person(s.parent), person(s.child), person(s.guardian), person(s.ward), person(s.grantor), person(s.proxy),
			wantChange{Kind: delegation.ChangeOrganization, Parties: []delegation.PartyID{s.org.ID}},
			wantChange{Kind: delegation.ChangeParental, Parties: []delegation.PartyID{s.parent.ID, s.child.ID}},
			wantChange{Kind: delegation.ChangeGuardianship, Parties: []delegation.PartyID{s.guardian.ID, s.ward.ID}},
			wantChange{Kind: delegation.ChangeRole, Parties: []delegation.PartyID{s.parent.ID, s.org.ID}},
			fullmaktChange(delegation.ChangeFullmaktCreated, s.fullmakt),
		)
		refs := map[string]bool{}
		for _, c := range got {
			if refs[c.Ref] {
				t.Errorf("two changes of different records have the ref %q", c.Ref)
			}
			refs[c.Ref] = true
		}
		if seq := f.last(); seq != last+uint64(len(got)) {
			t.Errorf("LastChange() = %d, want %d", seq, last+uint64(len(got)))
		}
	})

	t.Run("put replaces by natural key", func(t *testing.T) {
		testNaturalKeys(t, newStore)
	})
}

// testNaturalKeys: a Put with the natural key of a stored record replaces it, in
// every query, and still records one change naming the same record.
func testNaturalKeys(t *testing.T, newStore newStoreFunc) {
	t.Run("person", func(t *testing.T) {
		f := newFixture(t, newStore)
		old := f.adult("Kari Nordmann")
		corrected := old
		corrected.Name, corrected.DeathDate = "Kari Nordmann Berg", f.today.AddDays(-1)
		last := f.last()
		f.update(func(tx delegation.RegisterTx) error { return tx.PutPerson(old) })
		f.update(func(tx delegation.RegisterTx) error { return tx.PutPerson(corrected) })
		if got, err := f.s.Person(f.ctx, old.ID); err != nil || got != corrected {
			t.Errorf("Person(%v) = %+v, %v, want %+v", old.ID, got, err, corrected)
		}
		cs := f.changesAfter(last)
		checkChanges(t, "PutPerson twice", cs,
			wantChange{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{old.ID}},
			wantChange{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{old.ID}})
		if len(cs) == 2 && cs[0].Ref != cs[1].Ref {
			t.Errorf("two Puts of person %v have refs %q and %q, want the same", old.ID, cs[0].Ref, cs[1].Ref)
		}
	})

	t.Run("organization", func(t *testing.T) {
		f := newFixture(t, newStore)
		old := f.organization("Gammelt Navn AS")
		renamed := delegation.Organization{ID: old.ID, Name: "Nytt Navn AS"}
		f.update(func(tx delegation.RegisterTx) error { return tx.PutOrganization(old) })
		f.update(func(tx delegation.RegisterTx) error { return tx.PutOrganization(renamed) })
		if got, err := f.s.Organization(f.ctx, old.ID); err != nil || got != renamed {
			t.Errorf("Organization(%v) = %+v, %v, want %+v", old.ID, got, err, renamed)
		}
	})

	// Each case puts first and then second and expects the relations between actor
	// and party to be want afterwards.
	type relationCase struct {
		first, second func(tx delegation.RegisterTx) error
		actor, party  delegation.PartyID
		want          delegation.Relations
		kinds         [2]delegation.ChangeKind // of the changes the two Puts record
	}
	for _, tt := range []struct {
		name  string
		build func(f *fixture) relationCase
	}{
		{"parental responsibility with the same valid_from", func(f *fixture) relationCase {
			p, c := f.adult("Mor"), f.minor("Barn", 12)
			old := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodyJoint, ValidFrom: f.today.AddYears(-3)}
			corrected := old
			corrected.Kind, corrected.CeasedAt = delegation.CustodySole, f.today.AddDays(10)
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutParental(old) }, second: func(tx delegation.RegisterTx) error { return tx.PutParental(corrected) },
				actor: p.ID, party: c.ID, want: delegation.Relations{Parental: []delegation.ParentalResponsibility{corrected}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeParental, delegation.ChangeParental},
			}
		}},
		{"parental responsibility with another valid_from is kept apart", func(f *fixture) relationCase {
			p, c := f.adult("Far"), f.minor("Barn", 12)
			ended := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodyJoint, CeasedAt: f.today.AddYears(-1)}
			again := delegation.ParentalResponsibility{Parent: p.ID, Child: c.ID, Kind: delegation.CustodySole, ValidFrom: f.today.AddYears(-1)}
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutParental(ended) }, second: func(tx delegation.RegisterTx) error { return tx.PutParental(again) },
				actor: p.ID, party: c.ID, want: delegation.Relations{Parental: []delegation.ParentalResponsibility{ended, again}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeParental, delegation.ChangeParental},
			}
		}},
		{"guardianship with the same period.from", func(f *fixture) relationCase {
			g, w := f.adult("Verge"), f.adult("Vergehaver")
			old := delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic"}, Period: delegation.Period{From: f.today.AddYears(-1)}}
			corrected := delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic", "personal"}, Period: delegation.Period{From: f.today.AddYears(-1), To: f.today.AddYears(2)}}
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutGuardianship(old) }, second: func(tx delegation.RegisterTx) error { return tx.PutGuardianship(corrected) },
				actor: g.ID, party: w.ID, want: delegation.Relations{Guardianships: []delegation.Guardianship{corrected}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeGuardianship, delegation.ChangeGuardianship},
			}
		}},
		{"guardianship with another period.from is kept apart", func(f *fixture) relationCase {
			g, w := f.adult("Verge"), f.adult("Vergehaver")
			ended := delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"economic"}, Period: delegation.Period{From: f.today.AddYears(-3), To: f.today.AddYears(-1)}}
			next := delegation.Guardianship{Guardian: g.ID, Ward: w.ID, Scope: []string{"personal"}, Period: delegation.Period{From: f.today.AddDays(-100)}}
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutGuardianship(ended) }, second: func(tx delegation.RegisterTx) error { return tx.PutGuardianship(next) },
				actor: g.ID, party: w.ID, want: delegation.Relations{Guardianships: []delegation.Guardianship{ended, next}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeGuardianship, delegation.ChangeGuardianship},
			}
		}},
		{"the same role", func(f *fixture) relationCase {
			p, o := f.adult("Daglig Leder"), f.organization("Firma AS")
			r := delegation.Role{Person: p.ID, Organization: o.ID, Role: "ceo"}
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutRole(r) }, second: func(tx delegation.RegisterTx) error { return tx.PutRole(r) },
				actor: p.ID, party: o.ID, want: delegation.Relations{Roles: []delegation.Role{r}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeRole, delegation.ChangeRole},
			}
		}},
		{"another role is kept apart", func(f *fixture) relationCase {
			p, o := f.adult("Styreleder"), f.organization("Firma AS")
			chair := delegation.Role{Person: p.ID, Organization: o.ID, Role: "chair"}
			signatory := delegation.Role{Person: p.ID, Organization: o.ID, Role: "signatory"}
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutRole(chair) }, second: func(tx delegation.RegisterTx) error { return tx.PutRole(signatory) },
				actor: p.ID, party: o.ID, want: delegation.Relations{Roles: []delegation.Role{chair, signatory}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeRole, delegation.ChangeRole},
			}
		}},
		{"fullmakt with the same id", func(f *fixture) relationCase {
			g, p := f.adult("Giver"), f.adult("Fullmektig")
			old := delegation.MigratedFullmakt(g.ID, p.ID, delegation.Scope{Areas: []string{"health"}}, f.year(), false, "legacy-7")
			corrected := delegation.MigratedFullmakt(g.ID, p.ID, scope(), f.year(), true, "legacy-7")
			return relationCase{
				first: func(tx delegation.RegisterTx) error { return tx.PutFullmakt(old) }, second: func(tx delegation.RegisterTx) error { return tx.PutFullmakt(corrected) },
				actor: p.ID, party: g.ID, want: delegation.Relations{Fullmakter: []delegation.Fullmakt{corrected}},
				kinds: [2]delegation.ChangeKind{delegation.ChangeFullmaktCreated, delegation.ChangeFullmaktChanged},
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, newStore)
			tc := tt.build(f)
			last := f.last()
			f.update(tc.first)
			f.update(tc.second)
			cs := f.changesAfter(last)
			checkChanges(t, "two Puts", cs,
				wantChange{Kind: tc.kinds[0], Parties: []delegation.PartyID{tc.actor, tc.party}},
				wantChange{Kind: tc.kinds[1], Parties: []delegation.PartyID{tc.actor, tc.party}})
			if same, want := len(cs) == 2 && cs[0].Ref == cs[1].Ref, lenRelations(tc.want) == 1; len(cs) == 2 && same != want {
				t.Errorf("two Puts have refs %q and %q: the same = %v, want %v", cs[0].Ref, cs[1].Ref, same, want)
			}
			got, err := f.s.Relations(f.ctx, tc.actor, tc.party)
			if err != nil {
				t.Fatalf("Relations(%v, %v): %v", tc.actor, tc.party, err)
			}
			if d := diff(tc.want, got); d != "" {
				t.Errorf("Relations(%v, %v) mismatch (-want +got):\n%s", tc.actor, tc.party, d)
			}
			wantPR := []delegation.PartyRelations{{Party: tc.party, Relations: tc.want}}
			if got, err := f.s.Represented(f.ctx, tc.actor); err != nil {
				t.Errorf("Represented(%v): %v", tc.actor, err)
			} else if d := diff(wantPR, got); d != "" {
				t.Errorf("Represented(%v) mismatch (-want +got):\n%s", tc.actor, d)
			}
			wantPR[0].Party = tc.actor
			if got, err := f.s.Representatives(f.ctx, tc.party); err != nil {
				t.Errorf("Representatives(%v): %v", tc.party, err)
			} else if d := diff(wantPR, got); d != "" {
				t.Errorf("Representatives(%v) mismatch (-want +got):\n%s", tc.party, d)
			}
		})
	}

	t.Run("fullmakt given to another proxy moves", func(t *testing.T) {
		f := newFixture(t, newStore)
		g, wrong, right := f.adult("Giver"), f.adult("Feil Fullmektig"), f.adult("Riktig Fullmektig")
		old := delegation.MigratedFullmakt(g.ID, wrong.ID, scope(), f.year(), false, "legacy-8")
		corrected := delegation.MigratedFullmakt(g.ID, right.ID, scope(), f.year(), false, "legacy-8")
		f.update(func(tx delegation.RegisterTx) error { return tx.PutFullmakt(old) })
		last := f.last()
		f.update(func(tx delegation.RegisterTx) error { return tx.PutFullmakt(corrected) })
		// The old proxy is told too: what they could do has changed.
		checkChanges(t, "PutFullmakt(corrected)", f.changesAfter(last), wantChange{
			Kind: delegation.ChangeFullmaktChanged, Ref: old.ID, Parties: []delegation.PartyID{g.ID, wrong.ID, right.ID},
		})

		if got, err := f.s.Fullmakt(f.ctx, old.ID); err != nil {
			t.Errorf("Fullmakt(%v): %v", old.ID, err)
		} else if d := diff(corrected, got); d != "" {
			t.Errorf("Fullmakt(%v) mismatch (-want +got):\n%s", old.ID, d)
		}
		for _, tt := range []struct {
			name  string
			query func() (any, error)
			want  any
		}{
			{"Relations(old proxy, grantor)", func() (any, error) { return f.s.Relations(f.ctx, wrong.ID, g.ID) }, delegation.Relations{}},
			{"Represented(old proxy)", func() (any, error) { return f.s.Represented(f.ctx, wrong.ID) }, []delegation.PartyRelations(nil)},
			{"FullmakterReceivedBy(old proxy)", func() (any, error) { return f.s.FullmakterReceivedBy(f.ctx, wrong.ID) }, []delegation.Fullmakt(nil)},
			{"Relations(new proxy, grantor)", func() (any, error) { return f.s.Relations(f.ctx, right.ID, g.ID) }, delegation.Relations{Fullmakter: []delegation.Fullmakt{corrected}}},
			{"FullmakterReceivedBy(new proxy)", func() (any, error) { return f.s.FullmakterReceivedBy(f.ctx, right.ID) }, []delegation.Fullmakt{corrected}},
			{"FullmakterGivenBy(grantor)", func() (any, error) { return f.s.FullmakterGivenBy(f.ctx, g.ID) }, []delegation.Fullmakt{corrected}},
			{"Representatives(grantor)", func() (any, error) { return f.s.Representatives(f.ctx, g.ID) }, []delegation.PartyRelations{{Party: right.ID, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{corrected}}}}},
		} {
			got, err := tt.query()
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			} else if d := diff(tt.want, got); d != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", tt.name, d)
			}
		}
	})
}

// lenRelations counts the records in r.
func lenRelations(r delegation.Relations) int {
	return len(r.Parental) + len(r.Guardianships) + len(r.Roles) + len(r.Fullmakter) + len(r.Consents)
}
