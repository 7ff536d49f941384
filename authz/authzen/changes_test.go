package authzen_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/delegation"
)

const pathChanges = "/access/v1/changes"

// withFeed serves the change feed over the fixture's store, polling every 10 ms
// and without keep-alives unless opts says otherwise; tune changes the feed
// before it runs. The feed closes when the test ends.
func withFeed(opts authzen.FeedOptions, tune ...func(*authzen.Feed)) option {
	return func(f *fixture, cfg *authzen.Config, _ *decider) {
		if opts.Poll == 0 {
			opts.Poll = 10 * time.Millisecond
		}
		if opts.KeepAlive == 0 {
			opts.KeepAlive = time.Hour
		}
		if opts.Log == nil {
			opts.Log = slog.New(slog.NewTextHandler(f.logs, nil))
		}
		feed := authzen.NewFeed(f.store, opts)
		for _, fn := range tune {
			fn(feed)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() {
			defer close(ran)
			feed.Run(ctx)
		}()
		// Before the server closes (registered earlier, so run later): the
		// server waits for the streams, which end with the feed.
		f.t.Cleanup(func() {
			feed.Close()
			cancel()
			<-ran
		})
		cfg.Feed, f.feed = feed, feed
	}
}

// tag is the party tag of the contract, computed here from its definition.
func tag(id delegation.PartyID) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:2])
}

