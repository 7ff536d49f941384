package demo

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// Character is a member of the demo cast, for the README and the demo's start page.
type Character struct {
	ID   delegation.PartyID
	Name string
	// Age is the age on every day of the month the cast is made in; for a deceased
	// person, the age at death.
	Age int
	// Story says in one line what the character shows ("parent of Ola (17) and Emma
	// (10) …").
	Story string
}

// castPerson is a member of the cast. Birth dates are relative to the anchor, the
// first day of the month the cast is made in (Oslo): the last birthday fell on the
// member's own day of the month, monthsBack months before the anchor's month. So
// every age holds on every day of the month and for months after (the next birthday
// is at least two months away); a restart of `serve --demo` in the same month writes
// the same records, which makes loading the cast again a no-op; and as no two members
// share a day of the month, the casts of different months never give two people one
// identity number, whichever casts a store has collected.
type castPerson struct {
	key          string
	name         string
	age          int // in the anchor's month; for the deceased, at death
	monthsBack   int // 1–10: months from the last birthday's month to the anchor's (or the death's)
	day          int // day of the month of the birthday, 1–28, different for every member
	diedMonths   int // months from the death to the anchor; 0 for the living
	confidential bool
	story        string // {key} stands for that member's age, {org} for the organisation number
}

var castPersons = []castPerson{
	{key: "kari", name: "Kari Nordmann", age: 44, monthsBack: 4, day: 11, story: "parent of Sara ({sara}), Ola ({ola}) and Emma ({emma}), joint responsibility with Per"},
	{key: "per", name: "Per Nordmann", age: 46, monthsBack: 7, day: 23, story: "parent of Sara ({sara}), Ola ({ola}) and Emma ({emma}), joint responsibility with Kari"},
	{key: "sara", name: "Sara Nordmann", age: 18, monthsBack: 2, day: 6, story: "daughter of Kari and Per; since her 18th birthday her parents no longer act for her"},
	{key: "ola", name: "Ola Nordmann", age: 17, monthsBack: 3, day: 5, story: "son of Kari and Per; their right to act for him ends on his 18th birthday"},
	{key: "emma", name: "Emma Nordmann", age: 10, monthsBack: 8, day: 17, story: "daughter of Kari and Per; under 12, so her parents act for her in health services too"},
	{key: "astrid", name: "Astrid Hansen", age: 84, monthsBack: 2, day: 9, story: "gave her daughter Ingrid ({ingrid}) a fullmakt for health, tax and welfare (migrated)"},
	{key: "ingrid", name: "Ingrid Hansen", age: 56, monthsBack: 6, day: 14, story: "holds her mother Astrid's ({astrid}) fullmakt for health, tax and welfare"},
	{key: "jon", name: "Jon Berg", age: 52, monthsBack: 1, day: 27, story: "guardian of Lars Dahl ({lars}) in economic matters"},
	{key: "lars", name: "Lars Dahl", age: 79, monthsBack: 10, day: 3, story: "under guardianship in economic matters, with Jon Berg ({jon}) as guardian"},
	{key: "sofie", name: "Sofie Lund", age: 38, monthsBack: 3, day: 21, story: "CEO of " + castOrgName + " ({org}), whose board Erik Solberg chairs"},
	{key: "erik", name: "Erik Solberg", age: 61, monthsBack: 7, day: 2, story: "chair of the board of " + castOrgName + " ({org})"},
	{key: "mari", name: "Mari Bakke", age: 42, monthsBack: 5, day: 19, story: "mother of Nora ({nora}), sole responsibility"},
	{key: "nora", name: "Nora Bakke", age: 16, monthsBack: 4, day: 25, story: "past the health age of majority (16): her mother Mari acts for her, but not in health services"},
	{key: "hanne", name: "Hanne Moe", age: 35, monthsBack: 6, day: 7, confidential: true, story: "confidential address, as her son Leo ({leo}) has; sole responsibility for him"},
	{key: "leo", name: "Leo Moe", age: 6, monthsBack: 2, day: 13, confidential: true, story: "confidential address: by default nobody represents him through the registers"},
	{key: "olav", name: "Olav Strand", age: 88, monthsBack: 1, day: 16, diedMonths: 7, story: "deceased; the fullmakt he gave his son Terje ({terje}) ended with his death"},
	{key: "terje", name: "Terje Strand", age: 60, monthsBack: 9, day: 1, story: "held his late father Olav's fullmakt for health, tax and housing"},
	{key: "maja", name: "Maja Lie", age: 21, monthsBack: 5, day: 8, story: "studies abroad; gave her father Tor ({tor}) a fullmakt for education, so that he deals with her student support"},
	{key: "tor", name: "Tor Lie", age: 53, monthsBack: 3, day: 12, story: "holds his daughter Maja's ({maja}) fullmakt for education; submitting for her needs level high"},
}

