package authzen_test

import (
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
)

// TestSearchResource checks the Resource Search API (§8.5): the services in which
// the subject may do the action, for themself or a party.
func TestSearchResource(t *testing.T) {
	f := newFixture(t)
	svc := func(id, nb, en string) obj {
		return obj{"type": "service", "id": id, "properties": obj{"name": obj{"nb": nb, "en": en}}}
	}
	tax := svc(svcTax, "Skattemelding", "Tax return")
	study := svc(svcStudy, "Studiestøtte", "Student support")
	health := svc(svcHealth, "Timebestilling", "Appointments")
	page := func(n int) obj { return obj{"next_token": "", "count": float64(n), "total": float64(n)} }
	for _, tt := range []struct {
		name string
		body obj
		want obj
	}{
		{
			name: "self, read",
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service"}},
			want: obj{"page": page(3), "results": arr{tax, study, health}},
		},
		{
			name: "the resource id is ignored",
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service", "id": 17}},
			want: obj{"page": page(3), "results": arr{tax, study, health}},
		},
		{
			name: "self, submit at substantial: none without a step-up",
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("submit"), "resource": obj{"type": "service"}},
			want: obj{"page": page(0), "results": arr{}},
		},
		{
			name: "self, submit at high",
			body: obj{"subject": subject(f.parent, acrHigh), "action": action("submit"), "resource": obj{"type": "service"}},
			want: obj{"page": page(2), "results": arr{tax, study}},
		},
		{
			name: "for a fullmakt's grantor",
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service"}, "context": forParty(f.stranger)},
			want: obj{"page": page(1), "results": arr{tax}},
		},
		{
			name: "vote for a child",
			body: obj{"subject": subject(f.parent, acrHigh), "action": action("vote"), "resource": obj{"type": "service"}, "context": forParty(f.child)},
			want: obj{"page": page(0), "results": arr{}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postJSON(pathSearchResource, keyNormal, tt.body)
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathSearchResource, res.status, res.body)
			}
			if diff := cmp.Diff(any(tt.want), res.json(t)); diff != "" {
				t.Errorf("POST %s: response (-want +got):\n%s", pathSearchResource, diff)
			}
		})
	}
}

// TestSearchAction checks the Action Search API (§8.6).
func TestSearchAction(t *testing.T) {
	f := newFixture(t)
	recent := obj{"acr": acrHigh, "auth_time": float64(f.now.Unix() - 10)}
	for _, tt := range []struct {
		name string
		body obj
		want arr
	}{
		{"self at substantial", obj{"subject": subject(f.parent, acrSubstantial), "resource": service(svcStudy)},
			arr{obj{"name": "read"}}},
		{"self at high, just logged in", obj{"subject": obj{"type": "person", "id": f.parent.String(), "properties": recent}, "resource": service(svcStudy)},
			arr{obj{"name": "read"}, obj{"name": "submit"}, obj{"name": "sign"}}},
		{"the action is ignored", obj{"subject": subject(f.parent, acrSubstantial), "resource": service(svcStudy), "action": action("sign")},
			arr{obj{"name": "read"}}},
		{"for a child", obj{"subject": subject(f.parent, acrSubstantial), "resource": service(svcHealth), "context": forParty(f.child)},
			arr{obj{"name": "read"}, obj{"name": "book"}}},
		{"for an organisation", obj{"subject": subject(f.parent, acrHigh), "resource": service(svcTax), "context": forParty(f.org)},
			arr{obj{"name": "read"}}},
		{"for a stranger", obj{"subject": subject(f.child, acrHigh), "resource": service(svcTax), "context": forParty(f.stranger)},
			arr{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postJSON(pathSearchAction, keyNormal, tt.body)
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathSearchAction, res.status, res.body)
			}
			want := obj{"page": obj{"next_token": "", "count": float64(len(tt.want)), "total": float64(len(tt.want))}, "results": tt.want}
			if diff := cmp.Diff(any(want), res.json(t)); diff != "" {
				t.Errorf("POST %s: response (-want +got):\n%s", pathSearchAction, diff)
			}
		})
	}
}

