package storetest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/delegation"
)

// testNotifications: notifications are numbered in increasing order as they are
// stored, listed for their person newest first and for everyone in order (the
// outbox), paged with before, after and limit; a (person, key) is stored once,
// whether it comes twice in one call, again in a later one or from many writers at
// once; the cursor named in a call moves with its notifications or not at all; and
// what a person has read only moves forward.
func testNotifications(t *testing.T, newStore newStoreFunc) {
	t.Run("empty store", func(t *testing.T) {
		f := newFixture(t, newStore)
		p := f.adult("Anna").ID
		f.wantNotificationsFor(t, p, 0, 0, nil)
		f.wantNotificationsFor(t, p, 10, 5, nil)
		f.wantNotificationsAfter(t, 0, 0, nil)
		f.wantNotificationsAfter(t, 10, 5, nil)
		f.wantCursor(t, "changes", 0)
		f.wantReadUpTo(t, p, 0)
	})

	t.Run("stored in order, listed per person and for everyone", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn, stranger := f.adult("Anna").ID, f.adult("Bjørn").ID, f.adult("Fremmed").ID
		last := f.last()
		if got, err := f.s.AddNotifications(f.ctx, "", 0, nil); err != nil || len(got) > 0 {
			t.Errorf("AddNotifications(none) = %+v, %v, want none and nil", got, err)
		}
		var all []delegation.Notification
		for _, n := range []int{1, 3, 2, 1} {
			ns := make([]delegation.Notification, n)
			for i := range ns {
				p, other := anna, bjorn
				if i%2 == 1 {
					p, other = bjorn, anna
				}
				ns[i] = f.note(p, other, delegation.NoteFullmaktGiven)
			}
			all = append(all, f.addNotifications("", 0, ns...)...)
		}
		for i, n := range all {
			if n.Seq == 0 {
				t.Errorf("notification %d: AddNotifications returned Seq 0, want it assigned", i)
			}
			if i > 0 && n.Seq <= all[i-1].Seq {
				t.Errorf("notification %d has Seq %d after %d, want an increasing sequence", i, n.Seq, all[i-1].Seq)
			}
		}
		f.noChangeSince("AddNotifications", last)
		f.wantNotificationsAfter(t, 0, 0, all)
		for _, p := range []delegation.PartyID{anna, bjorn, stranger} {
			f.wantNotificationsFor(t, p, 0, 0, personNotes(all, p))
		}
		if len(personNotes(all, anna)) != 5 || len(personNotes(all, bjorn)) != 2 {
			t.Fatalf("the test expects 5 notifications for Anna and 2 for Bjørn")
		}
	})

	t.Run("before, after and limit", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, other := f.adult("Anna").ID, f.adult("Annen").ID
		var all []delegation.Notification
		for batch, i := 1, 0; i < 25; batch++ {
			var ns []delegation.Notification
			for range min(batch, 25-i) {
				ns = append(ns, f.note(anna, other, delegation.NoteRequestReceived))
				i++
			}
			all = append(all, f.addNotifications("", 0, ns...)...)
			all = append(all, f.addNotifications("", 0, f.note(other, anna, delegation.NoteRequestAnswered))...)
		}
		mine := personNotes(all, anna)
		seqs := []uint64{0, 1, 2, math.MaxUint64 - 1, math.MaxUint64}
		for _, n := range all {
			seqs = append(seqs, n.Seq-1, n.Seq, n.Seq+1)
		}
		slices.Sort(seqs)
		for _, seq := range slices.Compact(seqs) {
			for _, limit := range []int{1, 3, 24, 25, 26, 50, 51} {
				var wantFor, wantAfter []delegation.Notification
				for _, n := range mine {
					if (seq == 0 || n.Seq < seq) && len(wantFor) < limit {
						wantFor = append(wantFor, n)
					}
				}
				for _, n := range all {
					if n.Seq > seq && len(wantAfter) < limit {
						wantAfter = append(wantAfter, n)
					}
				}
				f.wantNotificationsFor(t, anna, seq, limit, wantFor)
				f.wantNotificationsAfter(t, seq, limit, wantAfter)
			}
		}
	})

	t.Run("paging", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn := f.adult("Anna").ID, f.adult("Bjørn").ID
		var ns []delegation.Notification
		for i := range 23 {
			ns = append(ns, f.note(anna, bjorn, delegation.NoteConsentUsed))
			if i%5 == 0 {
				ns = append(ns, f.note(bjorn, anna, delegation.NoteFullmaktReceived))
			}
		}
		all := f.addNotifications("", 0, ns...)
		for _, limit := range []int{1, 4, 7, 22, 23, 24} {
			t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
				var got []delegation.Notification
				for before := uint64(0); ; {
					page, err := f.s.NotificationsFor(f.ctx, anna, before, limit)
					if err != nil || len(page) > limit || len(got)+len(page) > len(all) {
						t.Fatalf("NotificationsFor(p, %d, %d) = %d notifications, %v", before, limit, len(page), err)
					}
					if len(page) == 0 {
						break
					}
					got = append(got, page...)
					before = page[len(page)-1].Seq
				}
				checkNotes(t, "NotificationsFor paged", personNotes(all, anna), got, true)
				got = nil
				for after := uint64(0); ; {
					page, err := f.s.NotificationsAfter(f.ctx, after, limit)
					if err != nil || len(page) > limit || len(got)+len(page) > len(all) {
						t.Fatalf("NotificationsAfter(%d, %d) = %d notifications, %v", after, limit, len(page), err)
					}
					if len(page) == 0 {
						break
					}
					got = append(got, page...)
					after = page[len(page)-1].Seq
				}
				checkNotes(t, "NotificationsAfter paged", all, got, false)
			})
		}
	})

	t.Run("default limit", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn := f.adult("Anna").ID, f.adult("Bjørn").ID
		ns := make([]delegation.Notification, 120)
		for i := range ns {
			ns[i] = f.note(anna, bjorn, delegation.NoteFullmaktFirstUsed)
		}
		all := f.addNotifications("", 0, ns...)
		newest := personNotes(all, anna)
		for _, limit := range []int{0, -1, math.MinInt} {
			f.wantNotificationsFor(t, anna, 0, limit, newest[:100])
			f.wantNotificationsAfter(t, 0, limit, all[:100])
		}
		f.wantNotificationsFor(t, anna, newest[9].Seq, 0, newest[10:110])
		f.wantNotificationsAfter(t, all[9].Seq, 0, all[10:110])
		f.wantNotificationsFor(t, anna, 0, math.MaxInt, newest)
		f.wantNotificationsAfter(t, 0, math.MaxInt, all)
	})

	t.Run("a key is stored once per person", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn, carl := f.adult("Anna").ID, f.adult("Bjørn").ID, f.adult("Carl").ID
		given := f.note(anna, bjorn, delegation.NoteFullmaktGiven)
		given.Key = "fullmakt.given/fm_1"
		received := given
		received.Person, received.Other, received.Kind = bjorn, anna, delegation.NoteFullmaktReceived
		twin := given
		twin.At, twin.Detail = twin.At.Add(time.Minute), "a later copy"
		other := given
		other.Key = "fullmakt.given/fm_2"

		// In one call: the first of a key is stored, a later one of the same person
		// and key is not; another person's, or another key, is.
		first := f.addNotifications("", 0, given, received, twin, other, given)
		if d := diff([]delegation.Notification{given, received, other}, first, ignoreSeq()); d != "" {
			t.Errorf("AddNotifications(with repeats) stored (-want +got):\n%s", d)
		}
		// In a later call, every stored key is refused; a new one is stored.
		fresh := f.note(carl, anna, delegation.NoteRequestReceived)
		fresh.Key = given.Key
		second := f.addNotifications("", 0, twin, received, fresh, other)
		if d := diff([]delegation.Notification{fresh}, second, ignoreSeq()); d != "" {
			t.Errorf("AddNotifications(stored keys again) stored (-want +got):\n%s", d)
		}
		if got := f.addNotifications("", 0, given, received, other, fresh); len(got) > 0 {
			t.Errorf("AddNotifications(all stored) = %+v, want none stored", got)
		}
		all := append(first, second...)
		f.wantNotificationsAfter(t, 0, 0, all)
		f.wantNotificationsFor(t, anna, 0, 0, personNotes(all, anna))
		f.wantNotificationsFor(t, bjorn, 0, 0, personNotes(all, bjorn))
		f.wantNotificationsFor(t, carl, 0, 0, personNotes(all, carl))
	})

	t.Run("the cursor moves with its notifications", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn := f.adult("Anna").ID, f.adult("Bjørn").ID
		n := f.note(anna, bjorn, delegation.NoteFullmaktGiven)
		f.addNotifications("changes", 5, n)
		f.wantCursor(t, "changes", 5)
		// A call whose notifications are all stored, or that has none, still moves
		// its cursor: the events it read gave nothing new.
		f.addNotifications("changes", 9, n)
		f.wantCursor(t, "changes", 9)
		f.addNotifications("changes", 12)
		f.wantCursor(t, "changes", 12)
		// Cursors are apart from one another; an empty name moves none.
		f.addNotifications("access", 3, f.note(bjorn, anna, delegation.NoteFullmaktFirstUsed))
		f.addNotifications("", 99, f.note(bjorn, anna, delegation.NoteConsentUsed))
		f.wantCursor(t, "changes", 12)
		f.wantCursor(t, "access", 3)
		f.wantCursor(t, "webhook", 0)
		f.wantCursor(t, "", 0)
		// SetCursor sets, up or down.
		for _, to := range []uint64{40, 2, math.MaxUint64, 0} {
			if err := f.s.SetCursor(f.ctx, "webhook", to); err != nil {
				t.Fatalf("SetCursor(webhook, %d): %v", to, err)
			}
			f.wantCursor(t, "webhook", to)
		}
		f.wantCursor(t, "changes", 12)
		f.wantCursor(t, "access", 3)
	})

	t.Run("an invalid notification stores nothing", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			mutate func(f *fixture, n *delegation.Notification)
		}{
			{"no person", func(_ *fixture, n *delegation.Notification) { n.Person = "" }},
			{"for an organisation", func(f *fixture, n *delegation.Notification) { n.Person = f.organization("NAV").ID }},
			{"no kind", func(_ *fixture, n *delegation.Notification) { n.Kind = "" }},
			{"no ref", func(_ *fixture, n *delegation.Notification) { n.Ref = "" }},
			{"no key", func(_ *fixture, n *delegation.Notification) { n.Key = "" }},
			{"no time", func(_ *fixture, n *delegation.Notification) { n.At = time.Time{} }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, newStore)
				anna, bjorn := f.adult("Anna").ID, f.adult("Bjørn").ID
				if err := f.s.SetCursor(f.ctx, "changes", 3); err != nil {
					t.Fatalf("SetCursor: %v", err)
				}
				bad := f.note(anna, bjorn, delegation.NoteFullmaktGiven)
				tt.mutate(f, &bad)
				for _, pos := range []int{0, 1, 2} {
					ns := []delegation.Notification{f.note(anna, bjorn, delegation.NoteFullmaktGiven), f.note(bjorn, anna, delegation.NoteFullmaktReceived)}
					ns = slices.Insert(ns, pos, bad)
					got, err := f.s.AddNotifications(f.ctx, "changes", 10, ns)
					wantErr(t, fmt.Sprintf("AddNotifications(invalid at %d of 3)", pos), err, delegation.ErrInvalid)
					if len(got) > 0 {
						t.Errorf("a failed AddNotifications returned %+v as stored", got)
					}
				}
				f.wantNotificationsAfter(t, 0, 0, nil)
				f.wantNotificationsFor(t, anna, 0, 0, nil)
				f.wantCursor(t, "changes", 3)

				// The store still takes valid notifications, and the keys of the
				// refused calls were not taken.
				ok := f.note(anna, bjorn, delegation.NoteFullmaktGiven)
				stored := f.addNotifications("changes", 10, ok)
				f.wantNotificationsAfter(t, 0, 0, stored)
				f.wantCursor(t, "changes", 10)
			})
		}
	})

	t.Run("read marks only move forward", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn := f.adult("Anna").ID, f.adult("Bjørn").ID
		for _, step := range []struct {
			mark, want uint64
		}{
			{5, 5}, {3, 5}, {5, 5}, {0, 5}, {8, 8}, {math.MaxUint64, math.MaxUint64}, {9, math.MaxUint64},
		} {
			if err := f.s.MarkRead(f.ctx, anna, step.mark); err != nil {
				t.Fatalf("MarkRead(%d): %v", step.mark, err)
			}
			f.wantReadUpTo(t, anna, step.want)
			f.wantReadUpTo(t, bjorn, 0)
		}
	})

	t.Run("concurrent adds of one key", func(t *testing.T) { raceNotifications(t, newStore) })
}