const castOrgName = "Fjordtech Demo AS"

// cast is the whole cast as records.
type cast struct {
	persons    []delegation.Person
	org        delegation.Organization
	roles      []delegation.Role
	parental   []delegation.ParentalResponsibility
	guards     []delegation.Guardianship
	fullmakter []migratedFullmakt
}

// newCast builds the cast for the day now falls on in Oslo. It fails only when
// Norwegian identity numbers cannot express a birth date (from 2040).
func newCast(now time.Time) (cast, error) {
	today := delegation.Today(now)
	anchor := delegation.NewDate(today.Year, today.Month, 1)
	month := anchor.String()[:len("2006-01")] // in the old system's ids, so each month's cast has its own
	var c cast
	who := map[string]delegation.Person{}
	for _, m := range castPersons {
		p := delegation.Person{Name: m.name, ConfidentialAddress: m.confidential}
		ref := anchor
		if m.diedMonths > 0 {
			ref = addMonths(anchor, -m.diedMonths)
			p.DeathDate = ref.AddDays(11)
		}
		p.BirthDate = addMonths(ref, -12*m.age-m.monthsBack).AddDays(m.day - 1)
		id, err := castID(p.BirthDate)
		if err != nil {
			return cast{}, err
		}
		p.ID = id
		who[m.key] = p
		c.persons = append(c.persons, p)
	}
	c.org = CastOrganization()
	c.roles = []delegation.Role{
		{Person: who["sofie"].ID, Organization: c.org.ID, Role: "ceo"},
		{Person: who["erik"].ID, Organization: c.org.ID, Role: "chair"},
	}
	joint, sole := delegation.CustodyJoint, delegation.CustodySole
	for _, r := range []struct {
		parent, child string
		kind          delegation.CustodyKind
	}{
		{"kari", "sara", joint}, {"per", "sara", joint},
		{"kari", "ola", joint}, {"per", "ola", joint}, {"kari", "emma", joint}, {"per", "emma", joint},
		{"mari", "nora", sole}, {"hanne", "leo", sole},
	} {
		pr := delegation.ParentalResponsibility{Parent: who[r.parent].ID, Child: who[r.child].ID, Kind: r.kind}
		if born := who[r.child].BirthDate; delegation.AgeOn(born, today) >= 18 {
			// The register ends the responsibility on the 18th birthday.
			pr.CeasedAt = born.AddYears(18)
		}
		c.parental = append(c.parental, pr)
	}
	c.guards = []delegation.Guardianship{{
		Guardian: who["jon"].ID, Ward: who["lars"].ID, Scope: []string{"economic"},
		Period: delegation.Period{From: anchor.AddYears(-2).AddDays(-45)},
	}}
	c.fullmakter = []migratedFullmakt{
		{
			SourceID: "demo-cast-" + month + "-astrid-ingrid", Grantor: who["astrid"].ID, Proxy: who["ingrid"].ID,
			Scope: []string{"health", "tax", "welfare"}, Period: delegation.Period{From: anchor.AddYears(-3).AddDays(-20)},
		},
		{
			SourceID: "demo-cast-" + month + "-olav-terje", Grantor: who["olav"].ID, Proxy: who["terje"].ID,
			Scope: []string{"health", "tax", "housing"}, Period: delegation.Period{From: who["olav"].DeathDate.AddYears(-4)},
		},
		{
			SourceID: "demo-cast-" + month + "-maja-tor", Grantor: who["maja"].ID, Proxy: who["tor"].ID,
			Scope: []string{"education"}, Period: delegation.Period{From: anchor.AddYears(-1).AddDays(-30)},
		},
	}
	return c, nil
}

