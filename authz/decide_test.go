package authz

import (
	"os"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
)

const testServices = `{
  "areas": [{"id": "health", "name": {"nb": "Helse", "en": "Health"}},
            {"id": "tax", "name": {"nb": "Skatt", "en": "Tax"}}],
  "actions": [{"id": "read", "name": {"nb": "Se", "en": "Read"}},
              {"id": "submit", "name": {"nb": "Sende inn", "en": "Submit"}},
              {"id": "sign", "name": {"nb": "Signere", "en": "Sign"}}],
  "services": [
    {"id": "helse.journal", "name": {"nb": "Journal", "en": "Record"}, "areas": ["health"], "actions": ["read"], "provider": "983658725", "guardianship_scopes": ["personal"]},
    {"id": "skatt.melding", "name": {"nb": "Skattemelding", "en": "Tax return"}, "areas": ["tax"], "actions": ["read", "submit", "sign"], "provider": "974761076", "guardianship_scopes": ["economic"]}
  ]
}`

const testPolicies = `
@id("self")
permit (principal, action, resource) when { context.relation.kind == "self" };

@id("parent")
permit (principal, action, resource)
when { context.relation.kind == "parent" && context.relation.status == "active" && context.party.age < 18 };

@id("fullmakt")
permit (principal, action, resource)
when {
  context.relation.kind == "fullmakt" && context.relation.status == "active" &&
  (resource in context.relation.areas || resource in context.relation.services) &&
  (context.relation.actions.isEmpty() || context.relation.actions.contains(context.action))
};

@id("sub-delegation-within-parent")
@reason("subdelegation_exceeds_parent")
forbid (principal, action, resource) when { !context.relation.within_parent };

@id("level-substantial")
@reason("level_too_low")
@disclose("true")
forbid (principal, action, resource) when { context.actor.level < 3 };

@id("submit-high")
@reason("level_too_low")
@disclose("true")
forbid (principal, action in [Action::"submit", Action::"sign"], resource) when { context.actor.level < 4 };

@id("sign-fresh")
@reason("authentication_too_old")
forbid (principal, action == Action::"sign", resource) when { context.actor.auth_age > 300 };

@id("health-only")
forbid (principal, action, resource in Area::"health") when { context.relation.kind == "nobody" };
`

// testPack loads a small pack with the published schema, so the requests Decide
// builds are checked against the same schema security teams write against.
func testPack(t testing.TB, extra ...string) *Pack {
	t.Helper()
	schemaSrc, err := os.ReadFile("../policies/schema.cedarschema")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		SchemaFile:    {Data: schemaSrc},
		CatalogueFile: {Data: []byte(testServices)},
		"main.cedar":  {Data: []byte(testPolicies)},
	}
	for i, src := range extra {
		fsys["extra"+string(rune('a'+i))+".cedar"] = &fstest.MapFile{Data: []byte(src)}
	}
	p, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	oslo   = delegation.Oslo()
	parent = delegation.PartyID("01019012345")
	child  = delegation.PartyID("15081012345")
	proxy  = delegation.PartyID("02028012345")
)

func childOf(birth delegation.Date) Facts {
	c := delegation.Person{ID: child, Name: "Child", BirthDate: birth}
	return Facts{Person: &c, Relations: delegation.Relations{Parental: []delegation.ParentalResponsibility{
		{Parent: parent, Child: child, Kind: delegation.CustodyJoint},
	}}}
}

func TestDecideParentAcrossMidnightOslo(t *testing.T) {
	p := testPack(t)
	facts := childOf(delegation.NewDate(2009, time.March, 15))
	tests := []struct {
		name string
		now  time.Time
		want bool
	}{
		{"a second before midnight in Oslo, the day before the 18th birthday", time.Date(2027, 3, 14, 23, 59, 59, 0, oslo), true},
		{"midnight in Oslo, the 18th birthday", time.Date(2027, 3, 15, 0, 0, 0, 0, oslo), false},
		{"still the 14th in UTC but the 15th in Oslo", time.Date(2027, 3, 14, 23, 30, 0, 0, time.UTC), false},
		{"22:59:59 UTC is 23:59:59 in Oslo", time.Date(2027, 3, 14, 22, 59, 59, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Actor: parent, Party: child, Service: "skatt.melding", Action: "read", ACR: "idporten-loa-substantial", Now: tt.now}
			d, err := p.Decide(req, facts)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tt.want {
				t.Errorf("Decide(%v).Allow = %v, want %v (reasons %v)", tt.now, d.Allow, tt.want, d.Reasons)
			}
			if tt.want && (d.Relation == nil || d.Relation.Kind != delegation.RelParent) {
				t.Errorf("Decide(%v).Relation = %v, want parent", tt.now, d.Relation)
			}
		})
	}
}

