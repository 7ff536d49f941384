package authzen_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/delegation"
)

// signer is a ReceiptSigner that keeps the claims it was given and answers
// "receipt-N", or fails with err.
type signer struct {
	mu     sync.Mutex
	claims []map[string]any
	err    error
}

func (s *signer) SignReceipt(_ context.Context, claims map[string]any) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	s.claims = append(s.claims, claims)
	return "receipt-" + strconv.Itoa(len(s.claims)), nil
}

func (s *signer) signed() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.claims
}

func withReceipts(s authzen.ReceiptSigner) option {
	return func(_ *fixture, cfg *authzen.Config, _ *decider) { cfg.Receipts = s }
}

// withReceipt asks for a receipt in the evaluation e.
func withReceipt(e obj) obj {
	c, _ := e["context"].(obj)
	if c == nil {
		c = obj{}
	}
	c["receipt"] = true
	e["context"] = c
	return e
}

// party is a party claim of a receipt.
func party(id delegation.PartyID) map[string]any {
	typ := "person"
	if id.Kind() == delegation.KindOrganization {
		typ = "organization"
	}
	return map[string]any{"type": typ, "id": id.String()}
}

var jtiForm = regexp.MustCompile(`^[A-Za-z0-9_-]{22}$`)

// TestReceipt checks the claims of a receipt: who asked, who acted for whom, what,
// at which level, the answer as the client sees it, and the pack that gave it.
func TestReceipt(t *testing.T) {
	s := &signer{}
	f := newFixture(t, withReceipts(s))
	authTime := f.now.Unix() - 60
	withAuthTime := func(e obj) obj {
		e["subject"].(obj)["properties"].(obj)["auth_time"] = authTime
		return e
	}
	for _, tt := range []struct {
		name   string
		key    string
		body   obj
		client string
		want   map[string]any // without iat, jti and reasons (checked against the response)
	}{
		{
			name: "self, with auth_time", key: keyNormal, client: clientNorm,
			body: withAuthTime(evaluation(f.parent, "", acrHigh, svcStudy, "sign")),
			want: map[string]any{
				"decision": true, "actor": party(f.parent), "party": party(f.parent),
				"service": svcStudy, "action": "sign", "acr": acrHigh, "auth_time": authTime,
				"relation": map[string]any{"kind": "self"},
			},
		},
		{
			name: "for a child, an acr alias as given", key: keyNormal, client: clientNorm,
			body: evaluation(f.parent, f.child, "idporten-loa-substantial", svcHealth, "book"),
			want: map[string]any{
				"decision": true, "actor": party(f.parent), "party": party(f.child),
				"service": svcHealth, "action": "book", "acr": "idporten-loa-substantial",
				"relation": map[string]any{"kind": "parent"},
			},
		},
		{
			name: "fullmakt: no id for a client without detailed reasons", key: keyNormal, client: clientNorm,
			body: evaluation(f.parent, f.stranger, acrSubstantial, svcTax, "read"),
			want: map[string]any{
				"decision": true, "actor": party(f.parent), "party": party(f.stranger),
				"service": svcTax, "action": "read", "acr": acrSubstantial,
				"relation": map[string]any{"kind": "fullmakt"},
			},
		},
		{
			name: "fullmakt, detailed: with the id", key: keyDetailed, client: clientDet,
			body: evaluation(f.parent, f.stranger, acrSubstantial, svcTax, "read"),
			want: map[string]any{
				"decision": true, "actor": party(f.parent), "party": party(f.stranger),
				"service": svcTax, "action": "read", "acr": acrSubstantial,
				"relation": map[string]any{"kind": "fullmakt", "id": f.fullmaktID},
			},
		},
		{
			name: "deny: no relation", key: keyNormal, client: clientNorm,
			body: evaluation(f.parent, f.adultChild, acrSubstantial, svcHealth, "book"),
			want: map[string]any{
				"decision": false, "actor": party(f.parent), "party": party(f.adultChild),
				"service": svcHealth, "action": "book", "acr": acrSubstantial,
			},
		},
		{
			name: "deny, detailed", key: keyDetailed, client: clientDet,
			body: evaluation(f.stranger, f.parent, acrSubstantial, svcTax, "read"),
			want: map[string]any{
				"decision": false, "actor": party(f.stranger), "party": party(f.parent),
				"service": svcTax, "action": "read", "acr": acrSubstantial,
			},
		},
		{
			name: "for an organisation", key: keyNormal, client: clientNorm,
			body: evaluation(f.parent, f.org, acrSubstantial, svcTax, "read"),
			want: map[string]any{
				"decision": true, "actor": party(f.parent), "party": party(f.org),
				"service": svcTax, "action": "read", "acr": acrSubstantial,
				"relation": map[string]any{"kind": "role"},
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.signed())
			res := f.postJSON(pathEvaluation, tt.key, withReceipt(tt.body))
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathEvaluation, res.status, res.body)
			}
			signed := s.signed()
			if len(signed) != before+1 {
				t.Fatalf("POST %s signed %d receipts, want 1", pathEvaluation, len(signed)-before)
			}
			got := signed[len(signed)-1]
			out := res.json(t).(obj)
			ctx := out["context"].(obj)
			if ctx["receipt"] != "receipt-"+strconv.Itoa(before+1) {
				t.Errorf("context.receipt = %v, want the signer's receipt-%d", ctx["receipt"], before+1)
			}
			if jti, _ := got["jti"].(string); !jtiForm.MatchString(jti) {
				t.Errorf("jti = %v, want 16 random bytes in base64url", got["jti"])
			}
			want := map[string]any{
				"iat": f.now.Unix(), "jti": got["jti"], "client_id": tt.client, "policy_version": f.pack.Version,
				"decision": out["decision"],
			}
			var reasons []string
			for _, r := range ctx["reasons"].(arr) {
				reasons = append(reasons, r.(obj)["code"].(string))
			}
			want["reasons"] = reasons
			for k, v := range tt.want {
				want[k] = v
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("receipt claims (-want +got):\n%s", diff)
			}
		})
	}
	jtis := map[any]bool{}
	for _, c := range s.signed() {
		if jtis[c["jti"]] {
			t.Errorf("jti %v used twice", c["jti"])
		}
		jtis[c["jti"]] = true
	}
}

