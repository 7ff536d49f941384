// Package storetest is the conformance suite of the storage port, delegation.Store:
// the behaviour every backend must show, written once against the port. Every backend
// passes it — bbolt today (delegation/bolt), PostgreSQL when it comes — so the rest of
// Fullmakt relies on the port and never on one backend's habits.
//
// A backend's own test calls Run with a constructor of fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) delegation.Store {
//			s, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite writes through the domain's own constructors and rules (delegation.Give,
// Approve, MayEnd, ApplyRecord, …), so stores are tested with the records the service
// really writes. The atomic operations are run from many goroutines at once: run the
// suite with -race.
//
// RunGrants is the suite of the OAuth server's port, grants.Store (idp/grants), in
// the same way: a backend that keeps the server's records calls it too.
//
// It imports the delegation and idp/grants packages, the standard library and
// go-cmp, nothing else from the repository and no backend.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/delegation"
)

// newStoreFunc returns a new, empty store; the caller of Run closes it.
type newStoreFunc = func(t *testing.T) delegation.Store

// Run runs the suite against the stores newStore returns. newStore must return a new,
// empty store each time it is called and register its closing with t.Cleanup. Every
// subtest gets its own store (some get several); no store is shared between subtests.
func Run(t *testing.T, newStore func(t *testing.T) delegation.Store) {
	for _, tt := range []struct {
		name string
		test func(*testing.T, newStoreFunc)
	}{
		{"parties", testParties},
		{"register", testRegister},
		{"apply_record", testApplyRecord},
		{"relations", testRelations},
		{"fullmakter", testFullmakter},
		{"fullmakter_ending", testFullmakterEnding},
		{"requests", testRequests},
		{"consents", testConsents},
		{"changes", testChanges},
		{"access_log", testAccessLog},
		{"notifications", testNotifications},
		{"concurrency", testConcurrency},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStore) })
	}
}

// acr is the level of assurance the suite's grantors confirm at.
const acr = "http://eidas.europa.eu/LoA/high"

// fixture holds one store and hands out the parties and records the tests need.
// Its methods call t.Fatal, so use them from the test's own goroutine only.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   delegation.Store
	// now is the suite's clock: half past midnight in Oslo, so that the UTC date
	// (the 13th) is not the Oslo date (the 14th), and today is the Oslo date.
	now   time.Time
	today delegation.Date
	ticks int // instants handed out by tick
	ind   int // individual numbers handed out, so that every person gets a new id
	org   int // organisation numbers handed out
}

func newFixture(t *testing.T, newStore newStoreFunc) *fixture {
	t.Helper()
	now := time.Date(2025, time.March, 14, 0, 30, 15, 250_000_000, delegation.Oslo())
	return &fixture{t: t, ctx: t.Context(), s: newStore(t), now: now, today: delegation.Today(now)}
}

// tick returns a new instant, a second after the one it returned before (the first
// is a second after now), so that the fullmakter, requests and consents the fixture
// makes one after the other were created at distinct times, and the order of lists
// (newest first) means something.
func (f *fixture) tick() time.Time {
	f.ticks++
	return f.now.Add(time.Duration(f.ticks) * time.Second)
}

// later returns an instant d after the fixture's now.
func (f *fixture) later(d time.Duration) time.Time { return f.now.Add(d) }

// person returns a new person born on birth, with a synthetic Norwegian identity
// number no other person of the fixture has. It is not stored.
func (f *fixture) person(name string, birth delegation.Date) delegation.Person {
	f.t.Helper()
	century := 0 // individual numbers 000–499: born 1900–1999
	if birth.Year >= 2000 {
		century = 500 // 500–999: born 2000–2039
	}
	for ; f.ind < 500; f.ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, century+f.ind, false, true); ok {
			f.ind++
			return delegation.Person{ID: id, Name: name, BirthDate: birth}
		}
	}
	f.t.Fatalf("fixture: no identity number left for a person born %s", birth)
	return delegation.Person{}
}

// adult returns a new person aged 45.
func (f *fixture) adult(name string) delegation.Person {
	return f.person(name, f.today.AddYears(-45).AddDays(-17))
}

// minor returns a new person aged age (under 18).
func (f *fixture) minor(name string, age int) delegation.Person {
	return f.person(name, f.today.AddYears(-age).AddDays(-3))
}

