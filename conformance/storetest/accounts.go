package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/accounts"
)

// newAccountsFunc returns a new, empty accounts store; the caller of RunAccounts
// closes it.
type newAccountsFunc = func(t *testing.T) accounts.Store

// RunAccounts runs the suite of the login's storage port, accounts.Store, against the
// stores newStore returns. newStore must return a new, empty store each time it is
// called and register its closing with t.Cleanup; every subtest gets its own store.
// The atomic operations (AddPasskey's checks, UpdatePasskey, the first UserHandle)
// are raced from many goroutines at once: run the suite with -race.
//
// It is written only against the port. That a store keeps what it holds across a
// restart is the backend's own test to show: the suite cannot reopen a store.
func RunAccounts(t *testing.T, newStore func(t *testing.T) accounts.Store) {
	for _, tt := range []struct {
		name string
		test func(*testing.T, newAccountsFunc)
	}{
		{"passkeys", testPasskeys},
		{"add", testAddPasskey},
		{"update", testUpdatePasskey},
		{"delete", testDeletePasskey},
		{"user handles", testUserHandles},
		{"concurrency", testAccountsConcurrency},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore) })
	}
}

// accountFixture holds one accounts store. Its methods call t.Fatal, so use them
// from the test's own goroutine only.
type accountFixture struct {
	t   *testing.T
	ctx context.Context
	s   accounts.Store
	// now is the suite's clock, in a zone that is not UTC: a backend must keep
	// instants, not wall clocks. The suite's instants are whole microseconds and
	// differ by a second or more.
	now  time.Time
	ind  int // individual numbers handed out, so that every person gets a new id
	keys int // passkeys handed out
}

func newAccountFixture(t *testing.T, newStore newAccountsFunc) *accountFixture {
	t.Helper()
	cet := time.FixedZone("CET", 60*60)
	return &accountFixture{t: t, ctx: t.Context(), s: newStore(t), now: time.Date(2025, time.March, 14, 0, 30, 15, 250_001_000, cet)}
}

// person returns the id of a new person, a synthetic Norwegian identity number.
func (f *accountFixture) person() delegation.PartyID {
	f.t.Helper()
	for ; f.ind < 500; f.ind++ {
		if id, ok := delegation.NorwegianPersonID(delegation.NewDate(1980, time.March, 3), f.ind, false, true); ok {
			f.ind++
			return id
		}
	}
	f.t.Fatal("fixture: no identity number left")
	return ""
}

// parse returns the person id s, which must be valid.
func (f *accountFixture) parse(s string) delegation.PartyID {
	f.t.Helper()
	id, err := delegation.IDRules{AllowSynthetic: true}.ParsePerson(s)
	if err != nil {
		f.t.Fatalf("ParsePerson(%q): %v", s, err)
	}
	return id
}

// passkey returns a new passkey of person, registered at substantial a minute after
// the one before it (the first a minute after now), never used. Its credential id
// and record are bytes no other passkey of the fixture has, with bytes of every
// kind (a backend must not treat them as text). It is not stored.
func (f *accountFixture) passkey(person delegation.PartyID, name string) accounts.Passkey {
	f.keys++
	id := fmt.Appendf(nil, "cred %d \x00\xff\x80", f.keys)
	credential := fmt.Appendf(nil, `{"id":"%x","publicKey":"`, id)
	for i := range 77 {
		credential = append(credential, byte(i*13+f.keys))
	}
	return accounts.Passkey{
		ID: id, Person: person, Name: name, Level: authz.LevelSubstantial,
		Created:    f.now.Add(time.Duration(f.keys) * time.Minute),
		Credential: append(credential, `"}`...),
	}
}

// add stores passkeys, each in an AddPasskey of its own that must succeed.
func (f *accountFixture) add(ps ...accounts.Passkey) {
	f.t.Helper()
	for _, p := range ps {
		if err := f.s.AddPasskey(f.ctx, p); err != nil {
			f.t.Fatalf("AddPasskey(%q): %v", p.ID, err)
		}
	}
}

