package notify

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// The cursors this package keeps in the store.
const (
	// CursorChanges is the Deriver's place in the change sequence.
	CursorChanges = "changes"
	// CursorAccess is the Deriver's place in the decision log.
	CursorAccess = "access"
	// CursorWebhook is the Webhook's place in the outbox.
	CursorWebhook = "webhook"
)

// pageSize is how many changes, access events or notifications are read, and
// stored, at a time.
const pageSize = 500

// Store is what the Deriver reads and writes: the parts of delegation.Store it
// needs. Every delegation.Store is one.
type Store interface {
	Changes(ctx context.Context, after uint64, limit int) ([]delegation.Change, error)
	Fullmakt(ctx context.Context, id string) (delegation.Fullmakt, error)
	Request(ctx context.Context, id string) (delegation.Request, error)
	AccessAfter(ctx context.Context, after uint64, limit int) ([]delegation.AccessEvent, error)
	FullmakterEnding(ctx context.Context, from, to delegation.Date) ([]delegation.Fullmakt, error)
	AddNotifications(ctx context.Context, cursor string, to uint64, ns []delegation.Notification) ([]delegation.Notification, error)
	Cursor(ctx context.Context, name string) (uint64, error)
}

var _ Store = delegation.Store(nil)

// DeriverOptions configure a Deriver. The zero value works.
type DeriverOptions struct {
	// Log receives warnings and errors; slog.Default() when nil.
	Log *slog.Logger
	// Now is the clock the calendar sweep runs on; time.Now when nil.
	Now func() time.Time
	// Interval is how often Run looks for new changes and access events; 1s when
	// zero.
	Interval time.Duration
	// Sweep is how often Run looks for fullmakter about to expire (and at least
	// once each Oslo day); 1h when zero.
	Sweep time.Duration
	// Stored, when set, is called after a step of Run that stored notifications:
	// cmd nudges the webhook with it, so a notification leaves at once.
	Stored func(n int)
}

// Deriver turns the change sequence, the decision log and the calendar into
// notifications (see the rules in rules.go). Its methods are safe for
// concurrent use; one Deriver per store is enough, and two do no harm, since
// the store never keeps a notification twice.
type Deriver struct {
	store    Store
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	sweep    time.Duration
	stored   func(n int)
	nudge    chan struct{}

	mu        sync.Mutex // serialises Step
	lastSweep time.Time  // when the calendar was last swept; zero before the first
}

