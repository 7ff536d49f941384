package authzen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Defaults of FeedOptions.
const (
	DefaultFeedPoll       = 100 * time.Millisecond
	DefaultFeedKeepAlive  = 15 * time.Second
	DefaultFeedMaxStreams = 1000
)

// The reasons of a reset event: the enforcement point drops every decision it
// holds.
const (
	// ResetPolicy: the policy pack was reloaded.
	ResetPolicy = "policy"
	// ResetDay: midnight in Oslo, when ages and fullmakt periods turn.
	ResetDay = "day"
	// ResetGap: the stream resumed after a sequence number the store has not
	// reached (it was restored from a backup, say): what happened in between is
	// unknown.
	ResetGap = "gap"
	// ResetBulk: one read of changes named more parties than a changes event
	// carries.
	ResetBulk = "bulk"
)

// Limits of the stream, part of the wire contract.
const (
	// feedBatch is how many changes one read, and one changes event, covers.
	feedBatch = 1000
	// feedMaxTags is the most party tags a changes event names; a read naming
	// more is sent as a reset (bulk): at that point dropping everything costs
	// the enforcement point little more.
	feedMaxTags = 4096
	// feedRetry is the reconnection delay, in milliseconds, the stream asks for.
	feedRetry = 1000
	// feedWriteTimeout bounds each write to a stream: a client that stops
	// reading is dropped, whatever the server's WriteTimeout.
	feedWriteTimeout = 30 * time.Second
)

// PartyTag is what the change feed says of a party: the lowercase hex of the
// first two bytes of the SHA-256 of its identity or organisation number. 65,536
// tags: each is shared by many people, so the feed does not tell who changed, and
// an enforcement point that drops the decisions of everyone with a tag drops a
// few too many, never too few.
func PartyTag(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:2])
}

// FeedOptions configure a Feed. The zero value works.
type FeedOptions struct {
	// Poll is how often Run looks for new changes (default 100 ms); Nudge makes
	// it look at once.
	Poll time.Duration
	// KeepAlive is how often a stream gets a comment line, so that proxies and
	// clients see it is alive (default 15 s).
	KeepAlive time.Duration
	// MaxStreams bounds the streams open at once (default 1000); one more is a 503.
	MaxStreams int
	// Now is the clock of the day turn (default time.Now).
	Now func() time.Time
	// Log receives the errors of the store (default slog.Default()).
	Log *slog.Logger
	// Location is where the day turns (default Europe/Oslo).
	Location *time.Location
}

// Feed tells enforcement points which parties' relations changed, so that they
// drop the decisions they cached for them: it follows the store's change
// sequence and serves it as server-sent events (see the package documentation).
// Run watches the store and wakes every stream when something changed; each
// stream then reads the store itself, from where it is. It is safe for
// concurrent use.
type Feed struct {
	src        delegation.ChangeStore
	poll       time.Duration
	keepAlive  time.Duration
	maxStreams int64
	now        func() time.Time
	log        *slog.Logger
	loc        *time.Location
	// batch and maxTags are feedBatch and feedMaxTags; tests lower them.
	batch, maxTags int

	nudge   chan struct{}
	done    chan struct{} // closed by Close
	closing sync.Once
	streams atomic.Int64

	mu sync.Mutex
	// wake is closed, and replaced, when the store has new changes or a reset
	// happened: every stream waits on it.
	wake   chan struct{}
	resets uint64 // how many resets so far
	reason string // of the latest reset
}

