package demo_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// now is a fixed instant for the tests: 23:30 UTC on 14 January 2026 is already the
// 15th in Oslo, so a generator that took the date in UTC would be a day off.
var now = time.Date(2026, 1, 14, 23, 30, 0, 0, time.UTC)

// line is one record of the import format, every type's fields together.
type line struct {
	Type                string   `json:"type"`
	ID                  string   `json:"id"`
	Name                string   `json:"name"`
	BirthDate           string   `json:"birth_date"`
	DeathDate           string   `json:"death_date"`
	ConfidentialAddress bool     `json:"confidential_address"`
	Parent              string   `json:"parent"`
	Child               string   `json:"child"`
	Kind                string   `json:"kind"`
	ValidFrom           string   `json:"valid_from"`
	ValidTo             string   `json:"valid_to"`
	CeasedAt            string   `json:"ceased_at"`
	Guardian            string   `json:"guardian"`
	Ward                string   `json:"ward"`
	Scope               []string `json:"scope"`
	Person              string   `json:"person"`
	Organization        string   `json:"organization"`
	Role                string   `json:"role"`
	Grantor             string   `json:"grantor"`
	Proxy               string   `json:"proxy"`
	Actions             []string `json:"actions"`
	MaySubdelegate      bool     `json:"may_subdelegate"`
}

// fields lists, per record type, the fields it must have and those it may have.
var fields = map[string]struct{ required, optional []string }{
	"person":                  {[]string{"id", "name", "birth_date"}, []string{"death_date", "confidential_address"}},
	"organization":            {[]string{"id", "name"}, nil},
	"parental_responsibility": {[]string{"parent", "child", "kind"}, []string{"valid_from", "ceased_at"}},
	"guardianship":            {[]string{"guardian", "ward", "scope"}, []string{"valid_from", "valid_to"}},
	"role":                    {[]string{"person", "organization", "role"}, nil},
	"fullmakt":                {[]string{"grantor", "proxy", "scope"}, []string{"id", "actions", "valid_from", "valid_to", "may_subdelegate"}},
}

// parseLines checks that every line is a JSON object of a known type with exactly the
// fields that type has (optional ones omitted rather than empty), and returns them.
func parseLines(t *testing.T, data []byte) []line {
	t.Helper()
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("output does not end with a newline")
	}
	var out []line
	for i, raw := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		if len(raw) == 0 {
			if len(data) == 0 {
				break
			}
			t.Fatalf("line %d is empty", i+1)
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, raw)
		}
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, raw)
		}
		f, ok := fields[l.Type]
		if !ok {
			t.Fatalf("line %d has unknown type %q: %s", i+1, l.Type, raw)
		}
		for _, k := range f.required {
			if _, ok := keys[k]; !ok {
				t.Errorf("line %d (%s) lacks %q: %s", i+1, l.Type, k, raw)
			}
		}
		for k, v := range keys {
			switch {
			case k == "type" || slices.Contains(f.required, k):
			case !slices.Contains(f.optional, k):
				t.Errorf("line %d (%s) has field %q, which that type does not have: %s", i+1, l.Type, k, raw)
			case string(v) == `""` || string(v) == "false" || string(v) == "[]" || string(v) == "null":
				t.Errorf("line %d (%s) writes the unset optional field %q instead of omitting it: %s", i+1, l.Type, k, raw)
			}
		}
		out = append(out, l)
	}
	return out
}

func generate(t testing.TB, opts demo.Options) ([]byte, demo.Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := demo.Generate(&buf, opts)
	if err != nil {
		t.Fatalf("Generate(%+v) error: %v", opts, err)
	}
	return buf.Bytes(), st
}

func TestGenerateIsDeterministic(t *testing.T) {
	base := demo.Options{Persons: 2000, Seed: 7, Now: now}
	want, _ := generate(t, base)
	for _, tc := range []struct {
		name string
		opts demo.Options
		same bool
	}{
		{"same options", base, true},
		{"same day in Oslo, other hour", demo.Options{Persons: 2000, Seed: 7, Now: now.Add(20 * time.Hour)}, true},
		{"other seed", demo.Options{Persons: 2000, Seed: 8, Now: now}, false},
		{"other day", demo.Options{Persons: 2000, Seed: 7, Now: now.AddDate(0, 0, 1)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := generate(t, tc.opts)
			if same := bytes.Equal(got, want); same != tc.same {
				t.Errorf("Generate(%+v) equal to Generate(%+v) = %v, want %v", tc.opts, base, same, tc.same)
			}
		})
	}
}

