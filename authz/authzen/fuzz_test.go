package authzen_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/authz/authzen"
	"github.com/fullmakt/fullmakt/authz/pdp"
)

// FuzzEvaluationBody feeds arbitrary bodies to the evaluation endpoints: they
// must never panic, and always answer 200, 400 or 413, in JSON.
func FuzzEvaluationBody(f *testing.F) {
	fx := newFixture(f, func(fx *fixture, c *authzen.Config, d *decider) {
		c.MaxBodyBytes, c.MaxEvaluations = 4096, 8
		// Without the decision log: its disk syncs would slow the fuzzer down.
		d.Decider = pdp.New(fx.store, fx.pack, pdp.Options{Now: func() time.Time { return fx.now }, Log: discardLog()})
	})
	p, c, o := fx.parent.String(), fx.child.String(), fx.org.String()
	for _, seed := range []string{
		evaluationJSON(fx),
		`{"subject":{"type":"person","id":"` + p + `","properties":{"acr":"low","auth_time":1717322400}},"action":{"name":"submit"},"resource":{"type":"service","id":"` + svcStudy + `"},"context":{"party":{"type":"person","id":"` + c + `"}}}`,
		`{"subject":{"type":"person","id":"` + p + `","properties":{"acr":"high"}},"action":{"name":"read"},"resource":{"type":"service","id":"` + svcTax + `"},"context":{"party":{"type":"organization","id":"` + o + `"}}}`,
		`{"subject":{"type":"person","id":"` + p + `","properties":{"acr":"high"}},"action":{"name":"read"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[{"resource":{"type":"service","id":"` + svcTax + `"}},{"resource":{"type":"service","id":"x.y"}},{"subject":null}]}`,
		`{"evaluations":[]}`,
		`{"subject":{"type":"person","id":"se:199001011234","properties":{"acr":"substantial"}}}`,
		`{"subject":{"type":"organization","id":"eidas:SE/NO/abc","properties":{"acr":1}}}`,
		`{"a":{"a":{"a":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}}`,
		`{"subject":{},"subject":{}}`,
		`[]`, `null`, ``, `{`, `{}{}`, "{\"\xff\":1}", `{"subject":{"properties":{"auth_time":1e999}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{pathEvaluation, pathEvaluations} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+keyNormal)
			rec := httptest.NewRecorder()
			fx.mux.ServeHTTP(rec, req)
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			default:
				t.Fatalf("POST %s %q = %d %s, want 200, 400 or 413", path, body, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("POST %s %q = %d %q: not JSON", path, body, rec.Code, rec.Body)
			}
			ct := rec.Header().Get("Content-Type")
			if rec.Code == http.StatusOK && ct != "application/json" || rec.Code != http.StatusOK && ct != "application/problem+json" {
				t.Fatalf("POST %s %q = %d with Content-Type %q", path, body, rec.Code, ct)
			}
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
