package sdk

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fake decision point of S2's tests: an AuthZEN server that counts what it
// is asked, answers what the test says, serves a change feed the test writes
// to, and publishes a signing key for the middleware's tokens.

const (
	pdpAPIKey   = "test-api-key-not-secret"
	pdpAudience = "https://agency.example/api"
	pdpClientID = "test-agency"
	pdpKeyID    = "test-key-1"
)

// pdpQuestion is one evaluation the fake was asked, as it read it.
type pdpQuestion struct {
	ActorType, ActorID, ACR string
	AuthTime                int64
	HasAuthTime             bool
	HasContext              bool
	PartyType, PartyID      string
	Service, Action         string
	Receipt                 bool
}

// pdpReply is the fake's answer to one evaluation.
type pdpReply struct {
	Status   int    // 0: 200
	Raw      string // when set, the body as is
	Decision bool
	Reasons  []string
	Relation string
	StepUp   *StepUp
	ValidFor *int
	Receipt  string
	Policy   string
	// ItemError makes a batch item an error (context.error).
	ItemError string
}

func allowReply(q pdpQuestion) pdpReply {
	rel := "self"
	if q.HasContext && q.PartyID != "" {
		rel = "parent"
	}
	return pdpReply{Decision: true, Reasons: []string{"permitted"}, Relation: rel, Policy: "v1"}
}

type fakePDP struct {
	t   testing.TB
	srv *httptest.Server
	key *ecdsa.PrivateKey

	mu      sync.Mutex
	decide  func(pdpQuestion) pdpReply
	asked   []pdpQuestion     // every evaluation, single or batch item
	bodies  []json.RawMessage // every body POSTed to the evaluation endpoints
	headers []http.Header
	// gate, when set, is called before an evaluation is answered (the test
	// blocks it to have a request in flight).
	gate func()
	// parties answers the party search: all results, paged by the fake.
	parties []partyAnswerJSON

	evaluations atomic.Int64 // calls to /evaluation
	batches     atomic.Int64 // calls to /evaluations
	searches    atomic.Int64 // calls to /search/party

	conns chan *pdpConn
	// authTime is the auth_time of the tokens the fake mints.
	authTime int64
	// refuseFeed makes the change feed answer 401.
	refuseFeed bool
	// feedIdle, when set, is the clients' limit of a silent feed.
	feedIdle time.Duration
}

// partyAnswerJSON is a result of the fake's party search.
type partyAnswerJSON struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
}

// pdpConn is one connection to the fake's change feed.
type pdpConn struct {
	LastEventID string
	Auth        string
	send        chan string
	drop        chan struct{}
}

// Send writes raw to the stream.
func (c *pdpConn) Send(t testing.TB, raw string) {
	t.Helper()
	select {
	case c.send <- raw:
	case <-time.After(10 * time.Second):
		t.Fatal("the change feed connection did not take the event")
	}
}

// Drop ends the connection.
func (c *pdpConn) Drop() { close(c.drop) }

func newFakePDP(t testing.TB) *fakePDP {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakePDP{t: t, key: key, decide: allowReply, conns: make(chan *pdpConn, 16), authTime: time.Now().Add(-time.Minute).Unix()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /access/v1/evaluation", f.handleEvaluation)
	mux.HandleFunc("POST /access/v1/evaluations", f.handleEvaluations)
	mux.HandleFunc("POST /access/v1/search/party", f.handleSearchParty)
	mux.HandleFunc("GET /access/v1/changes", f.handleChanges)
	mux.HandleFunc("GET /jwks.json", f.handleJWKS)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// setDecide changes the fake's answers.
func (f *fakePDP) setDecide(d func(pdpQuestion) pdpReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decide = d
}

func (f *fakePDP) setGate(g func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = g
}

// questions returns what the fake was asked so far.
func (f *fakePDP) questions() []pdpQuestion {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pdpQuestion(nil), f.asked...)
}

func (f *fakePDP) lastBody() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.bodies) == 0 {
		f.t.Fatal("the fake decision point got no request")
	}
	var m map[string]any
	if err := json.Unmarshal(f.bodies[len(f.bodies)-1], &m); err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fakePDP) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[len(f.headers)-1]
}

// nextConn waits for the next connection to the change feed.
func (f *fakePDP) nextConn(t testing.TB) *pdpConn {
	t.Helper()
	select {
	case c := <-f.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("the client did not connect to the change feed")
		return nil
	}
}