func TestGenerateWritesExactlyPersons(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 7, 19, 20, 21, 100, 1001, 4321} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data, st := generate(t, demo.Options{Persons: n, Seed: uint64(n), Now: now})
			lines := parseLines(t, data)
			count := map[string]int{}
			for _, l := range lines {
				count[l.Type]++
			}
			want := demo.Stats{
				Persons: count["person"], Organizations: count["organization"], Parental: count["parental_responsibility"],
				Guardianships: count["guardianship"], Roles: count["role"], Fullmakter: count["fullmakt"],
			}
			if st != want {
				t.Errorf("Generate(%d persons) Stats = %+v, want the counts of the lines written, %+v", n, st, want)
			}
			if count["person"] != n {
				t.Errorf("Generate(%d persons) wrote %d persons", n, count["person"])
			}
			if st.Records() != len(lines) {
				t.Errorf("Stats.Records() = %d, want %d lines", st.Records(), len(lines))
			}
		})
	}
}

func TestGenerateRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts demo.Options
	}{
		{"negative persons", demo.Options{Persons: -1, Now: now}},
		{"no now", demo.Options{Persons: 10}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := demo.Generate(&buf, tc.opts); err == nil {
				t.Errorf("Generate(%+v) error = nil, want an error", tc.opts)
			}
			if buf.Len() != 0 {
				t.Errorf("Generate(%+v) wrote %d bytes, want none", tc.opts, buf.Len())
			}
		})
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestGenerateReportsWriteErrors(t *testing.T) {
	for _, after := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(after), func(t *testing.T) {
			_, err := demo.Generate(&failingWriter{after: after}, demo.Options{Persons: 20000, Seed: 1, Now: now})
			if err == nil || !strings.Contains(err.Error(), "disk full") {
				t.Errorf("Generate to a writer failing after %d writes: error = %v, want one wrapping %q", after, err, "disk full")
			}
		})
	}
	if err := demo.WriteCast(&failingWriter{}, now); err == nil {
		t.Errorf("WriteCast to a failing writer: error = nil, want one")
	}
}

// population is a generated file, read back and checked against the import rules.
type population struct {
	today    delegation.Date
	persons  map[delegation.PartyID]delegation.Person
	orgs     map[delegation.PartyID]bool
	lines    []line
	minorAge map[int]int // living children under parental responsibility today, by age
}

