package notify_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/notify"
)

// start is the time every test begins at: a Tuesday noon in Oslo.
var start = time.Date(2026, 3, 10, 12, 0, 0, 0, delegation.Oslo())

// env is a store in t.TempDir() holding three adults, a clock the test moves, and
// a logger whose output is checked for identity numbers when the test ends.
type env struct {
	t                *testing.T
	ctx              context.Context
	store            *bolt.Store
	clock            *clock
	log              *slog.Logger
	logs             *lockedBuffer
	kari, ola, per   delegation.Person
	lender, provider delegation.PartyID // organisations, for consents
}

func newEnv(t *testing.T) *env {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "fullmakt.db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	logs := &lockedBuffer{}
	e := &env{
		t: t, ctx: context.Background(), store: store, clock: &clock{now: start}, logs: logs,
		log:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		kari: person(t, "Kari Nordmann", delegation.NewDate(1950, 5, 17)),
		ola:  person(t, "Ola Nordmann", delegation.NewDate(1980, 1, 2)),
		per:  person(t, "Per Hansen", delegation.NewDate(1985, 8, 9)),
	}
	e.lender, e.provider = organization(t, 91000000), organization(t, 92000000)
	err = store.UpdateRegister(e.ctx, func(tx delegation.RegisterTx) error {
		for _, p := range []delegation.Person{e.kari, e.ola, e.per} {
			if err := tx.PutPerson(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		out := logs.String()
		for _, p := range []delegation.Person{e.kari, e.ola, e.per} {
			if strings.Contains(out, string(p.ID)) {
				t.Errorf("the log holds an identity number:\n%s", out)
			}
		}
	})
	return e
}

// person returns a person with a synthetic identity number born on birth.
func person(t *testing.T, name string, birth delegation.Date) delegation.Person {
	t.Helper()
	for ind := 0; ind < 1000; ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
			return delegation.Person{ID: id, Name: name, BirthDate: birth}
		}
	}
	t.Fatalf("no identity number for %s", birth)
	return delegation.Person{}
}

// organization returns the first valid organisation number from base.
func organization(t *testing.T, base int) delegation.PartyID {
	t.Helper()
	for b := base; b < base+100; b++ {
		if id, ok := delegation.OrganizationNumber(b); ok {
			return id
		}
	}
	t.Fatalf("no organisation number from %d", base)
	return ""
}

// deriver returns a Deriver over store (the env's, or a wrapper of it) with the
// env's clock and logger. Run steps only when nudged.
func (e *env) deriver(store notify.Store) *notify.Deriver {
	return notify.NewDeriver(store, notify.DeriverOptions{Log: e.log, Now: e.clock.Now, Interval: time.Hour})
}

// step runs one Step of d and returns how many notifications it stored.
func (e *env) step(d *notify.Deriver) int {
	e.t.Helper()
	n, err := d.Step(e.ctx)
	if err != nil {
		e.t.Fatalf("Step: %v", err)
	}
	return n
}

// give stores a fullmakt for the tax area from grantor to proxy, given now.
func (e *env) give(grantor, proxy delegation.Person, period delegation.Period, maySubdelegate bool) delegation.Fullmakt {
	e.t.Helper()
	f, err := delegation.Give(delegation.NewFullmakt{
		Grantor: grantor, Proxy: proxy, Scope: delegation.Scope{Areas: []string{"tax"}},
		Period: period, MaySubdelegate: maySubdelegate, ConfirmedACR: "high",
	}, e.clock.Now())
	if err != nil {
		e.t.Fatalf("Give: %v", err)
	}
	if err := e.store.CreateFullmakt(e.ctx, f); err != nil {
		e.t.Fatalf("CreateFullmakt: %v", err)
	}
	return f
}

// end revokes or renounces f as by.
func (e *env) end(f delegation.Fullmakt, by delegation.PartyID) {
	e.t.Helper()
	end, err := delegation.MayEnd(f, by, e.kari, nil, e.clock.Now())
	if err != nil {
		e.t.Fatalf("MayEnd: %v", err)
	}
	if _, err := e.store.EndFullmakt(e.ctx, end); err != nil {
		e.t.Fatalf("EndFullmakt: %v", err)
	}
}

// request stores a request from requester to grantor, made now.
func (e *env) request(requester, grantor delegation.Person) delegation.Request {
	e.t.Helper()
	r, err := delegation.NewRequest(requester, grantor, delegation.Scope{Areas: []string{"tax"}}, delegation.Period{}, "Kan du hjelpe meg?", e.clock.Now())
	if err != nil {
		e.t.Fatalf("NewRequest: %v", err)
	}
	if err := e.store.CreateRequest(e.ctx, r); err != nil {
		e.t.Fatalf("CreateRequest: %v", err)
	}
	return r
}

// access appends allowed decisions: actor acted for party through the relation.
func (e *env) access(actor, party delegation.PartyID, rel delegation.RelationKind, id string, at ...time.Time) {
	e.t.Helper()
	var events []delegation.AccessEvent
	for _, t := range at {
		events = append(events, delegation.AccessEvent{
			At: t, Actor: actor, Party: party, Service: "skatteetaten.skattemelding", Action: "read",
			Allowed: true, Relation: rel, RelationID: id, PolicyVersion: "test", Client: "test-client",
		})
	}
	if err := e.store.AppendAccess(e.ctx, events); err != nil {
		e.t.Fatalf("AppendAccess: %v", err)
	}
}

// notifications returns every stored notification, in order.
func (e *env) notifications() []delegation.Notification {
	e.t.Helper()
	ns, err := e.store.NotificationsAfter(e.ctx, 0, 10000)
	if err != nil {
		e.t.Fatalf("NotificationsAfter: %v", err)
	}
	return ns
}

// note is a wanted notification with the key "<kind>/<ref>" (plus suffix).
func note(person delegation.Person, kind delegation.NotificationKind, ref string, other delegation.PartyID, detail string, at time.Time, keySuffix string) delegation.Notification {
	return delegation.Notification{
		Person: person.ID, Kind: kind, Ref: ref, Other: other, Detail: detail, At: at,
		Key: string(kind) + "/" + ref + keySuffix,
	}
}

// waitFor polls cond until it holds, failing the test after a generous while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// clock is a clock the test sets.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// lockedBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
