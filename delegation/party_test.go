package delegation_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
)

// mustFnr is fnr for package-level fixtures.
func mustFnr(ddmmyy string, ind int) delegation.PartyID {
	for i := ind; i < ind+10; i++ {
		if s, ok := fnrWithControls(fmt.Sprintf("%s%03d", ddmmyy, i)); ok {
			return delegation.PartyID(s)
		}
	}
	panic("no fødselsnummer for " + ddmmyy)
}

// The cast of the tests. "Today" in the lifecycle tests is 10 March 2025.
var (
	idGrantor  = mustFnr("010170", 100) // Kari, born 1 January 1970
	idProxy    = mustFnr("050575", 200) // Ola, born 5 May 1975
	idProxy2   = mustFnr("121280", 300) // Nora, born 12 December 1980
	idChild    = mustFnr("160608", 500) // Emma, born 16 June 2008: 18 on 16 June 2026
	idParent   = mustFnr("020278", 400) // Emma's mother
	idStranger = mustFnr("030390", 100)
	idOrg      = delegation.PartyID("974760673")

	grantor  = delegation.Person{ID: idGrantor, Name: "Kari Nordmann", BirthDate: date(1970, 1, 1)}
	proxy    = delegation.Person{ID: idProxy, Name: "Ola Nordmann", BirthDate: date(1975, 5, 5)}
	proxy2   = delegation.Person{ID: idProxy2, Name: "Nora Nordmann", BirthDate: date(1980, 12, 12)}
	child    = delegation.Person{ID: idChild, Name: "Emma Nordmann", BirthDate: date(2008, 6, 16)}
	parent   = delegation.Person{ID: idParent, Name: "Ingrid Nordmann", BirthDate: date(1978, 2, 2)}
	stranger = delegation.Person{ID: idStranger, Name: "Per Hansen", BirthDate: date(1990, 3, 3)}

	today = date(2025, 3, 10)
	now   = oslo(2025, 3, 10, 12, 0, 0)
)

func TestFixturesAreValid(t *testing.T) {
	for _, p := range []delegation.Person{grantor, proxy, proxy2, child, parent, stranger} {
		if id, err := (delegation.IDRules{}).ParsePerson(string(p.ID)); err != nil || id != p.ID {
			t.Errorf("ParsePerson(%q) = %q, %v", p.ID, id, err)
		}
		if b, _ := p.ID.BirthDate(); b != p.BirthDate {
			t.Errorf("%s: BirthDate() = %v, want %v", p.Name, b, p.BirthDate)
		}
		if err := p.Validate(today); err != nil {
			t.Errorf("%s: Validate(%v) = %v", p.Name, today, err)
		}
	}
}

func TestPersonValidate(t *testing.T) {
	tests := []struct {
		name    string
		p       delegation.Person
		wantErr bool
	}{
		{"valid", grantor, false},
		{"born today", delegation.Person{ID: idChild, Name: "Baby", BirthDate: today}, false},
		{"died today", delegation.Person{ID: idGrantor, Name: "Kari", BirthDate: date(1970, 1, 1), DeathDate: today}, false},
		{"died on the day of birth", delegation.Person{ID: idGrantor, Name: "Kari", BirthDate: date(1970, 1, 1), DeathDate: date(1970, 1, 1)}, false},
		{"Swedish person", delegation.Person{ID: "se:191212121212", Name: "Tolvan", BirthDate: date(1912, 12, 12)}, false},
		{"no id", delegation.Person{Name: "Kari", BirthDate: date(1970, 1, 1)}, true},
		{"organisation number", delegation.Person{ID: idOrg, Name: "Kari", BirthDate: date(1970, 1, 1)}, true},
		{"no name", delegation.Person{ID: idGrantor, BirthDate: date(1970, 1, 1)}, true},
		{"blank name", delegation.Person{ID: idGrantor, Name: " \t\n", BirthDate: date(1970, 1, 1)}, true},
		{"no birth date", delegation.Person{ID: idGrantor, Name: "Kari"}, true},
		{"born tomorrow", delegation.Person{ID: idGrantor, Name: "Kari", BirthDate: today.AddDays(1)}, true},
		{"died before birth", delegation.Person{ID: idGrantor, Name: "Kari", BirthDate: date(1970, 1, 1), DeathDate: date(1969, 12, 31)}, true},
		{"dies tomorrow", delegation.Person{ID: idGrantor, Name: "Kari", BirthDate: date(1970, 1, 1), DeathDate: today.AddDays(1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate(today)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate(%v) = %v, want error: %v (ErrInvalid)", tt.p, today, err, tt.wantErr)
			}
		})
	}
}