// organization returns a new organisation. It is not stored.
func (f *fixture) organization(name string) delegation.Organization {
	f.t.Helper()
	for ; f.org < 1000; f.org++ {
		if id, ok := delegation.OrganizationNumber(91_000_000 + f.org); ok {
			f.org++
			return delegation.Organization{ID: id, Name: name}
		}
	}
	f.t.Fatal("fixture: no organisation number left")
	return delegation.Organization{}
}

// register imports recs, in order, through delegation.ApplyRecord in one transaction.
func (f *fixture) register(recs ...delegation.Record) {
	f.t.Helper()
	err := f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		for _, rec := range recs {
			if _, err := delegation.ApplyRecord(tx, rec, f.today); err != nil {
				return fmt.Errorf("apply %s %+v: %w", rec.RecordType(), rec, err)
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("UpdateRegister: %v", err)
	}
}

// apply imports rec through delegation.ApplyRecord in a transaction of its own and
// returns what UpdateRegister returned.
func (f *fixture) apply(rec delegation.Record) (changed bool, err error) {
	err = f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		var err error
		changed, err = delegation.ApplyRecord(tx, rec, f.today)
		return err
	})
	return changed, err
}

// update runs fn in a register transaction that must commit.
func (f *fixture) update(fn func(tx delegation.RegisterTx) error) {
	f.t.Helper()
	if err := f.s.UpdateRegister(f.ctx, fn); err != nil {
		f.t.Fatalf("UpdateRegister: %v", err)
	}
}

// scope is what the suite's fullmakter and requests cover.
func scope() delegation.Scope {
	return delegation.Scope{
		Areas:    []string{"education", "health"},
		Services: []string{"skatteetaten.skattemelding"},
		Actions:  []string{"read", "submit"},
	}
}

// year is the period of the suite's fullmakter: from today, for a year.
func (f *fixture) year() delegation.Period {
	return delegation.Period{From: f.today, To: f.today.AddYears(1).AddDays(-1)}
}

// newFullmakt returns a fullmakt grantor gives proxy, made by delegation.Give. It is
// not stored.
func (f *fixture) newFullmakt(grantor, proxy delegation.Person, maySubdelegate bool) delegation.Fullmakt {
	f.t.Helper()
	fm, err := delegation.Give(delegation.NewFullmakt{
		Grantor: grantor, Proxy: proxy, Scope: scope(), Period: f.year(),
		MaySubdelegate: maySubdelegate, ConfirmedACR: acr,
	}, f.tick())
	if err != nil {
		f.t.Fatalf("Give: %v", err)
	}
	return fm
}

// give creates a fullmakt grantor gives proxy.
func (f *fixture) give(grantor, proxy delegation.Person, maySubdelegate bool) delegation.Fullmakt {
	f.t.Helper()
	fm := f.newFullmakt(grantor, proxy, maySubdelegate)
	if err := f.s.CreateFullmakt(f.ctx, fm); err != nil {
		f.t.Fatalf("CreateFullmakt(%v): %v", fm.ID, err)
	}
	return fm
}

// subdelegate creates the fullmakt the proxy of parent passes on to to.
func (f *fixture) subdelegate(parent delegation.Fullmakt, grantor, to delegation.Person) delegation.Fullmakt {
	f.t.Helper()
	sub, err := delegation.Subdelegate(parent, parent.Proxy, to, grantor,
		delegation.Scope{Areas: []string{"health"}, Actions: []string{"read"}},
		delegation.Period{From: f.today, To: f.today.AddDays(30)}, catalogue{}, f.tick())
	if err != nil {
		f.t.Fatalf("Subdelegate: %v", err)
	}
	if err := f.s.CreateFullmakt(f.ctx, sub); err != nil {
		f.t.Fatalf("CreateFullmakt(%v): %v", sub.ID, err)
	}
	return sub
}

// end ends fm through delegation.MayEnd and the store, and returns the ended fullmakt.
func (f *fixture) end(fm delegation.Fullmakt, by delegation.PartyID, grantor delegation.Person) delegation.Fullmakt {
	f.t.Helper()
	e, err := delegation.MayEnd(fm, by, grantor, nil, f.later(time.Hour))
	if err != nil {
		f.t.Fatalf("MayEnd: %v", err)
	}
	ended, err := f.s.EndFullmakt(f.ctx, e)
	if err != nil {
		f.t.Fatalf("EndFullmakt(%v): %v", fm.ID, err)
	}
	return ended
}

