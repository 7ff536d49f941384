package storetest

import (
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// testRequests: requests are created once, listed for both persons, and answered
// once; approving creates the fullmakt in the same transaction.
func testRequests(t *testing.T, newStore newStoreFunc) {
	t.Run("create and read", func(t *testing.T) {
		f := newFixture(t, newStore)
		requester, grantor := f.adult("Datter"), f.adult("Far")
		f.register(requester, grantor)
		last := f.last()
		r := f.request(requester, grantor)
		if got, err := f.s.Request(f.ctx, r.ID); err != nil {
			t.Errorf("Request(%v): %v", r.ID, err)
		} else if d := diff(r, got); d != "" {
			t.Errorf("Request(%v) mismatch (-want +got):\n%s", r.ID, d)
		}
		checkChanges(t, "CreateRequest", f.changesAfter(last), requestChange(delegation.ChangeRequestCreated, r))
	})

	t.Run("unknown", func(t *testing.T) {
		f := newFixture(t, newStore)
		_, err := f.s.Request(f.ctx, "rq_unknown")
		wantErr(t, "Request(unknown)", err, delegation.ErrNotFound)
		_, err = f.s.AnswerRequest(f.ctx, delegation.Answer{RequestID: "rq_unknown", By: f.adult("Giver").ID, Reason: "nei", At: f.now})
		wantErr(t, "AnswerRequest(unknown)", err, delegation.ErrNotFound)
		f.noChangeSince("AnswerRequest(unknown)", 0)
	})

	t.Run("duplicate id", func(t *testing.T) {
		f := newFixture(t, newStore)
		requester, grantor, other := f.adult("Datter"), f.adult("Far"), f.adult("Mor")
		f.register(requester, grantor, other)
		r := f.request(requester, grantor)
		last := f.last()
		dup := f.newRequest(requester, other)
		dup.ID = r.ID
		wantErr(t, "CreateRequest(existing id)", f.s.CreateRequest(f.ctx, dup), delegation.ErrConflict)
		f.noChangeSince("CreateRequest(existing id)", last)
		if got, err := f.s.Request(f.ctx, r.ID); err != nil {
			t.Errorf("Request(%v): %v", r.ID, err)
		} else if d := diff(r, got); d != "" {
			t.Errorf("Request(%v) after a refused duplicate mismatch (-want +got):\n%s", r.ID, d)
		}
		if got, err := f.s.RequestsTo(f.ctx, other.ID); err != nil || len(got) > 0 {
			t.Errorf("RequestsTo(%v) = %+v, %v, want none", other.ID, got, err)
		}
	})

	t.Run("to and from", func(t *testing.T) {
		f := newFixture(t, newStore)
		daughter, son, father, mother := f.adult("Datter"), f.adult("Sønn"), f.adult("Far"), f.adult("Mor")
		f.register(daughter, son, father, mother)
		toFather := f.request(daughter, father)
		toMother := f.request(daughter, mother)
		sonToFather := f.request(son, father)
		for _, tt := range []struct {
			name  string
			query func() ([]delegation.Request, error)
			want  []delegation.Request
		}{
			{"RequestsTo(father)", func() ([]delegation.Request, error) { return f.s.RequestsTo(f.ctx, father.ID) }, []delegation.Request{toFather, sonToFather}},
			{"RequestsTo(mother)", func() ([]delegation.Request, error) { return f.s.RequestsTo(f.ctx, mother.ID) }, []delegation.Request{toMother}},
			{"RequestsTo(requester)", func() ([]delegation.Request, error) { return f.s.RequestsTo(f.ctx, daughter.ID) }, nil},
			{"RequestsFrom(daughter)", func() ([]delegation.Request, error) { return f.s.RequestsFrom(f.ctx, daughter.ID) }, []delegation.Request{toFather, toMother}},
			{"RequestsFrom(son)", func() ([]delegation.Request, error) { return f.s.RequestsFrom(f.ctx, son.ID) }, []delegation.Request{sonToFather}},
			{"RequestsFrom(grantor)", func() ([]delegation.Request, error) { return f.s.RequestsFrom(f.ctx, father.ID) }, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				got, err := tt.query()
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				checkList(t, tt.name, tt.want, got, requestCreated)
			})
		}
	})

	t.Run("approve", func(t *testing.T) {
		f := newFixture(t, newStore)
		requester, grantor := f.adult("Datter"), f.adult("Far")
		f.register(requester, grantor)
		r := f.request(requester, grantor)
		a, err := delegation.Approve(r, grantor, requester, acr, f.later(time.Hour))
		if err != nil {
			t.Fatalf("Approve: %v", err)
		}
		last := f.last()
		got, err := f.s.AnswerRequest(f.ctx, a)
		if err != nil {
			t.Fatalf("AnswerRequest(approve): %v", err)
		}
		want := r
		want.Status, want.AnsweredAt, want.FullmaktID = delegation.RequestApproved, a.At, a.Fullmakt.ID
		if d := diff(want, got); d != "" {
			t.Errorf("AnswerRequest(approve) mismatch (-want +got):\n%s", d)
		}
		f.wantRequest(t, want)
		if got, err := f.s.Fullmakt(f.ctx, a.Fullmakt.ID); err != nil {
			t.Errorf("Fullmakt(%v) of the approved request: %v", a.Fullmakt.ID, err)
		} else if d := diff(a.Fullmakt, got); d != "" {
			t.Errorf("Fullmakt(%v) of the approved request mismatch (-want +got):\n%s", a.Fullmakt.ID, d)
		}
		f.wantListed(t, "FullmakterReceivedBy(requester)", f.fullmakterReceivedBy, requester.ID, a.Fullmakt)
		f.wantListed(t, "FullmakterGivenBy(grantor)", f.fullmakterGivenBy, grantor.ID, a.Fullmakt)
		if rels, err := f.s.Relations(f.ctx, requester.ID, grantor.ID); err != nil {
			t.Errorf("Relations(%v, %v): %v", requester.ID, grantor.ID, err)
		} else if d := diff(delegation.Relations{Fullmakter: []delegation.Fullmakt{a.Fullmakt}}, rels); d != "" {
			t.Errorf("Relations(%v, %v) mismatch (-want +got):\n%s", requester.ID, grantor.ID, d)
		}
		checkApproval(t, f.changesAfter(last), want, a.Fullmakt)
	})

	t.Run("decline", func(t *testing.T) {
		f := newFixture(t, newStore)
		requester, grantor := f.adult("Datter"), f.adult("Far")
		f.register(requester, grantor)
		r := f.request(requester, grantor)
		a, err := delegation.Decline(r, grantor.ID, "Jeg ordner det selv.", f.later(time.Hour))
		if err != nil {
			t.Fatalf("Decline: %v", err)
		}
		last := f.last()
		got, err := f.s.AnswerRequest(f.ctx, a)
		if err != nil {
			t.Fatalf("AnswerRequest(decline): %v", err)
		}
		want := r
		want.Status, want.AnsweredAt, want.DeclineReason = delegation.RequestDeclined, a.At, a.Reason
		if d := diff(want, got); d != "" {
			t.Errorf("AnswerRequest(decline) mismatch (-want +got):\n%s", d)
		}
		f.wantRequest(t, want)
		if fms, err := f.s.FullmakterReceivedBy(f.ctx, requester.ID); err != nil || len(fms) > 0 {
			t.Errorf("FullmakterReceivedBy(%v) after a decline = %+v, %v, want none", requester.ID, fms, err)
		}
		checkChanges(t, "AnswerRequest(decline)", f.changesAfter(last), requestChange(delegation.ChangeRequestDeclined, want))
	})

	t.Run("answer twice", func(t *testing.T) {
		for _, tt := range []struct {
			name                      string
			approveFirst, approveThen bool
		}{
			{"approve, then approve", true, true},
			{"approve, then decline", true, false},
			{"decline, then approve", false, true},
			{"decline, then decline", false, false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, newStore)
				requester, grantor := f.adult("Datter"), f.adult("Far")
				f.register(requester, grantor)
				r := f.request(requester, grantor)
				answer := func(approve bool, at time.Time) delegation.Answer {
					// Both answers are made from the pending request, as two open
					// pages would.
					if approve {
						a, err := delegation.Approve(r, grantor, requester, acr, at)
						if err != nil {
							t.Fatalf("Approve: %v", err)
						}
						return a
					}
					a, err := delegation.Decline(r, grantor.ID, "Nei takk.", at)
					if err != nil {
						t.Fatalf("Decline: %v", err)
					}
					return a
				}
				first, then := answer(tt.approveFirst, f.later(time.Hour)), answer(tt.approveThen, f.later(2*time.Hour))
				answered, err := f.s.AnswerRequest(f.ctx, first)
				if err != nil {
					t.Fatalf("first AnswerRequest: %v", err)
				}
				last := f.last()
				_, err = f.s.AnswerRequest(f.ctx, then)
				wantErr(t, "second AnswerRequest", err, delegation.ErrConflict)
				f.noChangeSince("second AnswerRequest", last)
				f.wantRequest(t, answered)
				if then.Approve {
					_, err := f.s.Fullmakt(f.ctx, then.Fullmakt.ID)
					wantErr(t, "Fullmakt(of the refused approval)", err, delegation.ErrNotFound)
				}
				fms, err := f.s.FullmakterReceivedBy(f.ctx, requester.ID)
				if wantN := map[bool]int{true: 1, false: 0}[tt.approveFirst]; err != nil || len(fms) != wantN {
					t.Errorf("FullmakterReceivedBy(%v) = %+v, %v, want %d fullmakt(er)", requester.ID, fms, err, wantN)
				}
			})
		}
	})

	t.Run("approval whose fullmakt id exists", func(t *testing.T) {
		// Approving creates the fullmakt in the same transaction: when that fails,
		// the request stays pending.
		f := newFixture(t, newStore)
		requester, grantor := f.adult("Datter"), f.adult("Far")
		f.register(requester, grantor)
		existing := f.give(grantor, requester, false)
		r := f.request(requester, grantor)
		a, err := delegation.Approve(r, grantor, requester, acr, f.later(time.Hour))
		if err != nil {
			t.Fatalf("Approve: %v", err)
		}
		a.Fullmakt.ID = existing.ID
		last := f.last()
		_, err = f.s.AnswerRequest(f.ctx, a)
		wantErr(t, "AnswerRequest(approve, fullmakt id taken)", err, delegation.ErrConflict)
		f.noChangeSince("refused AnswerRequest", last)
		f.wantRequest(t, r)
		if got, err := f.s.Fullmakt(f.ctx, existing.ID); err != nil {
			t.Errorf("Fullmakt(%v): %v", existing.ID, err)
		} else if d := diff(existing, got); d != "" {
			t.Errorf("Fullmakt(%v) after a refused approval mismatch (-want +got):\n%s", existing.ID, d)
		}
	})
}