// tags returns the sorted tags of ids, each once.
func tags(ids ...delegation.PartyID) []string {
	var out []string
	for _, id := range ids {
		if t := tag(id); !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

func TestPartyTag(t *testing.T) {
	for _, id := range []string{"01017012345", "910000000", ""} {
		sum := sha256.Sum256([]byte(id))
		if got, want := authzen.PartyTag(id), hex.EncodeToString(sum[:])[:4]; got != want {
			t.Errorf("PartyTag(%q) = %q, want %q", id, got, want)
		}
	}
}

// people makes new persons, none of them in the fixture.
func people(t *testing.T) func() delegation.Person {
	ind := 0
	return func() delegation.Person {
		t.Helper()
		birth := delegation.NewDate(1991, time.July, 1)
		for ; ind < 500; ind++ {
			if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
				ind++
				return delegation.Person{ID: id, Name: "Person " + strconv.Itoa(ind), BirthDate: birth}
			}
		}
		t.Fatal("no more identity numbers")
		return delegation.Person{}
	}
}

// write applies records in one transaction (one change each) and returns the
// store's last sequence number.
func (f *fixture) write(recs ...delegation.Record) uint64 {
	f.t.Helper()
	err := f.store.UpdateRegister(f.ctx, func(tx delegation.RegisterTx) error {
		for _, rec := range recs {
			if _, err := delegation.ApplyRecord(tx, rec, delegation.Today(f.now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.last()
}

// last returns the store's last change sequence number.
func (f *fixture) last() uint64 {
	f.t.Helper()
	seq, err := f.store.LastChange(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	return seq
}

// sseEvent is what a stream said: an event (name, id, data), a retry field, or a
// comment line.
type sseEvent struct {
	name, id, data, retry string
	comment               string
}

// eventData is the data of every event of the feed.
type eventData struct {
	Seq     uint64   `json:"seq"`
	Parties []string `json:"parties"`
	Reason  string   `json:"reason"`
}

// sseStream reads a change stream in the background.
type sseStream struct {
	t      *testing.T
	resp   *http.Response
	events chan sseEvent // closed when the stream ends
	mu     sync.Mutex
	raw    bytes.Buffer // everything read
}

// getChanges opens the change feed on base with the API key (none when ""),
// Last-Event-ID (none when "") and the query; the caller reads the response.
func getChanges(t *testing.T, ctx context.Context, base, key, lastEventID, query string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+pathChanges+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// stream opens the feed on base and reads it until the test ends or close is
// called.
func stream(t *testing.T, base, key, lastEventID, query string) (s *sseStream, close func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp := getChanges(t, ctx, base, key, lastEventID, query)
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		t.Fatalf("GET %s = %d, want 200", pathChanges, resp.StatusCode)
	}
	s = &sseStream{t: t, resp: resp, events: make(chan sseEvent, 64)}
	go s.read(ctx)
	close = func() {
		cancel()
		resp.Body.Close()
	}
	t.Cleanup(close)
	return s, close
}

func (s *sseStream) read(ctx context.Context) {
	defer close(s.events)
	r := bufio.NewReader(s.resp.Body)
	var e sseEvent
	fields := 0
	for {
		line, err := r.ReadString('\n')
		s.mu.Lock()
		s.raw.WriteString(line)
		s.mu.Unlock()
		if err != nil {
			return
		}
		line = strings.TrimSuffix(line, "\n")
		var out *sseEvent
		switch name, value, _ := strings.Cut(line, ": "); {
		case line == "":
			if fields > 0 {
				out = &e
			}
		case strings.HasPrefix(line, ":"):
			out = &sseEvent{comment: strings.TrimSpace(line[1:])}
		case name == "event":
			e.name, fields = value, fields+1
		case name == "id":
			e.id, fields = value, fields+1
		case name == "data":
			e.data, fields = value, fields+1
		case name == "retry":
			e.retry, fields = value, fields+1
		}
		if out == nil {
			continue
		}
		select {
		case s.events <- *out:
		case <-ctx.Done():
			return
		}
		if out == &e {
			e, fields = sseEvent{}, 0
		}
	}
}

// next returns what the stream says next, comments included.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			s.t.Fatalf("the stream ended; it said:\n%s", s.said())
		}
		return e
	case <-time.After(10 * time.Second):
		s.t.Fatalf("nothing on the stream for 10 s; it said:\n%s", s.said())
	}
	return sseEvent{}
}

// event returns the next event, skipping comments, and checks its name and that
// its id is the seq of its data.
func (s *sseStream) event(name string) eventData {
	s.t.Helper()
	for {
		e := s.next()
		if e.comment != "" {
			continue
		}
		if e.name != name {
			s.t.Fatalf("next event = %+v, want %q; the stream said:\n%s", e, name, s.said())
		}
		var d eventData
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			s.t.Fatalf("event %s: data %q is not JSON: %v", name, e.data, err)
		}
		if e.id != strconv.FormatUint(d.Seq, 10) {
			s.t.Errorf("event %s: id %q, want the seq of its data, %d", name, e.id, d.Seq)
		}
		return d
	}
}

// hello reads the start of a stream: the retry field and the hello event, and
// returns the hello's seq.
func (s *sseStream) hello() uint64 {
	s.t.Helper()
	if e := s.next(); e.retry != "1000" || e.name != "" {
		s.t.Fatalf("the stream starts with %+v, want retry: 1000", e)
	}
	return s.event("hello").Seq
}

// ended waits until the stream ends.
func (s *sseStream) ended() {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			s.t.Fatalf("the stream has not ended after 10 s; it said:\n%s", s.said())
		}
	}
}

func (s *sseStream) said() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// noIDs checks that the stream never named any of ids.
func (s *sseStream) noIDs(ids ...delegation.PartyID) {
	s.t.Helper()
	said := s.said()
	for _, id := range ids {
		if strings.Contains(said, id.String()) {
			s.t.Errorf("the stream names the identity number %s:\n%s", id, said)
		}
	}
}

// TestChanges: a stream says hello at the store's last sequence number, then each
// change as the tags of its parties, never their numbers; what happened before
// it connected is not replayed.
func TestChanges(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	for h, want := range map[string]string{
		"Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no",
	} {
		if got := s.resp.Header.Get(h); got != want {
			t.Errorf("GET %s: %s = %q, want %q", pathChanges, h, got, want)
		}
	}
	last := f.last()
	if last == 0 {
		t.Fatal("the fixture's store has no changes")
	}
	if got := s.hello(); got != last {
		t.Errorf("hello seq = %d, want the store's last, %d", got, last)
	}

	// The grantor revokes the fullmakt: grantor and proxy are named.
	_, err := f.store.EndFullmakt(f.ctx, delegation.EndFullmakt{ID: f.fullmaktID, Status: delegation.StatusRevoked, By: f.stranger, At: f.now})
	if err != nil {
		t.Fatal(err)
	}
	want := eventData{Seq: last + 1, Parties: tags(f.stranger, f.parent)}
	if diff := cmp.Diff(want, s.event("changes")); diff != "" {
		t.Errorf("changes event after a revocation (-want +got):\n%s", diff)
	}
	if !strings.Contains(s.said(), `data: {"seq":`+strconv.FormatUint(last+1, 10)+`,"parties":["`) {
		t.Errorf("the changes event is not in the contract's form:\n%s", s.said())
	}
	s.noIDs(f.parent, f.stranger, f.child, f.org)
}

// TestChangesResume: a stream resumed from Last-Event-ID (or ?after=) replays
// exactly the changes it missed; Last-Event-ID wins over ?after=.
func TestChangesResume(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}))
	next := people(t)
	s, closeStream := stream(t, f.srv.URL, keyNormal, "", "")
	start := s.hello()
	var seen []string
	var p []delegation.Person
	for range 3 {
		p = append(p, next())
		last := f.write(p[len(p)-1])
		for d := (eventData{}); d.Seq < last; {
			d = s.event("changes")
			seen = append(seen, d.Parties...)
		}
	}
	slices.Sort(seen)
	if want := tags(p[0].ID, p[1].ID, p[2].ID); !slices.Equal(seen, want) {
		t.Errorf("tags of three changes = %q, want %q", seen, want)
	}
	closeStream()
	at := start + 3

	// Two changes while away.
	p = append(p, next(), next())
	f.write(p[3])
	f.write(p[4])
	missed := eventData{Seq: at + 2, Parties: tags(p[3].ID, p[4].ID)}
	atStr := strconv.FormatUint(at, 10)
	for _, tt := range []struct{ name, lastEventID, query string }{
		{"Last-Event-ID", atStr, ""},
		{"after", "", "?after=" + atStr},
		{"Last-Event-ID wins", atStr, "?after=0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := stream(t, f.srv.URL, keyNormal, tt.lastEventID, tt.query)
			if got := s.hello(); got != at {
				t.Errorf("hello seq = %d, want %d", got, at)
			}
			if diff := cmp.Diff(missed, s.event("changes")); diff != "" {
				t.Errorf("replay (-want +got):\n%s", diff)
			}
		})
	}

	// Resumed where it was, a stream replays nothing: the next event is the
	// next change.
	s, _ = stream(t, f.srv.URL, keyNormal, strconv.FormatUint(at+2, 10), "")
	s.hello()
	p = append(p, next())
	f.write(p[5])
	if diff := cmp.Diff(eventData{Seq: at + 3, Parties: tags(p[5].ID)}, s.event("changes")); diff != "" {
		t.Errorf("after resuming at the last change (-want +got):\n%s", diff)
	}
	s.noIDs(p[0].ID, p[3].ID, p[5].ID)
}

