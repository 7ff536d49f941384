package authzen_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
)

// TestEvaluation checks the decisions of the Access Evaluation API (§6), their
// context (reasons, relation, step-up, policy version) and how the reasons are
// filtered for clients without detailed reasons.
func TestEvaluation(t *testing.T) {
	f := newFixture(t)
	v := f.pack.Version
	recent := float64(f.now.Unix() - 60)
	withAuthTime := func(e obj, at float64) obj {
		e["subject"].(obj)["properties"].(obj)["auth_time"] = at
		return e
	}
	for _, tt := range []struct {
		name string
		key  string
		body obj
		want obj
	}{
		{
			name: "self",
			key:  keyNormal,
			body: evaluation(f.parent, "", acrSubstantial, svcTax, "read"),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "self"}, "policy_version": v,
			}},
		},
		{
			name: "self, detailed",
			key:  keyDetailed,
			body: evaluation(f.parent, "", acrSubstantial, svcTax, "read"),
			want: obj{"decision": true, "context": obj{
				"reasons":  arr{obj{"code": "permitted", "relation": "self", "policy": "self"}},
				"relation": obj{"kind": "self"}, "policy_version": v,
			}},
		},
		{
			name: "self named as party",
			key:  keyNormal,
			body: evaluation(f.parent, f.parent, acrSubstantial, svcTax, "read"),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "self"}, "policy_version": v,
			}},
		},
		{
			name: "parent for a child",
			key:  keyNormal,
			body: evaluation(f.parent, f.child, acrSubstantial, svcHealth, "book"),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "parent"}, "policy_version": v,
			}},
		},
		{
			name: "fullmakt: the id only for detailed clients",
			key:  keyNormal,
			body: evaluation(f.parent, f.stranger, acrSubstantial, svcTax, "read"),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "fullmakt"}, "policy_version": v,
			}},
		},
		{
			name: "fullmakt, detailed",
			key:  keyDetailed,
			body: evaluation(f.parent, f.stranger, acrSubstantial, svcTax, "read"),
			want: obj{"decision": true, "context": obj{
				"reasons":  arr{obj{"code": "permitted", "relation": "fullmakt", "policy": "fullmakt-in-scope"}},
				"relation": obj{"kind": "fullmakt", "id": f.fullmaktID}, "policy_version": v,
			}},
		},
		{
			name: "role for an organisation",
			key:  keyNormal,
			body: evaluation(f.parent, f.org, acrSubstantial, svcTax, "read"),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "role"}, "policy_version": v,
			}},
		},
		{
			name: "parent of an adult: the reason is not disclosed",
			key:  keyNormal,
			body: evaluation(f.parent, f.adultChild, acrSubstantial, svcHealth, "read"),
			want: obj{"decision": false, "context": obj{
				"reasons": arr{obj{"code": "not_permitted"}}, "policy_version": v,
			}},
		},
		{
			name: "parent of an adult, detailed",
			key:  keyDetailed,
			body: evaluation(f.parent, f.adultChild, acrSubstantial, svcHealth, "read"),
			want: obj{"decision": false, "context": obj{
				"reasons":        arr{obj{"code": "not_permitted", "relation": "parent"}},
				"policy_version": v,
			}},
		},
		{
			name: "no relation",
			key:  keyNormal,
			body: evaluation(f.stranger, f.child, acrSubstantial, svcHealth, "read"),
			want: obj{"decision": false, "context": obj{
				"reasons": arr{obj{"code": "not_permitted"}}, "policy_version": v,
			}},
		},
		{
			name: "no relation, detailed",
			key:  keyDetailed,
			body: evaluation(f.stranger, f.child, acrSubstantial, svcHealth, "read"),
			want: obj{"decision": false, "context": obj{
				"reasons": arr{obj{"code": "no_relation"}}, "policy_version": v,
			}},
		},
		{
			name: "highly personal act for a child",
			key:  keyDetailed,
			body: evaluation(f.parent, f.child, acrHigh, svcElction, "vote"),
			want: obj{"decision": false, "context": obj{
				"reasons": arr{obj{"code": "not_permitted", "relation": "parent"}}, "policy_version": v,
			}},
		},
		{
			name: "low level: a disclosed reason and a step-up to substantial",
			key:  keyNormal,
			body: evaluation(f.parent, "", acrLow, svcTax, "read"),
			want: obj{"decision": false, "context": obj{
				"reasons":        arr{obj{"code": "level_too_low"}, obj{"code": "step_up"}},
				"step_up":        obj{"acr_values": acrSubstantial},
				"policy_version": v,
			}},
		},
		{
			name: "submit at substantial: step-up to high",
			key:  keyNormal,
			body: evaluation(f.parent, "", acrSubstantial, svcTax, "submit"),
			want: obj{"decision": false, "context": obj{
				"reasons":        arr{obj{"code": "not_permitted"}, obj{"code": "step_up"}},
				"step_up":        obj{"acr_values": acrHigh},
				"policy_version": v,
			}},
		},
		{
			name: "submit at substantial, detailed",
			key:  keyDetailed,
			body: evaluation(f.parent, "", acrSubstantial, svcTax, "submit"),
			want: obj{"decision": false, "context": obj{
				"reasons": arr{
					obj{"code": "submit_needs_high", "relation": "self", "policy": "submit-needs-high"},
					obj{"code": "step_up"},
				},
				"step_up":        obj{"acr_values": acrHigh},
				"policy_version": v,
			}},
		},
		{
			name: "submit for a child at substantial: step-up to high",
			key:  keyNormal,
			body: evaluation(f.parent, f.child, "idporten-loa-substantial", svcStudy, "submit"),
			want: obj{"decision": false, "context": obj{
				"reasons":        arr{obj{"code": "not_permitted"}, obj{"code": "step_up"}},
				"step_up":        obj{"acr_values": acrHigh},
				"policy_version": v,
			}},
		},
		{
			name: "submit at high",
			key:  keyNormal,
			body: evaluation(f.parent, "", "idporten-loa-high", svcTax, "submit"),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "self"}, "policy_version": v,
			}},
		},
		{
			name: "sign without auth_time: step-up with max_age",
			key:  keyNormal,
			body: evaluation(f.parent, "", acrHigh, svcStudy, "sign"),
			want: obj{"decision": false, "context": obj{
				"reasons":        arr{obj{"code": "auth_too_old"}, obj{"code": "step_up"}},
				"step_up":        obj{"acr_values": acrHigh, "max_age": float64(600)},
				"policy_version": v,
			}},
		},
		{
			// The pack's only age threshold is 600 s: the allow holds 540 s more.
			name: "sign a minute after login",
			key:  keyNormal,
			body: withAuthTime(evaluation(f.parent, "", acrHigh, svcStudy, "sign"), recent),
			want: obj{"decision": true, "context": obj{
				"reasons": arr{obj{"code": "permitted"}}, "relation": obj{"kind": "self"}, "policy_version": v,
				"valid_for": float64(540),
			}},
		},
		{
			name: "sign an hour after login",
			key:  keyNormal,
			body: withAuthTime(evaluation(f.parent, "", acrHigh, svcStudy, "sign"), float64(f.now.Unix()-3600)),
			want: obj{"decision": false, "context": obj{
				"reasons":        arr{obj{"code": "auth_too_old"}, obj{"code": "step_up"}},
				"step_up":        obj{"acr_values": acrHigh, "max_age": float64(600)},
				"policy_version": v,
			}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postJSON(pathEvaluation, tt.key, tt.body)
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathEvaluation, res.status, res.body)
			}
			if diff := cmp.Diff(any(tt.want), res.json(t)); diff != "" {
				t.Errorf("POST %s %v: response (-want +got):\n%s", pathEvaluation, tt.body, diff)
			}
			for h, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"} {
				if got := res.header.Get(h); got != want {
					t.Errorf("POST %s: %s = %q, want %q", pathEvaluation, h, got, want)
				}
			}
		})
	}
}

