package sdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The change feed: a server-sent event stream (GET {pdp}/access/v1/changes)
// naming the party tags whose relations changed. The SDK follows it on one
// goroutine, dropping the cached decisions of every tag it names, and all of them
// on a reset and whenever it (re)connects, since a reset may have passed while it
// was away. Should the feed stay down, cached decisions still end after
// MaxStaleness.

// Defaults of the feed.
const (
	// feedIdle is how long the feed may stay silent before the SDK reconnects:
	// three of the server's 15 s keep-alives.
	feedIdle = 45 * time.Second
	// feedMinRetry is the first reconnection delay when the server has named
	// none; it doubles on every failure up to feedMaxRetry.
	feedMinRetry = time.Second
	feedMaxRetry = 30 * time.Second
	// maxEventBytes bounds a line and an event's data.
	maxEventBytes = 1 << 20
)

// feed is the state of the change feed.
type feed struct {
	// Set before startFeed, or the defaults are used (tests shorten them).
	idle     time.Duration
	minRetry time.Duration
	maxRetry time.Duration

	cancel    context.CancelFunc
	done      chan struct{}
	connected atomic.Bool
	seq       atomic.Uint64 // the last event id, when it was a number
	hasSeq    atomic.Bool
}

// FeedConnected reports whether the client follows Fullmakt's change feed now:
// for health checks. While it does not, cached decisions live their full
// MaxStaleness.
func (c *Client) FeedConnected() bool { return c.decisions.feed.connected.Load() }

// FeedSeq returns the sequence number of the last change the feed reported (its
// last event id), and false before the first: for health checks.
func (c *Client) FeedSeq() (uint64, bool) {
	f := &c.decisions.feed
	return f.seq.Load(), f.hasSeq.Load()
}

// startFeed starts following the change feed.
func (c *Client) startFeed() {
	f := &c.decisions.feed
	if f.idle <= 0 {
		f.idle = feedIdle
	}
	if f.minRetry <= 0 {
		f.minRetry = feedMinRetry
	}
	if f.maxRetry < f.minRetry {
		f.maxRetry = max(feedMaxRetry, f.minRetry)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan struct{})
	go c.followFeed(ctx)
}

// stopFeed stops following the change feed and waits until it has stopped.
func (c *Client) stopFeed() {
	f := &c.decisions.feed
	if f.cancel == nil {
		return
	}
	f.cancel()
	<-f.done
}

