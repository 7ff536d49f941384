package idp

import (
	"context"
	"log/slog"
	"sync"

	"github.com/fullmakt/fullmakt/idp/grants"
)

// writeBehind writes the records of clients' own access tokens (client credentials)
// behind the response, many to a commit, instead of making every token wait for an
// fsync of its own. Until a record is written it is served from memory, so an
// introspection or a revocation right after issuance sees it.
//
// What a crash can lose: the records of the tokens issued in the last few
// milliseconds. Those tokens then introspect as inactive (failing closed) and
// cannot be revoked one by one; their JWTs still verify at resource servers until
// they expire, as any JWT does until its revocation is seen. Removing the client
// from the clients file stops them everywhere introspection is used. Tokens issued
// to people are written before the response, always.
type writeBehind struct {
	store grants.Store
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]grants.Record // key → record, until written
	queue   []grants.Record
	wake    chan struct{}

	// writing is held while a batch is written, so that a deletion can wait for
	// a write in flight and then delete what it wrote.
	writing sync.Mutex
	done    chan struct{}
	stopped chan struct{}
}

// maxBehind bounds the records waiting to be written; past it, issuance writes
// synchronously (back-pressure rather than unbounded memory).
const maxBehind = 65536

func newWriteBehind(store grants.Store, log *slog.Logger) *writeBehind {
	w := &writeBehind{
		store: store, log: log, pending: map[string]grants.Record{},
		wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
	}
	go w.run()
	return w
}

// put queues r; false when the queue is full and the caller must write itself.
func (w *writeBehind) put(r grants.Record) bool {
	w.mu.Lock()
	if len(w.pending) >= maxBehind {
		w.mu.Unlock()
		return false
	}
	w.pending[r.Key] = r
	w.queue = append(w.queue, r)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return true
}

// get returns a record not yet written.
func (w *writeBehind) get(key string) (grants.Record, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	r, ok := w.pending[key]
	return r, ok
}

// drop forgets the pending records with key (when key is not empty) or of the
// grant requestID, after any write in flight has finished: the caller then
// deletes from the store, and nothing written later brings them back.
func (w *writeBehind) drop(key, requestID string) {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	keep := w.queue[:0]
	for _, r := range w.queue {
		if r.Key == key || requestID != "" && r.RequestID == requestID {
			delete(w.pending, r.Key)
			continue
		}
		keep = append(keep, r)
	}
	w.queue = keep
}

func (w *writeBehind) run() {
	defer close(w.stopped)
	for {
		select {
		case <-w.wake:
			w.flush()
		case <-w.done:
			w.flush()
			return
		}
	}
}

// flush writes everything queued, in one commit per round; whatever arrives
// during a commit goes in the next.
func (w *writeBehind) flush() {
	for {
		w.writing.Lock()
		w.mu.Lock()
		batch := w.queue
		w.queue = nil
		w.mu.Unlock()
		if len(batch) == 0 {
			w.writing.Unlock()
			return
		}
		ops := make([]grants.Op, len(batch))
		for i, r := range batch {
			ops[i] = grants.Put(r)
		}
		err := w.store.ApplyGrants(context.Background(), ops...)
		w.mu.Lock()
		if err != nil {
			// Keep them pending and try again with the next round.
			w.queue = append(batch, w.queue...)
		} else {
			for _, r := range batch {
				delete(w.pending, r.Key)
			}
		}
		w.mu.Unlock()
		w.writing.Unlock()
		if err != nil {
			w.log.Error("idp: write access token records", "n", len(batch), "err", err)
			return
		}
	}
}

// close writes what is pending and stops the writer.
func (w *writeBehind) close() {
	select {
	case <-w.done:
	default:
		close(w.done)
	}
	<-w.stopped
}
