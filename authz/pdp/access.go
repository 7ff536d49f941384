package pdp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// AccessLog is where decisions are recorded; delegation.Store satisfies it.
type AccessLog interface {
	AppendAccess(ctx context.Context, events []delegation.AccessEvent) error
}

// maxBatch bounds the events written in one transaction.
const maxBatch = 512

// accessWriter appends decision-log events in the background, many per
// transaction, so a decision never waits for a disk sync. Events wait in a
// bounded queue; when it is full, add blocks (back-pressure rather than loss).
type accessWriter struct {
	log   AccessLog
	queue chan delegation.AccessEvent
	done  chan struct{}
	errs  *slog.Logger

	mu     sync.RWMutex // held for reading while sending; Close takes it to close queue
	closed bool
}

func newAccessWriter(l AccessLog, size int, errs *slog.Logger) *accessWriter {
	if size <= 0 {
		size = 8192
	}
	w := &accessWriter{log: l, queue: make(chan delegation.AccessEvent, size), done: make(chan struct{}), errs: errs}
	go w.run()
	return w
}

func (w *accessWriter) add(ctx context.Context, ev delegation.AccessEvent) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		w.errs.LogAttrs(ctx, slog.LevelError, "decision log closed; event not recorded", slog.String("service", ev.Service))
		return
	}
	// One invalid event must not fail the batch it would be written with.
	if err := ev.Validate(); err != nil {
		w.errs.LogAttrs(ctx, slog.LevelError, "decision log: invalid event not recorded", slog.Any("error", err))
		return
	}
	w.queue <- ev
}

func (w *accessWriter) run() {
	defer close(w.done)
	batch := make([]delegation.AccessEvent, 0, maxBatch)
	for ev := range w.queue {
		batch = append(batch[:0], ev)
	drain:
		for len(batch) < maxBatch {
			select {
			case ev, ok := <-w.queue:
				if !ok {
					break drain
				}
				batch = append(batch, ev)
			default:
				break drain
			}
		}
		w.write(batch)
	}
}

// write appends a batch, retrying a failing store a few times before giving up
// on it (and saying so in the log).
func (w *accessWriter) write(batch []delegation.AccessEvent) {
	var err error
	for attempt, wait := 0, 10*time.Millisecond; attempt < 5; attempt, wait = attempt+1, wait*4 {
		if err = w.log.AppendAccess(context.Background(), batch); err == nil || errors.Is(err, delegation.ErrInvalid) {
			break
		}
		time.Sleep(wait)
	}
	if err == nil {
		return
	}
	w.errs.Error("decision log: events lost", slog.Int("events", len(batch)), slog.Any("error", err))
}

func (w *accessWriter) close(ctx context.Context) error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
