package notify_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/notify"
)

var secret = []byte("a-webhook-secret-of-32-bytes-or-more")

// request is one request a receiver got.
type request struct {
	header http.Header
	body   []byte
	seq    uint64
}

// receiver is a webhook endpoint on 127.0.0.1. It answers 500 to the first
// failFirst requests and 204 to the rest, and sends each request it took on
// took; attempts lists the seq of every request, taken or not.
type receiver struct {
	srv  *httptest.Server
	took chan request

	mu        sync.Mutex
	failFirst int
	attempts  []uint64
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{took: make(chan request, 100), failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var p struct{ Seq uint64 }
	_ = json.Unmarshal(body, &p)
	r.mu.Lock()
	r.attempts = append(r.attempts, p.Seq)
	fail := len(r.attempts) <= r.failFirst
	r.mu.Unlock()
	if fail {
		http.Error(w, "not now", http.StatusInternalServerError)
		return
	}
	r.took <- request{header: req.Header.Clone(), body: body, seq: p.Seq}
	w.WriteHeader(http.StatusNoContent)
}

// next waits for the next request the receiver took.
func (r *receiver) next(t *testing.T) request {
	t.Helper()
	select {
	case req := <-r.took:
		return req
	case <-time.After(20 * time.Second):
		t.Fatal("gave up waiting for a webhook request")
		return request{}
	}
}

// webhook starts a Webhook to url over the env's store and returns a function
// that stops it and waits until it has.
func (e *env) webhook(url string) (stop func()) {
	e.t.Helper()
	w, err := notify.NewWebhook(e.store, notify.WebhookConfig{
		URL: url, Secret: secret, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Poll: 5 * time.Millisecond, Log: e.log, Now: e.clock.Now,
	})
	if err != nil {
		e.t.Fatalf("NewWebhook: %v", err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(done)
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			e.t.Fatal("the webhook did not stop after its context ended")
		}
	}
	e.t.Cleanup(stop)
	return stop
}

// add stores n notifications for kari, numbered from first, and returns them.
func (e *env) add(first, n int) []delegation.Notification {
	e.t.Helper()
	var ns []delegation.Notification
	for i := first; i < first+n; i++ {
		ns = append(ns, delegation.Notification{
			Person: e.kari.ID, Kind: delegation.NoteFullmaktRevoked, Ref: "fm_" + strconv.Itoa(i), Other: e.ola.ID,
			At: start.Add(time.Duration(i) * time.Minute), Key: "test/" + strconv.Itoa(i),
		})
	}
	stored, err := e.store.AddNotifications(e.ctx, "", 0, ns)
	if err != nil || len(stored) != n {
		e.t.Fatalf("AddNotifications = %d, %v, want %d", len(stored), err, n)
	}
	return stored
}

// check verifies a request's signature and headers and that it carries n.
func (e *env) check(req request, n delegation.Notification) {
	e.t.Helper()
	id := "ntf_" + strconv.FormatUint(n.Seq, 10)
	if err := notify.Verify(secret, req.header.Get("webhook-id"), req.header.Get("webhook-timestamp"), req.body,
		req.header.Get("webhook-signature"), e.clock.Now(), 5*time.Minute); err != nil {
		e.t.Errorf("Verify(request %d) = %v, want nil", n.Seq, err)
	}
	for name, want := range map[string]string{
		"webhook-id": id, "webhook-timestamp": strconv.FormatInt(e.clock.Now().Unix(), 10),
		"Content-Type": "application/json", "User-Agent": "fullmakt-webhook",
	} {
		if got := req.header.Get(name); got != want {
			e.t.Errorf("request %d: header %s = %q, want %q", n.Seq, name, got, want)
		}
	}
	var got map[string]any
	if err := json.Unmarshal(req.body, &got); err != nil {
		e.t.Fatalf("request %d: body: %v", n.Seq, err)
	}
	want := map[string]any{
		"id": id, "seq": float64(n.Seq), "type": string(n.Kind), "person": string(n.Person), "ref": n.Ref,
		"other": string(n.Other), "at": n.At.UTC().Format(time.RFC3339),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		e.t.Errorf("request %d: body (-want +got):\n%s", n.Seq, diff)
	}
}

// cursorAt waits until the webhook cursor is at seq.
func (e *env) cursorAt(seq uint64) {
	e.t.Helper()
	waitFor(e.t, "the webhook cursor at "+strconv.FormatUint(seq, 10), func() bool {
		got, err := e.store.Cursor(e.ctx, notify.CursorWebhook)
		return err == nil && got == seq
	})
}

func TestWebhookDeliversInOrderSigned(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 0)
	ns := e.add(0, 5)
	e.webhook(r.srv.URL)
	for _, n := range ns {
		req := r.next(t)
		if req.seq != n.Seq {
			t.Fatalf("request for seq %d, want %d", req.seq, n.Seq)
		}
		e.check(req, n)
	}
	e.cursorAt(ns[len(ns)-1].Seq)
}

func TestWebhookRetriesUntilDelivered(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, 3)
	ns := e.add(0, 3)
	e.webhook(r.srv.URL)
	for _, n := range ns {
		if req := r.next(t); req.seq != n.Seq {
			t.Fatalf("request for seq %d, want %d", req.seq, n.Seq)
		}
	}
	e.cursorAt(ns[2].Seq)
	r.mu.Lock()
	attempts := r.attempts
	r.mu.Unlock()
	if want := []uint64{1, 1, 1, 1, 2, 3}; !cmp.Equal(attempts, want) {
		t.Errorf("attempts = %v, want %v", attempts, want)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "answered 500") || !strings.Contains(logs, "attempt=3") {
		t.Errorf("the failed attempts are not logged:\n%s", logs)
	}
}

