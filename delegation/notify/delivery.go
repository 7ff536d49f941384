package notify

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Sender delivers one notification outside Fullmakt. Webhook is one; an email
// or digital post (Digipost, e-Boks) adapter is another, behind the same
// interface, run by its own Delivery with its own cursor.
type Sender interface {
	// Send delivers n, or returns an error when it is not known to be delivered;
	// then the same notification is sent again later, so a receiver may see one
	// twice and must deduplicate on its Seq. Send must respect ctx.
	Send(ctx context.Context, n delegation.Notification) error
}

// Outbox is what a Delivery reads: the notifications in order and its cursor.
// Every delegation.Store is one.
type Outbox interface {
	NotificationsAfter(ctx context.Context, after uint64, limit int) ([]delegation.Notification, error)
	Cursor(ctx context.Context, name string) (uint64, error)
	SetCursor(ctx context.Context, name string, to uint64) error
}

var _ Outbox = delegation.Store(nil)

// DeliveryOptions configure a Delivery. The zero value works.
type DeliveryOptions struct {
	// Log receives the failed attempts (seq, attempt, error) and errors of the
	// store; slog.Default() when nil.
	Log *slog.Logger
	// Poll is how often Run looks for new notifications; 1s when zero.
	Poll time.Duration
	// MinBackoff is the wait after a first failed attempt, doubled after each
	// further one up to MaxBackoff, plus up to half again of jitter (capped at
	// MaxBackoff). 1s and 5m when zero.
	MinBackoff, MaxBackoff time.Duration
}

// Delivery hands the outbox to a Sender strictly in Seq order, at least once:
// the cursor moves past a notification only once the Sender has delivered it,
// and a failed notification is retried, with backoff, until it is delivered.
// It never skips one, so a receiver that stays down holds up those behind it.
type Delivery struct {
	outbox Outbox
	cursor string
	sender Sender
	opts   DeliveryOptions
	nudge  chan struct{}
}

// NewDelivery returns a Delivery of outbox to sender that keeps its place in
// the cursor named cursor (each Sender has its own).
func NewDelivery(outbox Outbox, cursor string, sender Sender, opts DeliveryOptions) *Delivery {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	return &Delivery{outbox: outbox, cursor: cursor, sender: sender, opts: opts, nudge: make(chan struct{}, 1)}
}

// Nudge asks Run to look at the outbox now rather than at the next poll. It
// never blocks.
func (d *Delivery) Nudge() {
	select {
	case d.nudge <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: everything after the cursor, then whatever
// arrives, looking every Poll and when nudged. Errors of the store are logged
// and tried again at the next poll.
func (d *Delivery) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		if err := d.drain(ctx); err != nil && ctx.Err() == nil {
			d.opts.Log.Error("notify: read the outbox", "cursor", d.cursor, "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.nudge:
		}
	}
}

// drain delivers every notification after the cursor, one at a time, moving the
// cursor past each once it is delivered. It returns when the outbox is empty,
// ctx ends, or the store fails.
func (d *Delivery) drain(ctx context.Context) error {
	after, err := d.outbox.Cursor(ctx, d.cursor)
	if err != nil {
		return err
	}
	for {
		ns, err := d.outbox.NotificationsAfter(ctx, after, pageSize)
		if err != nil || len(ns) == 0 {
			return err
		}
		for _, n := range ns {
			if err := d.deliver(ctx, n); err != nil {
				return err
			}
			// Delivered: record it even if ctx has just ended, so a restart does
			// not send it again.
			if err := d.outbox.SetCursor(context.WithoutCancel(ctx), d.cursor, n.Seq); err != nil {
				return err
			}
			after = n.Seq
		}
	}
}

// deliver sends n until the Sender succeeds, waiting longer after each failure.
// It returns only when n is delivered (nil) or ctx ends (its error).
func (d *Delivery) deliver(ctx context.Context, n delegation.Notification) error {
	for attempt := 1; ; attempt++ {
		err := d.sender.Send(ctx, n)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := d.backoff(attempt)
		d.opts.Log.Warn("notify: delivery failed; will retry", "cursor", d.cursor, "seq", n.Seq,
			"attempt", attempt, "retry_in", wait, "error", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// backoff returns the wait after the given failed attempt: MinBackoff doubled
// for each attempt after the first, up to MaxBackoff, plus a random part of up
// to half of that so that retries spread out, capped at MaxBackoff.
func (d *Delivery) backoff(attempt int) time.Duration {
	base := d.opts.MinBackoff
	for i := 1; i < attempt && base < d.opts.MaxBackoff; i++ {
		base *= 2
	}
	base = min(base, d.opts.MaxBackoff)
	return min(base+rand.N(base/2+1), d.opts.MaxBackoff)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