// want fails the test unless Passkey(p.ID) returns p.
func (f *accountFixture) want(p accounts.Passkey) {
	f.t.Helper()
	got, err := f.s.Passkey(f.ctx, p.ID)
	if err != nil {
		f.t.Errorf("Passkey(%q): %v, want the passkey", p.ID, err)
		return
	}
	if d := diffPasskeys(p, got); d != "" {
		f.t.Errorf("Passkey(%q) mismatch (-want +got):\n%s", p.ID, d)
	}
}

// gone fails the test unless Passkey(id) fails with ErrNotFound.
func (f *accountFixture) gone(id []byte) {
	f.t.Helper()
	if got, err := f.s.Passkey(f.ctx, id); !errors.Is(err, accounts.ErrNotFound) {
		f.t.Errorf("Passkey(%q) = %q, %v, want %v", id, got.Name, err, accounts.ErrNotFound)
	}
}

// list fails the test unless Passkeys(person) returns want, in order.
func (f *accountFixture) list(person delegation.PartyID, want ...accounts.Passkey) {
	f.t.Helper()
	got, err := f.s.Passkeys(f.ctx, person)
	if err != nil {
		f.t.Errorf("Passkeys(%v): %v", person, err)
		return
	}
	if d := diffPasskeys(want, got); d != "" {
		f.t.Errorf("Passkeys(%v) mismatch (-want +got):\n%s", person, d)
	}
}

// diffPasskeys compares passkeys as the port promises them: instants equal (in any
// zone), an empty list or byte slice equal to a nil one.
func diffPasskeys(want, got any) string {
	return cmp.Diff(want, got, cmpopts.EquateEmpty())
}

// clonePasskey returns a copy of p that shares no bytes with it.
func clonePasskey(p accounts.Passkey) accounts.Passkey {
	p.ID, p.Credential = bytes.Clone(p.ID), bytes.Clone(p.Credential)
	return p
}

// testPasskeys: passkeys are read back whole, a person's oldest first, credential
// ids and person ids being opaque.
func testPasskeys(t *testing.T, newStore newAccountsFunc) {
	t.Run("every field", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person := f.person()
		used := f.passkey(person, "Jobb-PC på kontoret 🔑")
		used.Level = authz.LevelHigh
		used.LastUsed = f.now.Add(90 * 24 * time.Hour)
		used.SignCount = 4_000_000_000
		used.CloneWarning, used.BackupEligible, used.BackupState = true, true, true
		fresh := f.passkey(person, "Telefon") // never used: zero LastUsed, no flags
		fresh.Level = authz.LevelLow
		want := []accounts.Passkey{clonePasskey(used), clonePasskey(fresh)}
		f.add(used, fresh)
		// The store keeps its own copy: what the caller does to its bytes after
		// AddPasskey changes nothing stored.
		clear(used.ID)
		clear(used.Credential)
		for _, p := range want {
			f.want(p)
		}
		f.list(person, want...)

		// What Passkey returns is the caller's.
		got, err := f.s.Passkey(f.ctx, want[0].ID)
		if err != nil {
			t.Fatalf("Passkey: %v", err)
		}
		clear(got.ID)
		clear(got.Credential)
		all, err := f.s.Passkeys(f.ctx, person)
		if err != nil {
			t.Fatalf("Passkeys: %v", err)
		}
		for _, p := range all {
			clear(p.ID)
			clear(p.Credential)
		}
		f.want(want[0])
		f.list(person, want...)
	})

	t.Run("oldest first", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person, other, none := f.person(), f.person(), f.person()
		first, second, third := f.passkey(person, "Første"), f.passkey(person, "Andre"), f.passkey(person, "Tredje")
		// Created in the opposite order of their ids and of the calls.
		first.Created, third.Created = third.Created, first.Created
		f.add(first, f.passkey(other, "Annen persons"), second, third)
		f.list(person, third, second, first)
		if got, err := f.s.Passkeys(f.ctx, none); err != nil || len(got) != 0 {
			t.Errorf("Passkeys(a person without passkeys) = %d passkeys, %v, want none and no error", len(got), err)
		}
	})

	t.Run("missing", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		p := f.passkey(f.person(), "Telefon")
		f.add(p)
		for _, id := range [][]byte{nil, {}, []byte("no such credential"), p.ID[:len(p.ID)-1], append(bytes.Clone(p.ID), 0)} {
			f.gone(id)
		}
	})

	t.Run("ids are opaque bytes", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		// Persons whose ids start alike, and credential ids that are prefixes of one
		// another: each is its own.
		short, long := f.parse("eidas:SE/NO/abc"), f.parse("eidas:SE/NO/abcd")
		a, b, c := f.passkey(short, "A"), f.passkey(long, "B"), f.passkey(short, "C")
		a.ID, b.ID, c.ID = []byte{0}, []byte{0, 0}, []byte{0, 0, 0xff}
		f.add(a, b, c)
		f.list(short, a, c)
		f.list(long, b)
		for _, p := range []accounts.Passkey{a, b, c} {
			f.want(p)
		}
		if err := f.s.DeletePasskey(f.ctx, long, b.ID); err != nil {
			t.Fatalf("DeletePasskey: %v", err)
		}
		f.gone(b.ID)
		f.want(a)
		f.want(c)
		f.list(short, a, c)
	})
}