// wantRequest fails the test unless the store holds want, and lists it as it is for
// both persons.
func (f *fixture) wantRequest(t *testing.T, want delegation.Request) {
	t.Helper()
	if got, err := f.s.Request(f.ctx, want.ID); err != nil {
		t.Errorf("Request(%v): %v", want.ID, err)
	} else if d := diff(want, got); d != "" {
		t.Errorf("Request(%v) mismatch (-want +got):\n%s", want.ID, d)
	}
	for _, l := range []struct {
		name  string
		query func() ([]delegation.Request, error)
	}{
		{"RequestsTo(grantor)", func() ([]delegation.Request, error) { return f.s.RequestsTo(f.ctx, want.Grantor) }},
		{"RequestsFrom(requester)", func() ([]delegation.Request, error) { return f.s.RequestsFrom(f.ctx, want.Requester) }},
	} {
		got, err := l.query()
		if err != nil {
			t.Errorf("%s: %v", l.name, err)
		} else {
			checkList(t, l.name, []delegation.Request{want}, got, requestCreated)
		}
	}
}

// checkApproval fails the test unless changes are what approving r records: one
// request.approved change and, if the backend records it separately, one
// fullmakt.created change for fm, and nothing else.
func checkApproval(t *testing.T, changes []delegation.Change, r delegation.Request, fm delegation.Fullmakt) {
	t.Helper()
	approved, created := 0, 0
	for _, c := range changes {
		switch c.Kind {
		case delegation.ChangeRequestApproved:
			approved++
			if m := changeMismatch(requestChange(delegation.ChangeRequestApproved, r), c); m != "" {
				t.Errorf("approval: change %+v: %s", c, m)
			}
		case delegation.ChangeFullmaktCreated:
			created++
			if m := changeMismatch(fullmaktChange(delegation.ChangeFullmaktCreated, fm), c); m != "" {
				t.Errorf("approval: change %+v: %s", c, m)
			}
		default:
			t.Errorf("approval recorded change %+v, want only %s (and %s)", c, delegation.ChangeRequestApproved, delegation.ChangeFullmaktCreated)
		}
	}
	if approved != 1 || created > 1 {
		t.Errorf("approval recorded %d %s and %d %s change(s), want 1 and at most 1", approved, delegation.ChangeRequestApproved, created, delegation.ChangeFullmaktCreated)
	}
}