// TestChangesGap: resuming after a sequence number the store has not reached
// (it was restored) says hello at the store's last and resets (gap).
func TestChangesGap(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}))
	last := f.last()
	s, _ := stream(t, f.srv.URL, keyNormal, "", "?after="+strconv.FormatUint(last+100, 10))
	if got := s.hello(); got != last {
		t.Errorf("hello seq = %d, want the store's last, %d", got, last)
	}
	if diff := cmp.Diff(eventData{Seq: last, Reason: "gap"}, s.event("reset")); diff != "" {
		t.Errorf("after a gap (-want +got):\n%s", diff)
	}
	// The stream goes on from the store's last.
	p := people(t)()
	f.write(p)
	if diff := cmp.Diff(eventData{Seq: last + 1, Parties: tags(p.ID)}, s.event("changes")); diff != "" {
		t.Errorf("after the gap (-want +got):\n%s", diff)
	}
}

// TestChangesPolicyReset: Reset reaches every open stream, at its sequence number.
func TestChangesPolicyReset(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}))
	s1, _ := stream(t, f.srv.URL, keyNormal, "", "")
	s2, _ := stream(t, f.srv.URL, keyDetailed, "", "")
	last := s1.hello()
	s2.hello()
	f.feed.Reset(authzen.ResetPolicy)
	for _, s := range []*sseStream{s1, s2} {
		if diff := cmp.Diff(eventData{Seq: last, Reason: "policy"}, s.event("reset")); diff != "" {
			t.Errorf("after Reset(policy) (-want +got):\n%s", diff)
		}
	}
}

