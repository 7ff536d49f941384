package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// testConcurrency: the atomic operations have exactly one winner however many
// goroutines race for them, and concurrent writers all land in a change sequence
// without gaps or repeats.
func testConcurrency(t *testing.T, newStore newStoreFunc) {
	for _, tt := range []struct {
		name string
		test func(t *testing.T, newStore newStoreFunc, n int)
	}{
		{"approvals of one request", func(t *testing.T, newStore newStoreFunc, n int) { raceAnswers(t, newStore, n, false) }},
		{"approvals and declines of one request", func(t *testing.T, newStore newStoreFunc, n int) { raceAnswers(t, newStore, n, true) }},
		{"revocations of one fullmakt", func(t *testing.T, newStore newStoreFunc, n int) { raceEnds(t, newStore, n, false) }},
		{"revocations and renunciations of one fullmakt", func(t *testing.T, newStore newStoreFunc, n int) { raceEnds(t, newStore, n, true) }},
		{"uses of one one-time consent", func(t *testing.T, newStore newStoreFunc, n int) { raceConsent(t, newStore, n, false) }},
		{"uses and withdrawals of one one-time consent", func(t *testing.T, newStore newStoreFunc, n int) { raceConsent(t, newStore, n, true) }},
		{"creations of one fullmakt id", raceCreate},
		{"writers to different records", raceWriters},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, n := range []int{2, 16} {
				t.Run(fmt.Sprintf("%d goroutines", n), func(t *testing.T) { tt.test(t, newStore, n) })
			}
		})
	}
}

// race runs op(0) … op(n-1) from n goroutines released together and returns what
// each returned.
func race(n int, op func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = op(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWins fails the test unless exactly one of errs is nil and every other is
// ErrConflict. It returns the index of the winner, or -1.
func oneWins(t *testing.T, op string, errs []error) int {
	t.Helper()
	winner, wins := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			winner, wins = i, wins+1
		case !errors.Is(err, delegation.ErrConflict):
			t.Errorf("%s #%d: err = %v, want nil or %v", op, i, err, delegation.ErrConflict)
		}
	}
	if wins != 1 {
		t.Errorf("%d of %d concurrent %s calls succeeded, want exactly 1", wins, len(errs), op)
		return -1
	}
	return winner
}