// TestSearchParty checks Fullmakt's Party Search: the parties the subject may act
// for, the actor first, with those that need a step-up marked.
func TestSearchParty(t *testing.T) {
	f := newFixture(t)
	person := func(id delegation.PartyID, name string, rel obj, stepUp obj) obj {
		props := obj{"name": name, "relation": rel}
		if stepUp != nil {
			props["step_up"] = stepUp
		}
		return obj{"type": "person", "id": id.String(), "properties": props}
	}
	self, parent := obj{"kind": "self"}, obj{"kind": "parent"}
	fullmakt := obj{"kind": "fullmakt"}
	high := obj{"acr_values": acrHigh}
	// The children sort by identity number; the actor comes first.
	children := func(stepUp obj) arr {
		a := person(f.child, "Ola Nordmann", parent, stepUp)
		b := person(f.child2, "Ingrid Nordmann", parent, stepUp)
		if f.child2 < f.child {
			a, b = b, a
		}
		return arr{a, b}
	}
	org := obj{"type": "organization", "id": f.org.String(), "properties": obj{"name": "Nordmann Bakeri AS", "relation": obj{"kind": "role"}}}
	for _, tt := range []struct {
		name string
		key  string
		body obj
		want arr
	}{
		{
			name: "book in health",
			key:  keyNormal,
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("book"), "resource": service(svcHealth)},
			want: append(arr{person(f.parent, "Kari Nordmann", self, nil)}, children(nil)...),
		},
		{
			name: "read the tax return",
			key:  keyNormal,
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": service(svcTax)},
			want: sortParties(f, append(arr{person(f.parent, "Kari Nordmann", self, nil), org,
				person(f.stranger, "Anne Hansen", fullmakt, nil)}, children(nil)...)),
		},
		{
			name: "read the tax return, detailed: the fullmakt's id",
			key:  keyDetailed,
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": service(svcTax)},
			want: sortParties(f, append(arr{person(f.parent, "Kari Nordmann", self, nil), org,
				person(f.stranger, "Anne Hansen", obj{"kind": "fullmakt", "id": f.fullmaktID}, nil)}, children(nil)...)),
		},
		{
			name: "submit at substantial: everyone after a step-up",
			key:  keyNormal,
			body: obj{"subject": subject(f.parent, acrSubstantial), "action": action("submit"), "resource": service(svcTax)},
			want: sortParties(f, append(arr{person(f.parent, "Kari Nordmann", self, high),
				person(f.stranger, "Anne Hansen", fullmakt, high)}, children(high)...)),
		},
		{
			name: "vote: oneself only",
			key:  keyNormal,
			body: obj{"subject": subject(f.parent, acrHigh), "action": action("vote"), "resource": service(svcElction)},
			want: arr{person(f.parent, "Kari Nordmann", self, nil)},
		},
		{
			name: "a subject unknown to the registers",
			key:  keyNormal,
			body: obj{"subject": subject(mustPerson(t, delegation.NewDate(1999, 1, 1)), acrHigh), "action": action("read"), "resource": service(svcTax)},
			want: arr{obj{"type": "person", "id": mustPerson(t, delegation.NewDate(1999, 1, 1)).String(), "properties": obj{"relation": self}}},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := f.postJSON(pathSearchParty, tt.key, tt.body)
			if res.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s, want 200", pathSearchParty, res.status, res.body)
			}
			n := float64(len(tt.want))
			want := obj{"page": obj{"next_token": "", "count": n, "total": n}, "results": tt.want}
			if diff := cmp.Diff(any(want), res.json(t)); diff != "" {
				t.Errorf("POST %s: response (-want +got):\n%s", pathSearchParty, diff)
			}
		})
	}
}