// testAddPasskey: a credential id is registered once, to one person, and a person
// has at most MaxPasskeys passkeys.
func testAddPasskey(t *testing.T, newStore newAccountsFunc) {
	t.Run("credential id taken", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		owner, other := f.person(), f.person()
		p := f.passkey(owner, "Telefon")
		f.add(p)
		for _, tt := range []struct {
			name   string
			person delegation.PartyID
		}{
			{"by another person", other},
			{"by the same person", owner},
		} {
			t.Run(tt.name, func(t *testing.T) {
				again := f.passkey(tt.person, "Stjålet")
				again.ID = bytes.Clone(p.ID)
				err := f.s.AddPasskey(f.ctx, again)
				wantErr(t, "AddPasskey(a registered credential id)", err, accounts.ErrConflict)
			})
		}
		f.want(p)
		f.list(owner, p)
		f.list(other)
	})

	t.Run("at most MaxPasskeys", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person, other := f.person(), f.person()
		var ps []accounts.Passkey
		for i := range accounts.MaxPasskeys {
			ps = append(ps, f.passkey(person, fmt.Sprintf("Nøkkel %d", i+1)))
		}
		f.add(ps...)
		extra := f.passkey(person, "En for mye")
		wantErr(t, fmt.Sprintf("AddPasskey(passkey %d of a person)", accounts.MaxPasskeys+1), f.s.AddPasskey(f.ctx, extra), accounts.ErrConflict)
		f.gone(extra.ID)
		f.list(person, ps...)

		// The bound is each person's.
		theirs := f.passkey(other, "Telefon")
		f.add(theirs)
		f.list(other, theirs)

		// A deleted passkey makes room for a new one.
		if err := f.s.DeletePasskey(f.ctx, person, ps[0].ID); err != nil {
			t.Fatalf("DeletePasskey: %v", err)
		}
		f.add(extra)
		f.list(person, append(ps[1:], extra)...)
	})

	t.Run("invalid", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person := f.person()
		longest := f.passkey(person, "Lengste id")
		longest.ID = bytes.Repeat([]byte{0xab}, 1023)
		f.add(longest)
		f.want(longest)
		for _, tt := range []struct {
			name string
			edit func(*accounts.Passkey)
		}{
			{"no credential id", func(p *accounts.Passkey) { p.ID = nil }},
			{"empty credential id", func(p *accounts.Passkey) { p.ID = []byte{} }},
			{"credential id of 1024 bytes", func(p *accounts.Passkey) { p.ID = bytes.Repeat([]byte{0xcd}, 1024) }},
			{"no person", func(p *accounts.Passkey) { p.Person = "" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				p := f.passkey(person, "Ugyldig")
				tt.edit(&p)
				err := f.s.AddPasskey(f.ctx, p)
				if err == nil || errors.Is(err, accounts.ErrConflict) || errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("AddPasskey(%s) = %v, want an error of its own", tt.name, err)
				}
				if len(p.ID) > 0 {
					f.gone(p.ID)
				}
			})
		}
		f.list(person, longest)
	})
}