func TestDecideStepUp(t *testing.T) {
	p := testPack(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	self := Request{Actor: parent, Service: "skatt.melding", Now: now}
	tests := []struct {
		name    string
		action  string
		acr     string
		authAge time.Duration // 0: unknown
		allow   bool
		want    *StepUp
	}{
		{"read at substantial is allowed", "read", "http://eidas.europa.eu/LoA/substantial", 0, true, nil},
		{"read at low steps up to substantial", "read", "idporten-loa-low", 0, false, &StepUp{Relation: Relation{Kind: delegation.RelSelf}, Level: LevelSubstantial, ACR: LevelSubstantial.ACR()}},
		{"submit at substantial steps up to high", "submit", "idporten-loa-substantial", time.Minute, false, &StepUp{Relation: Relation{Kind: delegation.RelSelf}, Level: LevelHigh, ACR: LevelHigh.ACR()}},
		{"sign at high, authenticated 15 minutes ago, needs max_age 300", "sign", "idporten-loa-high", 15 * time.Minute, false, &StepUp{Relation: Relation{Kind: delegation.RelSelf}, Level: LevelHigh, ACR: LevelHigh.ACR(), MaxAge: 300 * time.Second}},
		{"sign at high, authentication time unknown, needs max_age 300", "sign", "Level4", 0, false, &StepUp{Relation: Relation{Kind: delegation.RelSelf}, Level: LevelHigh, ACR: LevelHigh.ACR(), MaxAge: 300 * time.Second}},
		{"sign at substantial steps up to high with max_age 300", "sign", "idporten-loa-substantial", time.Minute, false, &StepUp{Relation: Relation{Kind: delegation.RelSelf}, Level: LevelHigh, ACR: LevelHigh.ACR(), MaxAge: 300 * time.Second}},
		{"sign at high, authenticated 5 minutes ago, is allowed", "sign", "idporten-loa-high", 300 * time.Second, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := self
			req.Action, req.ACR = tt.action, tt.acr
			if tt.authAge > 0 {
				req.AuthTime = now.Add(-tt.authAge)
			}
			d, err := p.Decide(req, Facts{})
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tt.allow {
				t.Errorf("Decide().Allow = %v, want %v (reasons %v)", d.Allow, tt.allow, d.Reasons)
			}
			if diff := cmp.Diff(tt.want, d.StepUp); diff != "" {
				t.Errorf("Decide().StepUp (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecideNoStepUpWhenNoLevelHelps(t *testing.T) {
	p := testPack(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	facts := childOf(delegation.NewDate(2000, time.January, 1)) // 26: an adult
	d, err := p.Decide(Request{Actor: parent, Party: child, Service: "skatt.melding", Action: "read", ACR: "idporten-loa-low", Now: now}, facts)
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow || d.StepUp != nil {
		t.Errorf("Decide(adult child at low) = allow %v, step-up %v; want deny without step-up", d.Allow, d.StepUp)
	}
}

func TestDecidePolicyErrorDenies(t *testing.T) {
	// The self permit would allow; the forbid overflows a Long at run time, which
	// the schema validator cannot see. cedar-go would skip it; we must deny.
	p := testPack(t, `
@id("broken")
forbid (principal, action, resource) when { context.actor.level * 9223372036854775807 == 1 };
`)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	d, err := p.Decide(Request{Actor: parent, Service: "skatt.melding", Action: "read", ACR: "Level4", Now: now}, Facts{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Allow {
		t.Fatalf("Decide() allowed although policy %q failed", "broken")
	}
	if len(d.Errors) != 1 || d.Errors[0].Policy != "broken" || d.Errors[0].Line == 0 {
		t.Errorf("Decide().Errors = %+v, want one for policy broken with its line", d.Errors)
	}
	if d.StepUp != nil {
		t.Errorf("Decide().StepUp = %+v, want none after a policy error", d.StepUp)
	}
}

func TestDecideSubdelegationChain(t *testing.T) {
	p := testPack(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	grantor := delegation.PartyID("03037012345")
	root := delegation.Fullmakt{ID: "f-root", Grantor: grantor, Proxy: parent, Status: delegation.StatusActive,
		Scope: delegation.Scope{Areas: []string{"tax"}}, MaySubdelegate: true}
	sub := delegation.Fullmakt{ID: "f-sub", Grantor: grantor, Proxy: proxy, Status: delegation.StatusActive,
		Scope: delegation.Scope{Services: []string{"skatt.melding"}, Actions: []string{"read"}}, Parent: "f-root", DelegatedBy: parent}
	gp := delegation.Person{ID: grantor, Name: "Grantor", BirthDate: delegation.NewDate(1950, 1, 1)}
	tests := []struct {
		name   string
		change func(root, sub *delegation.Fullmakt)
		chain  bool // whether the root is among the facts
		want   bool
	}{
		{"within its parent", func(r, s *delegation.Fullmakt) {}, true, true},
		{"wider than its parent", func(r, s *delegation.Fullmakt) { s.Scope.Areas = []string{"health"} }, true, false},
		{"parent does not allow sub-delegation", func(r, s *delegation.Fullmakt) { r.MaySubdelegate = false }, true, false},
		{"parent revoked", func(r, s *delegation.Fullmakt) { r.Status = delegation.StatusRevoked }, true, false},
		{"parent's period ended", func(r, s *delegation.Fullmakt) { r.Period.To = delegation.NewDate(2026, 11, 22) }, true, false},
		{"period wider than the parent's", func(r, s *delegation.Fullmakt) {
			r.Period.To = delegation.NewDate(2027, 1, 1)
			s.Period.To = delegation.NewDate(2028, 1, 1)
		}, true, false},
		{"delegated by someone else than the parent's proxy", func(r, s *delegation.Fullmakt) { s.DelegatedBy = child }, true, false},
		{"parent missing from the facts", func(r, s *delegation.Fullmakt) {}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, s := root, sub
			r.Scope.Areas, s.Scope.Areas = append([]string(nil), root.Scope.Areas...), append([]string(nil), sub.Scope.Areas...)
			tt.change(&r, &s)
			facts := Facts{Person: &gp, Relations: delegation.Relations{Fullmakter: []delegation.Fullmakt{s}}}
			if tt.chain {
				facts.Chain = map[string]delegation.Fullmakt{r.ID: r}
			}
			d, err := p.Decide(Request{Actor: proxy, Party: grantor, Service: "skatt.melding", Action: "read", ACR: "Level3", Now: now}, facts)
			if err != nil {
				t.Fatal(err)
			}
			if d.Allow != tt.want {
				t.Errorf("Decide().Allow = %v, want %v (reasons %v)", d.Allow, tt.want, d.Reasons)
			}
			if d.Allow && (d.Relation.ID != "f-sub" || d.Relation.Depth != 1) {
				t.Errorf("Decide().Relation = %+v, want f-sub at depth 1", d.Relation)
			}
		})
	}
}

func TestDecideRequestErrors(t *testing.T) {
	p := testPack(t)
	now := time.Now()
	tests := []struct {
		name  string
		req   Request
		field string
	}{
		{"unknown service", Request{Actor: parent, Service: "nope.nope", Action: "read", ACR: "Level3", Now: now}, "service"},
		{"action the service does not offer", Request{Actor: parent, Service: "helse.journal", Action: "sign", ACR: "Level3", Now: now}, "action"},
		{"unknown acr", Request{Actor: parent, Service: "helse.journal", Action: "read", ACR: "urn:level:9", Now: now}, "acr"},
		{"no actor", Request{Service: "helse.journal", Action: "read", ACR: "Level3", Now: now}, "actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Decide(tt.req, Facts{})
			re, ok := IsRequestError(err)
			if !ok || re.Field != tt.field {
				t.Errorf("Decide() error = %v, want a request error on %q", err, tt.field)
			}
		})
	}
}

// TestIndexMatchesFullEvaluation checks that evaluating only the indexed policies
// gives the same decision as evaluating every policy, for every service, action and
// relation kind.
func TestIndexMatchesFullEvaluation(t *testing.T) {
	p := testPack(t, `
@id("journal-only")
forbid (principal, action == Action::"read", resource == Service::"helse.journal") when { context.actor.level < 4 };
@id("tax-area")
forbid (principal, action in [Action::"submit"], resource in Area::"tax") when { context.party.age < 0 };
@id("is-service")
permit (principal, action, resource is Service in Area::"health") when { context.relation.kind == "self" };
@id("guardian-flipped")
permit (principal, action, resource) when { "guardian" == context.relation.kind && context.relation.status == "active" };
@id("role-unless")
permit (principal, action, resource) unless { context.relation.kind == "role" };
`)
	all := make(policyList, len(p.Policies))
	for i := range p.Policies {
		all[i] = &p.Policies[i]
	}
	full := kindIndex{}
	for _, k := range relationKinds {
		full[k] = all
	}
	indexed := p.index
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	facts := everyKind()
	for _, s := range p.Catalogue.Services {
		for _, a := range s.Actions {
			for _, req := range []Request{
				{Actor: parent, Service: s.ID, Action: a, ACR: "Level3", Now: now},
				{Actor: parent, Party: child, Service: s.ID, Action: a, ACR: "Level3", Now: now},
				{Actor: parent, Party: child, Service: s.ID, Action: a, ACR: "Level4", AuthTime: now.Add(-time.Hour), Now: now},
			} {
				p.index = indexed
				got, err := p.Decide(req, facts)
				if err != nil {
					t.Fatal(err)
				}
				p.index = map[string]map[string]kindIndex{s.ID: {a: full}}
				want, err := p.Decide(req, facts)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s %s for %q at %s: indexed decision differs (-full +indexed):\n%s", s.ID, a, req.Party, req.ACR, diff)
				}
			}
		}
	}
	p.index = indexed
	if n, total := len(p.index["skatt.melding"]["read"][delegation.RelParent]), len(p.Policies); n >= total {
		t.Errorf("index for a parent reading skatt.melding holds %d of %d policies; want fewer", n, total)
	}
}

// everyKind links parent to child by every kind of relation.
func everyKind() Facts {
	org := delegation.PartyID("974761076")
	return Facts{Person: &delegation.Person{ID: child, BirthDate: delegation.NewDate(2010, 8, 15)}, Relations: delegation.Relations{
		Parental:      []delegation.ParentalResponsibility{{Parent: parent, Child: child, Kind: delegation.CustodySole}},
		Guardianships: []delegation.Guardianship{{Guardian: parent, Ward: child, Scope: []string{"economic"}}},
		Fullmakter: []delegation.Fullmakt{{ID: "f1", Grantor: child, Proxy: parent, Status: delegation.StatusActive,
			Scope: delegation.Scope{Areas: []string{"tax"}, Services: []string{"helse.journal"}, Actions: []string{"read"}}}},
		Roles:    []delegation.Role{{Person: parent, Organization: child, Role: "ceo"}},
		Consents: []delegation.Consent{{ID: "c1", Party: child, Recipient: parent, Provider: org, DataSet: "skatt.melding", Status: delegation.ConsentActive, ValidTo: delegation.NewDate(2027, 1, 1)}},
	}}
}

// TestRequestsMatchSchema validates the Cedar requests Decide builds for every
// relation kind against the schema, so the Go side and schema.cedarschema cannot
// drift apart.
func TestRequestsMatchSchema(t *testing.T) {
	p := testPack(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	facts := everyKind()
	req := Request{Actor: parent, Party: child, Service: "skatt.melding", Action: "read", ACR: "Level3", Now: now}
	cands := p.candidates(req, facts)
	if len(cands) != 5 {
		t.Fatalf("candidates() = %d relations, want 5", len(cands))
	}
	ev := evaluation{pack: p, req: req, base: p.baseContext(req, facts)}
	for _, c := range cands {
		ctx := cedar.NewRecord(cedar.RecordMap{
			"relation": c.relation, "party": ev.base.party,
			"actor":  cedar.NewRecord(cedar.RecordMap{"level": cedar.Long(3), "level_name": cedar.String("substantial"), "acr": cedar.String("Level3"), "auth_age": cedar.Long(1)}),
			"action": cedar.String(req.Action), "service": cedar.String(req.Service), "now": ev.base.now,
		})
		r := cedar.Request{Principal: ev.base.principal, Action: ev.base.action, Resource: ev.base.resource, Context: ctx}
		if err := p.validator.Request(r); err != nil {
			t.Errorf("relation %s: request does not match the schema: %v", c.ref.Kind, err)
		}
	}
}

func TestLoadRefusesInvalidPacks(t *testing.T) {
	schemaSrc, err := os.ReadFile("../policies/schema.cedarschema")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		files    map[string]string
		wantErrs []string
	}{
		{"unknown attribute", map[string]string{"a.cedar": "\n\n@id(\"x\")\npermit (principal, action, resource) when { context.nope };"}, []string{"a.cedar:3", `policy "x"`}},
		{"no id", map[string]string{"a.cedar": "permit (principal, action, resource);"}, []string{"a.cedar:1", "@id"}},
		{"duplicate id", map[string]string{"a.cedar": "@id(\"x\") permit (principal, action, resource);\n@id(\"x\") permit (principal, action, resource);"}, []string{"a.cedar:2", "already used at a.cedar:1"}},
		{"syntax error", map[string]string{"a.cedar": "@id(\"x\") permit (principal, action, resource) when { ( };"}, []string{"a.cedar"}},
		{"bad catalogue json", map[string]string{"a.cedar": "@id(\"x\") permit (principal, action, resource);", CatalogueFile: "{\n\"areas\": [\n}"}, []string{CatalogueFile + ":3"}},
		{"catalogue unknown area", map[string]string{"a.cedar": "@id(\"x\") permit (principal, action, resource);", CatalogueFile: strings.Replace(testServices, `"areas": ["tax"]`, `"areas": ["taxes"]`, 1)}, []string{`unknown area "taxes"`}},
		{"no policies", map[string]string{}, []string{"no *.cedar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{SchemaFile: {Data: schemaSrc}, CatalogueFile: {Data: []byte(testServices)}}
			for name, src := range tt.files {
				fsys[name] = &fstest.MapFile{Data: []byte(src)}
			}
			_, err := Load(fsys)
			if err == nil {
				t.Fatal("Load() = nil error, want refusal")
			}
			for _, want := range tt.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load() error = %q, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestVersionIsContentHash(t *testing.T) {
	a, b := testPack(t), testPack(t)
	c := testPack(t, `@id("extra") permit (principal, action, resource) when { false };`)
	if a.Version != b.Version || a.Version == c.Version || !strings.HasPrefix(a.Version, "sha256:") {
		t.Errorf("versions %q, %q, %q: want equal for equal content, different otherwise", a.Version, b.Version, c.Version)
	}
}

// TestStepUpMaxAgeWithoutLiterals: when a policy compares auth_age with something
// other than a number, max_age is found by bisection, and agrees.
func TestStepUpMaxAgeWithoutLiterals(t *testing.T) {
	p := testPack(t, `
@id("fresh-read") @reason("authentication_too_old")
forbid (principal, action == Action::"read", resource in Area::"tax") when { context.actor.auth_age + 0 > 600 };
`)
	if !p.ageOpaque {
		t.Fatal("pack with auth_age + 0 > 600 is not marked opaque")
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, oslo)
	d, err := p.Decide(Request{Actor: parent, Service: "skatt.melding", Action: "read", ACR: "Level3", AuthTime: now.Add(-time.Hour), Now: now}, Facts{})
	if err != nil {
		t.Fatal(err)
	}
	want := &StepUp{Relation: Relation{Kind: delegation.RelSelf}, Level: LevelSubstantial, ACR: LevelSubstantial.ACR(), MaxAge: 600 * time.Second}
	if diff := cmp.Diff(want, d.StepUp); d.Allow || diff != "" {
		t.Errorf("Decide() = allow %v, step-up diff (-want +got):\n%s", d.Allow, diff)
	}
}

// TestIndexKeepsActionGroups: a policy scoped to an action group applies to the
// actions in it, so the index must keep it for them.
func TestIndexKeepsActionGroups(t *testing.T) {
	schemaSrc, err := os.ReadFile("../policies/schema.cedarschema")
	if err != nil {
		t.Fatal(err)
	}
	grouped := strings.Replace(string(schemaSrc), "action read, submit, sign, book, vote appliesTo",
		"action view;\naction read, submit, sign, book, vote in [view] appliesTo", 1)
	if grouped == string(schemaSrc) {
		t.Fatal("the schema's action declaration changed; update this test")
	}
	for _, scope := range []string{`action in Action::"view"`, `action in [Action::"view"]`} {
		p, err := Load(fstest.MapFS{
			SchemaFile:    {Data: []byte(grouped)},
			CatalogueFile: {Data: []byte(testServices)},
			"main.cedar":  {Data: []byte(testPolicies + "\n@id(\"no-view\") forbid (principal, " + scope + ", resource);")},
		})
		if err != nil {
			t.Fatal(err)
		}
		d, err := p.Decide(Request{Actor: parent, Service: "skatt.melding", Action: "read", ACR: "Level4", Now: time.Now()}, Facts{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Allow || !slices.Contains(d.Policies, "no-view") {
			t.Errorf("with forbid (%s): Decide(read) = allow %v by %v, want denied by no-view", scope, d.Allow, d.Policies)
		}
	}
}