// sortParties orders party results as the decision point does: the actor (the
// parent) first, then by id.
func sortParties(f *fixture, rs arr) arr {
	out := append(arr(nil), rs...)
	key := func(r any) string {
		id := r.(obj)["id"].(string)
		if id == f.parent.String() {
			return ""
		}
		return id
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if key(out[j]) < key(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func mustPerson(t *testing.T, birth delegation.Date) delegation.PartyID {
	t.Helper()
	for ind := 400; ind < 500; ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
			return id
		}
	}
	t.Fatalf("no identity number for %s", birth)
	return ""
}

// TestSearchPagination walks each search page by page with its tokens (§8.2).
func TestSearchPagination(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		path string
		body obj
	}{
		{pathSearchResource, obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service"}}},
		{pathSearchAction, obj{"subject": subject(f.child, acrHigh), "resource": service(svcStudy), "context": obj{"time": "now"}}},
		{pathSearchParty, obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": service(svcTax)}},
	} {
		for _, limit := range []int{1, 2, 4} {
			t.Run(tt.path+"/"+string(rune('0'+limit)), func(t *testing.T) {
				full := f.postJSON(tt.path, keyNormal, tt.body).json(t).(obj)
				all := full["results"].(arr)
				total := len(all)
				var got arr
				body := copyObj(tt.body)
				body["page"] = obj{"limit": limit}
				for n := 0; ; n++ {
					if n > total {
						t.Fatalf("POST %s: more than %d pages", tt.path, total)
					}
					res := f.postJSON(tt.path, keyNormal, body)
					if res.status != http.StatusOK {
						t.Fatalf("POST %s page %d = %d %s, want 200", tt.path, n, res.status, res.body)
					}
					r := res.json(t).(obj)
					page, results := r["page"].(obj), r["results"].(arr)
					got = append(got, results...)
					wantCount := min(limit, total-n*limit)
					if page["count"] != float64(wantCount) || page["total"] != float64(total) {
						t.Errorf("POST %s page %d: page = %v, want count %d, total %d", tt.path, n, page, wantCount, total)
					}
					next := page["next_token"].(string)
					if next == "" {
						break
					}
					// The next request may leave out the limit (the token carries it),
					// as the specification's example does.
					if n%2 == 0 {
						body["page"] = obj{"token": next}
					} else {
						body["page"] = obj{"token": next, "limit": limit}
					}
				}
				if diff := cmp.Diff(all, got); diff != "" {
					t.Errorf("POST %s with limit %d: pages (-want +got):\n%s", tt.path, limit, diff)
				}
			})
		}
	}
}

func copyObj(o obj) obj {
	c := make(obj, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}

// TestSearchTokens checks that a token is refused when tampered with or used
// with another request.
func TestSearchTokens(t *testing.T) {
	f := newFixture(t)
	body := obj{"subject": subject(f.parent, acrSubstantial), "action": action("read"), "resource": obj{"type": "service"}, "page": obj{"limit": 1}}
	first := f.postJSON(pathSearchResource, keyNormal, body).json(t).(obj)
	token := first["page"].(obj)["next_token"].(string)
	if token == "" {
		t.Fatal("the first page has no next_token")
	}
	if _, err := base64.RawURLEncoding.DecodeString(token); err != nil {
		t.Errorf("next_token %q is not base64url: %v", token, err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(token)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	with := func(change func(obj), page any) obj {
		b := copyObj(body)
		change(b)
		b["page"] = page
		return b
	}
	same := func(obj) {}
	for _, tt := range []struct {
		name  string
		path  string
		body  obj
		field string
	}{
		{"the offset changed", pathSearchResource, with(same, obj{"token": flip(1)}), "page.token"},
		{"the hash changed", pathSearchResource, with(same, obj{"token": flip(len(raw) - 1)}), "page.token"},
		{"truncated", pathSearchResource, with(same, obj{"token": token[:len(token)-3]}), "page.token"},
		{"not base64url", pathSearchResource, with(same, obj{"token": token + "=="}), "page.token"},
		{"not a string", pathSearchResource, with(same, obj{"token": 7}), "page.token"},
		{"another limit", pathSearchResource, with(same, obj{"token": token, "limit": 2}), "page.limit"},
		{"another subject", pathSearchResource, with(func(b obj) { b["subject"] = subject(f.child, acrSubstantial) }, obj{"token": token}), "page.token"},
		{"another acr", pathSearchResource, with(func(b obj) { b["subject"] = subject(f.parent, acrHigh) }, obj{"token": token}), "page.token"},
		{"another action", pathSearchResource, with(func(b obj) { b["action"] = action("submit") }, obj{"token": token}), "page.token"},
		{"another context", pathSearchResource, with(func(b obj) { b["context"] = forParty(f.child) }, obj{"token": token}), "page.token"},
		{"another search", pathSearchAction, with(func(b obj) { b["resource"] = service(svcStudy) }, obj{"token": token}), "page.token"},
		{"a negative limit", pathSearchResource, with(same, obj{"limit": -1}), "page.limit"},
		{"a fractional limit", pathSearchResource, with(same, obj{"limit": 1.5}), "page.limit"},
		{"page not an object", pathSearchResource, with(same, "1"), "page"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkProblem(t, f.postJSON(tt.path, keyNormal, tt.body), http.StatusBadRequest, tt.field)
		})
	}
	t.Run("member order and spacing do not matter", func(t *testing.T) {
		b := `{"page": {"token": "` + token + `"}, "resource": {"type": "service", "id": "ignored"},
			"action": {"name": "read"},
			"subject": {"properties": {"acr": "` + acrSubstantial + `"}, "id": "` + f.parent.String() + `", "type": "person"}}`
		res := f.post(pathSearchResource, keyNormal, b)
		if res.status != http.StatusOK {
			t.Fatalf("POST %s = %d %s, want 200", pathSearchResource, res.status, res.body)
		}
		if page := res.json(t).(obj)["page"].(obj); page["count"] != float64(1) {
			t.Errorf("POST %s: page = %v, want count 1", pathSearchResource, page)
		}
	})
}

// TestSearchBadRequest checks the search bodies refused.
func TestSearchBadRequest(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name, path string
		body       obj
		field      string
	}{
		{"resource: no action", pathSearchResource, obj{"subject": subject(f.parent, acrHigh), "resource": obj{"type": "service"}}, "action"},
		{"resource: unknown action", pathSearchResource, obj{"subject": subject(f.parent, acrHigh), "action": action("dance"), "resource": obj{"type": "service"}}, "action.name"},
		{"resource: no type", pathSearchResource, obj{"subject": subject(f.parent, acrHigh), "action": action("read"), "resource": obj{}}, "resource.type"},
		{"action: no resource id", pathSearchAction, obj{"subject": subject(f.parent, acrHigh), "resource": obj{"type": "service"}}, "resource.id"},
		{"action: unknown service", pathSearchAction, obj{"subject": subject(f.parent, acrHigh), "resource": service("a.b")}, "resource.id"},
		{"action: bad party", pathSearchAction, obj{"subject": subject(f.parent, acrHigh), "resource": service(svcTax), "context": obj{"party": obj{"type": "person", "id": "1"}}}, "context.party.id"},
		{"party: no subject", pathSearchParty, obj{"action": action("read"), "resource": service(svcTax)}, "subject"},
		{"party: subject without id", pathSearchParty, obj{"subject": obj{"type": "person", "properties": obj{"acr": acrHigh}}, "action": action("read"), "resource": service(svcTax)}, "subject.id"},
		{"party: action not offered", pathSearchParty, obj{"subject": subject(f.parent, acrHigh), "action": action("vote"), "resource": service(svcTax)}, "action.name"},
		{"party: unknown acr", pathSearchParty, obj{"subject": subject(f.parent, "Level9"), "action": action("read"), "resource": service(svcTax)}, "subject.properties.acr"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			checkProblem(t, f.postJSON(tt.path, keyNormal, tt.body), http.StatusBadRequest, tt.field)
		})
	}
}