// checkPopulation checks every record of data as the importer would (ids, dates, the
// domain's Validate methods, persons and organisations before what names them, no
// overlapping duplicates) and the promises of the generator (realistic ages).
func checkPopulation(t *testing.T, data []byte, today delegation.Date) population {
	t.Helper()
	p := population{
		today: today, persons: map[delegation.PartyID]delegation.Person{}, orgs: map[delegation.PartyID]bool{},
		lines: parseLines(t, data), minorAge: map[int]int{},
	}
	lax, strict := delegation.IDRules{AllowSynthetic: true}, delegation.IDRules{}
	person := func(i int, role, s string) (delegation.Person, bool) {
		per, ok := p.persons[delegation.PartyID(s)]
		if !ok {
			t.Errorf("line %d names %s %s, who is not among the persons written before it", i+1, role, s)
		}
		return per, ok
	}
	date := func(i int, s string) delegation.Date {
		if s == "" {
			return delegation.Date{}
		}
		d, err := delegation.ParseDate(s)
		if err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		return d
	}
	type pair struct{ a, b string }
	parental := map[pair][]delegation.Period{}
	guardians := map[pair]bool{}
	roles := map[string]bool{}
	grants := map[string]bool{}
	custodyChanges, newResponsibility := map[string]int{}, map[string]bool{}
	for i, l := range p.lines {
		switch l.Type {
		case "person":
			id, err := lax.ParsePerson(l.ID)
			if err != nil {
				t.Errorf("line %d: ParsePerson(%s) with synthetic numbers allowed: %v", i+1, l.ID, err)
				continue
			}
			if _, err := strict.ParsePerson(l.ID); err == nil {
				t.Errorf("line %d: ParsePerson(%s) without synthetic numbers allowed: accepted, want rejected", i+1, l.ID)
			}
			if _, dup := p.persons[id]; dup {
				t.Errorf("line %d: person id %s given twice", i+1, id)
			}
			per := delegation.Person{ID: id, Name: l.Name, BirthDate: date(i, l.BirthDate), DeathDate: date(i, l.DeathDate), ConfidentialAddress: l.ConfidentialAddress}
			if err := per.Validate(today); err != nil {
				t.Errorf("line %d: Person.Validate: %v", i+1, err)
			}
			if born, ok := id.BirthDate(); !ok || born != per.BirthDate {
				t.Errorf("line %d: birth_date %s, but the identity number says %s", i+1, per.BirthDate, born)
			}
			p.persons[id] = per
		case "organization":
			id, err := lax.ParseOrganization(l.ID)
			if err != nil {
				t.Errorf("line %d: ParseOrganization(%s): %v", i+1, l.ID, err)
				continue
			}
			if p.orgs[id] {
				t.Errorf("line %d: organisation number %s given twice", i+1, id)
			}
			if err := (delegation.Organization{ID: id, Name: l.Name}).Validate(); err != nil {
				t.Errorf("line %d: Organization.Validate: %v", i+1, err)
			}
			p.orgs[id] = true
		case "parental_responsibility":
			parent, ok1 := person(i, "parent", l.Parent)
			child, ok2 := person(i, "child", l.Child)
			r := delegation.ParentalResponsibility{Parent: parent.ID, Child: child.ID, Kind: delegation.CustodyKind(l.Kind), ValidFrom: date(i, l.ValidFrom), CeasedAt: date(i, l.CeasedAt)}
			if !ok1 || !ok2 {
				continue
			}
			if err := r.Validate(); err != nil {
				t.Errorf("line %d: ParentalResponsibility.Validate: %v", i+1, err)
			}
			if gap := delegation.AgeOn(parent.BirthDate, child.BirthDate); gap < 18 || gap > 45 {
				t.Errorf("line %d: parent born %s is %d years older than the child born %s, want 18–45", i+1, parent.BirthDate, gap, child.BirthDate)
			}
			if !r.CeasedAt.IsZero() && r.CeasedAt.After(today) {
				t.Errorf("line %d: ceased_at %s is in the future", i+1, r.CeasedAt)
			}
			if !r.ValidFrom.IsZero() && (r.ValidFrom.Before(child.BirthDate) || r.ValidFrom.After(today)) {
				t.Errorf("line %d: valid_from %s is not between the child's birth %s and today", i+1, r.ValidFrom, child.BirthDate)
			}
			switch adult := child.BirthDate.AddYears(delegation.AgeOfMajority); {
			case !child.MinorOn(today) && (r.CeasedAt.IsZero() || r.CeasedAt.After(adult)):
				t.Errorf("line %d: responsibility for a child now %d has ceased_at %q, want it to have ceased by the 18th birthday %s", i+1, child.AgeOn(today), l.CeasedAt, adult)
			case child.MinorOn(today) && !r.CeasedAt.IsZero():
				custodyChanges[l.Child+" "+l.CeasedAt]++ // someone's responsibility must begin that day
			}
			if !r.ValidFrom.IsZero() {
				custodyChanges[l.Child+" "+l.ValidFrom] += 0
				newResponsibility[l.Child+" "+l.ValidFrom] = true
			}
			k := pair{l.Parent, l.Child}
			for _, old := range parental[k] {
				if old.Overlaps(r.Period()) {
					t.Errorf("line %d: overlaps an earlier responsibility of the same parent for the same child", i+1)
				}
			}
			parental[k] = append(parental[k], r.Period())
			if r.ActiveOn(today) && child.MinorOn(today) && child.DeathDate.IsZero() {
				p.minorAge[child.AgeOn(today)]++
			}
		case "guardianship":
			guardian, ok1 := person(i, "guardian", l.Guardian)
			ward, ok2 := person(i, "ward", l.Ward)
			if !ok1 || !ok2 {
				continue
			}
			g := delegation.Guardianship{Guardian: guardian.ID, Ward: ward.ID, Scope: l.Scope, Period: delegation.Period{From: date(i, l.ValidFrom), To: date(i, l.ValidTo)}}
			if err := g.Validate(); err != nil {
				t.Errorf("line %d: Guardianship.Validate: %v", i+1, err)
			}
			for _, s := range l.Scope {
				if s != "economic" && s != "personal" {
					t.Errorf("line %d: guardianship scope %q, want economic or personal", i+1, s)
				}
			}
			if ward.MinorOn(today) || guardian.MinorOn(today) || !ward.DeathDate.IsZero() || !guardian.DeathDate.IsZero() {
				t.Errorf("line %d: guardian (%d) and ward (%d) should be living adults", i+1, guardian.AgeOn(today), ward.AgeOn(today))
			}
			if k := (pair{l.Guardian, l.Ward}); guardians[k] {
				t.Errorf("line %d: a second guardianship between the same guardian and ward", i+1)
			} else {
				guardians[k] = true
			}
		case "role":
			holder, ok := person(i, "role holder", l.Person)
			if !p.orgs[delegation.PartyID(l.Organization)] {
				t.Errorf("line %d names organisation %s, which is not among those written before it", i+1, l.Organization)
			}
			r := delegation.Role{Person: holder.ID, Organization: delegation.PartyID(l.Organization), Role: l.Role}
			if err := r.Validate(); err != nil {
				t.Errorf("line %d: Role.Validate: %v", i+1, err)
			}
			if !slices.Contains([]string{"ceo", "chair", "board_member", "signatory"}, l.Role) {
				t.Errorf("line %d: role %q", i+1, l.Role)
			}
			if ok && (holder.MinorOn(today) || !holder.DeathDate.IsZero()) {
				t.Errorf("line %d: role holder should be a living adult", i+1)
			}
			if k := l.Person + l.Organization + l.Role; roles[k] {
				t.Errorf("line %d: the same role twice", i+1)
			} else {
				roles[k] = true
			}
		case "fullmakt":
			grantor, ok1 := person(i, "grantor", l.Grantor)
			proxy, ok2 := person(i, "proxy", l.Proxy)
			if !ok1 || !ok2 {
				continue
			}
			scope, err := delegation.ParseScope(l.Scope, l.Actions)
			if err != nil {
				t.Errorf("line %d: ParseScope: %v", i+1, err)
			}
			period := delegation.Period{From: date(i, l.ValidFrom), To: date(i, l.ValidTo)}
			f := delegation.MigratedFullmakt(grantor.ID, proxy.ID, scope, period, l.MaySubdelegate, l.ID)
			if err := f.Validate(); err != nil {
				t.Errorf("line %d: Fullmakt.Validate: %v", i+1, err)
			}
			if grantor.AgeOn(today) < 18 || proxy.AgeOn(today) < 18 {
				t.Errorf("line %d: grantor (%d) and proxy (%d) should be adults", i+1, grantor.AgeOn(today), proxy.AgeOn(today))
			}
			if !period.From.IsZero() && (period.From.After(today) || !grantor.DeathDate.IsZero() && !period.From.Before(grantor.DeathDate)) {
				t.Errorf("line %d: valid_from %s is in the future or after the grantor's death", i+1, period.From)
			}
			if grants[f.ID] {
				t.Errorf("line %d: fullmakt id %s twice", i+1, f.ID)
			}
			grants[f.ID] = true
		}
	}
	for k, n := range custodyChanges {
		if n > 0 && !newResponsibility[k] {
			t.Errorf("child and date %s: a minor's responsibility ceased and none began that day", k)
		}
	}
	return p
}