// raceNotifications has 16 goroutines at once add the same notification, each with
// one of its own, and move the same cursor to a position of their own.
func raceNotifications(t *testing.T, newStore newStoreFunc) {
	const goroutines = 16
	f := newFixture(t, newStore)
	anna, bjorn := f.adult("Anna").ID, f.adult("Bjørn").ID
	shared := f.note(anna, bjorn, delegation.NoteFullmaktFirstUsed)
	own := make([]delegation.Notification, goroutines)
	for g := range own {
		own[g] = f.note(bjorn, anna, delegation.NoteConsentUsed)
	}
	stored := make([][]delegation.Notification, goroutines)
	errs := race(goroutines, func(g int) error {
		var err error
		stored[g], err = f.s.AddNotifications(f.ctx, "changes", uint64(100+g), []delegation.Notification{shared, own[g]})
		return err
	})
	winners, last, lastSeq := 0, -1, uint64(0)
	var all []delegation.Notification
	for g, err := range errs {
		if err != nil {
			t.Fatalf("concurrent adder #%d: %v", g, err)
		}
		for _, n := range stored[g] {
			if n.Key == shared.Key {
				winners++
			}
			if n.Key == own[g].Key && n.Seq > lastSeq {
				last, lastSeq = g, n.Seq
			}
		}
		all = append(all, stored[g]...)
	}
	if winners != 1 {
		t.Errorf("%d concurrent adders of one key stored it %d times, want once", goroutines, winners)
	}
	if len(all) != goroutines+1 {
		t.Fatalf("%d concurrent adders stored %d notifications, want %d", goroutines, len(all), goroutines+1)
	}
	slices.SortFunc(all, func(a, b delegation.Notification) int { return cmp.Compare(a.Seq, b.Seq) })
	f.wantNotificationsAfter(t, 0, 0, all)
	f.wantNotificationsFor(t, anna, 0, 0, personNotes(all, anna))
	// The cursor is where the last transaction to commit put it: the one whose own
	// notification came last.
	if last >= 0 {
		f.wantCursor(t, "changes", uint64(100+last))
	}
}

