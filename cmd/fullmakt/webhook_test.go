package main

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation/notify"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// TestWebhookAcrossRestart: notifications made while the webhook's receiver is
// down are kept, and delivered, signed and in order, once it is up again after
// a restart of the server; what happens afterwards follows them in order.
func TestWebhookAcrossRestart(t *testing.T) {
	_, astrid := castIndex(t, "Astrid")
	_, ingrid := castIndex(t, "Ingrid")
	rcv := newReceiver(t) // before serve, so that it closes after serve has stopped
	data := t.TempDir()
	args := []string{"--data", data, "--demo", "--webhook-url", rcv.url, "--webhook-secret-file", rcv.secretFile}

	// 1. The receiver is down.
	base, stderr, stop := startServe(t, args...)

	// 2. Ingrid asks her mother Astrid for two fullmakter; Astrid declines one.
	ingridAt := logIn(t, base, "Ingrid")
	housing := ask(t, ingridAt, base, astrid, "housing", "I can help with the house.")
	transport := ask(t, ingridAt, base, astrid, "transport", "")

	astridAt := logIn(t, base, "Astrid")
	waitForNotes(t, astridAt, base, "asks you for a fullmakt.", 2)
	decline(t, astridAt, base, housing, "I manage the house myself.")
	waitForNotes(t, ingridAt, base, "declined your request for a fullmakt.", 1)

	// 3. Delivery was tried and failed; the server stops with all three in the
	// outbox.
	rcv.wait(t, "a failed delivery", func(ds []delivery) bool { return len(ds) > 0 })
	if code := stop(); code != exitOK {
		t.Fatalf("serve after cancel = %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	logs := stderr.String()

	// 4. The receiver is up, and the server starts again on the same data.
	rcv.setUp(true)
	base, stderr, stop = startServe(t, args...)
	ds := rcv.wait(t, "the three notifications", func(ds []delivery) bool { return len(taken(ds)) >= 3 })

	first := taken(ds)[0].Seq
	// Delivery keeps to the order: while the receiver was down, only the first
	// notification was tried.
	for _, d := range ds {
		if !d.Taken && d.Seq != first {
			t.Errorf("while the receiver was down, seq %d was tried, want only the first, %d", d.Seq, first)
		}
	}
	want := []note{
		{Seq: first, Type: "request.received", Person: astrid.ID.String(), Ref: housing},
		{Seq: first + 1, Type: "request.received", Person: astrid.ID.String(), Ref: transport},
		{Seq: first + 2, Type: "request.answered", Person: ingrid.ID.String(), Ref: housing},
	}
	if diff := cmp.Diff(want, notes(taken(ds))); diff != "" {
		t.Errorf("delivered after the restart (-want +got):\n%s", diff)
	}

	// 5. With the receiver up, the next notification follows at once, in order.
	ingridAt = logIn(t, base, "Ingrid")
	family := ask(t, ingridAt, base, astrid, "family", "")
	ds = rcv.wait(t, "the fourth notification", func(ds []delivery) bool { return len(taken(ds)) >= 4 })
	want = append(want, note{Seq: first + 3, Type: "request.received", Person: astrid.ID.String(), Ref: family})
	if diff := cmp.Diff(want, notes(taken(ds))); diff != "" {
		t.Errorf("delivered after the fourth request (-want +got):\n%s", diff)
	}

	if code := stop(); code != exitOK {
		t.Errorf("second serve after cancel = %d, want %d", code, exitOK)
	}
	logs += stderr.String()
	for _, c := range []demo.Character{astrid, ingrid} {
		if strings.Contains(logs, c.ID.String()) {
			t.Errorf("the server's log contains %s's identity number:\n%s", c.Name, logs)
		}
	}
}

// --- The receiver --------------------------------------------------------------

// receiver is a webhook receiver that checks every request's signature and
// records what it got, in order. While down it answers 503, while up 204.
type receiver struct {
	url        string
	secretFile string
	secret     []byte
	arrived    chan struct{} // a request has been recorded

	mu  sync.Mutex
	up  bool
	got []delivery
}

// delivery is one request the receiver got.
type delivery struct {
	Seq               uint64
	Type, Person, Ref string
	Taken             bool   // answered 2xx: the server may count it delivered
	Err               string // why the request does not verify; "" when it does
}

// note is what a delivered notification says.
type note struct {
	Seq               uint64
	Type, Person, Ref string
}

// newReceiver starts a receiver, down, with a fresh secret in a file.
func newReceiver(t *testing.T) *receiver {
	t.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secret := hex.EncodeToString(key) // 64 bytes
	file := filepath.Join(t.TempDir(), "webhook-secret")
	// With a newline at the end, as an editor saves it: the server trims it.
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &receiver{secretFile: file, secret: []byte(secret), arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/hooks/fullmakt"
	return r
}

// ServeHTTP records the request and answers as the receiver's state says; a
// request that does not verify is refused.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	var p struct {
		ID     string `json:"id"`
		Seq    uint64 `json:"seq"`
		Type   string `json:"type"`
		Person string `json:"person"`
		Ref    string `json:"ref"`
	}
	var d delivery
	id, timestamp, signature := req.Header.Get("webhook-id"), req.Header.Get("webhook-timestamp"), req.Header.Get("webhook-signature")
	switch err := notify.Verify(r.secret, id, timestamp, body, signature, time.Now(), 5*time.Minute); {
	case req.Method != http.MethodPost || req.URL.Path != "/hooks/fullmakt":
		d.Err = fmt.Sprintf("%s %s, want POST /hooks/fullmakt", req.Method, req.URL.Path)
	case err != nil:
		d.Err = err.Error()
	case signature != standardSignature(r.secret, id, timestamp, body):
		// Verify and the signing share their code; this is the Standard
		// Webhooks scheme written out on its own.
		d.Err = fmt.Sprintf("webhook-signature %q, want %q", signature, standardSignature(r.secret, id, timestamp, body))
	default:
		if err := json.Unmarshal(body, &p); err != nil {
			d.Err = fmt.Sprintf("body %s: %v", body, err)
		} else if p.ID != id {
			d.Err = fmt.Sprintf("body id %q, webhook-id %q", p.ID, id)
		}
	}
	d.Seq, d.Type, d.Person, d.Ref = p.Seq, p.Type, p.Person, p.Ref

	r.mu.Lock()
	d.Taken = r.up && d.Err == ""
	r.got = append(r.got, d)
	r.mu.Unlock()
	select {
	case r.arrived <- struct{}{}:
	default:
	}
	switch {
	case d.Err != "":
		http.Error(w, "does not verify", http.StatusUnauthorized)
	case d.Taken:
		w.WriteHeader(http.StatusNoContent)
	default:
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
}

// standardSignature is the webhook-signature header of a Standard Webhooks
// request: "v1," and the base64 HMAC-SHA256 of "id.timestamp.body".
func standardSignature(secret []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	fmt.Fprintf(mac, "%s.%s.%s", id, timestamp, body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// setUp switches the receiver up or down.
func (r *receiver) setUp(up bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.up = up
}

// deliveries returns what the receiver has got so far.
func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// wait returns what the receiver has got once done says it is enough; it fails
// the test at once if a request did not verify, and if getting enough takes
// unreasonably long.
func (r *receiver) wait(t *testing.T, what string, done func([]delivery) bool) []delivery {
	t.Helper()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	for {
		ds := r.deliveries()
		for _, d := range ds {
			if d.Err != "" {
				t.Fatalf("a webhook request does not verify: %s", d.Err)
			}
		}
		if done(ds) {
			return ds
		}
		select {
		case <-r.arrived:
		case <-timeout.C:
			t.Fatalf("the receiver did not get %s; it got:\n%+v", what, r.deliveries())
		}
	}
}

// taken returns the deliveries the receiver acknowledged.
func taken(ds []delivery) []delivery {
	var out []delivery
	for _, d := range ds {
		if d.Taken {
			out = append(out, d)
		}
	}
	return out
}

// notes returns what the deliveries say.
func notes(ds []delivery) []note {
	out := make([]note, len(ds))
	for i, d := range ds {
		out[i] = note{Seq: d.Seq, Type: d.Type, Person: d.Person, Ref: d.Ref}
	}
	return out
}

// --- The portal, as a browser without JavaScript -------------------------------

// logIn logs person (a first name of the cast) in to the portal with the demo
// eID at level substantial and returns the browser, on the overview.
func logIn(t testing.TB, base, person string) *http.Client {
	t.Helper()
	client := browser(t, base)
	resp, page := demoLogin(t, client, base, base+"/login?return=/", person, "substantial")
	if !landedOn(resp, "/") {
		t.Fatalf("%s's login ends at %s (%d), want the overview:\n%s", person, resp.Request.URL, resp.StatusCode, page)
	}
	return client
}

var (
	inputValue = regexp.MustCompile(`<input type="[a-z]+" id="[a-z-]+" name="([a-z]+)" value="([^"]*)"`)
	scopePath  = regexp.MustCompile(`^(/draft/[^/]+)/scope$`)
	requestAt  = regexp.MustCompile(`^/requests/([^/]+)$`)
)

// ask asks grantor for a fullmakt for area through the wizard: to whom, for
// what, all actions, the period the page suggests, a message, send. It returns
// the request's id.
func ask(t *testing.T, client *http.Client, base string, grantor demo.Character, area, message string) string {
	t.Helper()
	_, page := get(t, client, base+"/ask")
	f := form(t, page, "/ask")
	f.Set("id", grantor.ID.String())
	f.Set("surname", grantor.Name[strings.LastIndex(grantor.Name, " ")+1:])
	resp, page := postForm(t, client, base+"/ask", f)
	draft := landedAt(t, resp, page, scopePath)

	f = form(t, page, draft+"/scope")
	f.Set("area", area)
	resp, page = postForm(t, client, base+draft+"/scope", f)
	onPage(t, resp, page, draft+"/options")

	f = form(t, page, draft+"/options")
	f.Set("actions", "all")
	resp, page = postForm(t, client, base+draft+"/options", f)
	onPage(t, resp, page, draft+"/period")

	f = form(t, page, draft+"/period")
	for _, m := range inputValue.FindAllStringSubmatch(page, -1) {
		if m[1] == "from" || m[1] == "to" {
			f.Set(m[1], m[2])
		}
	}
	f.Set("until", "date")
	f.Set("message", message)
	resp, page = postForm(t, client, base+draft+"/period", f)
	onPage(t, resp, page, draft+"/review")

	resp, page = postForm(t, client, base+draft+"/send", form(t, page, draft+"/send"))
	id := landedAt(t, resp, page, requestAt)
	if resp.Request.URL.Query().Get("sent") != "1" {
		t.Errorf("sending the request ends at %s, want ?sent=1", resp.Request.URL)
	}
	return id
}

// landedAt checks that resp is a page (after redirects) whose path matches
// path, and returns the part path captures.
func landedAt(t testing.TB, resp *http.Response, page string, path *regexp.Regexp) string {
	t.Helper()
	m := path.FindStringSubmatch(resp.Request.URL.Path)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("want the page %s, got %s (%d):\n%s", path, resp.Request.URL, resp.StatusCode, page)
	}
	return m[1]
}

// onPage checks that resp is the page at path (after redirects).
func onPage(t testing.TB, resp *http.Response, page, path string) {
	t.Helper()
	if !landedOn(resp, path) {
		t.Fatalf("want the page %s, got %s (%d):\n%s", path, resp.Request.URL, resp.StatusCode, page)
	}
}

// decline declines the request with reason.
func decline(t *testing.T, client *http.Client, base, request, reason string) {
	t.Helper()
	action := "/requests/" + request + "/decline"
	_, page := get(t, client, base+action)
	f := form(t, page, action)
	f.Set("reason", reason)
	resp, page := postForm(t, client, base+action, f)
	onPage(t, resp, page, "/requests/"+request)
	if !strings.Contains(page, "You have declined the request.") {
		t.Errorf("declining %s: the page does not say it is declined:\n%s", request, page)
	}
}

// waitForNotes waits until the visitor's notifications page shows want
// notifications containing text: they are made in the background, a moment
// after what they tell of.
func waitForNotes(t *testing.T, client *http.Client, base, text string, want int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, page := get(t, client, base+"/notifications")
		got := strings.Count(page, text)
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("the notifications page shows %d of %q, want %d:\n%s", got, text, want, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
