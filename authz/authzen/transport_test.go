package authzen_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
)

// checkProblem checks an RFC 9457 problem response with status and, when field is
// not "-", the member it names.
func checkProblem(t *testing.T, res response, status int, field string) map[string]any {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d %s, want %d", res.status, res.body, status)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	p, ok := res.json(t).(obj)
	if !ok {
		t.Fatalf("problem = %s, want an object", res.body)
	}
	want := obj{"type": "about:blank", "title": http.StatusText(status), "status": float64(status)}
	got := obj{"type": p["type"], "title": p["title"], "status": p["status"]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem %s (-want +got):\n%s", res.body, diff)
	}
	if d, _ := p["detail"].(string); d == "" {
		t.Errorf("problem %s has no detail", res.body)
	}
	if field != "-" {
		if got, _ := p["field"].(string); got != field {
			t.Errorf("problem %s: field = %q, want %q", res.body, got, field)
		}
	}
	return p
}

// TestBadRequest checks that malformed bodies are 400 problems naming the member
// at fault, without echoing identity numbers.
func TestBadRequest(t *testing.T) {
	f := newFixture(t)
	p, c, o := f.parent.String(), f.child.String(), f.org.String()
	badID := p[:9] + "00"
	sub := `"subject":{"type":"person","id":"` + p + `","properties":{"acr":"` + acrSubstantial + `"}}`
	act := `"action":{"name":"read"}`
	res := `"resource":{"type":"service","id":"` + svcTax + `"}`
	ok := func(parts ...string) string { return "{" + strings.Join(parts, ",") + "}" }
	deep := `{"subject":` + strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40) + "}"
	for _, tt := range []struct {
		name, body, field string
	}{
		{"empty body", ``, ""},
		{"not JSON", `subject=` + p, ""},
		{"an array", `[` + ok(sub, act, res) + `]`, ""},
		{"a string", `"hello"`, ""},
		{"null", `null`, ""},
		{"truncated", ok(sub, act, res)[:40], ""},
		{"two objects", ok(sub, act, res) + ok(sub, act, res), ""},
		{"trailing garbage", ok(sub, act, res) + `x`, ""},
		{"invalid UTF-8", ok(sub, act, `"resource":{"type":"service","id":"sk`+"\xff"+`"}`), ""},
		{"duplicate member", ok(sub, act, res, `"subject":{}`), ""},
		{"duplicate nested member", `{"subject":{"type":"person","id":"` + p + `","id":"` + c + `","properties":{"acr":"low"}},` + act + "," + res + `}`, "subject"},
		{"nested too deep", deep, "subject"},
		{"nested too deep in an item", `{"evaluations":[{},{"context":{"party":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}]}`, "evaluations[1].context.party" + strings.Repeat("[0]", 28)},
		{"nested too deep under a number", `{"context":{"` + c + `":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}}`, "context"},
		{"duplicate member under a number", `{"subject":{"properties":{"` + c + `":{"a":1,"a":2}}}}`, "subject.properties"},
		{"no subject", ok(act, res), "subject"},
		{"subject null", ok(`"subject":null`, act, res), "subject"},
		{"subject a string", ok(`"subject":"`+p+`"`, act, res), "subject"},
		{"subject without type", ok(`"subject":{"id":"`+p+`","properties":{"acr":"low"}}`, act, res), "subject.type"},
		{"subject type user", ok(`"subject":{"type":"user","id":"`+p+`","properties":{"acr":"low"}}`, act, res), "subject.type"},
		{"subject id a number", ok(`"subject":{"type":"person","id":`+p+`,"properties":{"acr":"low"}}`, act, res), "subject.id"},
		{"subject id empty", ok(`"subject":{"type":"person","id":"","properties":{"acr":"low"}}`, act, res), "subject.id"},
		{"subject id invalid", ok(`"subject":{"type":"person","id":"`+badID+`","properties":{"acr":"low"}}`, act, res), "subject.id"},
		{"subject id an organisation", ok(`"subject":{"type":"person","id":"`+o+`","properties":{"acr":"low"}}`, act, res), "subject.type"},
		{"no properties", ok(`"subject":{"type":"person","id":"`+p+`"}`, act, res), "subject.properties.acr"},
		{"properties an array", ok(`"subject":{"type":"person","id":"`+p+`","properties":[]}`, act, res), "subject.properties"},
		{"acr a number", ok(`"subject":{"type":"person","id":"`+p+`","properties":{"acr":3}}`, act, res), "subject.properties.acr"},
		{"acr unknown", ok(`"subject":{"type":"person","id":"`+p+`","properties":{"acr":"urn:loa:9"}}`, act, res), "subject.properties.acr"},
		{"auth_time a string", ok(`"subject":{"type":"person","id":"`+p+`","properties":{"acr":"low","auth_time":"2025-06-02"}}`, act, res), "subject.properties.auth_time"},
		{"auth_time negative", ok(`"subject":{"type":"person","id":"`+p+`","properties":{"acr":"low","auth_time":-1}}`, act, res), "subject.properties.auth_time"},
		{"auth_time huge", ok(`"subject":{"type":"person","id":"`+p+`","properties":{"acr":"low","auth_time":1e300}}`, act, res), "subject.properties.auth_time"},
		{"no action", ok(sub, res), "action"},
		{"action without name", ok(sub, `"action":{"method":"GET"}`, res), "action.name"},
		{"action name an array", ok(sub, `"action":{"name":["read"]}`, res), "action.name"},
		{"action not offered", ok(sub, `"action":{"name":"vote"}`, res), "action.name"},
		{"no resource", ok(sub, act), "resource"},
		{"resource type document", ok(sub, act, `"resource":{"type":"document","id":"`+svcTax+`"}`), "resource.type"},
		{"resource without id", ok(sub, act, `"resource":{"type":"service"}`), "resource.id"},
		{"unknown service", ok(sub, act, `"resource":{"type":"service","id":"nav.dagpenger"}`), "resource.id"},
		{"context a string", ok(sub, act, res, `"context":"`+c+`"`), "context"},
		{"party an array", ok(sub, act, res, `"context":{"party":[]}`), "context.party"},
		{"party without id", ok(sub, act, res, `"context":{"party":{"type":"person"}}`), "context.party.id"},
		{"party type wrong", ok(sub, act, res, `"context":{"party":{"type":"organization","id":"`+c+`"}}`), "context.party.type"},
		{"party id invalid", ok(sub, act, res, `"context":{"party":{"type":"person","id":"`+badID+`"}}`), "context.party.id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.post(pathEvaluation, keyNormal, tt.body)
			checkProblem(t, res, http.StatusBadRequest, tt.field)
			for _, id := range []string{p, c, badID} {
				if strings.Contains(string(res.body), id[:9]) {
					t.Errorf("POST %s %s = %s: echoes an identity number", pathEvaluation, tt.name, res.body)
				}
			}
		})
	}
}