// TestChangesDayReset: at midnight in Oslo (22:00 UTC in summer) every stream
// resets.
func TestChangesDayReset(t *testing.T) {
	var clock atomic.Pointer[time.Time]
	set := func(t time.Time) { clock.Store(&t) }
	set(time.Date(2025, time.June, 2, 21, 59, 59, 0, time.UTC))
	f := newFixture(t, withFeed(authzen.FeedOptions{Now: func() time.Time { return *clock.Load() }}))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	last := s.hello()
	set(time.Date(2025, time.June, 2, 22, 0, 0, 0, time.UTC))
	f.feed.Nudge()
	if diff := cmp.Diff(eventData{Seq: last, Reason: "day"}, s.event("reset")); diff != "" {
		t.Errorf("at midnight in Oslo (-want +got):\n%s", diff)
	}
}

// TestChangesBatches: one changes event per read of up to the batch size.
func TestChangesBatches(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}, func(feed *authzen.Feed) { authzen.SetFeedLimits(feed, 2, 4096) }))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	start := s.hello()
	next := people(t)
	p := []delegation.Person{next(), next(), next(), next(), next()}
	f.write(p[0], p[1], p[2], p[3], p[4]) // one transaction: all there at once
	for _, want := range []eventData{
		{Seq: start + 2, Parties: tags(p[0].ID, p[1].ID)},
		{Seq: start + 4, Parties: tags(p[2].ID, p[3].ID)},
		{Seq: start + 5, Parties: tags(p[4].ID)},
	} {
		if diff := cmp.Diff(want, s.event("changes")); diff != "" {
			t.Errorf("batch (-want +got):\n%s", diff)
		}
	}
}

// TestChangesBulkReset: a read naming more tags than an event carries is a reset
// (bulk); the next, smaller one is a changes event again.
func TestChangesBulkReset(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}, func(feed *authzen.Feed) { authzen.SetFeedLimits(feed, 1000, 3) }))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	start := s.hello()
	next := people(t)
	f.write(next(), next(), next(), next())
	if diff := cmp.Diff(eventData{Seq: start + 4, Reason: "bulk"}, s.event("reset")); diff != "" {
		t.Errorf("four tags over a limit of three (-want +got):\n%s", diff)
	}
	p := next()
	f.write(p)
	if diff := cmp.Diff(eventData{Seq: start + 5, Parties: tags(p.ID)}, s.event("changes")); diff != "" {
		t.Errorf("then one tag (-want +got):\n%s", diff)
	}
}

// TestChangesKeepAlive: an idle stream gets a comment line every KeepAlive.
func TestChangesKeepAlive(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{KeepAlive: 20 * time.Millisecond}))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	s.hello()
	for range 2 {
		if e := s.next(); e.comment != "keep-alive" {
			t.Fatalf("an idle stream says %+v, want the comment keep-alive", e)
		}
	}
	if !strings.Contains(s.said(), "\n\n: keep-alive\n\n") {
		t.Errorf("the keep-alive is not a comment line of its own:\n%s", s.said())
	}
}

