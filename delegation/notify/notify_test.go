package notify_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/notify"
)

// ignoreSeq leaves out what the store assigns.
var ignoreSeq = cmpopts.IgnoreFields(delegation.Notification{}, "Seq")

// noCatalogue knows no services: the tests' scopes name areas only.
type noCatalogue struct{}

func (noCatalogue) ServiceAreas(string) []string { return nil }

func TestStepFollowsTheRules(t *testing.T) {
	const (
		given     = delegation.NoteFullmaktGiven
		received  = delegation.NoteFullmaktReceived
		revoked   = delegation.NoteFullmaktRevoked
		renounced = delegation.NoteFullmaktRenounced
		firstUsed = delegation.NoteFullmaktFirstUsed
		asked     = delegation.NoteRequestReceived
		answered  = delegation.NoteRequestAnswered
		used      = delegation.NoteConsentUsed
	)
	tests := []struct {
		name string
		// act writes to the store and returns the notifications it should give,
		// in order.
		act func(e *env) []delegation.Notification
	}{{
		name: "a fullmakt given in the portal is told to the grantor and the proxy",
		act: func(e *env) []delegation.Notification {
			f := e.give(e.kari, e.ola, delegation.Period{}, false)
			return []delegation.Notification{
				note(e.kari, given, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, received, f.ID, e.kari.ID, "", start, ""),
			}
		},
	}, {
		name: "a migrated fullmakt is told to nobody, its revocation is",
		act: func(e *env) []delegation.Notification {
			f := delegation.MigratedFullmakt(e.kari.ID, e.ola.ID, delegation.Scope{Areas: []string{"tax"}}, delegation.Period{}, false, "old-system-1")
			err := e.store.UpdateRegister(e.ctx, func(tx delegation.RegisterTx) error {
				_, err := delegation.ApplyRecord(tx, f, delegation.Today(start))
				return err
			})
			if err != nil {
				e.t.Fatalf("import: %v", err)
			}
			e.end(f, e.kari.ID)
			return []delegation.Notification{
				note(e.kari, revoked, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, revoked, f.ID, e.kari.ID, "", start, ""),
			}
		},
	}, {
		name: "a revocation is told to the grantor and the proxy",
		act: func(e *env) []delegation.Notification {
			f := e.give(e.kari, e.ola, delegation.Period{}, false)
			e.clock.Set(start.Add(time.Hour))
			e.end(f, e.kari.ID)
			return []delegation.Notification{
				note(e.kari, given, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, received, f.ID, e.kari.ID, "", start, ""),
				note(e.kari, revoked, f.ID, e.ola.ID, "", start.Add(time.Hour), ""),
				note(e.ola, revoked, f.ID, e.kari.ID, "", start.Add(time.Hour), ""),
			}
		},
	}, {
		name: "a renunciation is told to the grantor and the proxy",
		act: func(e *env) []delegation.Notification {
			f := e.give(e.kari, e.ola, delegation.Period{}, false)
			e.end(f, e.ola.ID)
			return []delegation.Notification{
				note(e.kari, given, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, received, f.ID, e.kari.ID, "", start, ""),
				note(e.kari, renounced, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, renounced, f.ID, e.kari.ID, "", start, ""),
			}
		},
	}, {
		name: "a fullmakt passed on is told to who passed it on, and so is its revocation",
		act: func(e *env) []delegation.Notification {
			f := e.give(e.kari, e.ola, delegation.Period{}, true)
			sub, err := delegation.Subdelegate(f, e.ola.ID, e.per, e.kari, f.Scope, delegation.Period{}, noCatalogue{}, start)
			if err != nil {
				e.t.Fatalf("Subdelegate: %v", err)
			}
			if err := e.store.CreateFullmakt(e.ctx, sub); err != nil {
				e.t.Fatalf("CreateFullmakt: %v", err)
			}
			e.end(sub, e.ola.ID)
			return []delegation.Notification{
				note(e.kari, given, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, received, f.ID, e.kari.ID, "", start, ""),
				note(e.ola, given, sub.ID, e.per.ID, "", start, ""),
				note(e.per, received, sub.ID, e.kari.ID, "", start, ""),
				note(e.kari, revoked, sub.ID, e.per.ID, "", start, ""),
				note(e.per, revoked, sub.ID, e.kari.ID, "", start, ""),
				note(e.ola, revoked, sub.ID, e.per.ID, "", start, ""),
			}
		},
	}, {
		name: "a request is told to the person asked, its approval to the asker with the fullmakt",
		act: func(e *env) []delegation.Notification {
			r := e.request(e.ola, e.kari)
			answerAt := start.Add(time.Hour)
			a, err := delegation.Approve(r, e.kari, e.ola, "high", answerAt)
			if err != nil {
				e.t.Fatalf("Approve: %v", err)
			}
			if _, err := e.store.AnswerRequest(e.ctx, a); err != nil {
				e.t.Fatalf("AnswerRequest: %v", err)
			}
			return []delegation.Notification{
				note(e.kari, asked, r.ID, e.ola.ID, "", start, ""),
				note(e.kari, given, a.Fullmakt.ID, e.ola.ID, "", answerAt, ""),
				note(e.ola, received, a.Fullmakt.ID, e.kari.ID, "", answerAt, ""),
				note(e.ola, answered, r.ID, e.kari.ID, "approved", answerAt, ""),
			}
		},
	}, {
		name: "a declined request is told to the asker",
		act: func(e *env) []delegation.Notification {
			r := e.request(e.ola, e.kari)
			a, err := delegation.Decline(r, e.kari.ID, "Nei takk", start)
			if err != nil {
				e.t.Fatalf("Decline: %v", err)
			}
			if _, err := e.store.AnswerRequest(e.ctx, a); err != nil {
				e.t.Fatalf("AnswerRequest: %v", err)
			}
			return []delegation.Notification{
				note(e.kari, asked, r.ID, e.ola.ID, "", start, ""),
				note(e.ola, answered, r.ID, e.kari.ID, "declined", start, ""),
			}
		},
	}, {
		name: "the first use of a fullmakt is told to the grantor once; a denied decision to nobody",
		act: func(e *env) []delegation.Notification {
			f := e.give(e.kari, e.ola, delegation.Period{}, false)
			denied := delegation.AccessEvent{
				At: start, Actor: e.per.ID, Party: e.kari.ID, Service: "skatteetaten.skattemelding", Action: "read",
				PolicyVersion: "test", Client: "test-client",
			}
			if err := e.store.AppendAccess(e.ctx, []delegation.AccessEvent{denied}); err != nil {
				e.t.Fatal(err)
			}
			e.access(e.ola.ID, e.kari.ID, delegation.RelFullmakt, f.ID, start.Add(time.Minute), start.Add(2*time.Minute))
			return []delegation.Notification{
				note(e.kari, given, f.ID, e.ola.ID, "", start, ""),
				note(e.ola, received, f.ID, e.kari.ID, "", start, ""),
				note(e.kari, firstUsed, f.ID, e.ola.ID, "skatteetaten.skattemelding", start.Add(time.Minute), ""),
			}
		},
	}, {
		name: "the use of a consent is told once an Oslo day",
		act: func(e *env) []delegation.Notification {
			c, err := delegation.NewConsent(e.kari, e.lender, e.provider, "tax.income", "Boliglån", delegation.NewDate(2026, 12, 31), false, start)
			if err != nil {
				e.t.Fatalf("NewConsent: %v", err)
			}
			if err := e.store.CreateConsent(e.ctx, c); err != nil {
				e.t.Fatalf("CreateConsent: %v", err)
			}
			morning := time.Date(2026, 3, 10, 9, 0, 0, 0, delegation.Oslo())
			evening := time.Date(2026, 3, 10, 23, 30, 0, 0, delegation.Oslo())
			// Half past midnight in Oslo is still the 10th in UTC.
			afterMidnight := time.Date(2026, 3, 11, 0, 30, 0, 0, delegation.Oslo())
			e.access(e.lender, e.kari.ID, delegation.RelConsent, c.ID, morning, evening, afterMidnight)
			return []delegation.Notification{
				note(e.kari, used, c.ID, e.lender, "skatteetaten.skattemelding", morning, "/2026-03-10"),
				note(e.kari, used, c.ID, e.lender, "skatteetaten.skattemelding", afterMidnight, "/2026-03-11"),
			}
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			want := tt.act(e)
			n, err := e.deriver(e.store).Step(e.ctx)
			if err != nil {
				t.Fatalf("Step: %v", err)
			}
			got := e.notifications()
			if diff := cmp.Diff(want, got, ignoreSeq); diff != "" {
				t.Errorf("notifications after Step (-want +got):\n%s", diff)
			}
			if n != len(want) {
				t.Errorf("Step() = %d, want %d", n, len(want))
			}
		})
	}
}