// TestUnauthorized checks that every POST endpoint needs a valid API key (§11.3).
func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	body := `{}`
	for _, path := range []string{pathEvaluation, pathEvaluations, pathSearchResource, pathSearchAction, pathSearchParty} {
		for _, tt := range []struct {
			name, auth string
		}{
			{"no header", ""},
			{"wrong key", "Bearer not-a-key"},
			{"empty key", "Bearer "},
			{"basic", "Basic " + keyNormal},
			{"the hash", "Bearer " + authzen.HashAPIKey(keyNormal)},
			{"no scheme", keyNormal},
		} {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				res := f.do(req)
				checkProblem(t, res, http.StatusUnauthorized, "")
				if got, want := res.header.Get("WWW-Authenticate"), `Bearer realm="fullmakt"`; got != want {
					t.Errorf("WWW-Authenticate = %q, want %q", got, want)
				}
			})
		}
	}
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+pathEvaluation, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "bearer "+keyNormal)
		checkProblem(t, f.do(req), http.StatusBadRequest, "subject") // past authentication
	})
}

// TestUnsupportedMediaType checks that only application/json is taken; form
// types in particular are refused (they are what a browser can send cross-site).
func TestUnsupportedMediaType(t *testing.T) {
	f := newFixture(t)
	body := evaluationJSON(f)
	for _, tt := range []struct {
		contentType string
		status      int
	}{
		{"application/json", http.StatusOK},
		{"application/json; charset=utf-8", http.StatusOK},
		{"Application/JSON; charset=UTF-8", http.StatusOK},
		{"", http.StatusUnsupportedMediaType},
		{"application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"multipart/form-data; boundary=x", http.StatusUnsupportedMediaType},
		{"text/plain", http.StatusUnsupportedMediaType},
		{"text/json", http.StatusUnsupportedMediaType},
		{"application/problem+json", http.StatusUnsupportedMediaType},
		{"application/json; charset=latin1", http.StatusUnsupportedMediaType},
		{"application/json;;", http.StatusUnsupportedMediaType},
	} {
		t.Run(tt.contentType, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+pathEvaluation, strings.NewReader(body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+keyNormal)
			res := f.do(req)
			if tt.status == http.StatusOK {
				if res.status != http.StatusOK {
					t.Errorf("POST with Content-Type %q = %d %s, want 200", tt.contentType, res.status, res.body)
				}
				return
			}
			checkProblem(t, res, tt.status, "")
		})
	}
}

