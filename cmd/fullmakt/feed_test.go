package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
)

// TestServeReceipt: with --demo, the metadata names the change feed and the
// receipts' algorithm, and an evaluation that asks for a receipt gets one that
// verifies with the published JWK Set alone and says who acted for whom.
func TestServeReceipt(t *testing.T) {
	base, stderr, _ := startServe(t, "--data", t.TempDir(), "--demo")
	if !regexp.MustCompile(`msg="OAuth clients loaded" file=\S+ clients=3`).MatchString(stderr.String()) {
		t.Errorf("serve --demo does not load demo-agency, example-agency and example-diplomas:\n%s", stderr.String())
	}

	var meta map[string]any
	getJSON(t, base+"/.well-known/authzen-configuration", &meta)
	if got, want := meta["changes_endpoint"], base+"/access/v1/changes"; got != want {
		t.Errorf("metadata changes_endpoint = %v, want %q", got, want)
	}
	if diff := cmp.Diff([]any{"ES256"}, meta["receipt_signing_alg_values_supported"]); diff != "" {
		t.Errorf("metadata receipt_signing_alg_values_supported (-want +got):\n%s", diff)
	}

	_, kari := castIndex(t, "Kari")
	_, emma := castIndex(t, "Emma")
	authTime := time.Now().Unix() - 60
	body := map[string]any{
		"subject":  map[string]any{"type": "person", "id": kari.ID, "properties": map[string]any{"acr": "idporten-loa-high", "auth_time": authTime}},
		"action":   map[string]any{"name": "read"},
		"resource": map[string]any{"type": "service", "id": "skatteetaten.skattemelding"},
		"context":  map[string]any{"party": map[string]any{"type": "person", "id": emma.ID}, "receipt": true},
	}
	var res struct {
		Decision bool `json:"decision"`
		Context  struct {
			PolicyVersion string `json:"policy_version"`
			ValidFor      int64  `json:"valid_for"`
			Receipt       string `json:"receipt"`
		} `json:"context"`
	}
	postJSON(t, base+"/access/v1/evaluation", demoAPIKey, body, &res)
	if !res.Decision || res.Context.Receipt == "" {
		t.Fatalf("Kari for Emma with a receipt = %+v, want allowed with a receipt", res)
	}
	// The default pack's age threshold is 300 s, a minute is gone.
	if res.Context.ValidFor < 1 || res.Context.ValidFor > 240 {
		t.Errorf("valid_for = %d, want at most the 240 s left until the 300 s threshold", res.Context.ValidFor)
	}

	tok, err := josejwt.ParseSigned(res.Context.Receipt, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("parse the receipt: %v", err)
	}
	h := tok.Headers[0]
	if typ := h.ExtraHeaders[jose.HeaderType]; typ != idp.ReceiptType || h.Algorithm != "ES256" || h.KeyID == "" {
		t.Errorf("receipt header typ %v alg %s kid %q, want %s, ES256 and a kid", typ, h.Algorithm, h.KeyID, idp.ReceiptType)
	}
	var set jose.JSONWebKeySet
	getJSON(t, base+"/jwks.json", &set)
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("the receipt's kid %q names %d keys of /jwks.json, want 1", h.KeyID, len(keys))
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("verify the receipt with /jwks.json: %v", err)
	}
	iat, _ := claims["iat"].(float64)
	if now := float64(time.Now().Unix()); iat < now-60 || iat > now+1 {
		t.Errorf("receipt iat = %v, want about now (%v)", claims["iat"], now)
	}
	if jti, _ := claims["jti"].(string); len(jti) != 22 {
		t.Errorf("receipt jti = %v, want 16 bytes in base64url", claims["jti"])
	}
	delete(claims, "iat")
	delete(claims, "jti")
	want := map[string]any{
		"iss": base, "client_id": demoClientID, "decision": true,
		"actor":   map[string]any{"type": "person", "id": kari.ID.String()},
		"party":   map[string]any{"type": "person", "id": emma.ID.String()},
		"service": "skatteetaten.skattemelding", "action": "read", "acr": "idporten-loa-high", "auth_time": float64(authTime),
		"relation": map[string]any{"kind": "parent"}, "reasons": []any{"permitted"}, "policy_version": res.Context.PolicyVersion,
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("receipt claims (-want +got):\n%s", diff)
	}
}