func TestGeneratedPopulationFollowsTheImportRules(t *testing.T) {
	const persons = 20000
	today := delegation.Today(now)
	data, st := generate(t, demo.Options{Persons: persons, Seed: 42, Now: now})
	p := checkPopulation(t, data, today)

	for age := range delegation.AgeOfMajority {
		// 20,000 persons have about 220 children of each age.
		if p.minorAge[age] < 100 {
			t.Errorf("%d living children aged %d under parental responsibility, want children of every age 0–17 (got %v)", p.minorAge[age], age, p.minorAge)
		}
	}
	var adults, young, elderly, deceased, confidential, sole, ceased, openEnded int
	for _, per := range p.persons {
		age := per.AgeOn(today)
		switch {
		case !per.DeathDate.IsZero():
			deceased++
			continue
		case age >= 18 && age <= 25:
			young++
		case age >= 67:
			elderly++
		}
		if age >= 18 {
			adults++
		}
		if per.ConfidentialAddress {
			confidential++
		}
	}
	for _, l := range p.lines {
		switch {
		case l.Type == "parental_responsibility" && l.Kind == "sole":
			sole++
		case l.Type == "parental_responsibility" && l.CeasedAt != "":
			ceased++
		case l.Type == "guardianship" && l.ValidTo == "":
			openEnded++
		}
	}
	// Loose bounds on the shares the generator aims at, so that a change that
	// breaks the mix fails here.
	for _, tc := range []struct {
		name     string
		got      int
		min, max float64 // as a share of the base
		base     int
	}{
		{"young adults 18–25 of persons", young, 0.06, 0.14, persons},
		{"elderly 67+ of persons", elderly, 0.10, 0.22, persons},
		{"deceased of persons", deceased, 0.01, 0.06, persons},
		{"confidential addresses of persons", confidential, 0.001, 0.012, persons},
		{"guardianships of adults", st.Guardianships, 0.005, 0.02, adults},
		{"fullmakter of adults", st.Fullmakter, 0.01, 0.035, adults},
		{"sole responsibilities of parental", sole, 0.05, 0.4, st.Parental},
		{"ceased responsibilities of parental", ceased, 0.05, 0.4, st.Parental},
		{"open-ended guardianships", openEnded, 0.5, 0.95, st.Guardianships},
	} {
		if share := float64(tc.got) / float64(tc.base); share < tc.min || share > tc.max {
			t.Errorf("%s: %d of %d (%.3f), want %.3f–%.3f", tc.name, tc.got, tc.base, share, tc.min, tc.max)
		}
	}
	if want := persons / 20; st.Organizations != want {
		t.Errorf("Generate(%d persons) wrote %d organisations, want one per 20 persons, %d", persons, st.Organizations, want)
	}
	if st.Roles < 2*st.Organizations {
		t.Errorf("Generate wrote %d roles for %d organisations, want at least a CEO and a chair each", st.Roles, st.Organizations)
	}
}