func TestStepWarnsOfExpiryOnce(t *testing.T) {
	e := newEnv(t)
	d := e.deriver(e.store)
	last := delegation.NewDate(2026, 4, 30)
	ending := e.give(e.kari, e.ola, delegation.Period{To: last}, false)
	revokedOne := e.give(e.kari, e.per, delegation.Period{To: last}, false)
	e.end(revokedOne, e.kari.ID)
	notYet := e.give(e.per, e.ola, delegation.Period{From: last.AddDays(-10), To: last}, false)
	if n := e.step(d); n != 8 {
		t.Fatalf("Step() on the day they were given = %d, want 8 (given, received, revoked)", n)
	}
	expiring := func(f delegation.Fullmakt, grantor, proxy delegation.Person, at time.Time) []delegation.Notification {
		return []delegation.Notification{
			note(grantor, delegation.NoteFullmaktExpiring, f.ID, proxy.ID, "2026-04-30", at, "/2026-04-30"),
			note(proxy, delegation.NoteFullmaktExpiring, f.ID, grantor.ID, "2026-04-30", at, "/2026-04-30"),
		}
	}
	noon := func(d delegation.Date) time.Time { return d.Start().Add(12 * time.Hour) }
	tests := []struct {
		name string
		now  time.Time
		want []delegation.Notification
	}{
		{name: "15 days before the end", now: noon(last.AddDays(-15))},
		{name: "14 days before the end", now: noon(last.AddDays(-14)), want: expiring(ending, e.kari, e.ola, noon(last.AddDays(-14)))},
		{name: "an hour later", now: noon(last.AddDays(-14)).Add(time.Hour)},
		{name: "the next day", now: noon(last.AddDays(-13))},
		{name: "the day the later one begins", now: noon(last.AddDays(-10)), want: expiring(notYet, e.per, e.ola, noon(last.AddDays(-10)))},
		{name: "the last day", now: noon(last)},
		{name: "the day after the end", now: noon(last.AddDays(1))},
	}
	for _, tt := range tests {
		e.clock.Set(tt.now)
		before := len(e.notifications())
		n := e.step(d)
		got := e.notifications()[before:]
		if diff := cmp.Diff(tt.want, got, ignoreSeq, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: Step stored (-want +got):\n%s", tt.name, diff)
		}
		if n != len(tt.want) {
			t.Errorf("%s: Step() = %d, want %d", tt.name, n, len(tt.want))
		}
	}
	// A restart sweeps again at once, and stores nothing new.
	e.clock.Set(noon(last.AddDays(-5)))
	if n := e.step(e.deriver(e.store)); n != 0 {
		t.Errorf("Step() of a new Deriver = %d, want 0", n)
	}
}

