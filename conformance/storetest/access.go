package storetest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// testAccessLog: the decision log numbers the events it stores in increasing order,
// lists each party's events (those whose Party it is) newest first, pages through
// them with before, lists everyone's events oldest first from a seq on, stores a batch whole or not at all, records no change, and keeps every
// event of concurrent appenders. (Whether the log survives closing and reopening the
// store is each backend's own test: newStore hands out fresh stores only.)
func testAccessLog(t *testing.T, newStore newStoreFunc) {
	t.Run("empty store", func(t *testing.T) {
		f := newFixture(t, newStore)
		p := f.adult("Anna").ID
		f.wantAccessTo(t, p, 0, 0, nil)
		f.wantAccessTo(t, p, 10, 5, nil)
	})

	t.Run("sequence numbers increase across calls", func(t *testing.T) {
		f := newFixture(t, newStore)
		a, b, c := f.adult("Anna").ID, f.adult("Bjørn").ID, f.organization("NAV").ID
		last := f.last()
		for _, events := range [][]delegation.AccessEvent{nil, {}} {
			if err := f.s.AppendAccess(f.ctx, events); err != nil {
				t.Errorf("AppendAccess(%d events) = %v, want nil", len(events), err)
			}
		}
		var all []delegation.AccessEvent
		for _, n := range []int{1, 3, 2, 1} {
			events := make([]delegation.AccessEvent, n)
			for i := range events {
				events[i] = f.accessEvent(b, a, i%2 == 0)
			}
			events[n-1].Actor = c
			all = append(all, f.appendAccess(events...)...)
		}
		for i, e := range all {
			if e.Seq == 0 {
				t.Errorf("event %d: AppendAccess left Seq 0, want it assigned", i)
			}
			if i > 0 && e.Seq <= all[i-1].Seq {
				t.Errorf("event %d has Seq %d after %d, want an increasing sequence", i, e.Seq, all[i-1].Seq)
			}
		}
		f.noChangeSince("AppendAccess", last)
		f.wantAccessTo(t, a, 0, 0, newestFirst(all))
	})

	t.Run("for each party, newest first", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn, carl, stranger := f.adult("Anna").ID, f.adult("Bjørn").ID, f.adult("Carl").ID, f.adult("Fremmed").ID
		nav := f.organization("NAV").ID
		events := f.appendAccess(
			f.accessEvent(bjorn, anna, true),
			f.accessEvent(carl, anna, false),
			f.accessEvent(carl, bjorn, true),
		)
		events = append(events, f.appendAccess(
			f.accessEvent(nav, anna, true),
			f.accessEvent(bjorn, anna, true),
		)...)
		events = append(events, f.appendAccess(f.accessEvent(anna, carl, true))...)
		// Each party's list holds exactly the events whose Party it is: an actor's
		// events (NAV acts only; Anna and Bjørn act and are acted for) are not in it.
		listed := 0
		for _, p := range []delegation.PartyID{anna, bjorn, carl, stranger, nav} {
			want := partyEvents(events, p)
			f.wantAccessTo(t, p, 0, 0, want)
			listed += len(want)
		}
		if got := len(partyEvents(events, anna)); got != 4 {
			t.Fatalf("the test expects 4 events for Anna, has %d", got)
		}
		if listed != len(events) {
			t.Fatalf("the parties' lists should hold the %d events between them, hold %d", len(events), listed)
		}
	})

	t.Run("before and limit", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, other := f.adult("Anna").ID, f.adult("Annen").ID
		actors := []delegation.PartyID{f.adult("Bjørn").ID, f.adult("Carl").ID, f.organization("NAV").ID}
		// 25 events for party, one call at a time or in batches, with events for
		// another party (by the same actors) in between.
		var mine, theirs []delegation.AccessEvent
		for batch, i := 1, 0; i < 25; batch++ {
			var events []delegation.AccessEvent
			for range min(batch, 25-i) {
				events = append(events, f.accessEvent(actors[i%len(actors)], party, i%4 != 0))
				i++
			}
			mine = append(mine, f.appendAccess(events...)...)
			theirs = append(theirs, f.appendAccess(f.accessEvent(actors[batch%len(actors)], other, true))...)
		}
		all := newestFirst(mine)
		f.wantAccessTo(t, party, 0, 1000, all)

		// Every before the test can think of: each event's Seq and its neighbours,
		// those of the other party's events, and the extremes.
		befores := []uint64{0, 1, 2, math.MaxUint64, all[0].Seq + 1, all[len(all)-1].Seq}
		for _, e := range append(slices.Clone(mine), theirs...) {
			befores = append(befores, e.Seq, e.Seq+1)
		}
		for _, before := range befores {
			for _, limit := range []int{1, 3, 24, 25, 26} {
				var want []delegation.AccessEvent
				for _, e := range all {
					if (before == 0 || e.Seq < before) && len(want) < limit {
						want = append(want, e)
					}
				}
				f.wantAccessTo(t, party, before, limit, want)
			}
		}
	})

	t.Run("default limit", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, actor := f.adult("Anna").ID, f.adult("Bjørn").ID
		events := make([]delegation.AccessEvent, 120)
		for i := range events {
			events[i] = f.accessEvent(actor, party, true)
		}
		all := newestFirst(f.appendAccess(events...))
		for _, limit := range []int{0, -1, math.MinInt} {
			f.wantAccessTo(t, party, 0, limit, all[:100])
			f.wantAccessTo(t, actor, 0, limit, nil)
		}
		f.wantAccessTo(t, party, all[9].Seq, 0, all[10:110])
		f.wantAccessTo(t, party, 0, 101, all[:101])
		f.wantAccessTo(t, party, 0, math.MaxInt, all)
		oldest := slices.Clone(events)
		for _, limit := range []int{0, -1, math.MinInt} {
			f.wantAccessAfter(t, 0, limit, oldest[:100])
		}
		f.wantAccessAfter(t, oldest[9].Seq, 0, oldest[10:110])
		f.wantAccessAfter(t, 0, math.MaxInt, oldest)
	})

	t.Run("paging with before", func(t *testing.T) {
		f := newFixture(t, newStore)
		party, actor := f.adult("Anna").ID, f.adult("Bjørn").ID
		otherParty, otherActor := f.adult("Annen").ID, f.adult("Carl").ID
		var events []delegation.AccessEvent
		for i := range 23 {
			events = append(events, f.accessEvent(actor, party, i%3 != 0))
			if i%5 == 0 {
				events = append(events, f.accessEvent(otherActor, party, true), f.accessEvent(actor, otherParty, true))
			}
		}
		events = f.appendAccess(events...)
		// The party's events are interleaved with another actor's for it and with the
		// actor's for another party; that party's few events are paged through too.
		for _, tt := range []struct {
			name string
			p    delegation.PartyID
		}{
			{"AccessTo", party},
			{"AccessTo other party", otherParty},
		} {
			want := partyEvents(events, tt.p)
			limits := []int{1, 4, 7, len(want) - 1, len(want), len(want) + 1}
			slices.Sort(limits)
			for _, limit := range slices.Compact(limits) {
				t.Run(fmt.Sprintf("%s, limit %d", tt.name, limit), func(t *testing.T) {
					var got []delegation.AccessEvent
					for before := uint64(0); ; {
						page, err := f.accessTo(tt.p, before, limit)
						if err != nil {
							t.Fatalf("%s(p, %d, %d): %v", tt.name, before, limit, err)
						}
						if len(page) > limit {
							t.Fatalf("%s(p, %d, %d) returned %d events", tt.name, before, limit, len(page))
						}
						if len(page) == 0 {
							break
						}
						got = append(got, page...)
						if len(got) > len(want) {
							t.Fatalf("paging with limit %d returned %d events or more, want %d", limit, len(got), len(want))
						}
						before = page[len(page)-1].Seq
					}
					checkAccess(t, fmt.Sprintf("%s paged by %d", tt.name, limit), want, got)
				})
			}
		}
	})

	t.Run("after, oldest first, for every party", func(t *testing.T) {
		f := newFixture(t, newStore)
		anna, bjorn, nav := f.adult("Anna").ID, f.adult("Bjørn").ID, f.organization("NAV").ID
		f.wantAccessAfter(t, 0, 0, nil)
		var all []delegation.AccessEvent
		for batch := 1; len(all) < 25; batch++ {
			var events []delegation.AccessEvent
			for i := range batch {
				actor, party := bjorn, anna
				switch i % 3 {
				case 1:
					actor, party = anna, bjorn
				case 2:
					actor, party = bjorn, nav
				}
				events = append(events, f.accessEvent(actor, party, i%4 != 0))
			}
			all = append(all, f.appendAccess(events...)...)
		}
		afters := []uint64{0, 1, 2, math.MaxUint64 - 1, math.MaxUint64}
		for _, e := range all {
			afters = append(afters, e.Seq-1, e.Seq, e.Seq+1)
		}
		slices.Sort(afters)
		for _, after := range slices.Compact(afters) {
			for _, limit := range []int{1, 3, len(all) - 1, len(all), len(all) + 1} {
				var want []delegation.AccessEvent
				for _, e := range all {
					if e.Seq > after && len(want) < limit {
						want = append(want, e)
					}
				}
				f.wantAccessAfter(t, after, limit, want)
			}
		}
		// Paging with the Seq of each page's last event reads every event once.
		for _, limit := range []int{1, 4, 7, len(all)} {
			var got []delegation.AccessEvent
			for after := uint64(0); ; {
				page, err := f.s.AccessAfter(f.ctx, after, limit)
				if err != nil || len(page) > limit || len(got)+len(page) > len(all) {
					t.Fatalf("AccessAfter(%d, %d) = %d events, %v", after, limit, len(page), err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Seq
			}
			checkAccessAfter(t, fmt.Sprintf("AccessAfter paged by %d", limit), all, got)
		}
	})

	t.Run("an invalid event stores nothing", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			mutate func(*delegation.AccessEvent)
		}{
			{"no actor", func(e *delegation.AccessEvent) { e.Actor = "" }},
			{"no party", func(e *delegation.AccessEvent) { e.Party = "" }},
			{"actor is the party", func(e *delegation.AccessEvent) { e.Actor = e.Party }},
			{"no service", func(e *delegation.AccessEvent) { e.Service = "" }},
			{"no action", func(e *delegation.AccessEvent) { e.Action = "" }},
			{"no time", func(e *delegation.AccessEvent) { e.At = time.Time{} }},
			{"control character in the actor", func(e *delegation.AccessEvent) { e.Actor += "\n" }},
			{"NUL in the party", func(e *delegation.AccessEvent) { e.Party += "\x00" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				f := newFixture(t, newStore)
				party, actor := f.adult("Anna").ID, f.adult("Bjørn").ID
				last := f.last()
				bad := f.accessEvent(actor, party, false)
				tt.mutate(&bad)
				for _, pos := range []int{0, 1, 2} {
					events := []delegation.AccessEvent{f.accessEvent(actor, party, true), f.accessEvent(actor, party, true)}
					events = slices.Insert(events, pos, bad)
					before := slices.Clone(events)
					wantErr(t, fmt.Sprintf("AppendAccess(invalid event at %d of 3)", pos), f.s.AppendAccess(f.ctx, events), delegation.ErrInvalid)
					if d := diff(before, events); d != "" {
						t.Errorf("a failed AppendAccess changed the caller's events (-before +after):\n%s", d)
					}
				}
				f.wantAccessTo(t, party, 0, 0, nil)
				f.wantAccessTo(t, actor, 0, 0, nil)
				f.wantAccessAfter(t, 0, 0, nil)
				f.noChangeSince("a failed AppendAccess", last)

				// The store still takes valid events afterwards.
				ok := f.appendAccess(f.accessEvent(actor, party, true))
				f.wantAccessTo(t, party, 0, 0, ok)
			})
		}
	})

	t.Run("concurrent appends", func(t *testing.T) { raceAccess(t, newStore) })
}