// TestChangesOutlivesServerTimeouts: a stream goes on past the server's read
// and write timeouts.
func TestChangesOutlivesServerTimeouts(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{KeepAlive: 20 * time.Millisecond}))
	srv := httptest.NewUnstartedServer(f.mux)
	srv.Config.ReadTimeout = 100 * time.Millisecond
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close) // after the stream's cleanup, which ends the request
	opened := time.Now()
	s, _ := stream(t, srv.URL, keyNormal, "", "")
	start := s.hello()
	for time.Since(opened) < 5*srv.Config.WriteTimeout {
		if e := s.next(); e.comment != "keep-alive" {
			t.Fatalf("an idle stream says %+v, want the comment keep-alive", e)
		}
	}
	p := people(t)()
	f.write(p)
	if diff := cmp.Diff(eventData{Seq: start + 1, Parties: tags(p.ID)}, s.event("changes")); diff != "" {
		t.Errorf("a change after the server's timeouts (-want +got):\n%s", diff)
	}
}

// TestChangesClose: Close ends every stream and refuses new ones.
func TestChangesClose(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	s.hello()
	f.feed.Close()
	s.ended()
	resp := getChanges(t, t.Context(), f.srv.URL, keyNormal, "", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET %s after Close = %d, want 503", pathChanges, resp.StatusCode)
	}
}

// TestChangesMaxStreams: one stream more than MaxStreams is a 503.
func TestChangesMaxStreams(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{MaxStreams: 1}))
	s, _ := stream(t, f.srv.URL, keyNormal, "", "")
	s.hello()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+pathChanges, nil)
	req.Header.Set("Authorization", "Bearer "+keyNormal)
	res := f.do(req)
	if res.status != http.StatusServiceUnavailable || res.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("a second stream over MaxStreams 1 = %d %s %s, want a 503 problem", res.status, res.header.Get("Content-Type"), res.body)
	}
}

// TestChangesRefused: the feed authenticates as the other endpoints do, takes
// only GET, and refuses a resume point that is not a sequence number.
func TestChangesRefused(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}))
	for _, tt := range []struct {
		name, method, key, lastEventID, query string
		status                                int
		field                                 string
	}{
		{name: "no key", method: "GET", status: 401},
		{name: "wrong key", method: "GET", key: "not-a-key", status: 401},
		{name: "POST", method: "POST", key: keyNormal, status: 405},
		{name: "Last-Event-ID not a number", method: "GET", key: keyNormal, lastEventID: "abc", status: 400, field: "Last-Event-ID"},
		{name: "Last-Event-ID negative", method: "GET", key: keyNormal, lastEventID: "-1", status: 400, field: "Last-Event-ID"},
		{name: "Last-Event-ID with a sign", method: "GET", key: keyNormal, lastEventID: "+5", status: 400, field: "Last-Event-ID"},
		{name: "Last-Event-ID too large", method: "GET", key: keyNormal, lastEventID: "18446744073709551616", status: 400, field: "Last-Event-ID"},
		{name: "after empty", method: "GET", key: keyNormal, query: "?after=", status: 400, field: "after"},
		{name: "after a fraction", method: "GET", key: keyNormal, query: "?after=1.5", status: 400, field: "after"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, f.srv.URL+pathChanges+tt.query, nil)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			if tt.lastEventID != "" {
				req.Header.Set("Last-Event-ID", tt.lastEventID)
			}
			res := f.do(req)
			if res.status != tt.status || res.header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s = %d %s %s, want a %d problem", tt.method, pathChanges, res.status, res.header.Get("Content-Type"), res.body, tt.status)
			}
			if tt.status == 401 && res.header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
			if tt.status == 405 && res.header.Get("Allow") != "GET" {
				t.Errorf("405 with Allow %q, want GET", res.header.Get("Allow"))
			}
			if got := res.json(t).(map[string]any)["field"]; tt.field != "" && got != tt.field {
				t.Errorf("problem field = %v, want %q", got, tt.field)
			}
		})
	}
}

// TestChangesOnlyWithAFeed: without a Feed there is no change feed, and the
// metadata does not name one.
func TestChangesOnlyWithAFeed(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+pathChanges, nil)
	req.Header.Set("Authorization", "Bearer "+keyNormal)
	if res := f.do(req); res.status != http.StatusNotFound {
		t.Errorf("GET %s without a feed = %d, want 404", pathChanges, res.status)
	}
}