// followFeed follows the change feed until ctx ends, reconnecting after every
// failure with a growing, jittered delay.
func (c *Client) followFeed(ctx context.Context) {
	f := &c.decisions.feed
	defer close(f.done)
	// The configured client's transport, without its overall timeout: the
	// stream is meant to stay open.
	hc := &http.Client{Transport: c.cfg.HTTPClient.Transport, CheckRedirect: c.cfg.HTTPClient.CheckRedirect, Jar: c.cfg.HTTPClient.Jar}
	var p sseParser
	var delay time.Duration
	for {
		connected, err := c.followOnce(ctx, hc, &p)
		f.connected.Store(false)
		if ctx.Err() != nil {
			c.cfg.Log.LogAttrs(context.Background(), slog.LevelInfo, "sdk: change feed stopped")
			return
		}
		base := f.minRetry
		if p.retry > 0 {
			base = p.retry
		}
		if connected {
			delay = base
		} else {
			delay = min(max(2*delay, base), max(f.maxRetry, base))
		}
		wait := delay/2 + rand.N(delay/2+1)
		c.cfg.Log.LogAttrs(ctx, slog.LevelWarn, "sdk: change feed disconnected; cached decisions live at most MaxStaleness until it is back",
			slog.String("error", err.Error()), slog.Duration("retry_in", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.cfg.Log.LogAttrs(context.Background(), slog.LevelInfo, "sdk: change feed stopped")
			return
		case <-t.C:
		}
	}
}

// errFeedIdle is a feed that stayed silent too long.
var errFeedIdle = errors.New("sdk: change feed: nothing received for too long")

// followOnce connects to the feed, resuming after p's last event id, and reads
// it until it fails. connected reports whether it got as far as the stream.
func (c *Client) followOnce(ctx context.Context, hc *http.Client, p *sseParser) (connected bool, err error) {
	f := &c.decisions.feed
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, c.meta.Changes, nil)
	if err != nil {
		return false, fmt.Errorf("sdk: change feed: %w", err)
	}
	r.Header.Set("Accept", "text/event-stream")
	r.Header.Set("Cache-Control", "no-cache")
	if p.lastID != "" {
		r.Header.Set("Last-Event-ID", p.lastID)
	}
	if err := c.authorize(ctx, r); err != nil {
		return false, fmt.Errorf("sdk: change feed: authenticate: %w", err)
	}
	// The watchdog ends the request when nothing arrives for f.idle, the wait
	// for the response included.
	var idle atomic.Bool
	watchdog := time.AfterFunc(f.idle, func() { idle.Store(true); cancel() })
	defer watchdog.Stop()
	res, err := hc.Do(r)
	if err != nil {
		if idle.Load() {
			return false, errFeedIdle
		}
		return false, fmt.Errorf("sdk: change feed: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		if res.StatusCode == http.StatusUnauthorized && c.cfg.APIKey == "" {
			c.dropOwnToken(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}
		return false, fmt.Errorf("sdk: change feed: HTTP %d", res.StatusCode)
	}
	if mt, _, err := mime.ParseMediaType(res.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
		return false, fmt.Errorf("sdk: change feed: the answer is %q, not text/event-stream", res.Header.Get("Content-Type"))
	}
	// Anything cached may have missed a reset while the feed was away.
	if ca := c.decisions.cache; ca != nil {
		ca.dropAll()
	}
	f.connected.Store(true)
	c.cfg.Log.LogAttrs(ctx, slog.LevelInfo, "sdk: change feed connected",
		slog.String("url", c.meta.Changes), slog.String("last_event_id", p.lastID))
	p.reset()
	buf := make([]byte, 32<<10)
	for {
		n, err := res.Body.Read(buf)
		if n > 0 {
			watchdog.Reset(f.idle)
			if perr := p.write(buf[:n], c.feedEvent); perr != nil {
				return true, perr
			}
		}
		if err != nil {
			if idle.Load() {
				return true, errFeedIdle
			}
			return true, fmt.Errorf("sdk: change feed: %w", err)
		}
	}
}

// feedEvent acts on one event of the feed.
func (c *Client) feedEvent(ev sseEvent) {
	f := &c.decisions.feed
	ca := c.decisions.cache
	switch ev.typ {
	case "changes":
		var data struct {
			Parties []string `json:"parties"`
		}
		if err := json.Unmarshal([]byte(ev.data), &data); err != nil {
			c.cfg.Log.LogAttrs(context.Background(), slog.LevelWarn, "sdk: change feed: unreadable changes event; dropping every cached decision", slog.String("id", ev.id))
			ca.dropAll()
			break
		}
		for _, s := range data.Parties {
			tag, ok := parseTag(s)
			if !ok {
				c.cfg.Log.LogAttrs(context.Background(), slog.LevelWarn, "sdk: change feed: a party tag that is not four hex digits; dropping every cached decision", slog.String("id", ev.id))
				ca.dropAll()
				break
			}
			ca.dropTag(tag)
		}
	case "reset":
		var data struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal([]byte(ev.data), &data) // a reset is a reset, whatever its data
		ca.dropAll()
		c.cfg.Log.LogAttrs(context.Background(), slog.LevelInfo, "sdk: change feed: reset; dropped every cached decision",
			slog.String("reason", data.Reason), slog.String("id", ev.id))
	}
	// Other events (hello) carry only their id.
	if seq, err := strconv.ParseUint(ev.id, 10, 64); err == nil {
		f.seq.Store(seq)
		f.hasSeq.Store(true)
	}
}

// sseEvent is one dispatched server-sent event.
type sseEvent struct {
	typ, data, id string
}

// sseParser reads a text/event-stream as the WHATWG HTML standard's "interpreting
// an event stream" says: lines end with CRLF, LF or CR; a blank line dispatches
// the event; fields event, data (lines joined with LF), id (no NUL) and retry
// (digits only); lines starting with a colon are comments; one leading BOM is
// dropped. It keeps the last event id and the reconnection time across
// connections; reset starts a new stream.
type sseParser struct {
	lastID string        // the last event id, sent as Last-Event-ID
	retry  time.Duration // the reconnection time the server asked for, 0 if none

	line    []byte // the line so far
	afterCR bool   // the last line ended with CR: an LF now belongs to it
	started bool   // past the first line (and its BOM)
	typ     []byte
	data    []byte
	hasData bool
	idBuf   string
}

// reset starts a new stream, keeping the last event id and the retry time. The
// standard starts each stream with an empty last event id buffer; starting it
// with the last id instead keeps the resume point should the server send an
// event without an id (an empty id field still clears it).
func (p *sseParser) reset() {
	*p = sseParser{lastID: p.lastID, retry: p.retry, idBuf: p.lastID}
}

// write reads b, dispatching every event it completes.
func (p *sseParser) write(b []byte, dispatch func(sseEvent)) error {
	for len(b) > 0 {
		if p.afterCR {
			p.afterCR = false
			if b[0] == '\n' {
				b = b[1:]
				continue
			}
		}
		i := bytes.IndexAny(b, "\r\n")
		if i < 0 {
			p.line = append(p.line, b...)
			if len(p.line) > maxEventBytes {
				return errors.New("sdk: change feed: a line longer than 1 MiB")
			}
			return nil
		}
		p.line = append(p.line, b[:i]...)
		p.afterCR = b[i] == '\r'
		b = b[i+1:]
		if err := p.processLine(dispatch); err != nil {
			return err
		}
		p.line = p.line[:0]
	}
	return nil
}

func (p *sseParser) processLine(dispatch func(sseEvent)) error {
	line := p.line
	if !p.started {
		p.started = true
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	if len(line) == 0 {
		p.dispatch(dispatch)
		return nil
	}
	if line[0] == ':' {
		return nil
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		value = bytes.TrimPrefix(value, []byte(" "))
	}
	switch string(field) {
	case "event":
		p.typ = append(p.typ[:0], value...)
	case "data":
		p.data = append(p.data, value...)
		p.data = append(p.data, '\n')
		p.hasData = true
		if len(p.data) > maxEventBytes {
			return errors.New("sdk: change feed: an event larger than 1 MiB")
		}
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.idBuf = string(value)
		}
	case "retry":
		if len(value) > 0 && len(value) <= 9 && digitsOnly(value) {
			ms, _ := strconv.Atoi(string(value))
			p.retry = time.Duration(ms) * time.Millisecond
		}
	}
	return nil
}

// dispatch ends the event being read.
func (p *sseParser) dispatch(dispatch func(sseEvent)) {
	p.lastID = p.idBuf
	if !p.hasData {
		p.typ = p.typ[:0]
		return
	}
	ev := sseEvent{typ: "message", data: string(bytes.TrimSuffix(p.data, []byte("\n"))), id: p.lastID}
	if len(p.typ) > 0 {
		ev.typ = string(p.typ)
	}
	p.typ, p.data, p.hasData = p.typ[:0], p.data[:0], false
	dispatch(ev)
}

func digitsOnly(b []byte) bool {
	for _, ch := range b {
		if ch < '0' || ch > '9' {
			return false
		}
	}
	return true
}