// NewDeriver returns a Deriver over store.
func NewDeriver(store Store, opts DeriverOptions) *Deriver {
	d := &Deriver{store: store, log: opts.Log, now: opts.Now, interval: opts.Interval, sweep: opts.Sweep, stored: opts.Stored, nudge: make(chan struct{}, 1)}
	if d.log == nil {
		d.log = slog.Default()
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.interval <= 0 {
		d.interval = time.Second
	}
	if d.sweep <= 0 {
		d.sweep = time.Hour
	}
	return d
}

// Nudge asks Run to step now rather than at the next tick: the portal calls it
// after a write so that the person's notifications show at once. It never
// blocks.
func (d *Deriver) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Run steps until ctx ends: every Interval, and when nudged. An error is logged
// and the step tried again at the next tick; nothing is skipped.
func (d *Deriver) Run(ctx context.Context) {
	t := time.NewTicker(d.interval)
	defer t.Stop()
	for {
		n, err := d.Step(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Error("notify: derive notifications", "error", err)
		}
		if n > 0 && d.stored != nil {
			d.stored(n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.nudge:
		}
	}
}

// Step does one pass: the changes after the changes cursor, the access events
// after the access cursor, then the calendar sweep when it is due. It returns how
// many notifications it stored. After an error, what was stored stays stored and
// the next Step carries on from there.
func (d *Deriver) Step(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fromChanges, err := follow(ctx, d, CursorChanges, d.store.Changes, func(c delegation.Change) uint64 { return c.Seq }, d.fromChange)
	if err != nil {
		return fromChanges, err
	}
	fromAccess, err := follow(ctx, d, CursorAccess, d.store.AccessAfter, func(e delegation.AccessEvent) uint64 { return e.Seq }, d.fromAccess)
	stored := fromChanges + fromAccess
	if err != nil {
		return stored, err
	}
	swept, err := d.sweepIfDue(ctx)
	return stored + swept, err
}

// follow reads the records after the named cursor a page at a time, derives the
// notifications of each, and stores a page's notifications together with the
// cursor moved past it. It returns how many notifications it stored.
func follow[T any](ctx context.Context, d *Deriver, cursor string,
	read func(ctx context.Context, after uint64, limit int) ([]T, error),
	seq func(T) uint64,
	derive func(context.Context, T) ([]delegation.Notification, error),
) (int, error) {
	after, err := d.store.Cursor(ctx, cursor)
	if err != nil {
		return 0, err
	}
	stored := 0
	for {
		page, err := read(ctx, after, pageSize)
		if err != nil || len(page) == 0 {
			return stored, err
		}
		var ns []delegation.Notification
		for _, rec := range page {
			more, err := derive(ctx, rec)
			if err != nil {
				return stored, err
			}
			ns = append(ns, more...)
		}
		after = seq(page[len(page)-1])
		added, err := d.store.AddNotifications(ctx, cursor, after, d.valid(ns))
		stored += len(added)
		if err != nil || len(page) < pageSize {
			return stored, err
		}
	}
}

// fromChange derives the notifications of one change, reading the record it
// names. A record that is not stored is skipped with a warning: retrying would
// stop every notification behind it.
func (d *Deriver) fromChange(ctx context.Context, c delegation.Change) ([]delegation.Notification, error) {
	var ns []delegation.Notification
	var err error
	switch c.Kind {
	case delegation.ChangeFullmaktCreated, delegation.ChangeFullmaktRevoked, delegation.ChangeFullmaktRenounced:
		var f delegation.Fullmakt
		if f, err = d.store.Fullmakt(ctx, c.Ref); err == nil {
			ns = fullmaktNotes(c, f)
		}
	case delegation.ChangeRequestCreated, delegation.ChangeRequestApproved, delegation.ChangeRequestDeclined:
		var r delegation.Request
		if r, err = d.store.Request(ctx, c.Ref); err == nil {
			ns = requestNotes(c, r)
		}
	}
	if errors.Is(err, delegation.ErrNotFound) {
		d.log.Warn("notify: a change names a record that is not stored; skipped", "change", c)
		return nil, nil
	}
	return ns, err
}

// fromAccess derives the notifications of one decision.
func (d *Deriver) fromAccess(_ context.Context, e delegation.AccessEvent) ([]delegation.Notification, error) {
	return accessNotes(e), nil
}

// sweepIfDue stores the expiry notices of the fullmakter that end within
// ExpiringNotice days, when Sweep has passed since the last sweep or the Oslo
// day has changed. The keys make a second sweep store nothing new.
func (d *Deriver) sweepIfDue(ctx context.Context) (int, error) {
	now := d.now()
	today := delegation.Today(now)
	if !d.lastSweep.IsZero() && now.Sub(d.lastSweep) < d.sweep && delegation.Today(d.lastSweep) == today {
		return 0, nil
	}
	ending, err := d.store.FullmakterEnding(ctx, today, today.AddDays(delegation.ExpiringNotice))
	if err != nil {
		return 0, err
	}
	var ns []delegation.Notification
	for _, f := range ending {
		if f.InForceOn(today) {
			ns = append(ns, expiringNotes(f, now)...)
		}
	}
	ns = d.valid(ns)
	stored := 0
	for start := 0; start < len(ns); start += pageSize {
		added, err := d.store.AddNotifications(ctx, "", 0, ns[start:min(start+pageSize, len(ns))])
		stored += len(added)
		if err != nil {
			return stored, err
		}
	}
	d.lastSweep = now
	return stored, nil
}

// valid returns ns without the notifications the store would refuse (logged and
// skipped, so that one bad record cannot hold up the rest) and without repeats
// of a (person, key) within ns.
func (d *Deriver) valid(ns []delegation.Notification) []delegation.Notification {
	type id struct {
		person delegation.PartyID
		key    string
	}
	seen := make(map[id]bool, len(ns))
	out := ns[:0]
	for _, n := range ns {
		if err := n.Validate(); err != nil {
			d.log.Warn("notify: derived notification is invalid; skipped", "notification", n, "error", err)
			continue
		}
		if k := (id{n.Person, n.Key}); !seen[k] {
			seen[k] = true
			out = append(out, n)
		}
	}
	return out
}