// addMonths returns the first day of the month n months after the month of d, which
// must be a first day.
func addMonths(d delegation.Date, n int) delegation.Date {
	t := time.Date(d.Year, d.Month+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	return delegation.NewDate(t.Year(), t.Month(), 1)
}

// castID returns the identity number of a cast member born on birth: the first valid
// one among the individual numbers reserved for the cast (see castInds). Members are
// born on different days, so they get different numbers.
func castID(birth delegation.Date) (delegation.PartyID, error) {
	base := 0
	if birth.Year >= 2000 {
		base = 500
	}
	for ind := base; ind < base+castInds; ind++ {
		if id, ok := delegation.NorwegianPersonID(birth, ind, false, true); ok {
			return id, nil
		}
	}
	return "", fmt.Errorf("demo: no synthetic identity number for a cast member born %s", birth)
}

// Cast returns the characters of the demo cast that WriteCast writes for the same
// now, in a fixed order. It returns nil when Norwegian identity numbers cannot express
// a member's birth date (births from 2040, so from about 2046), as WriteCast fails
// then.
func Cast(now time.Time) []Character {
	c, err := newCast(now)
	if err != nil {
		return nil
	}
	fill := []string{"{org}", c.org.ID.String()}
	for _, m := range castPersons {
		fill = append(fill, "{"+m.key+"}", strconv.Itoa(m.age))
	}
	stories := strings.NewReplacer(fill...)
	chars := make([]Character, len(castPersons))
	for i, m := range castPersons {
		chars[i] = Character{ID: c.persons[i].ID, Name: m.name, Age: m.age, Story: stories.Replace(m.story)}
	}
	return chars
}

// CastOrganization returns the demo cast's organisation, Fjordtech Demo AS: Sofie
// Lund is its CEO and Erik Solberg chairs its board. Its number is the same in every
// month.
func CastOrganization() delegation.Organization {
	for i := 0; ; i++ {
		if id, ok := delegation.OrganizationNumber(castOrgBase + i); ok {
			return delegation.Organization{ID: id, Name: castOrgName}
		}
	}
}

// WriteCast writes the demo cast, in the register import format, as it is on the day
// now falls on in Oslo: the Nordmann family (Kari and Per, joint responsibility for
// Sara, 18, Ola, 17, and Emma, 10), Astrid Hansen (84), who gave her daughter Ingrid (56) a
// fullmakt; Jon Berg, guardian of Lars Dahl; Sofie Lund, CEO of Fjordtech Demo AS,
// and its chair; Nora Bakke (16) and her mother; Hanne and Leo Moe, with a
// confidential address; the late Olav Strand, whose son held his fullmakt; and Maja
// Lie (21), who gave her father Tor a fullmakt for education. See
// Cast for the identity numbers. The cast imports on its own, and importing it again
// in the same month changes nothing; its identity numbers never clash with those
// Generate writes.
func WriteCast(w io.Writer, now time.Time) error {
	c, err := newCast(now)
	if err != nil {
		return err
	}
	out := newLineWriter(w)
	for _, p := range c.persons {
		out.person(p)
	}
	out.organization(c.org)
	for _, r := range c.roles {
		out.role(r)
	}
	for _, r := range c.parental {
		out.parental(r)
	}
	for _, g := range c.guards {
		out.guardianship(g)
	}
	for _, f := range c.fullmakter {
		out.fullmakt(f)
	}
	if err := out.flush(); err != nil {
		return fmt.Errorf("demo: write cast: %w", err)
	}
	return nil
}
