package sdk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tagOf is the feed's name of a party: lowercase hex of the first two bytes of
// SHA-256 over its number, computed here independently of partyTag.
func tagOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:2])
}

// unrelatedTag returns a tag that is neither a's nor b's.
func unrelatedTag(a, b string) string {
	for i := 0; ; i++ {
		t := fmt.Sprintf("%04x", i)
		if t != tagOf(a) && t != tagOf(b) {
			return t
		}
	}
}

// feedClient returns a client following the fake's feed, connected and past the
// hello with id 1.
func feedClient(t *testing.T) (*fakePDP, *Client, *pdpConn, *pdpLog) {
	t.Helper()
	f := newFakePDP(t)
	c, log := f.client(t, true)
	conn := f.nextConn(t)
	if conn.LastEventID != "" {
		t.Errorf("the first connection sent Last-Event-ID %q, want none", conn.LastEventID)
	}
	if conn.Auth != "Bearer "+pdpAPIKey {
		t.Errorf("the feed's Authorization = %q, want the API key", conn.Auth)
	}
	conn.Send(t, "event: hello\nid: 1\ndata: {\"seq\":1}\n\n")
	pdpWaitSeq(t, c, 1)
	if !c.FeedConnected() {
		t.Error("FeedConnected() = false after the hello")
	}
	return f, c, conn, log
}

// cachedNow reports whether req is served from the cache now (and caches it if
// it was not).
func cachedNow(t *testing.T, c *Client, req Request) bool {
	t.Helper()
	d, err := c.Check(context.Background(), req)
	if err != nil {
		t.Fatalf("Check(%v) = %v", req, err)
	}
	return d.Cached
}

func TestFeedDropsByTag(t *testing.T) {
	other := kariReq()
	other.Actor.ID, other.Party.ID = "02027012345", "02020512345"
	tests := []struct {
		name       string
		tags       []string
		dropped    bool // kariReq's entry
		otherAlive bool // other's entry
	}{
		{name: "the party's tag", tags: []string{tagOf(sara)}, dropped: true, otherAlive: true},
		{name: "the actor's tag", tags: []string{tagOf(kari)}, dropped: true, otherAlive: true},
		{name: "an unrelated tag", tags: []string{unrelatedTag(kari, sara)}, otherAlive: true},
		{name: "among others, upper case", tags: []string{unrelatedTag(kari, sara), strings.ToUpper(tagOf(sara))}, dropped: true, otherAlive: true},
		{name: "both entries", tags: []string{tagOf(sara), tagOf(other.Party.ID)}, dropped: true},
		{name: "a tag that is no tag drops all", tags: []string{"nope"}, dropped: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, conn, _ := feedClient(t)
			for _, req := range []Request{kariReq(), other} {
				cachedNow(t, c, req)
				if !cachedNow(t, c, req) {
					t.Fatalf("Check(%v) was not cached", req)
				}
			}
			before := f.evaluations.Load()
			quoted := make([]string, len(tt.tags))
			for i, tag := range tt.tags {
				quoted[i] = `"` + tag + `"`
			}
			conn.Send(t, "event: changes\nid: 2\ndata: {\"seq\":2,\"parties\":["+strings.Join(quoted, ",")+"]}\n\n")
			pdpWaitSeq(t, c, 2)
			if got := !cachedNow(t, c, kariReq()); got != tt.dropped {
				t.Errorf("after the change, kariReq was dropped: %v, want %v", got, tt.dropped)
			}
			if got := cachedNow(t, c, other); got != tt.otherAlive {
				t.Errorf("after the change, the other request was cached: %v, want %v", got, tt.otherAlive)
			}
			want := int64(0)
			if tt.dropped {
				want++
			}
			if !tt.otherAlive {
				want++
			}
			if n := f.evaluations.Load() - before; n != want {
				t.Errorf("the decision point was asked %d times after the change, want %d", n, want)
			}
		})
	}
}