func evaluationJSON(f *fixture) string {
	return `{"subject":{"type":"person","id":"` + f.parent.String() + `","properties":{"acr":"` + acrSubstantial +
		`"}},"action":{"name":"read"},"resource":{"type":"service","id":"` + svcTax + `"}}`
}

// TestTooLarge checks the body limit, with and without a Content-Length.
func TestTooLarge(t *testing.T) {
	const limit = 1024
	f := newFixture(t, func(_ *fixture, c *authzen.Config, _ *decider) { c.MaxBodyBytes = limit })
	padded := func(n int) string {
		body := evaluationJSON(f)
		return body[:len(body)-1] + `,"pad":"` + strings.Repeat("x", n-len(body)-9) + `"}`
	}
	if n := len(padded(limit)); n != limit {
		t.Fatalf("padded(%d) has %d bytes", limit, n)
	}
	for _, tt := range []struct {
		name    string
		body    string
		chunked bool
		status  int
	}{
		{"at the limit", padded(limit), false, http.StatusOK},
		{"at the limit, chunked", padded(limit), true, http.StatusOK},
		{"a byte over", padded(limit + 1), false, http.StatusRequestEntityTooLarge},
		{"a byte over, chunked", padded(limit + 1), true, http.StatusRequestEntityTooLarge},
		{"a megabyte", padded(1 << 20), false, http.StatusRequestEntityTooLarge},
		{"a megabyte, chunked", padded(1 << 20), true, http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r = strings.NewReader(tt.body)
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+pathEvaluation, r)
			if tt.chunked {
				req, _ = http.NewRequest(http.MethodPost, f.srv.URL+pathEvaluation, struct{ *strings.Reader }{r})
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+keyNormal)
			res := f.do(req)
			if tt.status == http.StatusOK {
				if res.status != http.StatusOK {
					t.Errorf("POST %d bytes = %d %s, want 200", len(tt.body), res.status, res.body)
				}
				return
			}
			checkProblem(t, res, tt.status, "")
		})
	}
}