// NewFeed returns a feed of src's changes. Run it, and Close it when the server
// shuts down (http.Server.RegisterOnShutdown): streams never end by themselves.
func NewFeed(src delegation.ChangeStore, opts FeedOptions) *Feed {
	f := &Feed{
		src: src, poll: opts.Poll, keepAlive: opts.KeepAlive, maxStreams: int64(opts.MaxStreams),
		now: opts.Now, log: opts.Log, loc: opts.Location, batch: feedBatch, maxTags: feedMaxTags,
		nudge: make(chan struct{}, 1), done: make(chan struct{}), wake: make(chan struct{}),
	}
	if f.poll <= 0 {
		f.poll = DefaultFeedPoll
	}
	if f.keepAlive <= 0 {
		f.keepAlive = DefaultFeedKeepAlive
	}
	if f.maxStreams <= 0 {
		f.maxStreams = DefaultFeedMaxStreams
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.loc == nil {
		f.loc = delegation.Oslo()
	}
	return f
}

// Nudge makes Run look at the store now rather than at the next poll: call it
// after a write. It never blocks.
func (f *Feed) Nudge() {
	select {
	case f.nudge <- struct{}{}:
	default:
	}
}

// Run watches the store's last sequence number, every Poll and when nudged, and
// wakes the streams when it moves; at midnight in Location it resets them (day).
// It returns when ctx ends or the feed is closed. An error of the store is
// logged and tried again at the next poll.
func (f *Feed) Run(ctx context.Context) {
	t := time.NewTicker(f.poll)
	defer t.Stop()
	var last uint64
	seen := false
	day := f.day()
	for {
		switch seq, err := f.src.LastChange(ctx); {
		case err != nil:
			if ctx.Err() == nil {
				f.log.Error("authzen: the change feed cannot read the store", "error", err)
			}
		case !seen || seq != last:
			last, seen = seq, true
			f.broadcast(nil)
		}
		if d := f.day(); d != day {
			day = d
			f.Reset(ResetDay)
		}
		select {
		case <-ctx.Done():
			return
		case <-f.done:
			return
		case <-t.C:
		case <-f.nudge:
		}
	}
}

// day is today's date in the feed's location.
func (f *Feed) day() [3]int {
	y, m, d := f.now().In(f.loc).Date()
	return [3]int{y, int(m), d}
}

// Reset tells every open stream to drop everything, for reason (ResetPolicy
// when the policy pack is reloaded). Streams opened later do not get it: a
// client drops everything when it connects anyway.
func (f *Feed) Reset(reason string) {
	f.broadcast(func() {
		f.resets++
		f.reason = reason
	})
}

// broadcast wakes every stream, after running change, when given, under the lock.
func (f *Feed) broadcast(change func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if change != nil {
		change()
	}
	close(f.wake)
	f.wake = make(chan struct{})
}

// state returns what a stream waits on and the resets so far.
func (f *Feed) state() (wake <-chan struct{}, resets uint64, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wake, f.resets, f.reason
}

// Close ends every open stream and refuses new ones (503), so that the server
// can shut down: pass it to http.Server.RegisterOnShutdown. Run returns too.
func (f *Feed) Close() {
	f.closing.Do(func() { close(f.done) })
}

// closed reports whether Close has been called.
func (f *Feed) closed() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// handleChanges is the change feed: GET /access/v1/changes, authenticated as the
// other endpoints are. It resumes after the sequence number in Last-Event-ID or,
// without it, ?after=; with neither it starts from now.
func (a *API) handleChanges(f *Feed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		echoRequestID(w, r)
		if r.Method != http.MethodGet { // the GET pattern takes HEAD too
			a.methodNotAllowed(http.MethodGet).ServeHTTP(w, r)
			return
		}
		client, ok := a.authenticate(w, r)
		if !ok {
			return
		}
		after, resume, fe := resumeAfter(r)
		if fe != nil {
			badRequest(w, fe)
			return
		}
		if f.closed() {
			problem(w, http.StatusServiceUnavailable, "the server is shutting down; connect again", "")
			return
		}
		if f.streams.Add(1) > f.maxStreams {
			f.streams.Add(-1)
			w.Header().Set("Retry-After", "10")
			problem(w, http.StatusServiceUnavailable, "too many change streams are open; try again later", "")
			return
		}
		defer f.streams.Add(-1)

		// The resets before the stream began are not its own: its hello stands
		// for them.
		_, resets, _ := f.state()
		last, err := f.src.LastChange(r.Context())
		if err != nil {
			a.streamError(r, client, err)
			problem(w, http.StatusInternalServerError, "the change feed is unavailable; try again later", "")
			return
		}
		s := &stream{f: f, w: w, rc: http.NewResponseController(w), ctx: r.Context(), seq: last, resets: resets}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("X-Accel-Buffering", "no") // nginx: pass every event on at once
		h.Set("X-Content-Type-Options", "nosniff")
		// The server's ReadTimeout does not end the stream (net/http lifts the
		// read deadline once the request is read); its WriteTimeout would, so
		// send sets a deadline of its own before each write. A client that goes
		// away is noticed by the failed write of an event or keep-alive.
		w.WriteHeader(http.StatusOK)

		gap := resume && after > last
		if resume && !gap {
			s.seq = after
		}
		s.buf = append(s.buf, "retry: "+strconv.Itoa(feedRetry)+"\n\n"...)
		s.event("hello", struct {
			Seq uint64 `json:"seq"`
		}{s.seq})
		if gap {
			s.reset(ResetGap)
		}
		if err := s.run(); err != nil && r.Context().Err() == nil && !f.closed() {
			a.streamError(r, client, err)
		}
	})
}