func TestFeedResetDropsAll(t *testing.T) {
	for _, event := range []string{
		"event: reset\nid: 2\ndata: {\"seq\":2,\"reason\":\"policy\"}\n\n",
		"event: reset\nid: 2\ndata: nonsense\n\n",
		"event: changes\nid: 2\ndata: {not json\n\n",
	} {
		t.Run(strings.SplitN(event, "\n", 2)[0], func(t *testing.T) {
			f, c, conn, _ := feedClient(t)
			other := kariReq()
			other.Service = "udir.vitnemal"
			for _, req := range []Request{kariReq(), other} {
				cachedNow(t, c, req)
			}
			before := f.evaluations.Load()
			conn.Send(t, event)
			pdpWaitSeq(t, c, 2)
			for _, req := range []Request{kariReq(), other} {
				if cachedNow(t, c, req) {
					t.Errorf("Check(%v) was served from the cache after the reset", req)
				}
			}
			if n := f.evaluations.Load() - before; n != 2 {
				t.Errorf("the decision point was asked %d times after the reset, want 2", n)
			}
		})
	}
}

func TestFeedReconnectDropsAllAndResumes(t *testing.T) {
	f, c, conn, log := feedClient(t)
	conn.Send(t, ": keep-alive\n\nevent: changes\nid: 7\ndata: {\"seq\":7,\"parties\":[\""+unrelatedTag(kari, sara)+"\"]}\n\n")
	pdpWaitSeq(t, c, 7)
	cachedNow(t, c, kariReq())
	if !cachedNow(t, c, kariReq()) {
		t.Fatal("not cached")
	}
	conn.Drop()
	conn = f.nextConn(t)
	if conn.LastEventID != "7" {
		t.Errorf("the reconnection sent Last-Event-ID %q, want 7", conn.LastEventID)
	}
	conn.Send(t, "event: hello\nid: 8\ndata: {\"seq\":8}\n\n")
	pdpWaitSeq(t, c, 8)
	if cachedNow(t, c, kariReq()) {
		t.Error("a decision cached before the reconnection was served after it")
	}
	if !cachedNow(t, c, kariReq()) {
		t.Error("a decision fetched after the reconnection was not cached")
	}
	if got := log.String(); strings.Contains(got, pdpAPIKey) {
		t.Errorf("the log holds the API key:\n%s", got)
	}
	if got := log.String(); !strings.Contains(got, "change feed connected") || !strings.Contains(got, "change feed disconnected") {
		t.Errorf("the log does not tell of the connection and the disconnection:\n%s", got)
	}
}

func TestFeedChangeDuringRequest(t *testing.T) {
	events := []string{
		"event: changes\nid: 2\ndata: {\"seq\":2,\"parties\":[\"" + tagOf(sara) + "\"]}\n\n",
		"event: changes\nid: 3\ndata: {\"seq\":3,\"parties\":[\"" + tagOf(kari) + "\"]}\n\n",
		"event: reset\nid: 4\ndata: {\"seq\":4,\"reason\":\"day\"}\n\n",
	}
	f, c, conn, _ := feedClient(t)
	for i, event := range events {
		seq := uint64(i + 2)
		req := kariReq()
		req.Action = fmt.Sprintf("action-%d", i)
		// The decision point answers only once the change has reached the
		// client: the answer may predate the change, so it must not be cached.
		inFlight, release := make(chan struct{}), make(chan struct{})
		f.setGate(func() { close(inFlight); <-release })
		done := make(chan Decision)
		go func() {
			d, err := c.Check(context.Background(), req)
			if err != nil {
				t.Error(err)
			}
			done <- d
		}()
		<-inFlight
		f.setGate(nil)
		conn.Send(t, event)
		pdpWaitSeq(t, c, seq)
		close(release)
		if d := <-done; !d.Allowed || d.Cached {
			t.Fatalf("Check = %+v; want the fresh allow", d)
		}
		if cachedNow(t, c, req) {
			t.Errorf("event %d: the answer to a request in flight during the change was cached", seq)
		}
		if !cachedNow(t, c, req) {
			t.Errorf("event %d: a decision fetched after the change was not cached", seq)
		}
	}
}

func TestFeedReconnectsWhenSilent(t *testing.T) {
	f := newFakePDP(t)
	f.feedIdle = 50 * time.Millisecond
	c, _ := f.client(t, true)
	first := f.nextConn(t)
	first.Send(t, "event: hello\nid: 4\ndata: {\"seq\":4}\n\n")
	pdpWaitSeq(t, c, 4)
	// Nothing more is sent: the client must give up on the silent stream and
	// come back, resuming.
	second := f.nextConn(t)
	if second.LastEventID != "4" {
		t.Errorf("the reconnection sent Last-Event-ID %q, want 4", second.LastEventID)
	}
}