func TestPersonMinorAndDeceased(t *testing.T) {
	dead := delegation.Person{ID: idGrantor, Name: "Kari", BirthDate: date(1970, 1, 1), DeathDate: date(2025, 3, 10)}
	tests := []struct {
		name         string
		p            delegation.Person
		today        delegation.Date
		wantAge      int
		wantMinor    bool
		wantDeceased bool
	}{
		{"adult", grantor, today, 55, false, false},
		{"minor", child, today, 16, true, false},
		{"the day before 18", child, date(2026, 6, 15), 17, true, false},
		{"18th birthday", child, date(2026, 6, 16), 18, false, false},
		{"the day before death", dead, date(2025, 3, 9), 55, false, false},
		{"the day of death", dead, date(2025, 3, 10), 55, false, true},
		{"after death", dead, date(2030, 1, 1), 60, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.AgeOn(tt.today); got != tt.wantAge {
				t.Errorf("%s.AgeOn(%v) = %d, want %d", tt.p.Name, tt.today, got, tt.wantAge)
			}
			if got := tt.p.MinorOn(tt.today); got != tt.wantMinor {
				t.Errorf("%s.MinorOn(%v) = %v, want %v", tt.p.Name, tt.today, got, tt.wantMinor)
			}
			if got := tt.p.DeceasedOn(tt.today); got != tt.wantDeceased {
				t.Errorf("%s.DeceasedOn(%v) = %v, want %v", tt.p.Name, tt.today, got, tt.wantDeceased)
			}
		})
	}
}

func TestOrganizationValidate(t *testing.T) {
	tests := []struct {
		name    string
		o       delegation.Organization
		wantErr bool
	}{
		{"valid", delegation.Organization{ID: idOrg, Name: "Brønnøysundregistrene"}, false},
		{"no id", delegation.Organization{Name: "Brønnøysundregistrene"}, true},
		{"person id", delegation.Organization{ID: idGrantor, Name: "Kari AS"}, true},
		{"no name", delegation.Organization{ID: idOrg}, true},
		{"blank name", delegation.Organization{ID: idOrg, Name: "  "}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.o.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.o, err, tt.wantErr)
			}
		})
	}
}