// testUpdatePasskey: UpdatePasskey is a read-modify-write of one person's passkey
// that fn can abort, and that never moves a passkey to another id or person.
func testUpdatePasskey(t *testing.T, newStore newAccountsFunc) {
	// setup returns a fixture with a stored passkey of a person, and another person.
	setup := func(t *testing.T) (*accountFixture, accounts.Passkey, delegation.PartyID) {
		f := newAccountFixture(t, newStore)
		p := f.passkey(f.person(), "Telefon")
		f.add(p)
		return f, p, f.person()
	}

	t.Run("changes and persists", func(t *testing.T) {
		f, p, _ := setup(t)
		edited := clonePasskey(p)
		edited.Name = "Gammel telefon"
		edited.Level = authz.LevelHigh
		edited.LastUsed = f.now.Add(48 * time.Hour)
		edited.SignCount = 17
		edited.CloneWarning, edited.BackupEligible, edited.BackupState = true, true, true
		edited.Credential = []byte(`{"id":"new","flags":{"backupState":true}}`)
		calls := 0
		err := f.s.UpdatePasskey(f.ctx, p.Person, p.ID, func(got *accounts.Passkey) error {
			calls++
			if d := diffPasskeys(p, *got); d != "" {
				t.Errorf("UpdatePasskey gave fn a passkey unlike the stored one (-stored +given):\n%s", d)
			}
			*got = clonePasskey(edited)
			return nil
		})
		if err != nil || calls != 1 {
			t.Fatalf("UpdatePasskey = %v after %d calls of fn, want nil after 1", err, calls)
		}
		f.want(edited)
		f.list(p.Person, edited)
	})

	t.Run("not the person's", func(t *testing.T) {
		f, p, other := setup(t)
		for _, tt := range []struct {
			name   string
			person delegation.PartyID
			id     []byte
		}{
			{"another person's passkey", other, p.ID},
			{"unknown credential id", p.Person, []byte("no such credential")},
			{"no credential id", p.Person, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				called := false
				err := f.s.UpdatePasskey(f.ctx, tt.person, tt.id, func(q *accounts.Passkey) error {
					called = true
					q.Name = "Kapret"
					return nil
				})
				wantErr(t, "UpdatePasskey("+tt.name+")", err, accounts.ErrNotFound)
				if called {
					t.Errorf("UpdatePasskey(%s) called fn, want not", tt.name)
				}
			})
		}
		f.want(p)
	})

	t.Run("fn fails", func(t *testing.T) {
		f, p, _ := setup(t)
		errStop := errors.New("stop")
		err := f.s.UpdatePasskey(f.ctx, p.Person, p.ID, func(q *accounts.Passkey) error {
			q.Name, q.SignCount, q.CloneWarning = "Halvveis", 99, true
			return errStop
		})
		wantErr(t, "UpdatePasskey with a failing fn", err, errStop)
		f.want(p)
	})

	t.Run("id and person cannot change", func(t *testing.T) {
		f, p, other := setup(t)
		for _, tt := range []struct {
			name string
			edit func(*accounts.Passkey)
		}{
			{"new id", func(q *accounts.Passkey) { q.ID = []byte("another credential") }},
			{"id edited in place", func(q *accounts.Passkey) { q.ID[0] ^= 1 }},
			{"no id", func(q *accounts.Passkey) { q.ID = nil }},
			{"another person", func(q *accounts.Passkey) { q.Person = other }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var changed []byte
				err := f.s.UpdatePasskey(f.ctx, p.Person, p.ID, func(q *accounts.Passkey) error {
					q.Name = "Flyttet"
					tt.edit(q)
					changed = bytes.Clone(q.ID)
					return nil
				})
				if err == nil || errors.Is(err, accounts.ErrNotFound) || errors.Is(err, accounts.ErrConflict) {
					t.Errorf("UpdatePasskey with fn making %s = %v, want an error of its own", tt.name, err)
				}
				if len(changed) > 0 && !bytes.Equal(changed, p.ID) {
					f.gone(changed)
				}
			})
		}
		f.want(p)
		f.list(p.Person, p)
		f.list(other)
	})
}