// client returns a client of the fake: API key, the fake's endpoints, the
// change feed only if feed, its fast reconnection, and a log that is kept.
func (f *fakePDP) client(t testing.TB, feed bool, mod ...func(*Config)) (*Client, *pdpLog) {
	t.Helper()
	log := &pdpLog{}
	cfg := Config{
		Issuer: f.srv.URL, ClientID: pdpClientID, APIKey: pdpAPIKey, Audience: pdpAudience,
		NoChangeFeed: !feed, HTTPClient: f.srv.Client(),
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c := &Client{cfg: cfg.withDefaults(), meta: metadata{
		Issuer:      f.srv.URL,
		JWKSURI:     f.srv.URL + "/jwks.json",
		Evaluation:  f.srv.URL + "/access/v1/evaluation",
		Evaluations: f.srv.URL + "/access/v1/evaluations",
		SearchParty: f.srv.URL + "/access/v1/search/party",
		Changes:     f.srv.URL + "/access/v1/changes",
	}}
	c.decisions.feed.minRetry = 5 * time.Millisecond
	c.decisions.feed.maxRetry = 20 * time.Millisecond
	c.decisions.feed.idle = f.feedIdle
	if err := c.startDecisions(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stopDecisions)
	return c, log
}

// pdpLog keeps what a client logged.
type pdpLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *pdpLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *pdpLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// authorized checks the API key; it answers 401 otherwise.
func (f *fakePDP) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+pdpAPIKey {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"type":"about:blank","title":"Unauthorized","status":401}`)
		return false
	}
	return true
}

func (f *fakePDP) readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	if !f.authorized(w, r) {
		return nil, false
	}
	if r.Header.Get("Content-Type") != "application/json" {
		w.WriteHeader(http.StatusUnsupportedMediaType)
		return nil, false
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return nil, false
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, b)
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	return m, true
}

// question reads one evaluation as the server would.
func question(m map[string]any) pdpQuestion {
	var q pdpQuestion
	sub, _ := m["subject"].(map[string]any)
	q.ActorType, _ = sub["type"].(string)
	q.ActorID, _ = sub["id"].(string)
	props, _ := sub["properties"].(map[string]any)
	q.ACR, _ = props["acr"].(string)
	if at, ok := props["auth_time"].(float64); ok {
		q.AuthTime, q.HasAuthTime = int64(at), true
	}
	act, _ := m["action"].(map[string]any)
	q.Action, _ = act["name"].(string)
	res, _ := m["resource"].(map[string]any)
	q.Service, _ = res["id"].(string)
	if ctx, ok := m["context"].(map[string]any); ok {
		q.HasContext = true
		if p, ok := ctx["party"].(map[string]any); ok {
			q.PartyType, _ = p["type"].(string)
			q.PartyID, _ = p["id"].(string)
		}
		q.Receipt, _ = ctx["receipt"].(bool)
	}
	return q
}

// ask records q and returns the test's answer to it.
func (f *fakePDP) ask(q pdpQuestion) pdpReply {
	f.mu.Lock()
	f.asked = append(f.asked, q)
	decide, gate := f.decide, f.gate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	return decide(q)
}

// replyJSON is the AuthZEN body of a reply.
func replyJSON(r pdpReply) any {
	ctx := map[string]any{}
	if r.ItemError != "" {
		ctx["error"] = map[string]any{"status": 400, "message": r.ItemError}
		return map[string]any{"decision": false, "context": ctx}
	}
	var reasons []map[string]string
	for _, code := range r.Reasons {
		reasons = append(reasons, map[string]string{"code": code})
	}
	if reasons != nil {
		ctx["reasons"] = reasons
	}
	if r.Relation != "" {
		ctx["relation"] = map[string]string{"kind": r.Relation}
	}
	if r.StepUp != nil {
		s := map[string]any{"acr_values": r.StepUp.ACRValues}
		if r.StepUp.MaxAge > 0 {
			s["max_age"] = int64(r.StepUp.MaxAge / time.Second)
		}
		ctx["step_up"] = s
	}
	if r.ValidFor != nil {
		ctx["valid_for"] = *r.ValidFor
	}
	if r.Receipt != "" {
		ctx["receipt"] = r.Receipt
	}
	if r.Policy != "" {
		ctx["policy_version"] = r.Policy
	}
	return map[string]any{"decision": r.Decision, "context": ctx}
}

func (f *fakePDP) handleEvaluation(w http.ResponseWriter, r *http.Request) {
	f.evaluations.Add(1)
	m, ok := f.readBody(w, r)
	if !ok {
		return
	}
	reply := f.ask(question(m))
	switch {
	case reply.Status != 0 && reply.Status != http.StatusOK:
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(reply.Status)
		if reply.Raw != "" {
			io.WriteString(w, reply.Raw)
		}
	case reply.Raw != "":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, reply.Raw)
	default:
		writeTestJSON(w, replyJSON(reply))
	}
}

func (f *fakePDP) handleEvaluations(w http.ResponseWriter, r *http.Request) {
	f.batches.Add(1)
	m, ok := f.readBody(w, r)
	if !ok {
		return
	}
	opts, _ := m["options"].(map[string]any)
	if opts["evaluations_semantic"] != "execute_all" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	items, _ := m["evaluations"].([]any)
	out := make([]any, 0, len(items))
	for _, it := range items {
		item, _ := it.(map[string]any)
		reply := f.ask(question(item))
		if reply.Status >= 500 {
			w.WriteHeader(reply.Status)
			return
		}
		out = append(out, replyJSON(reply))
	}
	writeTestJSON(w, map[string]any{"evaluations": out})
}

func (f *fakePDP) handleSearchParty(w http.ResponseWriter, r *http.Request) {
	f.searches.Add(1)
	m, ok := f.readBody(w, r)
	if !ok {
		return
	}
	page, _ := m["page"].(map[string]any)
	limit := 50
	if l, ok := page["limit"].(float64); ok && l > 0 {
		limit = int(l)
	}
	offset := 0
	if tok, ok := page["token"].(string); ok && tok != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(tok, "page-"))
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		offset = n
	}
	f.mu.Lock()
	all := f.parties
	f.mu.Unlock()
	start, end := min(offset, len(all)), min(offset+limit, len(all))
	next := ""
	if end < len(all) {
		next = "page-" + strconv.Itoa(end)
	}
	results := all[start:end]
	if results == nil {
		results = []partyAnswerJSON{}
	}
	writeTestJSON(w, map[string]any{"page": map[string]any{"next_token": next, "count": end - start, "total": len(all)}, "results": results})
}

func (f *fakePDP) handleChanges(w http.ResponseWriter, r *http.Request) {
	if f.refuseFeed {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !f.authorized(w, r) {
		return
	}
	conn := &pdpConn{LastEventID: r.Header.Get("Last-Event-ID"), Auth: r.Header.Get("Authorization"),
		send: make(chan string), drop: make(chan struct{})}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl := w.(http.Flusher)
	io.WriteString(w, "retry: 5\n\n")
	fl.Flush()
	f.conns <- conn
	for {
		select {
		case s := <-conn.send:
			io.WriteString(w, s)
			fl.Flush()
		case <-conn.drop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakePDP) handleJWKS(w http.ResponseWriter, r *http.Request) {
	pub := f.key.PublicKey
	b, err := pub.Bytes() // uncompressed point: 0x04 || X || Y
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	enc := base64.RawURLEncoding
	writeTestJSON(w, map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": pdpKeyID, "use": "sig", "alg": "ES256",
		"x": enc.EncodeToString(b[1:33]), "y": enc.EncodeToString(b[33:65]),
	}}})
}

// mint signs claims as an access token of the fake's issuer (typ at+jwt, ES256).
func (f *fakePDP) mint(t testing.TB, claims map[string]any) string {
	t.Helper()
	return signES256(t, f.key, map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": pdpKeyID}, claims)
}

func signES256(t testing.TB, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	digest := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig)
}

func writeTestJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprint("fake decision point: ", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}

// pdpWaitSeq waits until the client has acted on the feed's event seq.
func pdpWaitSeq(t testing.TB, c *Client, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, ok := c.FeedSeq(); ok && got == seq {
			return
		}
		if time.Now().After(deadline) {
			got, _ := c.FeedSeq()
			t.Fatalf("the client did not act on event %d of the change feed (last seq %d)", seq, got)
		}
		time.Sleep(time.Millisecond)
	}
}