func TestParentalResponsibility(t *testing.T) {
	from, ceased := date(2020, 1, 1), date(2025, 3, 10)
	bounded := delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: delegation.CustodyJoint, ValidFrom: from, CeasedAt: ceased}
	sinceBirth := delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: delegation.CustodySole}

	t.Run("ActiveOn", func(t *testing.T) {
		tests := []struct {
			name string
			r    delegation.ParentalResponsibility
			day  delegation.Date
			want bool
		}{
			{"the first day", bounded, from, true},
			{"the day before the first", bounded, from.AddDays(-1), false},
			{"the last day", bounded, ceased.AddDays(-1), true},
			{"the day it ceased", bounded, ceased, false},
			{"since birth, long ago", sinceBirth, date(2008, 6, 16), true},
			{"since birth, far ahead", sinceBirth, date(2100, 1, 1), true},
			{"ceased, open start", delegation.ParentalResponsibility{CeasedAt: ceased}, ceased.AddDays(-1), true},
			{"ceased, open start, after", delegation.ParentalResponsibility{CeasedAt: ceased}, ceased, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := tt.r.ActiveOn(tt.day); got != tt.want {
					t.Errorf("%+v.ActiveOn(%v) = %v, want %v", tt.r, tt.day, got, tt.want)
				}
				if got := tt.r.Period().Contains(tt.day); got != tt.want {
					t.Errorf("%+v.Period().Contains(%v) = %v, want %v (the same as ActiveOn)", tt.r, tt.day, got, tt.want)
				}
			})
		}
	})
	t.Run("Period", func(t *testing.T) {
		tests := []struct {
			r    delegation.ParentalResponsibility
			want delegation.Period
		}{
			{bounded, delegation.Period{From: from, To: date(2025, 3, 9)}},
			{sinceBirth, delegation.Period{}},
			{delegation.ParentalResponsibility{ValidFrom: from}, delegation.Period{From: from}},
			{delegation.ParentalResponsibility{CeasedAt: date(2024, 3, 1)}, delegation.Period{To: date(2024, 2, 29)}},
		}
		for _, tt := range tests {
			if diff := cmp.Diff(tt.want, tt.r.Period()); diff != "" {
				t.Errorf("%+v.Period() (-want +got):\n%s", tt.r, diff)
			}
		}
	})
	t.Run("Validate", func(t *testing.T) {
		tests := []struct {
			name    string
			r       delegation.ParentalResponsibility
			wantErr bool
		}{
			{"joint, bounded", bounded, false},
			{"sole, since birth", sinceBirth, false},
			{"ceased a day after it began", delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: delegation.CustodyJoint, ValidFrom: from, CeasedAt: from.AddDays(1)}, false},
			{"ceased the day it began", delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: delegation.CustodyJoint, ValidFrom: from, CeasedAt: from}, true},
			{"ceased before it began", delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: delegation.CustodyJoint, ValidFrom: from, CeasedAt: from.AddDays(-1)}, true},
			{"own parent", delegation.ParentalResponsibility{Parent: idChild, Child: idChild, Kind: delegation.CustodyJoint}, true},
			{"organisation as parent", delegation.ParentalResponsibility{Parent: idOrg, Child: idChild, Kind: delegation.CustodyJoint}, true},
			{"organisation as child", delegation.ParentalResponsibility{Parent: idParent, Child: idOrg, Kind: delegation.CustodyJoint}, true},
			{"no parent", delegation.ParentalResponsibility{Child: idChild, Kind: delegation.CustodyJoint}, true},
			{"no child", delegation.ParentalResponsibility{Parent: idParent, Kind: delegation.CustodyJoint}, true},
			{"no kind", delegation.ParentalResponsibility{Parent: idParent, Child: idChild}, true},
			{"unknown kind", delegation.ParentalResponsibility{Parent: idParent, Child: idChild, Kind: "shared"}, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.r.Validate()
				if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
					t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.r, err, tt.wantErr)
				}
			})
		}
	})
}