// resumeAfter reads the sequence number a stream resumes after: Last-Event-ID
// (what an EventSource sends when it reconnects), else ?after=. False when
// neither is given.
func resumeAfter(r *http.Request) (uint64, bool, *fieldError) {
	field, v := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if v == "" {
		field = "after"
		if !r.URL.Query().Has("after") {
			return 0, false, nil
		}
		v = r.URL.Query().Get("after")
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, false, badField(field, "must be a change sequence number (decimal digits)")
	}
	return n, true, nil
}

// streamError logs a failure of the store or of the connection; err holds no
// identity number.
func (a *API) streamError(r *http.Request, client Client, err error) {
	a.log.LogAttrs(r.Context(), slog.LevelWarn, "authzen: the change stream ended",
		slog.String("client", client.ID), slog.String("request_id", r.Header.Get("X-Request-ID")),
		slog.String("error", err.Error()))
}

// stream is one client's change stream.
type stream struct {
	f      *Feed
	w      http.ResponseWriter
	rc     *http.ResponseController
	ctx    context.Context
	seq    uint64 // the last change sequence number the client has been told of
	resets uint64 // the feed's resets the client has been told of
	buf    []byte // events not yet written
}

// run sends what happens until the client goes away or the feed closes: the
// changes after seq as the store gets them, the resets, and a keep-alive every
// KeepAlive.
func (s *stream) run() error {
	keepAlive := time.NewTicker(s.f.keepAlive)
	defer keepAlive.Stop()
	for {
		// Take the wake channel before reading the store: whatever is written
		// after the read closes it.
		wake, resets, reason := s.f.state()
		if resets != s.resets {
			s.resets = resets
			s.reset(reason)
		}
		if err := s.catchUp(); err != nil {
			return err
		}
		if err := s.send(); err != nil {
			return err
		}
		select {
		case <-s.ctx.Done():
			return nil
		case <-s.f.done:
			return nil
		case <-wake:
		case <-keepAlive.C:
			s.buf = append(s.buf, ": keep-alive\n\n"...)
		}
	}
}

// catchUp sends the changes after seq, one event per read of up to batch
// changes.
func (s *stream) catchUp() error {
	last, err := s.f.src.LastChange(s.ctx)
	if err != nil {
		return err
	}
	if last < s.seq { // the store went back: what the client holds is unknown
		s.seq = last
		s.reset(ResetGap)
		return nil
	}
	for s.seq < last {
		cs, err := s.f.src.Changes(s.ctx, s.seq, s.f.batch)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			return nil
		}
		s.seq = cs[len(cs)-1].Seq
		if tags := partyTags(cs); len(tags) > s.f.maxTags {
			s.reset(ResetBulk)
		} else {
			s.event("changes", struct {
				Seq     uint64   `json:"seq"`
				Parties []string `json:"parties"`
			}{s.seq, tags})
		}
		if err := s.send(); err != nil {
			return err
		}
	}
	return nil
}

// partyTags returns the tags of every party of cs, each once, sorted.
func partyTags(cs []delegation.Change) []string {
	seen := map[string]bool{}
	tags := []string{}
	for _, c := range cs {
		for _, p := range c.Parties {
			if t := PartyTag(string(p)); !seen[t] {
				seen[t] = true
				tags = append(tags, t)
			}
		}
	}
	slices.Sort(tags)
	return tags
}

// reset adds a reset event for reason at seq.
func (s *stream) reset(reason string) {
	s.event("reset", struct {
		Seq    uint64 `json:"seq"`
		Reason string `json:"reason"`
	}{s.seq, reason})
}

// event adds an event named name, with id seq and data v, to the buffer.
func (s *stream) event(name string, v any) {
	data, _ := json.Marshal(v) // the event types always marshal
	s.buf = append(s.buf, "event: "+name+"\nid: "...)
	s.buf = strconv.AppendUint(s.buf, s.seq, 10)
	s.buf = append(s.buf, "\ndata: "...)
	s.buf = append(s.buf, data...)
	s.buf = append(s.buf, "\n\n"...)
}

// send writes the buffered events and flushes them to the client, with a write
// deadline of its own: the server's WriteTimeout would end the stream.
func (s *stream) send() error {
	if len(s.buf) == 0 {
		return nil
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(feedWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		return err
	}
	return s.rc.Flush()
}