// testDeletePasskey: a person deletes their own passkeys only.
func testDeletePasskey(t *testing.T, newStore newAccountsFunc) {
	t.Run("deleted", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person := f.person()
		gone, kept := f.passkey(person, "Mistet"), f.passkey(person, "Beholdt")
		f.add(gone, kept)
		if err := f.s.DeletePasskey(f.ctx, person, gone.ID); err != nil {
			t.Fatalf("DeletePasskey: %v", err)
		}
		f.gone(gone.ID)
		f.want(kept)
		f.list(person, kept)
		wantErr(t, "DeletePasskey again", f.s.DeletePasskey(f.ctx, person, gone.ID), accounts.ErrNotFound)
		// The credential id is free again, for anyone.
		again := f.passkey(f.person(), "Funnet igjen")
		again.ID = gone.ID
		f.add(again)
		f.want(again)
		f.list(person, kept)
	})

	t.Run("not the person's", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		owner, other := f.person(), f.person()
		p := f.passkey(owner, "Telefon")
		f.add(p)
		wantErr(t, "DeletePasskey(another person's passkey)", f.s.DeletePasskey(f.ctx, other, p.ID), accounts.ErrNotFound)
		wantErr(t, "DeletePasskey(unknown credential id)", f.s.DeletePasskey(f.ctx, owner, []byte("no such credential")), accounts.ErrNotFound)
		wantErr(t, "DeletePasskey(no credential id)", f.s.DeletePasskey(f.ctx, owner, nil), accounts.ErrNotFound)
		f.want(p)
		f.list(owner, p)
	})
}

// handleGenerator returns a gen for UserHandle that hands out different bytes each
// call, and counts its calls.
func handleGenerator() (func() ([]byte, error), *atomic.Int64) {
	var calls atomic.Int64
	return func() ([]byte, error) {
		n := calls.Add(1)
		return fmt.Appendf(nil, "handle %d \x00\xff", n), nil
	}, &calls
}

// testUserHandles: a person's user handle is made once and never changes, and names
// the person.
func testUserHandles(t *testing.T, newStore newAccountsFunc) {
	t.Run("created once", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person, other := f.person(), f.person()
		gen, calls := handleGenerator()
		first, err := f.s.UserHandle(f.ctx, person, gen)
		if err != nil {
			t.Fatalf("first UserHandle: %v", err)
		}
		want := []byte("handle 1 \x00\xff")
		if !bytes.Equal(first, want) {
			t.Errorf("first UserHandle = %q, want %q, what gen made", first, want)
		}
		clear(first) // the caller's copy
		for i := range 3 {
			if got, err := f.s.UserHandle(f.ctx, person, gen); err != nil || !bytes.Equal(got, want) {
				t.Errorf("UserHandle #%d = %q, %v, want %q", i+2, got, err, want)
			}
		}
		if n := calls.Load(); n != 1 {
			t.Errorf("gen called %d times, want once", n)
		}
		theirs, err := f.s.UserHandle(f.ctx, other, gen)
		if err != nil || bytes.Equal(theirs, want) {
			t.Errorf("UserHandle(another person) = %q, %v, want a handle of their own", theirs, err)
		}
		for _, tt := range []struct {
			handle []byte
			person delegation.PartyID
		}{{want, person}, {theirs, other}} {
			if got, err := f.s.PersonOfHandle(f.ctx, tt.handle); err != nil || got != tt.person {
				t.Errorf("PersonOfHandle(%q) = %v, %v, want %v", tt.handle, got, err, tt.person)
			}
		}
	})

	t.Run("unknown handle", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		gen, _ := handleGenerator()
		h, err := f.s.UserHandle(f.ctx, f.person(), gen)
		if err != nil {
			t.Fatalf("UserHandle: %v", err)
		}
		for _, handle := range [][]byte{nil, {}, []byte("handle 2 \x00\xff"), h[:len(h)-1], append(bytes.Clone(h), 0)} {
			got, err := f.s.PersonOfHandle(f.ctx, handle)
			if !errors.Is(err, accounts.ErrNotFound) {
				t.Errorf("PersonOfHandle(%q) = %v, %v, want %v", handle, got, err, accounts.ErrNotFound)
			}
		}
	})

	t.Run("gen fails", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person := f.person()
		errNoEntropy := errors.New("no entropy")
		_, err := f.s.UserHandle(f.ctx, person, func() ([]byte, error) { return nil, errNoEntropy })
		wantErr(t, "UserHandle with a failing gen", err, errNoEntropy)
		gen, calls := handleGenerator()
		h, err := f.s.UserHandle(f.ctx, person, gen)
		if err != nil || calls.Load() != 1 {
			t.Fatalf("UserHandle after a failed creation = %q, %v with %d calls of gen, want a new handle", h, err, calls.Load())
		}
		if got, err := f.s.PersonOfHandle(f.ctx, h); err != nil || got != person {
			t.Errorf("PersonOfHandle = %v, %v, want %v", got, err, person)
		}
	})
}

