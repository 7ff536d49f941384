package authzen_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/authz/authzen"
)

// decisions returns the decisions of an /evaluations response.
func decisions(t *testing.T, res response) []bool {
	t.Helper()
	if res.status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", pathEvaluations, res.status, res.body)
	}
	items, ok := res.json(t).(obj)["evaluations"].(arr)
	if !ok {
		t.Fatalf("POST %s = %s, want an evaluations array", pathEvaluations, res.body)
	}
	out := make([]bool, len(items))
	for i, it := range items {
		out[i] = it.(obj)["decision"].(bool)
	}
	return out
}

// TestEvaluationsSemantics checks the three evaluation semantics (§7.1.2.1): the
// short-circuiting ones stop after the first deny or permit and return fewer
// items, as the specification's examples do.
func TestEvaluationsSemantics(t *testing.T) {
	f := newFixture(t)
	allow := obj{"resource": service(svcTax), "action": action("read")}
	deny := obj{"resource": service(svcTax), "action": action("submit")}
	bad := obj{"resource": service("no.such"), "action": action("read")}
	for _, tt := range []struct {
		name     string
		semantic any // nil: no options
		items    arr
		want     []bool
	}{
		{"default is execute_all", nil, arr{allow, deny, allow}, []bool{true, false, true}},
		{"execute_all", "execute_all", arr{allow, deny, allow}, []bool{true, false, true}},
		{"deny_on_first_deny", "deny_on_first_deny", arr{allow, deny, allow}, []bool{true, false}},
		{"deny_on_first_deny, all permitted", "deny_on_first_deny", arr{allow, allow, allow}, []bool{true, true, true}},
		{"deny_on_first_deny, an error is a deny", "deny_on_first_deny", arr{allow, bad, allow}, []bool{true, false}},
		{"permit_on_first_permit", "permit_on_first_permit", arr{allow, deny, allow}, []bool{true}},
		{"permit_on_first_permit, after denies", "permit_on_first_permit", arr{deny, bad, allow, deny}, []bool{false, false, true}},
		{"permit_on_first_permit, none permitted", "permit_on_first_permit", arr{deny, deny}, []bool{false, false}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := obj{"subject": subject(f.parent, acrSubstantial), "evaluations": tt.items}
			if tt.semantic != nil {
				body["options"] = obj{"evaluations_semantic": tt.semantic, "another_option": 1}
			}
			if diff := cmp.Diff(tt.want, decisions(t, f.postJSON(pathEvaluations, keyNormal, body))); diff != "" {
				t.Errorf("POST %s %v: decisions (-want +got):\n%s", pathEvaluations, body, diff)
			}
		})
	}
}

// TestEvaluationsShape compares a whole batch response: each item is a Decision
// as /evaluation returns it, and no top-level decision is given (§7.2).
func TestEvaluationsShape(t *testing.T) {
	f := newFixture(t)
	v := f.pack.Version
	body := obj{
		"subject": subject(f.parent, acrSubstantial),
		"action":  action("read"),
		"options": obj{"evaluations_semantic": "execute_all"},
		"evaluations": arr{
			obj{"resource": service(svcTax)},
			obj{"action": action("submit"), "resource": service(svcTax)},
		},
	}
	want := obj{"evaluations": arr{
		obj{"decision": true, "context": obj{
			"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "self"}, "policy_version": v,
		}},
		obj{"decision": false, "context": obj{
			"reasons":        arr{obj{"code": "not_permitted"}, obj{"code": "step_up"}},
			"step_up":        obj{"acr_values": acrHigh},
			"policy_version": v,
		}},
	}}
	res := f.postJSON(pathEvaluations, keyNormal, body)
	if res.status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", pathEvaluations, res.status, res.body)
	}
	if diff := cmp.Diff(any(want), res.json(t)); diff != "" {
		t.Errorf("POST %s: response (-want +got):\n%s", pathEvaluations, diff)
	}
}