func TestGuardianship(t *testing.T) {
	period := delegation.Period{From: date(2024, 1, 1), To: date(2026, 12, 31)}
	valid := delegation.Guardianship{Guardian: idProxy, Ward: idGrantor, Scope: []string{"economic", "personal"}, Period: period}
	with := func(f func(*delegation.Guardianship)) delegation.Guardianship {
		g := valid
		g.Scope = append([]string(nil), valid.Scope...)
		f(&g)
		return g
	}
	tests := []struct {
		name    string
		g       delegation.Guardianship
		wantErr bool
	}{
		{"valid", valid, false},
		{"open period", with(func(g *delegation.Guardianship) { g.Period = delegation.Period{} }), false},
		{"scope with digits and underscore", with(func(g *delegation.Guardianship) { g.Scope = []string{"economic_2"} }), false},
		{"own guardian", with(func(g *delegation.Guardianship) { g.Guardian = g.Ward }), true},
		{"no guardian", with(func(g *delegation.Guardianship) { g.Guardian = "" }), true},
		{"organisation as guardian", with(func(g *delegation.Guardianship) { g.Guardian = idOrg }), true},
		{"organisation as ward", with(func(g *delegation.Guardianship) { g.Ward = idOrg }), true},
		{"no scope", with(func(g *delegation.Guardianship) { g.Scope = nil }), true},
		{"upper-case scope", with(func(g *delegation.Guardianship) { g.Scope = []string{"Economic"} }), true},
		{"empty scope word", with(func(g *delegation.Guardianship) { g.Scope = []string{"economic", ""} }), true},
		{"scope starting with a digit", with(func(g *delegation.Guardianship) { g.Scope = []string{"1economic"} }), true},
		{"scope with a space", with(func(g *delegation.Guardianship) { g.Scope = []string{"economic matters"} }), true},
		{"period ends before it starts", with(func(g *delegation.Guardianship) { g.Period = delegation.Period{From: period.To, To: period.From} }), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.g, err, tt.wantErr)
			}
		})
	}
	for _, c := range []struct {
		day  delegation.Date
		want bool
	}{{period.From, true}, {period.To, true}, {period.From.AddDays(-1), false}, {period.To.AddDays(1), false}} {
		if got := valid.ActiveOn(c.day); got != c.want {
			t.Errorf("%+v.ActiveOn(%v) = %v, want %v", valid, c.day, got, c.want)
		}
	}
}

func TestRoleValidate(t *testing.T) {
	tests := []struct {
		name    string
		r       delegation.Role
		wantErr bool
	}{
		{"ceo", delegation.Role{Person: idGrantor, Organization: idOrg, Role: "ceo"}, false},
		{"board_member", delegation.Role{Person: idGrantor, Organization: idOrg, Role: "board_member"}, false},
		{"organisation as holder", delegation.Role{Person: idOrg, Organization: idOrg, Role: "ceo"}, true},
		{"no holder", delegation.Role{Organization: idOrg, Role: "ceo"}, true},
		{"person as organisation", delegation.Role{Person: idGrantor, Organization: idProxy, Role: "ceo"}, true},
		{"no organisation", delegation.Role{Person: idGrantor, Role: "ceo"}, true},
		{"no role", delegation.Role{Person: idGrantor, Organization: idOrg}, true},
		{"upper-case role", delegation.Role{Person: idGrantor, Organization: idOrg, Role: "CEO"}, true},
		{"role with a hyphen", delegation.Role{Person: idGrantor, Organization: idOrg, Role: "board-member"}, true},
		{"role of 65 letters", delegation.Role{Person: idGrantor, Organization: idOrg, Role: "a" + fmt.Sprintf("%064d", 0)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
				t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.r, err, tt.wantErr)
			}
		})
	}
}

func TestRelationsKinds(t *testing.T) {
	tests := []struct {
		name string
		r    delegation.Relations
		want []delegation.RelationKind
	}{
		{"none", delegation.Relations{}, nil},
		{"fullmakt only", delegation.Relations{Fullmakter: []delegation.Fullmakt{{}}}, []delegation.RelationKind{delegation.RelFullmakt}},
		{"all, in a fixed order", delegation.Relations{
			Consents: []delegation.Consent{{}}, Fullmakter: []delegation.Fullmakt{{}}, Roles: []delegation.Role{{}},
			Guardianships: []delegation.Guardianship{{}}, Parental: []delegation.ParentalResponsibility{{}},
		}, []delegation.RelationKind{delegation.RelParent, delegation.RelGuardian, delegation.RelRole, delegation.RelFullmakt, delegation.RelConsent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.r.Kinds()); diff != "" {
				t.Errorf("Kinds() (-want +got):\n%s", diff)
			}
			if got := tt.r.Empty(); got != (len(tt.want) == 0) {
				t.Errorf("Empty() = %v, want %v", got, len(tt.want) == 0)
			}
		})
	}
}