// TestEvaluationUnknownFields checks that members the binding does not know are
// ignored (§10.1.1), wherever they are.
func TestEvaluationUnknownFields(t *testing.T) {
	f := newFixture(t)
	body := `{
		"subject": {"type": "person", "id": "` + f.parent.String() + `",
			"properties": {"acr": "` + acrSubstantial + `", "ip": "192.0.2.1", "amr": ["pwd", "hwk"], "x": null}},
		"action": {"name": "read", "properties": {"method": "GET"}},
		"resource": {"type": "service", "id": "` + svcTax + `", "properties": {"page": 3}},
		"context": {"time": "2025-06-02T12:00:00+02:00", "party": null},
		"page": {"limit": 3},
		"something_else": [1, {"a": true}]
	}`
	res := f.post(pathEvaluation, keyNormal, body)
	if res.status != http.StatusOK {
		t.Fatalf("POST %s with unknown members = %d %s, want 200", pathEvaluation, res.status, res.body)
	}
	if got := res.json(t).(obj)["decision"]; got != true {
		t.Errorf("POST %s with unknown members: decision = %v, want true", pathEvaluation, got)
	}
}

// TestDecisionLog checks that a decision for another party is written to the
// decision log with the client's id, and that decisions for oneself and searches
// are not.
func TestDecisionLog(t *testing.T) {
	f := newFixture(t)
	for _, body := range []obj{
		evaluation(f.parent, f.child, acrSubstantial, svcHealth, "book"),
		evaluation(f.parent, "", acrSubstantial, svcHealth, "book"),
		evaluation(f.parent, f.parent, acrSubstantial, svcHealth, "book"),
	} {
		if res := f.postJSON(pathEvaluation, keyNormal, body); res.status != http.StatusOK {
			t.Fatalf("POST %s = %d %s, want 200", pathEvaluation, res.status, res.body)
		}
	}
	// Denied, in a batch, by the other client.
	batch := obj{"evaluations": arr{evaluation(f.stranger, f.child2, acrSubstantial, svcHealth, "read")}}
	if res := f.postJSON(pathEvaluations, keyDetailed, batch); res.status != http.StatusOK {
		t.Fatalf("POST %s = %d %s, want 200", pathEvaluations, res.status, res.body)
	}
	// Searches record nothing.
	for path, body := range map[string]obj{
		pathSearchResource: {"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service"}, "context": forParty(f.child2)},
		pathSearchAction:   {"subject": subject(f.parent, acrSubstantial), "resource": service(svcHealth), "context": forParty(f.child2)},
		pathSearchParty:    {"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": service(svcHealth)},
	} {
		if res := f.postJSON(path, keyNormal, body); res.status != http.StatusOK {
			t.Fatalf("POST %s = %d %s, want 200", path, res.status, res.body)
		}
	}
	if err := f.pdp.Close(f.ctx); err != nil {
		t.Fatal(err)
	}

	type event struct {
		Actor, Party    delegation.PartyID
		Service, Action string
		Allowed         bool
		Relation        delegation.RelationKind
		Client, Version string
	}
	read := func(party delegation.PartyID) []event {
		t.Helper()
		evs, err := f.store.AccessTo(f.ctx, party, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []event
		for _, e := range evs {
			if !e.At.Equal(f.now) {
				t.Errorf("AccessTo(%v): event at %v, want %v", party, e.At, f.now)
			}
			out = append(out, event{e.Actor, e.Party, e.Service, e.Action, e.Allowed, e.Relation, e.Client, e.PolicyVersion})
		}
		return out
	}
	for _, tt := range []struct {
		name  string
		party delegation.PartyID
		want  []event
	}{
		{"for a child", f.child, []event{{f.parent, f.child, svcHealth, "book", true, "parent", clientNorm, f.pack.Version}}},
		{"denied, in a batch", f.child2, []event{{f.stranger, f.child2, svcHealth, "read", false, "", clientDet, f.pack.Version}}},
		{"for oneself", f.parent, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, read(tt.party)); diff != "" {
				t.Errorf("AccessTo(%v) (-want +got):\n%s", tt.party, diff)
			}
		})
	}
}

// TestEvaluationIDsNotEchoed checks that an error about an identity number does not
// repeat it.
func TestEvaluationIDsNotEchoed(t *testing.T) {
	f := newFixture(t)
	bad := f.parent.String()
	last := (int(bad[10]-'0') + 1) % 10
	bad = bad[:10] + strconv.Itoa(last) // the second control digit is wrong
	for _, tt := range []struct {
		name string
		body obj
	}{
		{"subject", evaluation(delegation.PartyID(bad), "", acrSubstantial, svcTax, "read")},
		{"party", evaluation(f.parent, delegation.PartyID(bad), acrSubstantial, svcTax, "read")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postJSON(pathEvaluation, keyNormal, tt.body)
			if res.status != http.StatusBadRequest {
				t.Fatalf("POST %s = %d %s, want 400", pathEvaluation, res.status, res.body)
			}
			if containsDigits(string(res.body), bad) {
				t.Errorf("POST %s = %s: echoes the identity number", pathEvaluation, res.body)
			}
		})
	}
}

// containsDigits reports whether s holds id, or its first nine digits.
func containsDigits(s, id string) bool {
	return len(id) >= 9 && (strings.Contains(s, id) || strings.Contains(s, id[:9]))
}
