package demo_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers/demo"
)

// promisedAges are the ages the cast promises (for Olav Strand, at his death).
var promisedAges = map[string]int{
	"Kari Nordmann": 44, "Per Nordmann": 46, "Ola Nordmann": 17, "Emma Nordmann": 10,
	"Sara Nordmann": 18, "Maja Lie": 21, "Tor Lie": 53, "Astrid Hansen": 84, "Ingrid Hansen": 56, "Jon Berg": 52, "Lars Dahl": 79,
	"Sofie Lund": 38, "Erik Solberg": 61, "Mari Bakke": 42, "Nora Bakke": 16,
	"Hanne Moe": 35, "Leo Moe": 6, "Olav Strand": 88, "Terje Strand": 60,
}

// castPersons writes the cast for now and returns its persons by name.
func castPersons(t *testing.T, now time.Time) (map[string]delegation.Person, []line) {
	t.Helper()
	var buf bytes.Buffer
	if err := demo.WriteCast(&buf, now); err != nil {
		t.Fatalf("WriteCast(%v): %v", now, err)
	}
	lines := parseLines(t, buf.Bytes())
	byName := map[string]delegation.Person{}
	for _, l := range lines {
		if l.Type != "person" {
			continue
		}
		born, _ := delegation.ParseDate(l.BirthDate)
		died, _ := delegation.ParseDate(l.DeathDate)
		byName[l.Name] = delegation.Person{ID: delegation.PartyID(l.ID), Name: l.Name, BirthDate: born, DeathDate: died, ConfidentialAddress: l.ConfidentialAddress}
	}
	return byName, lines
}

// checkAges checks that every member of the cast made at now has the promised age on
// every day from now's date in Oslo to the end of the month after.
func checkAges(t *testing.T, now time.Time) {
	t.Helper()
	persons, _ := castPersons(t, now)
	today := delegation.Today(now)
	until := delegation.NewDate(today.Year, today.Month+2, 1)
	if today.Month >= 11 {
		until = delegation.NewDate(today.Year+1, today.Month-10, 1)
	}
	for name, want := range promisedAges {
		p, ok := persons[name]
		if !ok {
			t.Errorf("WriteCast(%v) has no %s", now, name)
			continue
		}
		if !p.DeathDate.IsZero() {
			if got := p.AgeOn(p.DeathDate); got != want || !p.DeathDate.Before(today) {
				t.Errorf("WriteCast(%v): %s died %s aged %d, want aged %d, before %s", now, name, p.DeathDate, got, want, today)
			}
			continue
		}
		for d := today; d.Before(until); d = d.AddDays(1) {
			if got := p.AgeOn(d); got != want {
				t.Errorf("WriteCast(%v): %s (born %s) is %d on %s, want %d", now, name, p.BirthDate, got, d, want)
				break
			}
		}
	}
}

func TestCastAgesAsPromised(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"23:30 UTC on the last day of January is 1 February in Oslo", time.Date(2026, 1, 31, 23, 30, 0, 0, time.UTC)},
		{"the first minute of March in Oslo", time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)},
		{"the last minute of February in Oslo", time.Date(2026, 2, 28, 22, 59, 0, 0, time.UTC)},
		{"summer time: 22:30 UTC on 30 June is July in Oslo", time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC)},
		{"new year in Oslo", time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)},
		{"leap day", time.Date(2028, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"the last day of a month", time.Date(2027, 8, 31, 12, 0, 0, 0, delegation.Oslo())},
	} {
		t.Run(tc.name, func(t *testing.T) { checkAges(t, tc.now) })
	}
	t.Run("every day 2025–2032", func(t *testing.T) {
		for day := delegation.NewDate(2025, 1, 1); day.Year < 2033; day = day.AddDays(1) {
			for _, now := range []time.Time{day.Start().Add(30 * time.Minute), day.Start().Add(23*time.Hour + 30*time.Minute)} {
				for _, c := range demo.Cast(now) {
					born, _ := c.ID.BirthDate()
					if want := promisedAges[c.Name]; c.Age != want {
						t.Fatalf("Cast(%v): %s has Age %d, want %d", now, c.Name, c.Age, want)
					}
					if c.Name != "Olav Strand" && delegation.AgeOn(born, delegation.Today(now)) != c.Age {
						t.Fatalf("Cast(%v): %s born %s is %d in Oslo today, not %d", now, c.Name, born, delegation.AgeOn(born, delegation.Today(now)), c.Age)
					}
				}
			}
		}
	})
}