// newRequest returns a request from requester to grantor, made by
// delegation.NewRequest. It is not stored.
func (f *fixture) newRequest(requester, grantor delegation.Person) delegation.Request {
	f.t.Helper()
	r, err := delegation.NewRequest(requester, grantor, scope(), f.year(), "Kan jeg hjelpe deg med skattemeldingen?", f.tick())
	if err != nil {
		f.t.Fatalf("NewRequest: %v", err)
	}
	return r
}

// request creates a request from requester to grantor.
func (f *fixture) request(requester, grantor delegation.Person) delegation.Request {
	f.t.Helper()
	r := f.newRequest(requester, grantor)
	if err := f.s.CreateRequest(f.ctx, r); err != nil {
		f.t.Fatalf("CreateRequest(%v): %v", r.ID, err)
	}
	return r
}

// newConsent returns a consent by which party lets recipient obtain their records
// from provider, made by delegation.NewConsent. It is not stored.
func (f *fixture) newConsent(party delegation.Person, recipient, provider delegation.PartyID, oneTime bool) delegation.Consent {
	f.t.Helper()
	c, err := delegation.NewConsent(party, recipient, provider, "helse.journal", "Søknad om uføretrygd",
		f.today.AddDays(30), oneTime, f.tick())
	if err != nil {
		f.t.Fatalf("NewConsent: %v", err)
	}
	return c
}

// consent creates a consent by party to recipient.
func (f *fixture) consent(party delegation.Person, recipient, provider delegation.PartyID, oneTime bool) delegation.Consent {
	f.t.Helper()
	c := f.newConsent(party, recipient, provider, oneTime)
	if err := f.s.CreateConsent(f.ctx, c); err != nil {
		f.t.Fatalf("CreateConsent(%v): %v", c.ID, err)
	}
	return c
}

// last returns the store's last change number.
func (f *fixture) last() uint64 {
	f.t.Helper()
	seq, err := f.s.LastChange(f.ctx)
	if err != nil {
		f.t.Fatalf("LastChange: %v", err)
	}
	return seq
}

// changesAfter returns every change after seq.
func (f *fixture) changesAfter(seq uint64) []delegation.Change {
	f.t.Helper()
	cs, err := f.s.Changes(f.ctx, seq, 10_000)
	if err != nil {
		f.t.Fatalf("Changes(%d): %v", seq, err)
	}
	return cs
}

// noChangeSince fails the test when something was recorded after seq.
func (f *fixture) noChangeSince(op string, seq uint64) {
	f.t.Helper()
	if cs := f.changesAfter(seq); len(cs) > 0 {
		f.t.Errorf("%s recorded %d change(s) %+v, want none", op, len(cs), cs)
	}
}

// catalogue is an empty service catalogue: the suite's sub-delegations name areas.
type catalogue struct{}

func (catalogue) ServiceAreas(string) []string { return nil }

// diff compares records the way the port promises them: an empty list equals a nil
// one, and lists of records are compared in any order (Relations promises none; the
// order of the list methods is checked by checkList). Lists of PartyRelations and
// of changes, and the order of scopes, are compared as they are.
func diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append(opts,
		cmpopts.EquateEmpty(),
		sortBy(func(f delegation.Fullmakt) []string { return []string{f.ID} }),
		sortBy(func(r delegation.Request) []string { return []string{r.ID} }),
		sortBy(func(c delegation.Consent) []string { return []string{c.ID} }),
		sortBy(func(r delegation.ParentalResponsibility) []string {
			return []string{string(r.Parent), string(r.Child), r.ValidFrom.String()}
		}),
		sortBy(func(g delegation.Guardianship) []string {
			return []string{string(g.Guardian), string(g.Ward), g.Period.From.String()}
		}),
		sortBy(func(r delegation.Role) []string { return []string{string(r.Person), string(r.Organization), r.Role} }),
	)...)
}

// sortBy makes cmp compare lists of T in any order, by sorting them on key.
func sortBy[T any](key func(T) []string) cmp.Option {
	return cmpopts.SortSlices(func(a, b T) bool { return slices.Compare(key(a), key(b)) < 0 })
}

// checkList fails the test unless got, the answer of the list method name, holds
// the records of want, newest first.
func checkList[T any](t *testing.T, name string, want, got []T, createdAt func(T) time.Time) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
	checkNewestFirst(t, name, got, createdAt)
}