// TestRequestID checks that X-Request-ID is echoed (§10.1.3) on answers and
// errors alike.
func TestRequestID(t *testing.T) {
	f := newFixture(t)
	const id = "bfe9eb29-ab87-4ca3-be83-a1d5d8305716"
	for _, tt := range []struct {
		name, method, path, key, body string
		status                        int
	}{
		{"evaluation", http.MethodPost, pathEvaluation, keyNormal, evaluationJSON(f), http.StatusOK},
		{"bad request", http.MethodPost, pathEvaluation, keyNormal, `{}`, http.StatusBadRequest},
		{"unauthorized", http.MethodPost, pathEvaluations, "", `{}`, http.StatusUnauthorized},
		{"method not allowed", http.MethodGet, pathSearchParty, keyNormal, ``, http.StatusMethodNotAllowed},
		{"metadata", http.MethodGet, "/.well-known/authzen-configuration", "", ``, http.StatusOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, f.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Request-ID", id)
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			res := f.do(req)
			if res.status != tt.status {
				t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, res.status, res.body, tt.status)
			}
			if got := res.header.Get("X-Request-ID"); got != id {
				t.Errorf("%s %s: X-Request-ID = %q, want %q", tt.method, tt.path, got, id)
			}
		})
	}
	t.Run("none sent, none returned", func(t *testing.T) {
		res := f.post(pathEvaluation, keyNormal, evaluationJSON(f))
		if got := res.header.Values("X-Request-ID"); got != nil {
			t.Errorf("X-Request-ID = %q, want none", got)
		}
	})
}

// TestMethodNotAllowed checks that the POST endpoints refuse other methods.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{pathEvaluation, pathEvaluations, pathSearchResource, pathSearchAction, pathSearchParty} {
		for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(method, f.srv.URL+path, nil)
			res := f.do(req)
			checkProblem(t, res, http.StatusMethodNotAllowed, "")
			if got := res.header.Get("Allow"); got != http.MethodPost {
				t.Errorf("%s %s: Allow = %q, want POST", method, path, got)
			}
		}
	}
}

// failing is a decision point whose store fails.
type failing struct{ authzen.Decider }

var errDisk = errors.New("bolt: read relations: input/output error")

func (failing) Decide(context.Context, authz.Request, string) (authz.Decision, error) {
	return authz.Decision{}, errDisk
}

func (failing) DecideUnrecorded(context.Context, authz.Request) (authz.Decision, error) {
	return authz.Decision{}, errDisk
}

func (failing) Parties(context.Context, authz.Request) ([]pdp.Party, error) { return nil, errDisk }

// TestInternalError checks that a failing store is a 500 that tells nothing of
// the cause, logged without identity numbers.
func TestInternalError(t *testing.T) {
	f := newFixture(t, func(_ *fixture, _ *authzen.Config, d *decider) { d.Decider = failing{d.Decider} })
	for path, body := range map[string]obj{
		pathEvaluation:     evaluation(f.parent, f.child, acrSubstantial, svcTax, "read"),
		pathEvaluations:    {"evaluations": arr{evaluation(f.parent, f.child, acrSubstantial, svcTax, "read")}},
		pathSearchResource: {"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service"}},
		pathSearchAction:   {"subject": subject(f.parent, acrSubstantial), "resource": service(svcTax)},
		pathSearchParty:    {"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": service(svcTax)},
	} {
		t.Run(path, func(t *testing.T) {
			res := f.postJSON(path, keyNormal, body)
			p := checkProblem(t, res, http.StatusInternalServerError, "")
			if strings.Contains(p["detail"].(string), "bolt") {
				t.Errorf("POST %s = %s: shows the internal error", path, res.body)
			}
		})
	}
	logs := f.logs.String()
	if !strings.Contains(logs, errDisk.Error()) {
		t.Errorf("log %q does not hold the error", logs)
	}
	for _, id := range []delegation.PartyID{f.parent, f.child} {
		if strings.Contains(logs, id.String()) {
			t.Errorf("log %q holds an identity number", logs)
		}
	}
	if bytes.Contains([]byte(logs), []byte(keyNormal)) {
		t.Errorf("log %q holds an API key", logs)
	}
}