// raceAccess appends 50 events from each of 8 goroutines at once, in calls of
// different sizes, for 4 parties, while a reader lists the parties' events.
func raceAccess(t *testing.T, newStore newStoreFunc) {
	const goroutines, each = 8, 50
	f := newFixture(t, newStore)
	parties := []delegation.PartyID{f.adult("Anna").ID, f.adult("Bjørn").ID, f.adult("Carl").ID, f.organization("Felles AS").ID}
	actors := make([]delegation.PartyID, goroutines)
	batches := make([][][]delegation.AccessEvent, goroutines) // per goroutine, its calls
	for g := range goroutines {
		actors[g] = f.adult(fmt.Sprintf("Fullmektig %d", g)).ID
		for i, size := 0, 1+g%3; i < each; size++ {
			batch := make([]delegation.AccessEvent, min(size, each-i))
			for j := range batch {
				batch[j] = f.accessEvent(actors[g], parties[(g+i+j)%len(parties)], (i+j)%5 != 0)
			}
			batches[g] = append(batches[g], batch)
			i += len(batch)
		}
	}
	last := f.last()

	// The reader checks that every list it sees is newest first and only grows.
	done := make(chan struct{})
	var reader sync.WaitGroup
	reader.Go(func() {
		seen := make([]int, len(parties))
		for {
			select {
			case <-done:
				return
			default:
			}
			for i, p := range parties {
				got, err := f.s.AccessTo(f.ctx, p, 0, goroutines*each)
				if err != nil {
					t.Errorf("AccessTo(%d) while appending: %v", i, err)
					return
				}
				for j := 1; j < len(got); j++ {
					if got[j].Seq >= got[j-1].Seq {
						t.Errorf("AccessTo(%d) while appending lists Seq %d after %d, want newest first", i, got[j].Seq, got[j-1].Seq)
						return
					}
				}
				if len(got) < seen[i] {
					t.Errorf("AccessTo(%d) while appending returned %d events after it returned %d", i, len(got), seen[i])
					return
				}
				seen[i] = len(got)
			}
		}
	})

	errs := race(goroutines, func(g int) error {
		for _, batch := range batches[g] {
			if err := f.s.AppendAccess(f.ctx, batch); err != nil {
				return err
			}
		}
		return nil
	})
	close(done)
	reader.Wait()
	for g, err := range errs {
		if err != nil {
			t.Fatalf("concurrent appender #%d: %v", g, err)
		}
	}

	var all []delegation.AccessEvent
	seqs := map[uint64]bool{}
	for g := range goroutines {
		var mine []delegation.AccessEvent
		for _, batch := range batches[g] {
			mine = append(mine, batch...)
		}
		for i, e := range mine {
			if e.Seq == 0 || seqs[e.Seq] {
				t.Errorf("appender #%d event %d has Seq %d, zero or given out before", g, i, e.Seq)
			}
			seqs[e.Seq] = true
			if i > 0 && e.Seq <= mine[i-1].Seq {
				t.Errorf("appender #%d event %d has Seq %d after %d, want an increasing sequence", g, i, e.Seq, mine[i-1].Seq)
			}
		}
		all = append(all, mine...)
	}
	if len(seqs) != goroutines*each {
		t.Errorf("%d appenders of %d events were given %d distinct Seqs, want %d", goroutines, each, len(seqs), goroutines*each)
	}
	// Every appender's events are listed, each under its party alone: the parties'
	// lists hold exactly the events whose Party they are, and an actor's list (the
	// actors are never parties) is empty.
	for _, p := range append(slices.Clone(parties), actors...) {
		f.wantAccessTo(t, p, 0, goroutines*each, partyEvents(all, p))
	}
	oldest := newestFirst(all)
	slices.Reverse(oldest)
	f.wantAccessAfter(t, 0, goroutines*each+1, oldest)
	f.noChangeSince("concurrent AppendAccess", last)
}