func TestGeneratedOrganizationsHaveCEOAndChair(t *testing.T) {
	data, _ := generate(t, demo.Options{Persons: 3000, Seed: 3, Now: now})
	roles := map[string][]string{}
	var orgs []string
	for _, l := range parseLines(t, data) {
		switch l.Type {
		case "organization":
			orgs = append(orgs, l.ID)
		case "role":
			roles[l.Organization] = append(roles[l.Organization], l.Role)
		}
	}
	for _, org := range orgs {
		if !slices.Contains(roles[org], "ceo") || !slices.Contains(roles[org], "chair") {
			t.Errorf("organisation %s has roles %v, want a ceo and a chair", org, roles[org])
		}
	}
	if len(orgs) != 150 {
		t.Errorf("3000 persons: %d organisations, want 150", len(orgs))
	}
}

// TestCastAndPopulationShareNoIDs: the cast and a generated population can be
// imported into the same store without an identity number naming two people.
func TestCastAndPopulationShareNoIDs(t *testing.T) {
	var cast bytes.Buffer
	if err := demo.WriteCast(&cast, now); err != nil {
		t.Fatalf("WriteCast: %v", err)
	}
	castIDs := map[string]bool{}
	for _, l := range parseLines(t, cast.Bytes()) {
		if l.Type == "person" || l.Type == "organization" {
			castIDs[l.ID] = true
		}
	}
	for seed := range uint64(3) {
		data, _ := generate(t, demo.Options{Persons: 20000, Seed: seed, Now: now})
		for raw := range bytes.Lines(data) {
			var l struct{ Type, ID, Name string }
			if err := json.Unmarshal(raw, &l); err != nil {
				t.Fatal(err)
			}
			if (l.Type == "person" || l.Type == "organization") && castIDs[l.ID] {
				t.Errorf("seed %d: %s %s (%s) has the id of a cast member", seed, l.Type, l.ID, l.Name)
			}
		}
	}
	if len(castIDs) == 0 {
		t.Fatalf("the cast has no persons")
	}
}

func BenchmarkGenerate(b *testing.B) {
	const persons = 100000
	for b.Loop() {
		if _, err := demo.Generate(io.Discard, demo.Options{Persons: persons, Seed: 1, Now: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(persons)*float64(b.N)/b.Elapsed().Seconds(), "persons/s")
}