// TestReceiptBatch: a batch item gets a receipt when its context, or the
// top-level context it takes, asks for one.
func TestReceiptBatch(t *testing.T) {
	s := &signer{}
	f := newFixture(t, withReceipts(s))
	body := obj{
		"subject": subject(f.parent, acrSubstantial),
		"action":  action("read"),
		"context": obj{"receipt": true},
		// The first item takes the top-level context; the second has its own,
		// without a receipt, the third its own, with one; the fourth is an error:
		// nothing to sign.
		"evaluations": arr{
			obj{"resource": service(svcTax)},
			obj{"resource": service(svcTax), "context": forParty(f.child)},
			obj{"resource": service(svcTax), "context": obj{"party": forParty(f.stranger)["party"], "receipt": true}},
			obj{"resource": service("no.such")},
		},
	}
	res := f.postJSON(pathEvaluations, keyNormal, body)
	if res.status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", pathEvaluations, res.status, res.body)
	}
	var got []any
	for _, it := range res.json(t).(obj)["evaluations"].(arr) {
		got = append(got, it.(obj)["context"].(obj)["receipt"])
	}
	if diff := cmp.Diff([]any{"receipt-1", nil, "receipt-2", nil}, got); diff != "" {
		t.Errorf("receipts of the items (-want +got):\n%s", diff)
	}
	var parties []any
	for _, c := range s.signed() {
		parties = append(parties, c["party"])
	}
	if diff := cmp.Diff([]any{party(f.parent), party(f.stranger)}, parties); diff != "" {
		t.Errorf("parties of the receipts (-want +got):\n%s", diff)
	}
}