// checkNewestFirst fails the test unless got is ordered newest first.
func checkNewestFirst[T any](t *testing.T, name string, got []T, createdAt func(T) time.Time) {
	t.Helper()
	for i := 1; i < len(got); i++ {
		if prev, next := createdAt(got[i-1]), createdAt(got[i]); prev.Before(next) {
			t.Errorf("%s lists a record created %v (#%d) before one created %v (#%d), want newest first",
				name, prev.Format(time.RFC3339), i-1, next.Format(time.RFC3339), i)
		}
	}
}

func fullmaktCreated(f delegation.Fullmakt) time.Time { return f.CreatedAt }
func requestCreated(r delegation.Request) time.Time   { return r.CreatedAt }
func consentCreated(c delegation.Consent) time.Time   { return c.CreatedAt }

// byParty returns prs ordered by party, as Represented and Representatives return them.
func byParty(prs ...delegation.PartyRelations) []delegation.PartyRelations {
	slices.SortFunc(prs, func(a, b delegation.PartyRelations) int { return strings.Compare(string(a.Party), string(b.Party)) })
	return prs
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: err = %v, want %v", op, err, target)
	}
}

// wantChange is a change the suite expects.
type wantChange struct {
	Kind delegation.ChangeKind
	// Ref is the id of the record; "" for a register record, whose natural key the
	// backend spells as it likes, so only has to be there.
	Ref string
	// Parties must be named, in any order; Also may be named as well.
	Parties []delegation.PartyID
	Also    []delegation.PartyID
}

// changeMismatch returns what is wrong with got, or "".
func changeMismatch(want wantChange, got delegation.Change) string {
	var problems []string
	if got.Kind != want.Kind {
		problems = append(problems, fmt.Sprintf("kind %q, want %q", got.Kind, want.Kind))
	}
	switch {
	case want.Ref == "" && got.Ref == "":
		problems = append(problems, "no ref, want the record's natural key")
	case want.Ref != "" && got.Ref != want.Ref:
		problems = append(problems, fmt.Sprintf("ref %q, want %q", got.Ref, want.Ref))
	}
	if got.At.Before(time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)) || got.At.After(time.Now().Add(24*time.Hour)) {
		problems = append(problems, fmt.Sprintf("time %v is not the time of a write", got.At))
	}
	for _, p := range want.Parties {
		if !slices.Contains(got.Parties, p) {
			problems = append(problems, fmt.Sprintf("party %v missing", p))
		}
	}
	for i, p := range got.Parties {
		if !slices.Contains(want.Parties, p) && !slices.Contains(want.Also, p) {
			problems = append(problems, fmt.Sprintf("party %v is not a party of the record", p))
		}
		if slices.Contains(got.Parties[:i], p) {
			problems = append(problems, fmt.Sprintf("party %v named twice", p))
		}
	}
	return strings.Join(problems, "; ")
}

// checkChanges fails the test unless got are the changes want, in order, with
// consecutive sequence numbers.
func checkChanges(t *testing.T, op string, got []delegation.Change, want ...wantChange) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s recorded %d change(s) %+v, want %d", op, len(got), got, len(want))
		return
	}
	for i := range got {
		if i > 0 && got[i].Seq != got[i-1].Seq+1 {
			t.Errorf("%s: change %d has seq %d after %d, want %d", op, i, got[i].Seq, got[i-1].Seq, got[i-1].Seq+1)
		}
		if m := changeMismatch(want[i], got[i]); m != "" {
			t.Errorf("%s: change %d %+v: %s", op, i, got[i], m)
		}
	}
}

// fullmaktChange is the change a write of fm records.
func fullmaktChange(kind delegation.ChangeKind, fm delegation.Fullmakt) wantChange {
	w := wantChange{Kind: kind, Ref: fm.ID, Parties: []delegation.PartyID{fm.Grantor, fm.Proxy}}
	if fm.DelegatedBy != "" {
		w.Parties = append(w.Parties, fm.DelegatedBy)
	}
	w.Also = []delegation.PartyID{fm.CreatedBy, fm.EndedBy}
	return w
}

// requestChange is the change a write of r records.
func requestChange(kind delegation.ChangeKind, r delegation.Request) wantChange {
	return wantChange{Kind: kind, Ref: r.ID, Parties: []delegation.PartyID{r.Requester, r.Grantor}}
}

// consentChange is the change a write of c records: the consenting party and the
// recipient must be told; the provider may be.
func consentChange(kind delegation.ChangeKind, c delegation.Consent) wantChange {
	return wantChange{Kind: kind, Ref: c.ID, Parties: []delegation.PartyID{c.Party, c.Recipient}, Also: []delegation.PartyID{c.Provider}}
}