// TestEvaluationsDefaults checks the merging of the top-level defaults (§7.1.1):
// a key of an item replaces the top-level key whole.
func TestEvaluationsDefaults(t *testing.T) {
	f := newFixture(t)
	// kind returns the decision and the relation that permitted, per item.
	type result struct {
		Decision bool
		Relation string
	}
	results := func(t *testing.T, res response) []result {
		t.Helper()
		decisions(t, res)
		var out []result
		for _, it := range res.json(t).(obj)["evaluations"].(arr) {
			r := result{Decision: it.(obj)["decision"].(bool)}
			if rel, ok := it.(obj)["context"].(obj)["relation"].(obj); ok {
				r.Relation = rel["kind"].(string)
			}
			out = append(out, r)
		}
		return out
	}
	body := obj{
		"subject":  subject(f.parent, acrSubstantial),
		"action":   action("read"),
		"resource": service(svcHealth),
		"context":  forParty(f.child),
		"evaluations": arr{
			obj{},                              // every key from the top level: parent for child
			obj{"context": forParty(f.child2)}, // another party
			obj{"context": obj{}},              // a context without party: self
			obj{"context": obj{"party": nil}},  // likewise
			obj{"context": nil},                // null is absent: the default party
			obj{"subject": subject(f.stranger, acrSubstantial)}, // replaces the subject: no relation
			obj{"action": action("book"), "resource": service(svcHealth)},
			obj{"resource": service(svcElction), "action": action("vote")}, // not for a child
			obj{"resource": service(svcTax), "context": forParty(f.stranger)},
			// The subject is replaced whole: its properties are not merged, so
			// this item has no acr and cannot be answered.
			obj{"subject": obj{"type": "person", "id": f.parent.String()}},
		},
	}
	want := []result{
		{true, "parent"},
		{true, "parent"},
		{true, "self"},
		{true, "self"},
		{true, "parent"},
		{false, ""},
		{true, "parent"},
		{false, ""},
		{true, "fullmakt"},
		{false, ""},
	}
	res := f.postJSON(pathEvaluations, keyNormal, body)
	if diff := cmp.Diff(want, results(t, res)); diff != "" {
		t.Errorf("POST %s: decisions (-want +got):\n%s", pathEvaluations, diff)
	}
	last := res.json(t).(obj)["evaluations"].(arr)[9]
	wantLast := obj{"decision": false, "context": obj{"error": obj{
		"status": float64(400), "message": "evaluations[9].subject.properties.acr is required",
	}}}
	if diff := cmp.Diff(any(wantLast), last); diff != "" {
		t.Errorf("POST %s: item with a subject without acr (-want +got):\n%s", pathEvaluations, diff)
	}
}