// note returns a notification to person about other, a tick after the one before,
// with a key of its own. It is not stored.
func (f *fixture) note(person, other delegation.PartyID, kind delegation.NotificationKind) delegation.Notification {
	at := f.tick()
	ref := fmt.Sprintf("fm_storetest%d", f.ticks)
	return delegation.Notification{
		Person: person, Kind: kind, Ref: ref, Other: other, Detail: "skatteetaten.skattemelding",
		At: at, Key: string(kind) + "/" + ref,
	}
}

// addNotifications stores ns in one call and returns what it stored.
func (f *fixture) addNotifications(cursor string, to uint64, ns ...delegation.Notification) []delegation.Notification {
	f.t.Helper()
	stored, err := f.s.AddNotifications(f.ctx, cursor, to, ns)
	if err != nil {
		f.t.Fatalf("AddNotifications(%q, %d, %d notifications): %v", cursor, to, len(ns), err)
	}
	for i, n := range stored {
		if n.Seq == 0 || i > 0 && n.Seq <= stored[i-1].Seq {
			f.t.Errorf("AddNotifications returned Seq %d as #%d, want an increasing sequence", n.Seq, i)
		}
	}
	return stored
}

// wantNotificationsFor fails the test unless NotificationsFor(p, before, limit) returns want.
func (f *fixture) wantNotificationsFor(t *testing.T, p delegation.PartyID, before uint64, limit int, want []delegation.Notification) {
	t.Helper()
	got, err := f.s.NotificationsFor(f.ctx, p, before, limit)
	if err != nil {
		t.Errorf("NotificationsFor(p, %d, %d): %v", before, limit, err)
		return
	}
	checkNotes(t, fmt.Sprintf("NotificationsFor(p, %d, %d)", before, limit), want, got, true)
}