func TestWebhookDeliversAfterARestart(t *testing.T) {
	e := newEnv(t)
	up := newReceiver(t, 0)
	ns := e.add(0, 2)
	stop := e.webhook(up.srv.URL)
	for _, n := range ns {
		e.check(up.next(t), n)
	}
	e.cursorAt(ns[1].Seq)
	stop()

	// The receiver goes down while events accumulate and the webhook tries.
	down := newReceiver(t, 0)
	down.srv.Close()
	stop = e.webhook(down.srv.URL)
	ns = e.add(2, 3)
	waitFor(t, "failed attempts", func() bool { return strings.Count(e.logs.String(), "attempt=") >= 3 })
	stop()

	// A new Webhook, over the same store, to a receiver that is up.
	again := newReceiver(t, 0)
	e.webhook(again.srv.URL)
	for _, n := range ns {
		req := again.next(t)
		if req.seq != n.Seq {
			t.Fatalf("after the restart: request for seq %d, want %d", req.seq, n.Seq)
		}
		e.check(req, n)
	}
	e.cursorAt(ns[2].Seq)
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_773_140_000, 0)
	body := []byte(`{"id":"ntf_1","seq":1}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	good := signFor(secret, "ntf_1", ts, body)
	tests := []struct {
		name      string
		secret    []byte
		timestamp string
		body      []byte
		header    string
		ok        bool
	}{
		{name: "valid", secret: secret, timestamp: ts, body: body, header: good, ok: true},
		{name: "one of several", secret: secret, timestamp: ts, body: body, header: "v1,bm9wZQ== " + good, ok: true},
		{name: "wrong secret", secret: []byte("another-secret-of-32-bytes-or-more!"), timestamp: ts, body: body, header: good},
		{name: "changed body", secret: secret, timestamp: ts, body: []byte(`{"id":"ntf_1","seq":2}`), header: good},
		{name: "old timestamp", secret: secret, timestamp: strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), body: body,
			header: signFor(secret, "ntf_1", strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), body)},
		{name: "timestamp in the future", secret: secret, timestamp: strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), body: body,
			header: signFor(secret, "ntf_1", strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), body)},
		{name: "timestamp not a number", secret: secret, timestamp: "soon", body: body, header: good},
		{name: "another version", secret: secret, timestamp: ts, body: body, header: "v2" + strings.TrimPrefix(good, "v1")},
		{name: "not base64", secret: secret, timestamp: ts, body: body, header: "v1,***"},
		{name: "no signature", secret: secret, timestamp: ts, body: body, header: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := notify.Verify(tt.secret, "ntf_1", tt.timestamp, tt.body, tt.header, now, 5*time.Minute)
			if tt.ok && err != nil || !tt.ok && !errors.Is(err, notify.ErrSignature) {
				t.Errorf("Verify(%s) = %v, want ok %v", tt.name, err, tt.ok)
			}
		})
	}
}

// signFor computes a Standard Webhooks v1 signature from the specification, apart
// from the package's own code.
func signFor(key []byte, id, ts string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(bytes.Join([][]byte{[]byte(id), []byte(ts), body}, []byte(".")))
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestWebhookConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  notify.WebhookConfig
		// want lists what the error must mention; empty for a valid config.
		want []string
	}{
		{name: "https", cfg: notify.WebhookConfig{URL: "https://hooks.example.org/fullmakt", Secret: secret}},
		{name: "http on 127.0.0.1", cfg: notify.WebhookConfig{URL: "http://127.0.0.1:8080/hook", Secret: secret}},
		{name: "http on ::1", cfg: notify.WebhookConfig{URL: "http://[::1]:8080/hook", Secret: secret}},
		{name: "http on localhost", cfg: notify.WebhookConfig{URL: "http://localhost/hook", Secret: secret}},
		{name: "backoff set", cfg: notify.WebhookConfig{URL: "https://h.example", Secret: secret, MinBackoff: time.Second, MaxBackoff: time.Minute}},
		{name: "no URL", cfg: notify.WebhookConfig{Secret: secret}, want: []string{"URL is required"}},
		{name: "http elsewhere", cfg: notify.WebhookConfig{URL: "http://hooks.example.org/", Secret: secret}, want: []string{"must be https"}},
		{name: "another scheme", cfg: notify.WebhookConfig{URL: "ftp://127.0.0.1/", Secret: secret}, want: []string{"must be https"}},
		{name: "no host", cfg: notify.WebhookConfig{URL: "https:///hook", Secret: secret}, want: []string{"no host"}},
		{name: "not a URL", cfg: notify.WebhookConfig{URL: "https://a b/%zz", Secret: secret}, want: []string{"does not parse"}},
		{name: "short secret", cfg: notify.WebhookConfig{URL: "https://h.example", Secret: secret[:31]}, want: []string{"at least 32 bytes"}},
		{name: "backoff reversed", cfg: notify.WebhookConfig{URL: "https://h.example", Secret: secret, MinBackoff: time.Minute, MaxBackoff: time.Second},
			want: []string{"MinBackoff is longer"}},
		{name: "negative poll", cfg: notify.WebhookConfig{URL: "https://h.example", Secret: secret, Poll: -time.Second}, want: []string{"negative"}},
		{name: "every problem at once", cfg: notify.WebhookConfig{URL: "http://hooks.example.org/"},
			want: []string{"must be https", "at least 32 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate(%s) = %v, want nil", tt.name, err)
				}
				return
			}
			for _, w := range tt.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%s) = %v, want an error mentioning %q", tt.name, err, w)
				}
			}
		})
	}
}
