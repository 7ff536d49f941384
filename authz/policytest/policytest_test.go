package policytest_test

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/policytest"
)

func pack(t *testing.T) *authz.Pack {
	t.Helper()
	schema, err := os.ReadFile("../../policies/schema.cedarschema")
	if err != nil {
		t.Fatal(err)
	}
	p, err := authz.Load(fstest.MapFS{
		authz.SchemaFile: {Data: schema},
		authz.CatalogueFile: {Data: []byte(`{"areas": [{"id": "tax", "name": {"nb": "Skatt", "en": "Tax"}}],
		  "actions": [{"id": "read", "name": {"nb": "Se", "en": "Read"}}],
		  "services": [{"id": "skatt.melding", "name": {"nb": "S", "en": "T"}, "areas": ["tax"], "actions": ["read"], "provider": "974761076"}]}`)},
		"p.cedar": {Data: []byte(`@id("self") permit (principal, action, resource) when { context.relation.kind == "self" };
@id("level") @reason("level_too_low") forbid (principal, action, resource) when { context.actor.level < 3 };`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const cases = `{
  "world": {"persons": [{"id": "01019012345", "name": "A", "birth_date": "1990-01-01"}]},
  "cases": [
    {"name": "self at high", "now": "2026-11-23T12:00:00+01:00", "actor": "01019012345",
     "service": "skatt.melding", "action": "read", "acr": "idporten-loa-high",
     "expect": {"decision": "allow", "relation": "self", "policies": ["self"]}},
    {"name": "self at low", "now": "2026-11-23T12:00:00+01:00", "actor": "01019012345",
     "service": "skatt.melding", "action": "read", "acr": "idporten-loa-low",
     "expect": {"decision": "deny", "reasons": ["level_too_low"], "step_up": {"acr": "http://eidas.europa.eu/LoA/substantial"}}},
    {"name": "wrong on purpose", "now": "2026-11-23T12:00:00+01:00", "actor": "01019012345",
     "service": "skatt.melding", "action": "read", "acr": "idporten-loa-low",
     "expect": {"decision": "allow", "relation": "parent", "reasons": ["nope"]}},
    {"name": "unknown service", "now": "2026-11-23T12:00:00+01:00", "actor": "01019012345",
     "service": "nope.nope", "action": "read", "acr": "idporten-loa-high", "expect": {"decision": "deny", "error": "service"}}
  ]
}`

func TestRunAndReport(t *testing.T) {
	files, err := policytest.Load(fstest.MapFS{"sub/cases.json": {Data: []byte(cases)}})
	if err != nil {
		t.Fatal(err)
	}
	results := policytest.Run(pack(t), files)
	if len(results) != 4 {
		t.Fatalf("Run() = %d results, want 4", len(results))
	}
	for i, want := range []bool{true, true, false, true} {
		if results[i].Passed() != want {
			t.Errorf("case %q passed = %v, want %v (failures %v)", results[i].Case.Name, results[i].Passed(), want, results[i].Failures)
		}
	}
	if got := strings.Join(results[2].Failures, "\n"); !strings.Contains(got, "decision deny, want allow") ||
		!strings.Contains(got, `relation "", want "parent"`) || !strings.Contains(got, `reason "nope" missing`) ||
		!strings.Contains(got, "step-up to http://eidas.europa.eu/LoA/substantial") {
		t.Errorf("failures of the wrong case = %q, want every mismatch named", got)
	}
	var out bytes.Buffer
	if n := policytest.Report(&out, results, true); n != 1 {
		t.Errorf("Report() = %d failures, want 1", n)
	}
	for _, want := range []string{"PASS  sub/cases.json: self at high", "FAIL  sub/cases.json: wrong on purpose", "4 cases, 3 passed, 1 failed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Report() output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"syntax", "{\n\"cases\": [\n}", "c.json:3"},
		{"unknown field", "{\"cases\": [], \"extra\": 1}", "extra"},
		{"no name", `{"cases": [{"now": "2026-11-23T12:00:00Z", "expect": {"decision": "allow"}}]}`, "has no name"},
		{"bad decision", `{"cases": [{"name": "x", "now": "2026-11-23T12:00:00Z", "expect": {"decision": "maybe"}}]}`, `"maybe", want allow or deny`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policytest.Parse("c.json", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