// accessEvent returns an event of actor acting for party a tick after the one
// before, allowed through a fullmakt or denied. It is not stored.
func (f *fixture) accessEvent(actor, party delegation.PartyID, allowed bool) delegation.AccessEvent {
	e := delegation.AccessEvent{
		At: f.tick(), Actor: actor, Party: party,
		Service: "skatteetaten.skattemelding", Action: "submit", Allowed: allowed,
		PolicyVersion: "2025.03.1", Client: "storetest-client",
	}
	if allowed {
		e.Relation, e.RelationID = delegation.RelFullmakt, fmt.Sprintf("fm_storetest%d", f.ticks)
	}
	return e
}

// appendAccess stores events in one call and returns them with their Seq.
func (f *fixture) appendAccess(events ...delegation.AccessEvent) []delegation.AccessEvent {
	f.t.Helper()
	if err := f.s.AppendAccess(f.ctx, events); err != nil {
		f.t.Fatalf("AppendAccess(%d events): %v", len(events), err)
	}
	return events
}

func (f *fixture) accessTo(p delegation.PartyID, before uint64, limit int) ([]delegation.AccessEvent, error) {
	return f.s.AccessTo(f.ctx, p, before, limit)
}

// wantAccessTo fails the test unless AccessTo(p, before, limit) returns want.
func (f *fixture) wantAccessTo(t *testing.T, p delegation.PartyID, before uint64, limit int, want []delegation.AccessEvent) {
	t.Helper()
	got, err := f.accessTo(p, before, limit)
	if err != nil {
		t.Errorf("AccessTo(p, %d, %d): %v", before, limit, err)
		return
	}
	checkAccess(t, fmt.Sprintf("AccessTo(p, %d, %d)", before, limit), want, got)
}