func TestCastMatchesWriteCast(t *testing.T) {
	for _, now := range []time.Time{now, time.Date(2031, 7, 4, 9, 0, 0, 0, time.UTC)} {
		cast := demo.Cast(now)
		_, lines := castPersons(t, now)
		var written []line
		for _, l := range lines {
			if l.Type == "person" {
				written = append(written, l)
			}
		}
		if len(cast) != len(written) || len(cast) != len(promisedAges) {
			t.Fatalf("Cast(%v) has %d characters, WriteCast %d persons, want %d", now, len(cast), len(written), len(promisedAges))
		}
		for i, c := range cast {
			if string(c.ID) != written[i].ID || c.Name != written[i].Name {
				t.Errorf("Cast(%v)[%d] = %s %s, WriteCast wrote %s %s", now, i, c.ID, c.Name, written[i].ID, written[i].Name)
			}
			if c.Story == "" || strings.ContainsAny(c.Story, "\n{}") {
				t.Errorf("Cast(%v): %s has story %q, want one filled-in line", now, c.Name, c.Story)
			}
		}
	}
	if got := demo.Cast(time.Date(2047, 1, 1, 12, 0, 0, 0, time.UTC)); got != nil {
		t.Errorf("Cast(2047) = %d characters, want nil: Norwegian numbers run out for births from 2040", len(got))
	}
	if err := demo.WriteCast(&bytes.Buffer{}, time.Date(2047, 1, 1, 12, 0, 0, 0, time.UTC)); err == nil {
		t.Errorf("WriteCast(2047) error = nil, want one")
	}
}

func TestCastIsStableWithinAMonth(t *testing.T) {
	var first bytes.Buffer
	if err := demo.WriteCast(&first, time.Date(2026, 3, 1, 0, 0, 0, 0, delegation.Oslo())); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		same bool
	}{
		{"later the same day", time.Date(2026, 3, 1, 23, 59, 0, 0, delegation.Oslo()), true},
		{"the middle of the month", time.Date(2026, 3, 15, 12, 0, 0, 0, delegation.Oslo()), true},
		{"the last minute of the month", time.Date(2026, 3, 31, 23, 59, 0, 0, delegation.Oslo()), true},
		{"the next month", time.Date(2026, 4, 1, 0, 0, 0, 0, delegation.Oslo()), false},
		{"the month before, in UTC still the same day", time.Date(2026, 2, 28, 23, 30, 0, 0, delegation.Oslo()), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := demo.WriteCast(&buf, tc.now); err != nil {
				t.Fatal(err)
			}
			if same := bytes.Equal(buf.Bytes(), first.Bytes()); same != tc.same {
				t.Errorf("WriteCast(%v) equal to WriteCast(1 March 2026) = %v, want %v", tc.now, same, tc.same)
			}
		})
	}
	// A store that ran the demo for years holds many months' casts: no identity
	// number may name two people.
	names := map[delegation.PartyID]string{}
	for m := time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC); m.Year() < 2040; m = m.AddDate(0, 1, 0) {
		for _, c := range demo.Cast(m) {
			if old, ok := names[c.ID]; ok && old != c.Name {
				t.Fatalf("Cast(%v): %s has the identity number %s of %s in an earlier month's cast", m, c.Name, c.ID, old)
			}
			names[c.ID] = c.Name
		}
	}
}

func TestCastFollowsTheImportRules(t *testing.T) {
	for _, now := range []time.Time{now, time.Date(2039, 12, 31, 12, 0, 0, 0, time.UTC)} {
		var buf bytes.Buffer
		if err := demo.WriteCast(&buf, now); err != nil {
			t.Fatal(err)
		}
		checkPopulation(t, buf.Bytes(), delegation.Today(now))
	}
}