func TestStepIsIdempotent(t *testing.T) {
	e := newEnv(t)
	f := e.give(e.kari, e.ola, delegation.Period{To: delegation.Today(start).AddDays(7)}, false)
	e.access(e.ola.ID, e.kari.ID, delegation.RelFullmakt, f.ID, start)
	r := e.request(e.per, e.kari)
	e.end(f, e.kari.ID)

	d := e.deriver(e.store)
	first := e.step(d)
	if want := 2 + 1 + 1 + 2; first != want { // given, received; first used; request; revoked
		t.Fatalf("first Step() = %d, want %d", first, want)
	}
	stored := e.notifications()
	if n := e.step(d); n != 0 {
		t.Errorf("second Step() = %d, want 0", n)
	}
	e.clock.Set(start.Add(25 * time.Hour))
	if n := e.step(e.deriver(e.store)); n != 0 {
		t.Errorf("Step() after a restart = %d, want 0", n)
	}
	if diff := cmp.Diff(stored, e.notifications()); diff != "" {
		t.Errorf("notifications changed by steps that stored nothing (-before +after):\n%s", diff)
	}
	lastChange, err := e.store.LastChange(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]uint64{notify.CursorChanges: lastChange, notify.CursorAccess: 1} {
		if got, err := e.store.Cursor(e.ctx, name); err != nil || got != want {
			t.Errorf("Cursor(%q) = %d, %v, want %d", name, got, err, want)
		}
	}

	// What happens after the restart is derived as before.
	a, err := delegation.Decline(r, e.kari.ID, "", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.AnswerRequest(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	if n := e.step(e.deriver(e.store)); n != 1 {
		t.Errorf("Step() after an answer = %d, want 1", n)
	}
}

// missingFullmakt is the real store with one fullmakt gone, as a damaged or
// hand-edited database might be.
type missingFullmakt struct {
	*bolt.Store
	id string
}

func (s missingFullmakt) Fullmakt(ctx context.Context, id string) (delegation.Fullmakt, error) {
	if id == s.id {
		return delegation.Fullmakt{}, fmt.Errorf("test: fullmakt %s: %w", id, delegation.ErrNotFound)
	}
	return s.Store.Fullmakt(ctx, id)
}

func TestStepSkipsARecordNotFound(t *testing.T) {
	e := newEnv(t)
	lost := e.give(e.kari, e.ola, delegation.Period{}, false)
	kept := e.give(e.kari, e.per, delegation.Period{}, false)
	n, err := e.deriver(missingFullmakt{e.store, lost.ID}).Step(e.ctx)
	if err != nil || n != 2 {
		t.Fatalf("Step() = %d, %v, want 2, nil", n, err)
	}
	for _, got := range e.notifications() {
		if got.Ref != kept.ID {
			t.Errorf("a notification about %s, want only %s", got.Ref, kept.ID)
		}
	}
	if !strings.Contains(e.logs.String(), "not stored; skipped") {
		t.Errorf("no warning of the skipped change in the log:\n%s", e.logs)
	}
	last, _ := e.store.LastChange(e.ctx)
	if got, err := e.store.Cursor(e.ctx, notify.CursorChanges); err != nil || got != last {
		t.Errorf("Cursor(changes) = %d, %v, want %d", got, err, last)
	}
}

// failingOnce is the real store whose first AddNotifications for one cursor
// fails, as a full disk would.
type failingOnce struct {
	*bolt.Store
	cursor string
	failed bool
}

func (s *failingOnce) AddNotifications(ctx context.Context, cursor string, to uint64, ns []delegation.Notification) ([]delegation.Notification, error) {
	if cursor == s.cursor && !s.failed {
		s.failed = true
		return nil, errors.New("test: disk full")
	}
	return s.Store.AddNotifications(ctx, cursor, to, ns)
}

func TestStepCarriesOnAfterAnError(t *testing.T) {
	e := newEnv(t)
	f := e.give(e.kari, e.ola, delegation.Period{}, false)
	e.access(e.ola.ID, e.kari.ID, delegation.RelFullmakt, f.ID, start)
	d := e.deriver(&failingOnce{Store: e.store, cursor: notify.CursorAccess})
	if n, err := d.Step(e.ctx); err == nil || n != 2 {
		t.Errorf("Step() = %d, %v, want 2 and an error", n, err)
	}
	if n, err := d.Step(e.ctx); err != nil || n != 1 {
		t.Errorf("Step() after the error = %d, %v, want 1, nil", n, err)
	}
	if got := len(e.notifications()); got != 3 {
		t.Errorf("%d notifications stored, want 3", got)
	}
}

func TestRunStepsWhenNudged(t *testing.T) {
	e := newEnv(t)
	e.give(e.kari, e.ola, delegation.Period{}, false)
	d := e.deriver(e.store) // its Interval is an hour: only a nudge steps it again
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		d.Run(ctx)
		close(done)
	}()
	waitFor(t, "the first step", func() bool { return len(e.notifications()) == 2 })
	e.give(e.kari, e.per, delegation.Period{}, false)
	d.Nudge()
	waitFor(t, "the nudged step", func() bool { return len(e.notifications()) == 4 })
	cancel()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