// wantAccessAfter fails the test unless AccessAfter(after, limit) returns want.
func (f *fixture) wantAccessAfter(t *testing.T, after uint64, limit int, want []delegation.AccessEvent) {
	t.Helper()
	got, err := f.s.AccessAfter(f.ctx, after, limit)
	if err != nil {
		t.Errorf("AccessAfter(%d, %d): %v", after, limit, err)
		return
	}
	checkAccessAfter(t, fmt.Sprintf("AccessAfter(%d, %d)", after, limit), want, got)
}

// checkAccessAfter fails the test unless got is want, in the same order (oldest
// first).
func checkAccessAfter(t *testing.T, name string, want, got []delegation.AccessEvent) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Errorf("%s lists Seq %d (#%d) after %d (#%d), want oldest first", name, got[i].Seq, i, got[i-1].Seq, i-1)
		}
	}
}

// checkAccess fails the test unless got is want, in the same order (newest first).
func checkAccess(t *testing.T, name string, want, got []delegation.AccessEvent) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq >= got[i-1].Seq {
			t.Errorf("%s lists Seq %d (#%d) after %d (#%d), want newest first", name, got[i].Seq, i, got[i-1].Seq, i-1)
		}
	}
}

// partyEvents returns the events whose Party is p, newest first: what AccessTo(p)
// lists when nothing else is stored.
func partyEvents(events []delegation.AccessEvent, p delegation.PartyID) []delegation.AccessEvent {
	var out []delegation.AccessEvent
	for _, e := range events {
		if e.Party == p {
			out = append(out, e)
		}
	}
	return newestFirst(out)
}

// newestFirst returns a copy of events ordered by Seq, highest first.
func newestFirst(events []delegation.AccessEvent) []delegation.AccessEvent {
	out := slices.Clone(events)
	slices.SortFunc(out, func(a, b delegation.AccessEvent) int { return cmp.Compare(b.Seq, a.Seq) })
	return out
}