// TestServeFeed: the change feed says hello to the demo key and to a client with
// a token of scope decide; a fullmakt asked for in the portal arrives as the tags
// of the two people, never their numbers; and stopping the server ends the
// stream, within the shutdown's grace.
func TestServeFeed(t *testing.T) {
	base, stderr, stop := startServe(t, "--data", t.TempDir(), "--demo")
	_, astrid := castIndex(t, "Astrid")
	_, ingrid := castIndex(t, "Ingrid")

	// example-diplomas, a demo client, authenticates with its token.
	cc := clientcredentials.Config{ClientID: exampleDiplomasID, ClientSecret: exampleDiplomasSecret, TokenURL: base + "/token",
		Scopes: []string{idp.ScopeDecide}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(t.Context())
	if err != nil {
		t.Fatalf("example-diplomas' token: %v", err)
	}
	byToken := openFeed(t, base, tok.AccessToken)
	byToken.hello()
	byToken.close()

	s := openFeed(t, base, demoAPIKey)
	start := s.hello()
	if start == 0 {
		t.Error("hello at 0: the demo cast's import wrote no changes?")
	}

	ask(t, logIn(t, base, "Ingrid"), base, astrid, "housing", "")
	want := []string{partyTag(astrid.ID), partyTag(ingrid.ID)}
	for {
		e := s.next()
		if e.name != "changes" {
			t.Fatalf("event %+v, want changes", e)
		}
		var d struct {
			Seq     uint64   `json:"seq"`
			Parties []string `json:"parties"`
		}
		if err := json.Unmarshal([]byte(e.data), &d); err != nil {
			t.Fatal(err)
		}
		if d.Seq <= start {
			t.Errorf("changes seq %d, want after the hello's %d", d.Seq, start)
		}
		if slices.Contains(d.Parties, want[0]) && slices.Contains(d.Parties, want[1]) {
			break
		}
	}
	said := s.said()
	for _, c := range []delegation.PartyID{astrid.ID, ingrid.ID} {
		if strings.Contains(said, c.String()) {
			t.Errorf("the stream names the identity number %s:\n%s", c, said)
		}
	}

	// With the stream open, the server stops within its grace: Shutdown would
	// time out, and serve fail, if the stream stayed open.
	if code := stop(); code != exitOK {
		t.Errorf("serve with a change stream open, after cancel = %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
	}
	s.ended()
}

// TestServeFeedPolicyReset: a reload of the policy pack resets every change
// stream: the decisions agencies cached were the old pack's.
func TestServeFeedPolicyReset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pack")
	if got := fullmakt(t, nil, "", "policy", "export", dir); got.code != exitOK {
		t.Fatalf("policy export = %d; stderr:\n%s", got.code, got.stderr)
	}
	base, _, _ := startServe(t, "--data", t.TempDir(), "--demo", "--policies", dir)
	s := openFeed(t, base, demoAPIKey)
	seq := s.hello()
	file := filepath.Join(dir, "assurance.cedar")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	write(t, file, string(src)+"\n// A comment is a new pack all the same.\n")
	e := s.next()
	if want := fmt.Sprintf(`{"seq":%d,"reason":"policy"}`, seq); e.name != "reset" || e.data != want || e.id != strconv.FormatUint(seq, 10) {
		t.Errorf("after the pack changed: event %+v, want reset %s", e, want)
	}
}

// partyTag is the change feed's party tag, from the contract's definition.
func partyTag(id delegation.PartyID) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:2])
}

// feedStream reads a change stream in the background.
type feedStream struct {
	t      *testing.T
	events chan feedEvent // closed when the stream ends
	close  func()
	mu     sync.Mutex
	raw    strings.Builder
}

// feedEvent is an event of the stream (comments are skipped); retry is the
// retry field.
type feedEvent struct{ name, id, data, retry string }

// openFeed opens the change feed with the bearer credential.
func openFeed(t *testing.T, base, bearer string) *feedStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/access/v1/changes", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	s := &feedStream{t: t, events: make(chan feedEvent, 64), close: func() { cancel(); resp.Body.Close() }}
	t.Cleanup(s.close)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /access/v1/changes = %d %s, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	go func() {
		defer close(s.events)
		r := bufio.NewReader(resp.Body)
		var e feedEvent
		for {
			line, err := r.ReadString('\n')
			s.mu.Lock()
			s.raw.WriteString(line)
			s.mu.Unlock()
			if err != nil {
				return
			}
			name, value, _ := strings.Cut(strings.TrimSuffix(line, "\n"), ": ")
			switch name {
			case "event":
				e.name = value
			case "id":
				e.id = value
			case "data":
				e.data = value
			case "retry":
				e.retry = value
			case "":
				if e != (feedEvent{}) {
					select {
					case s.events <- e:
					case <-ctx.Done():
						return
					}
				}
				e = feedEvent{}
			}
		}
	}()
	return s
}

// next returns the next event.
func (s *feedStream) next() feedEvent {
	s.t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			s.t.Fatalf("the stream ended; it said:\n%s", s.said())
		}
		return e
	case <-time.After(15 * time.Second):
		s.t.Fatalf("nothing on the stream for 15 s; it said:\n%s", s.said())
	}
	return feedEvent{}
}

// hello reads the retry field and the hello event and returns its seq.
func (s *feedStream) hello() uint64 {
	s.t.Helper()
	if e := s.next(); e.retry != "1000" {
		s.t.Fatalf("the stream starts with %+v, want retry: 1000", e)
	}
	e := s.next()
	var d struct {
		Seq uint64 `json:"seq"`
	}
	if e.name != "hello" || json.Unmarshal([]byte(e.data), &d) != nil {
		s.t.Fatalf("second event %+v, want hello", e)
	}
	return d.Seq
}

// ended waits until the stream ends.
func (s *feedStream) ended() {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-time.After(15 * time.Second):
			s.t.Fatalf("the stream has not ended; it said:\n%s", s.said())
		}
	}
}

func (s *feedStream) said() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// getJSON fetches url and decodes its 200 JSON body into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, want 200", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// postJSON posts body to url with the API key and decodes its 200 JSON answer
// into v.
func postJSON(t *testing.T, url, key string, body, v any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d, want 200", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
}