// TestEvaluationsItemErrors checks that an item that cannot be answered is a deny
// with the error in its context, and the others are answered (§7.2.1).
func TestEvaluationsItemErrors(t *testing.T) {
	f := newFixture(t)
	item := func(status int, msg string) obj {
		return obj{"decision": false, "context": obj{"error": obj{"status": float64(status), "message": msg}}}
	}
	body := obj{
		"subject": subject(f.parent, acrSubstantial),
		"action":  action("read"),
		"evaluations": arr{
			obj{"resource": service(svcTax)},
			obj{"resource": service("skatteetaten.ukjent")},
			obj{"resource": service(svcHealth), "action": action("sign")},
			obj{"resource": service(svcTax), "context": obj{"party": obj{"type": "person", "id": "12345678901"}}},
			obj{"resource": service(svcTax), "context": forParty(f.org), "subject": obj{"type": "organization", "id": f.parent.String(), "properties": obj{"acr": acrHigh}}},
			obj{"resource": obj{"type": "service", "id": 42}},
			obj{"resource": service(svcTax), "subject": subject(f.parent, "urn:example:loa:9")},
			obj{"action": nil},
			obj{"resource": "skattemelding"},
		},
	}
	v := f.pack.Version
	want := obj{"evaluations": arr{
		obj{"decision": true, "context": obj{"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "self"}, "policy_version": v}},
		item(400, "evaluations[1].resource.id names no service in the catalogue"),
		item(400, "evaluations[2].action.name is not an action the service offers"),
		item(400, "evaluations[3].context.party.id is not a valid identity number: first control digit of the identity number does not match"),
		item(400, `evaluations[4].subject.type is "organization" but the id is not an organisation number`),
		item(400, "evaluations[5].resource.id must be a string"),
		item(400, "evaluations[6].subject.properties.acr is not a known acr value"),
		item(400, "evaluations[7].resource is required, in the item or at the top level"),
		item(400, "evaluations[8].resource must be an object"),
	}}
	res := f.postJSON(pathEvaluations, keyNormal, body)
	if res.status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", pathEvaluations, res.status, res.body)
	}
	if diff := cmp.Diff(any(want), res.json(t)); diff != "" {
		t.Errorf("POST %s: response (-want +got):\n%s", pathEvaluations, diff)
	}
}

// TestEvaluationsSingle checks that a batch without items is a single Access
// Evaluation, answered in its shape (§7.1).
func TestEvaluationsSingle(t *testing.T) {
	f := newFixture(t)
	want := obj{"decision": true, "context": obj{
		"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "parent"}, "policy_version": f.pack.Version,
	}}
	for _, tt := range []struct {
		name  string
		items any
	}{
		{"absent", "absent"},
		{"null", nil},
		{"empty", arr{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := evaluation(f.parent, f.child, acrSubstantial, svcHealth, "read")
			if tt.items != "absent" {
				body["evaluations"] = tt.items
			}
			res := f.postJSON(pathEvaluations, keyNormal, body)
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathEvaluations, res.status, res.body)
			}
			if diff := cmp.Diff(any(want), res.json(t)); diff != "" {
				t.Errorf("POST %s: response (-want +got):\n%s", pathEvaluations, diff)
			}
		})
	}
}

// TestEvaluationsBadRequest checks the batch bodies refused as a whole.
func TestEvaluationsBadRequest(t *testing.T) {
	f := newFixture(t, func(_ *fixture, c *authzen.Config, _ *decider) { c.MaxEvaluations = 3 })
	item := obj{"resource": service(svcTax)}
	base := func(extra obj) obj {
		b := obj{"subject": subject(f.parent, acrSubstantial), "action": action("read")}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	for _, tt := range []struct {
		name  string
		body  obj
		field string
	}{
		{"unknown semantic", base(obj{"evaluations": arr{item}, "options": obj{"evaluations_semantic": "first_one"}}), "options.evaluations_semantic"},
		{"semantic not a string", base(obj{"evaluations": arr{item}, "options": obj{"evaluations_semantic": true}}), "options.evaluations_semantic"},
		{"options not an object", base(obj{"evaluations": arr{item}, "options": "deny_on_first_deny"}), "options"},
		{"evaluations not an array", base(obj{"evaluations": item}), "evaluations"},
		{"an item not an object", base(obj{"evaluations": arr{item, "x"}}), "evaluations[1]"},
		{"too many items", base(obj{"evaluations": arr{item, item, item, item}}), "evaluations"},
		{"a malformed default", base(obj{"evaluations": arr{item}, "action": obj{"name": 7}}), "action.name"},
		{"a default of the wrong type", base(obj{"evaluations": arr{item}, "context": arr{}}), "context"},
		{"no items and no resource", base(obj{"evaluations": arr{}}), "resource"},
		{"no items, a bad resource", base(obj{"resource": service("x.y")}), "resource.id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postJSON(pathEvaluations, keyNormal, tt.body)
			checkProblem(t, res, http.StatusBadRequest, tt.field)
		})
	}
}