// TestReceiptRefused: a receipt asked of a server without a signer is a 400 (an
// item error in a batch), context.receipt must be a boolean, and a signature
// that fails fails the call: no decision without the receipt asked for.
func TestReceiptRefused(t *testing.T) {
	none := newFixture(t)
	failing := &signer{err: errors.New("idp: sign a token: no signing key")}
	broken := newFixture(t, withReceipts(failing))
	working := newFixture(t, withReceipts(&signer{}))
	eval := func(f *fixture, receipt any) obj {
		e := evaluation(f.parent, "", acrSubstantial, svcTax, "read")
		e["context"] = obj{"receipt": receipt}
		return e
	}
	batch := func(f *fixture, top, item any) obj {
		b := obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": service(svcTax),
			"evaluations": arr{obj{}}}
		if top != nil {
			b["context"] = obj{"receipt": top}
		}
		if item != nil {
			b["evaluations"] = arr{obj{"context": obj{"receipt": item}}}
		}
		return b
	}
	for _, tt := range []struct {
		name   string
		f      *fixture
		path   string
		body   obj
		status int
		field  string
	}{
		{"no signer", none, pathEvaluation, eval(none, true), 400, "context.receipt"},
		{"no signer, batch", none, pathEvaluations, batch(none, true, nil), 400, "context.receipt"},
		{"no signer, receipt false", none, pathEvaluation, eval(none, false), 200, ""},
		{"a string", working, pathEvaluation, eval(working, "true"), 400, "context.receipt"},
		{"a number", working, pathEvaluation, eval(working, 1), 400, "context.receipt"},
		{"null is absent", working, pathEvaluation, eval(working, nil), 200, ""},
		{"the signature fails", broken, pathEvaluation, eval(broken, true), 500, ""},
		{"the signature fails, batch", broken, pathEvaluations, batch(broken, true, nil), 500, ""},
		{"the signature fails, an item", broken, pathEvaluations, batch(broken, nil, true), 500, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.f.postJSON(tt.path, keyNormal, tt.body)
			if res.status != tt.status {
				t.Fatalf("POST %s %v = %d %s, want %d", tt.path, tt.body, res.status, res.body, tt.status)
			}
			out := res.json(t).(obj)
			if tt.status == 200 {
				if c, _ := out["context"].(obj); c["receipt"] != nil {
					t.Errorf("POST %s %v: a receipt, want none", tt.path, tt.body)
				}
				return
			}
			if _, ok := out["decision"]; ok {
				t.Errorf("POST %s %v = %s: a decision in an error", tt.path, tt.body, res.body)
			}
			if out["field"] != nil || tt.field != "" {
				if out["field"] != tt.field {
					t.Errorf("problem field = %v, want %q", out["field"], tt.field)
				}
			}
		})
	}
	if logs := broken.logs.String(); !strings.Contains(logs, "sign a receipt") {
		t.Errorf("the failed signature is not logged:\n%s", logs)
	}

	// In a batch, an item that asks for a receipt without a signer, or whose
	// receipt is not a boolean, is an item error.
	for _, tt := range []struct {
		name string
		f    *fixture
		body obj
	}{
		{"no signer", none, batch(none, nil, true)},
		{"a string", working, batch(working, nil, "yes")},
	} {
		res := tt.f.postJSON(pathEvaluations, keyNormal, tt.body)
		if res.status != http.StatusOK {
			t.Fatalf("%s: POST %s = %d %s, want 200", tt.name, pathEvaluations, res.status, res.body)
		}
		item := res.json(t).(obj)["evaluations"].(arr)[0].(obj)
		msg, _ := item["context"].(obj)["error"].(obj)["message"].(string)
		if item["decision"] != false || !strings.HasPrefix(msg, "evaluations[0].context.receipt ") {
			t.Errorf("%s: the item = %v, want an item error naming evaluations[0].context.receipt", tt.name, item)
		}
	}
}