// testAccountsConcurrency: the checks of AddPasskey, the read-modify-write of
// UpdatePasskey and the creation of a user handle are atomic.
func testAccountsConcurrency(t *testing.T, newStore newAccountsFunc) {
	const n = 8

	t.Run("first user handle", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person := f.person()
		gen, _ := handleGenerator()
		got := make([][]byte, n)
		errs := race(n, func(i int) error {
			var err error
			got[i], err = f.s.UserHandle(f.ctx, person, gen)
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("UserHandle #%d: %v", i, err)
			}
		}
		for i := range got {
			if !bytes.Equal(got[i], got[0]) {
				t.Errorf("concurrent first UserHandle calls returned %q (#0) and %q (#%d), want the same handle", got[0], got[i], i)
			}
		}
		if again, err := f.s.UserHandle(f.ctx, person, gen); err != nil || !bytes.Equal(again, got[0]) {
			t.Errorf("UserHandle after the race = %q, %v, want %q", again, err, got[0])
		}
		if who, err := f.s.PersonOfHandle(f.ctx, got[0]); err != nil || who != person {
			t.Errorf("PersonOfHandle(the handle) = %v, %v, want %v", who, err, person)
		}
	})

	t.Run("one credential id", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		ps := make([]accounts.Passkey, n)
		for i := range ps {
			ps[i] = f.passkey(f.person(), fmt.Sprintf("Nøkkel %d", i))
			ps[i].ID = ps[0].ID
		}
		errs := race(n, func(i int) error { return f.s.AddPasskey(f.ctx, ps[i]) })
		w := oneAdded(t, errs)
		if w < 0 {
			return
		}
		f.want(ps[w])
		for i, p := range ps {
			if i != w {
				f.list(p.Person)
			}
		}
	})

	t.Run("more than MaxPasskeys", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		person := f.person()
		ps := make([]accounts.Passkey, accounts.MaxPasskeys+n)
		for i := range ps {
			ps[i] = f.passkey(person, fmt.Sprintf("Nøkkel %d", i))
		}
		errs := race(len(ps), func(i int) error { return f.s.AddPasskey(f.ctx, ps[i]) })
		var added []accounts.Passkey
		for i, err := range errs {
			switch {
			case err == nil:
				added = append(added, ps[i])
			case !errors.Is(err, accounts.ErrConflict):
				t.Errorf("AddPasskey #%d: err = %v, want nil or %v", i, err, accounts.ErrConflict)
			}
		}
		if len(added) != accounts.MaxPasskeys {
			t.Errorf("%d of %d concurrent AddPasskey calls for one person succeeded, want %d", len(added), len(ps), accounts.MaxPasskeys)
		}
		// added is in the order of ps, which is the order of creation.
		f.list(person, added...)
	})

	t.Run("updates", func(t *testing.T) {
		f := newAccountFixture(t, newStore)
		p := f.passkey(f.person(), "Telefon")
		f.add(p)
		errs := race(n, func(int) error {
			return f.s.UpdatePasskey(f.ctx, p.Person, p.ID, func(q *accounts.Passkey) error {
				q.SignCount++
				return nil
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("UpdatePasskey #%d: %v", i, err)
			}
		}
		p.SignCount = n
		f.want(p)
	})
}

// oneAdded fails the test unless exactly one of errs is nil and every other is
// accounts.ErrConflict. It returns the index of the winner, or -1.
func oneAdded(t *testing.T, errs []error) int {
	t.Helper()
	var winners []int
	for i, err := range errs {
		switch {
		case err == nil:
			winners = append(winners, i)
		case !errors.Is(err, accounts.ErrConflict):
			t.Errorf("AddPasskey #%d: err = %v, want nil or %v", i, err, accounts.ErrConflict)
		}
	}
	if len(winners) != 1 {
		t.Errorf("concurrent AddPasskey calls %v of %d succeeded, want exactly one", winners, len(errs))
		return -1
	}
	return slices.Min(winners)
}