// wantNotificationsAfter fails the test unless NotificationsAfter(after, limit) returns want.
func (f *fixture) wantNotificationsAfter(t *testing.T, after uint64, limit int, want []delegation.Notification) {
	t.Helper()
	got, err := f.s.NotificationsAfter(f.ctx, after, limit)
	if err != nil {
		t.Errorf("NotificationsAfter(%d, %d): %v", after, limit, err)
		return
	}
	checkNotes(t, fmt.Sprintf("NotificationsAfter(%d, %d)", after, limit), want, got, false)
}

func (f *fixture) wantCursor(t *testing.T, name string, want uint64) {
	t.Helper()
	if got, err := f.s.Cursor(f.ctx, name); err != nil || got != want {
		t.Errorf("Cursor(%q) = %d, %v, want %d", name, got, err, want)
	}
}

func (f *fixture) wantReadUpTo(t *testing.T, p delegation.PartyID, want uint64) {
	t.Helper()
	if got, err := f.s.ReadUpTo(f.ctx, p); err != nil || got != want {
		t.Errorf("ReadUpTo(p) = %d, %v, want %d", got, err, want)
	}
}

// checkNotes fails the test unless got is want, in the same order: newest first,
// or oldest first.
func checkNotes(t *testing.T, name string, want, got []delegation.Notification, newestFirst bool) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
	order := "oldest first"
	if newestFirst {
		order = "newest first"
	}
	for i := 1; i < len(got); i++ {
		if newestFirst && got[i].Seq >= got[i-1].Seq || !newestFirst && got[i].Seq <= got[i-1].Seq {
			t.Errorf("%s lists Seq %d (#%d) after %d (#%d), want %s", name, got[i].Seq, i, got[i-1].Seq, i-1, order)
		}
	}
}

// ignoreSeq compares notifications without their Seq, which the store assigns.
func ignoreSeq() gocmp.Option { return cmpopts.IgnoreFields(delegation.Notification{}, "Seq") }

// personNotes returns the notifications of p, newest first.
func personNotes(ns []delegation.Notification, p delegation.PartyID) []delegation.Notification {
	var out []delegation.Notification
	for _, n := range ns {
		if n.Person == p {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b delegation.Notification) int { return cmp.Compare(b.Seq, a.Seq) })
	return out
}