// raceAnswers answers one request from n goroutines, each with an answer of its own
// (and a fullmakt id of its own when approving); mixed alternates approvals and
// declines.
func raceAnswers(t *testing.T, newStore newStoreFunc, n int, mixed bool) {
	f := newFixture(t, newStore)
	requester, grantor := f.adult("Datter"), f.adult("Far")
	f.register(requester, grantor)
	r := f.request(requester, grantor)
	answers := make([]delegation.Answer, n)
	for i := range answers {
		var err error
		at := f.later(time.Duration(i+1) * time.Second)
		if mixed && i%2 == 1 {
			answers[i], err = delegation.Decline(r, grantor.ID, fmt.Sprintf("svar %d", i), at)
		} else {
			answers[i], err = delegation.Approve(r, grantor, requester, acr, at)
		}
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	last := f.last()
	errs := race(n, func(i int) error {
		_, err := f.s.AnswerRequest(f.ctx, answers[i])
		return err
	})
	w := oneWins(t, "AnswerRequest", errs)
	if w < 0 {
		return
	}
	won := answers[w]
	want := r
	want.AnsweredAt = won.At
	if won.Approve {
		want.Status, want.FullmaktID = delegation.RequestApproved, won.Fullmakt.ID
	} else {
		want.Status, want.DeclineReason = delegation.RequestDeclined, won.Reason
	}
	f.wantRequest(t, want)

	var wantFullmakter []delegation.Fullmakt
	if won.Approve {
		wantFullmakter = append(wantFullmakter, won.Fullmakt)
	}
	if got, err := f.s.FullmakterReceivedBy(f.ctx, requester.ID); err != nil {
		t.Errorf("FullmakterReceivedBy(%v): %v", requester.ID, err)
	} else if d := diff(wantFullmakter, got); d != "" {
		t.Errorf("FullmakterReceivedBy(%v) after %d concurrent answers mismatch (-want +got):\n%s", requester.ID, n, d)
	}
	for i, a := range answers {
		if i != w && a.Approve {
			if _, err := f.s.Fullmakt(f.ctx, a.Fullmakt.ID); !errors.Is(err, delegation.ErrNotFound) {
				t.Errorf("Fullmakt(%v) of losing approval #%d: err = %v, want %v", a.Fullmakt.ID, i, err, delegation.ErrNotFound)
			}
		}
	}
	changes := f.changesAfter(last)
	if won.Approve {
		checkApproval(t, changes, want, won.Fullmakt)
	} else {
		checkChanges(t, fmt.Sprintf("%d concurrent answers", n), changes, requestChange(delegation.ChangeRequestDeclined, want))
	}
}

// raceEnds ends one fullmakt from n goroutines; mixed alternates revocations by the
// grantor and renunciations by the proxy.
func raceEnds(t *testing.T, newStore newStoreFunc, n int, mixed bool) {
	f := newFixture(t, newStore)
	grantor, proxy := f.adult("Giver"), f.adult("Fullmektig")
	f.register(grantor, proxy)
	fm := f.give(grantor, proxy, false)
	ends := make([]delegation.EndFullmakt, n)
	for i := range ends {
		by := grantor.ID
		if mixed && i%2 == 1 {
			by = proxy.ID
		}
		var err error
		if ends[i], err = delegation.MayEnd(fm, by, grantor, nil, f.later(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatalf("MayEnd #%d: %v", i, err)
		}
	}
	last := f.last()
	errs := race(n, func(i int) error {
		_, err := f.s.EndFullmakt(f.ctx, ends[i])
		return err
	})
	w := oneWins(t, "EndFullmakt", errs)
	if w < 0 {
		return
	}
	want := fm
	want.Status, want.EndedAt, want.EndedBy = ends[w].Status, ends[w].At, ends[w].By
	if got, err := f.s.Fullmakt(f.ctx, fm.ID); err != nil {
		t.Errorf("Fullmakt(%v): %v", fm.ID, err)
	} else if d := diff(want, got); d != "" {
		t.Errorf("Fullmakt(%v) after %d concurrent ends mismatch (-want +got):\n%s", fm.ID, n, d)
	}
	kind := delegation.ChangeFullmaktRevoked
	if want.Status == delegation.StatusRenounced {
		kind = delegation.ChangeFullmaktRenounced
	}
	checkChanges(t, fmt.Sprintf("%d concurrent EndFullmakt", n), f.changesAfter(last), fullmaktChange(kind, want))
}

// raceConsent uses one one-time consent from n goroutines; mixed alternates uses
// and withdrawals.
func raceConsent(t *testing.T, newStore newStoreFunc, n int, mixed bool) {
	f := newFixture(t, newStore)
	party, agency, hospital := f.adult("Pasient"), f.organization("NAV"), f.organization("Helse Vest")
	f.register(party, agency, hospital)
	c := f.consent(party, agency.ID, hospital.ID, true)
	withdraws := func(i int) bool { return mixed && i%2 == 1 }
	last := f.last()
	errs := race(n, func(i int) error {
		at := f.later(time.Duration(i+1) * time.Second)
		if withdraws(i) {
			_, err := f.s.WithdrawConsent(f.ctx, c.ID, at)
			return err
		}
		_, err := f.s.UseConsent(f.ctx, c.ID, at)
		return err
	})
	w := oneWins(t, "UseConsent/WithdrawConsent", errs)
	if w < 0 {
		return
	}
	want, kind := delegation.ConsentUsed, delegation.ChangeConsentUsed
	if withdraws(w) {
		want, kind = delegation.ConsentWithdrawn, delegation.ChangeConsentWithdrawn
	}
	if got, err := f.s.Consent(f.ctx, c.ID); err != nil || got.Status != want {
		t.Errorf("Consent(%v) after %d concurrent calls = %+v, %v, want status %v", c.ID, n, got, err, want)
	}
	checkChanges(t, fmt.Sprintf("%d concurrent consent calls", n), f.changesAfter(last), consentChange(kind, c))
}

// raceCreate creates n different fullmakter with the same id at once.
func raceCreate(t *testing.T, newStore newStoreFunc, n int) {
	f := newFixture(t, newStore)
	grantor := f.adult("Giver")
	f.register(grantor)
	fms := make([]delegation.Fullmakt, n)
	for i := range fms {
		proxy := f.adult(fmt.Sprintf("Fullmektig %d", i))
		f.register(proxy)
		fms[i] = f.newFullmakt(grantor, proxy, false)
		fms[i].ID = fms[0].ID
	}
	last := f.last()
	errs := race(n, func(i int) error { return f.s.CreateFullmakt(f.ctx, fms[i]) })
	w := oneWins(t, "CreateFullmakt", errs)
	if w < 0 {
		return
	}
	if got, err := f.s.FullmakterGivenBy(f.ctx, grantor.ID); err != nil {
		t.Errorf("FullmakterGivenBy(%v): %v", grantor.ID, err)
	} else if d := diff([]delegation.Fullmakt{fms[w]}, got); d != "" {
		t.Errorf("FullmakterGivenBy(%v) after %d concurrent creations mismatch (-want +got):\n%s", grantor.ID, n, d)
	}
	checkChanges(t, fmt.Sprintf("%d concurrent CreateFullmakt", n), f.changesAfter(last), fullmaktChange(delegation.ChangeFullmaktCreated, fms[w]))
}

// raceWriters runs n register transactions (a person and their role in one company)
// and n consent creations at once, while a reader watches the change sequence.
func raceWriters(t *testing.T, newStore newStoreFunc, n int) {
	f := newFixture(t, newStore)
	company, agency, hospital := f.organization("Felles AS"), f.organization("NAV"), f.organization("Helse Vest")
	consenting := f.adult("Pasient")
	f.register(company, agency, hospital, consenting)
	persons := make([]delegation.Person, n)
	consents := make([]delegation.Consent, n)
	for i := range n {
		persons[i] = f.adult(fmt.Sprintf("Styremedlem %d", i))
		consents[i] = f.newConsent(consenting, agency.ID, hospital.ID, i%2 == 0)
	}
	last := f.last()

	// The reader checks that whatever it sees is a sequence without gaps that
	// only grows: a committed change never appears before an earlier one.
	done := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		seen := last
		for {
			select {
			case <-done:
				return
			default:
			}
			cs, err := f.s.Changes(f.ctx, last, 10_000)
			if err != nil {
				t.Errorf("Changes(%d) while writing: %v", last, err)
				return
			}
			for i, c := range cs {
				if c.Seq != last+uint64(i)+1 {
					t.Errorf("Changes(%d) while writing: change %d has seq %d, want %d", last, i, c.Seq, last+uint64(i)+1)
					return
				}
			}
			top := last + uint64(len(cs))
			if top < seen {
				t.Errorf("Changes(%d) while writing ends at %d after it ended at %d", last, top, seen)
				return
			}
			seen = top
			if lc, err := f.s.LastChange(f.ctx); err != nil || lc < seen {
				t.Errorf("LastChange() while writing = %d, %v, want at least %d", lc, err, seen)
				return
			}
		}
	})

	errs := race(2*n, func(i int) error {
		if i >= n {
			return f.s.CreateConsent(f.ctx, consents[i-n])
		}
		p := persons[i]
		return f.s.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
			for _, rec := range []delegation.Record{p, delegation.Role{Person: p.ID, Organization: company.ID, Role: "board_member"}} {
				if _, err := delegation.ApplyRecord(tx, rec, f.today); err != nil {
					return err
				}
			}
			return nil
		})
	})
	close(done)
	reader.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent writer #%d: %v", i, err)
		}
	}

	var wantReps []delegation.PartyRelations
	for _, p := range persons {
		if got, err := f.s.Person(f.ctx, p.ID); err != nil || got != p {
			t.Errorf("Person(%v) = %+v, %v, want %+v", p.ID, got, err, p)
		}
		wantReps = append(wantReps, delegation.PartyRelations{Party: p.ID, Relations: delegation.Relations{
			Roles: []delegation.Role{{Person: p.ID, Organization: company.ID, Role: "board_member"}}}})
	}
	if got, err := f.s.Representatives(f.ctx, company.ID); err != nil {
		t.Errorf("Representatives(%v): %v", company.ID, err)
	} else if d := diff(byParty(wantReps...), got); d != "" {
		t.Errorf("Representatives(%v) after concurrent writes mismatch (-want +got):\n%s", company.ID, d)
	}
	if got, err := f.s.ConsentsByParty(f.ctx, consenting.ID); err != nil {
		t.Errorf("ConsentsByParty(%v): %v", consenting.ID, err)
	} else {
		checkList(t, "ConsentsByParty(party) after concurrent writes", consents, got, consentCreated)
	}

	// Every write is in the sequence once, numbered without gaps or repeats.
	changes := f.changesAfter(last)
	wantN := 3 * n
	if len(changes) != wantN {
		t.Errorf("%d concurrent writers recorded %d changes, want %d", 2*n, len(changes), wantN)
	}
	count := map[string]int{}
	for i, c := range changes {
		if c.Seq != last+uint64(i)+1 {
			t.Errorf("change %d after %d has seq %d, want %d", i, last, c.Seq, last+uint64(i)+1)
		}
		count[string(c.Kind)+" "+c.Ref]++
	}
	for key, k := range count {
		if k != 1 {
			t.Errorf("change %q recorded %d times, want once", key, k)
		}
	}
	if got := f.last(); got != last+uint64(wantN) {
		t.Errorf("LastChange() = %d, want %d", got, last+uint64(wantN))
	}
	for _, p := range persons {
		if !hasChange(changes, delegation.ChangePerson, p.ID) || !hasChange(changes, delegation.ChangeRole, p.ID) {
			t.Errorf("changes after %d lack the person or role change of %v", last, p.ID)
		}
	}
	for _, c := range consents {
		if !slices.ContainsFunc(changes, func(ch delegation.Change) bool { return ch.Kind == delegation.ChangeConsentCreated && ch.Ref == c.ID }) {
			t.Errorf("changes after %d lack the creation of consent %v", last, c.ID)
		}
	}
}

// hasChange reports whether changes hold one of kind naming p.
func hasChange(changes []delegation.Change, kind delegation.ChangeKind, p delegation.PartyID) bool {
	return slices.ContainsFunc(changes, func(c delegation.Change) bool {
		return c.Kind == kind && slices.Contains(c.Parties, p)
	})
}