// TestValidFor: a decision says how long it holds as the authentication ages,
// when an age threshold of the pack lies ahead (the test pack's only one: 600 s).
func TestValidFor(t *testing.T) {
	f := newFixture(t)
	now := float64(f.now.Unix())
	for _, tt := range []struct {
		name     string
		acr      string
		age      float64 // seconds; negative: no auth_time
		decision bool
		want     any // nil: absent
	}{
		{"a minute", acrHigh, 60, true, float64(540)},
		{"just after login", acrHigh, 0, true, float64(600)},
		{"at the threshold: still allowed for a second", acrHigh, 600, true, float64(1)},
		{"half a second before the threshold: at least a second", acrHigh, 599.5, true, float64(1)},
		{"whole seconds, rounded down", acrHigh, 300.5, true, float64(299)},
		{"past the threshold", acrHigh, 601, false, nil},
		{"an hour", acrHigh, 3600, false, nil},
		{"no auth_time", acrHigh, -1, false, nil},
		{"a deny holds too", acrLow, 60, false, float64(540)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := evaluation(f.parent, "", tt.acr, svcStudy, "sign")
			if tt.age >= 0 {
				e["subject"].(obj)["properties"].(obj)["auth_time"] = now - tt.age
			}
			res := f.postJSON(pathEvaluation, keyNormal, e)
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathEvaluation, res.status, res.body)
			}
			out := res.json(t).(obj)
			if out["decision"] != tt.decision {
				t.Errorf("decision = %v, want %v", out["decision"], tt.decision)
			}
			if got := out["context"].(obj)["valid_for"]; got != tt.want {
				t.Errorf("valid_for = %v, want %v", got, tt.want)
			}
		})
	}

	// Each item of a batch has its own.
	body := obj{
		"action": action("sign"), "resource": service(svcStudy),
		"evaluations": arr{
			obj{"subject": obj{"type": "person", "id": f.parent.String(), "properties": obj{"acr": acrHigh, "auth_time": now - 100}}},
			obj{"subject": obj{"type": "person", "id": f.parent.String(), "properties": obj{"acr": acrHigh}}},
		},
	}
	res := f.postJSON(pathEvaluations, keyNormal, body)
	var got []any
	for _, it := range res.json(t).(obj)["evaluations"].(arr) {
		got = append(got, it.(obj)["context"].(obj)["valid_for"])
	}
	if diff := cmp.Diff([]any{float64(500), nil}, got); diff != "" {
		t.Errorf("valid_for of the items (-want +got):\n%s", diff)
	}
}

// TestMetadataExtensions: with a feed and a receipt signer, the metadata names
// the change feed and the receipts' algorithm, and the feed answers (401 without
// a key).
func TestMetadataExtensions(t *testing.T) {
	f := newFixture(t, withFeed(authzen.FeedOptions{}), withReceipts(&signer{}))
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/.well-known/authzen-configuration", nil)
	res := f.do(req)
	if res.status != http.StatusOK {
		t.Fatalf("GET metadata = %d %s, want 200", res.status, res.body)
	}
	m := res.json(t).(obj)
	if got, want := m["changes_endpoint"], f.srv.URL+pathChanges; got != want {
		t.Errorf("changes_endpoint = %v, want %q", got, want)
	}
	if diff := cmp.Diff(arr{"ES256"}, m["receipt_signing_alg_values_supported"]); diff != "" {
		t.Errorf("receipt_signing_alg_values_supported (-want +got):\n%s", diff)
	}
	req, _ = http.NewRequest(http.MethodGet, f.srv.URL+pathChanges, nil)
	if res := f.do(req); res.status != http.StatusUnauthorized {
		t.Errorf("GET changes_endpoint without a key = %d, want 401", res.status)
	}
}