func TestCastHasItsStories(t *testing.T) {
	persons, lines := castPersons(t, now)
	id := func(name string) string { return persons[name].ID.String() }
	has := func(match func(l line) bool) bool { return slices.ContainsFunc(lines, match) }
	var org string
	for _, l := range lines {
		if l.Type == "organization" && l.Name == "Fjordtech Demo AS" {
			org = l.ID
		}
	}
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Kari: joint responsibility for Ola", has(func(l line) bool {
			return l.Type == "parental_responsibility" && l.Parent == id("Kari Nordmann") && l.Child == id("Ola Nordmann") && l.Kind == "joint" && l.CeasedAt == ""
		})},
		{"Per: joint responsibility for Ola", has(func(l line) bool {
			return l.Type == "parental_responsibility" && l.Parent == id("Per Nordmann") && l.Child == id("Ola Nordmann") && l.Kind == "joint" && l.CeasedAt == ""
		})},
		{"Kari: joint responsibility for Emma", has(func(l line) bool {
			return l.Type == "parental_responsibility" && l.Parent == id("Kari Nordmann") && l.Child == id("Emma Nordmann") && l.Kind == "joint" && l.CeasedAt == ""
		})},
		{"Per: joint responsibility for Emma", has(func(l line) bool {
			return l.Type == "parental_responsibility" && l.Parent == id("Per Nordmann") && l.Child == id("Emma Nordmann") && l.Kind == "joint" && l.CeasedAt == ""
		})},
		{"Kari: responsibility for Sara, ceased on her 18th birthday", has(func(l line) bool {
			born, _ := delegation.PartyID(id("Sara Nordmann")).BirthDate()
			return l.Type == "parental_responsibility" && l.Parent == id("Kari Nordmann") && l.Child == id("Sara Nordmann") && l.CeasedAt == born.AddYears(18).String()
		})},
		{"Maja: fullmakt to Tor for education", has(func(l line) bool {
			return l.Type == "fullmakt" && l.Grantor == id("Maja Lie") && l.Proxy == id("Tor Lie") &&
				slices.Equal(l.Scope, []string{"education"}) && l.ValidTo == ""
		})},
		{"Mari: responsibility for Nora", has(func(l line) bool {
			return l.Type == "parental_responsibility" && l.Parent == id("Mari Bakke") && l.Child == id("Nora Bakke") && l.CeasedAt == ""
		})},
		{"Astrid: fullmakt to Ingrid for health, tax and welfare", has(func(l line) bool {
			return l.Type == "fullmakt" && l.Grantor == id("Astrid Hansen") && l.Proxy == id("Ingrid Hansen") &&
				slices.Equal(l.Scope, []string{"health", "tax", "welfare"}) && l.Actions == nil && l.ValidTo == ""
		})},
		{"Jon: guardian of Lars in economic matters", has(func(l line) bool {
			return l.Type == "guardianship" && l.Guardian == id("Jon Berg") && l.Ward == id("Lars Dahl") &&
				slices.Equal(l.Scope, []string{"economic"}) && l.ValidTo == ""
		})},
		{"Sofie: CEO of Fjordtech Demo AS", org != "" && has(func(l line) bool {
			return l.Type == "role" && l.Person == id("Sofie Lund") && l.Organization == org && l.Role == "ceo"
		})},
		{"Fjordtech Demo AS has a chair", org != "" && has(func(l line) bool {
			return l.Type == "role" && l.Person != id("Sofie Lund") && l.Organization == org && l.Role == "chair"
		})},
		{"Hanne and Leo, and only they, have a confidential address", persons["Hanne Moe"].ConfidentialAddress && persons["Leo Moe"].ConfidentialAddress &&
			!has(func(l line) bool {
				return l.Type == "person" && l.ConfidentialAddress && l.Name != "Hanne Moe" && l.Name != "Leo Moe"
			})},
		{"Olav is deceased and Terje held his fullmakt", !persons["Olav Strand"].DeathDate.IsZero() && has(func(l line) bool {
			return l.Type == "fullmakt" && l.Grantor == id("Olav Strand") && l.Proxy == id("Terje Strand") && l.ValidFrom < persons["Olav Strand"].DeathDate.String()
		})},
		{"nobody else is deceased", !has(func(l line) bool { return l.Type == "person" && l.DeathDate != "" && l.Name != "Olav Strand" })},
	} {
		if !tc.ok {
			t.Errorf("WriteCast(%v): %s: not so", now, tc.name)
		}
	}
}