func TestFeedStopsOnClose(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, true)
	f.nextConn(t)
	c.stopDecisions()
	if c.FeedConnected() {
		t.Error("FeedConnected() = true after stopDecisions")
	}
	c.stopDecisions() // twice is fine
}

func TestSSEParser(t *testing.T) {
	tests := []struct {
		name      string
		stream    string
		want      []sseEvent
		lastID    string
		retry     time.Duration
		wantError bool
	}{
		{
			name:   "the server's events",
			stream: "retry: 1000\n\nevent: hello\nid: 42\ndata: {\"seq\":42}\n\n: keep-alive\n\nevent: changes\nid: 57\ndata: {\"seq\":57,\"parties\":[\"3fa2\"]}\n\n",
			want:   []sseEvent{{"hello", `{"seq":42}`, "42"}, {"changes", `{"seq":57,"parties":["3fa2"]}`, "57"}},
			lastID: "57", retry: time.Second,
		},
		{
			name:   "CRLF, CR and LF",
			stream: "event: a\r\ndata: 1\r\n\r\nevent: b\rdata: 2\r\rdata: 3\n\n",
			want:   []sseEvent{{"a", "1", ""}, {"b", "2", ""}, {"message", "3", ""}},
		},
		{
			name:   "multi-line data",
			stream: "data: first\ndata:second\ndata:  third\ndata\n\n",
			want:   []sseEvent{{"message", "first\nsecond\n third\n", ""}},
		},
		{
			name:   "no space after the colon, and a field without one",
			stream: "event:x\ndata:y\nid:9\n\n",
			want:   []sseEvent{{"x", "y", "9"}},
			lastID: "9",
		},
		{
			name:   "an event without data is not dispatched but keeps its id",
			stream: "event: hello\nid: 5\n\n",
			lastID: "5",
		},
		{
			name:   "the id sticks to later events",
			stream: "id: 5\ndata: a\n\ndata: b\n\n",
			want:   []sseEvent{{"message", "a", "5"}, {"message", "b", "5"}},
			lastID: "5",
		},
		{
			name:   "an id with NUL is ignored, an empty one clears",
			stream: "id: 5\ndata: a\n\nid: 6\x007\ndata: b\n\nid\ndata: c\n\n",
			want:   []sseEvent{{"message", "a", "5"}, {"message", "b", "5"}, {"message", "c", ""}},
		},
		{
			name:   "retry only of digits",
			stream: "retry: 25\nretry: 1e3\nretry: -1\nretry: \n\n",
			retry:  25 * time.Millisecond,
		},
		{
			name:   "a leading BOM",
			stream: "\xef\xbb\xbfdata: a\n\n",
			want:   []sseEvent{{"message", "a", ""}},
		},
		{
			name:   "unknown fields and comments",
			stream: ":hi\nfoo: bar\ndata: a\n: more\n\n",
			want:   []sseEvent{{"message", "a", ""}},
		},
		{
			name:   "an unfinished event is not dispatched",
			stream: "data: a\n\ndata: b\n",
			want:   []sseEvent{{"message", "a", ""}},
		},
		{
			name:      "a line too long",
			stream:    "data: " + strings.Repeat("x", maxEventBytes+1),
			wantError: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Whole, and then in chunks of every size (a CRLF split included).
			for size := 0; size <= 7; size++ {
				if size > 0 && len(tt.stream) > 1<<16 {
					break
				}
				var p sseParser
				var got []sseEvent
				emit := func(ev sseEvent) { got = append(got, ev) }
				var err error
				for rest := tt.stream; rest != "" && err == nil; {
					n := len(rest)
					if size > 0 {
						n = min(size, n)
					}
					err = p.write([]byte(rest[:n]), emit)
					rest = rest[n:]
				}
				if tt.wantError {
					if err == nil {
						t.Errorf("write(%d-byte chunks) = nil, want an error", size)
					}
					continue
				}
				if err != nil {
					t.Fatalf("write(%d-byte chunks) = %v", size, err)
				}
				if !reflect.DeepEqual(got, tt.want) || p.lastID != tt.lastID || p.retry != tt.retry {
					t.Errorf("write(%d-byte chunks) = %q, last id %q, retry %v; want %q, %q, %v", size, got, p.lastID, p.retry, tt.want, tt.lastID, tt.retry)
				}
			}
		})
	}
}

func TestSSEParserResetKeepsResumePoint(t *testing.T) {
	var p sseParser
	p.write([]byte("retry: 7\nid: 5\ndata: a\n\ndata: partial"), func(sseEvent) {})
	p.reset()
	var got []sseEvent
	p.write([]byte("data: b\n\n"), func(ev sseEvent) { got = append(got, ev) })
	if want := []sseEvent{{"message", "b", "5"}}; !reflect.DeepEqual(got, want) || p.retry != 7*time.Millisecond {
		t.Errorf("after reset: %q, retry %v; want %q, 7ms", got, p.retry, want)
	}
}

func FuzzSSEParser(f *testing.F) {
	f.Add([]byte("event: changes\r\nid: 57\r\ndata: {\"seq\":57}\r\n\r\n"), uint8(3))
	f.Add([]byte(": keep-alive\n\nretry: 10\ndata: a\rdata: b\r\r"), uint8(1))
	f.Add([]byte("\xef\xbb\xbfid\x00: 1\ndata\n\n"), uint8(2))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		var whole, parts sseParser
		var a, z []sseEvent
		errA := whole.write(b, func(ev sseEvent) { a = append(a, ev) })
		size := int(chunk%16) + 1
		var errZ error
		for rest := b; len(rest) > 0 && errZ == nil; {
			n := min(size, len(rest))
			errZ = parts.write(rest[:n], func(ev sseEvent) { z = append(z, ev) })
			rest = rest[n:]
		}
		if (errA == nil) != (errZ == nil) {
			t.Fatalf("whole: %v, in chunks of %d: %v", errA, size, errZ)
		}
		if errA == nil && (!reflect.DeepEqual(a, z) || whole.lastID != parts.lastID || whole.retry != parts.retry) {
			t.Fatalf("whole: %q %q %v; in chunks of %d: %q %q %v", a, whole.lastID, whole.retry, size, z, parts.lastID, parts.retry)
		}
	})
}

func TestPartyTag(t *testing.T) {
	for _, id := range []string{kari, sara, org, "se:199001011234", ""} {
		want := tagOf(id)
		got := partyTag(id)
		if fmt.Sprintf("%04x", got) != want {
			t.Errorf("partyTag(%q) = %04x, want %s", id, got, want)
		}
		if parsed, ok := parseTag(want); !ok || parsed != got {
			t.Errorf("parseTag(%q) = %04x, %v; want %04x", want, parsed, ok, got)
		}
	}
	if partyTag(" no:"+kari+" ") != partyTag(kari) {
		t.Error("partyTag does not make a no: prefix and spaces canonical")
	}
	for _, bad := range []string{"", "abc", "abcde", "ghij", "12 4"} {
		if _, ok := parseTag(bad); ok {
			t.Errorf("parseTag(%q) = ok, want not a tag", bad)
		}
	}
}

func TestFeedRefused(t *testing.T) {
	f := newFakePDP(t)
	f.refuseFeed = true
	c, log := f.client(t, true)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "HTTP 401") {
		if time.Now().After(deadline) {
			t.Fatalf("the client did not log the refusal:\n%s", log)
		}
		time.Sleep(time.Millisecond)
	}
	if c.FeedConnected() {
		t.Error("FeedConnected() = true on a refused feed")
	}
	if strings.Contains(log.String(), pdpAPIKey) {
		t.Errorf("the log holds the API key:\n%s", log)
	}
	// Checks still work, cached for MaxStaleness.
	cachedNow(t, c, kariReq())
	if !cachedNow(t, c, kariReq()) {
		t.Error("without the feed, decisions are not cached")
	}
}

func TestFeedNotFollowed(t *testing.T) {
	f := newFakePDP(t)
	c, _ := f.client(t, false)
	if c.FeedConnected() {
		t.Error("FeedConnected() = true with NoChangeFeed")
	}
	if _, ok := c.FeedSeq(); ok {
		t.Error("FeedSeq() reports a seq with NoChangeFeed")
	}
	c.stopDecisions()
}
