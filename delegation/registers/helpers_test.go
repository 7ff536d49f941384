package registers_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
	"github.com/fullmakt/fullmakt/delegation/registers"
)

// now is the test's clock: a summer morning in Oslo.
var now = time.Date(2025, time.June, 15, 8, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// openStore opens a bbolt store in a temporary directory.
func openStore(tb testing.TB) *bolt.Store {
	tb.Helper()
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "fullmakt.db"), bolt.Options{Now: clock})
	if err != nil {
		tb.Fatalf("bolt.Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// personID returns the nth valid Norwegian identity number for a person born on
// birth (YYYY-MM-DD).
func personID(tb testing.TB, birth string, nth int) delegation.PartyID {
	tb.Helper()
	d, err := delegation.ParseDate(birth)
	if err != nil {
		tb.Fatal(err)
	}
	first := 0
	if d.Year >= 2000 {
		first = 500 // individual numbers 500–999 are for those born 2000–2039
	}
	for ind := first; ind < first+500; ind++ {
		if id, ok := delegation.NorwegianPersonID(d, ind, false, false); ok {
			if nth == 0 {
				return id
			}
			nth--
		}
	}
	tb.Fatalf("no identity number left for %s", birth)
	return ""
}

func orgID(tb testing.TB, base int) delegation.PartyID {
	tb.Helper()
	for ; ; base++ {
		if id, ok := delegation.OrganizationNumber(base); ok {
			return id
		}
	}
}

// cast are the parties of the test feed.
type cast struct {
	A, B, C, D, E delegation.PartyID // Kari (parent), Ola (her son), Per (guardian), Eli (ward), Siri (not in the feed)
	O, O2         delegation.PartyID // Nordmann AS, and an organisation not in the feed
}

func newCast(tb testing.TB) cast {
	return cast{
		A: personID(tb, "1980-03-14", 0), B: personID(tb, "2015-09-01", 0), C: personID(tb, "1970-01-20", 0),
		D: personID(tb, "1950-05-05", 0), E: personID(tb, "1990-07-07", 0),
		O: orgID(tb, 91000000), O2: orgID(tb, 92000000),
	}
}

// expand replaces {A}, {B}, … in s with the cast's identifiers.
func (c cast) expand(s string) string {
	return strings.NewReplacer(
		"{A}", string(c.A), "{B}", string(c.B), "{C}", string(c.C), "{D}", string(c.D), "{E}", string(c.E),
		"{O}", string(c.O), "{O2}", string(c.O2),
	).Replace(s)
}

func (c cast) ids() []delegation.PartyID {
	return []delegation.PartyID{c.A, c.B, c.C, c.D, c.E, c.O, c.O2}
}

// baseLines is a clean feed with every record type (and a blank line 5).
var baseLines = []string{
	`{"type":"person","id":"{A}","name":"Kari Nordmann","birth_date":"1980-03-14"}`,
	`{"type":"person","id":"{B}","name":"Ola Nordmann","birth_date":"2015-09-01"}`,
	`{"type":"person","id":"{C}","name":"Per Verge","birth_date":"1970-01-20"}`,
	`{"type":"person","id":"{D}","name":"Eli Hansen","birth_date":"1950-05-05","confidential_address":true}`,
	``,
	`{"type":"organization","id":"{O}","name":"Nordmann AS"}`,
	`{"type":"parental_responsibility","parent":"{A}","child":"{B}","kind":"joint"}`,
	`{"type":"guardianship","guardian":"{C}","ward":"{D}","scope":["economic"],"valid_from":"2020-01-01"}`,
	`{"type":"role","person":"{A}","organization":"{O}","role":"ceo"}`,
	`{"type":"fullmakt","id":"legacy-1","grantor":"{D}","proxy":"{A}","scope":["health","lanekassen.studiestotte"],"actions":["read"],"valid_from":"2024-01-01","valid_to":"2026-12-31"}`,
}

const baseRecords = 9 // baseLines without the blank one

// feed joins lines into a file with the given line ending, expanding the cast.
func (c cast) feed(lines []string, eol string) string {
	return c.expand(strings.Join(lines, eol) + eol)
}

// importFeed imports input with opts (Name "test.jsonl" and the test clock unless
// set) and returns the summary, the bad lines reported and the error.
func importFeed(tb testing.TB, s registers.Updater, input string, opts registers.Options) (registers.Summary, []string, error) {
	tb.Helper()
	if opts.Name == "" {
		opts.Name = "test.jsonl"
	}
	if opts.Now == nil {
		opts.Now = clock
	}
	var bad []string
	opts.OnError = func(e registers.LineError) { bad = append(bad, e.Error()) }
	sum, err := registers.Import(context.Background(), s, strings.NewReader(input), opts)
	return sum, bad, err
}

// state is everything the store holds about the cast, and the change sequence.
type state struct {
	Persons       []delegation.Person
	Organizations []delegation.Organization
	Represented   map[delegation.PartyID][]delegation.PartyRelations
	Changes       []delegation.Change
}

func dump(tb testing.TB, s *bolt.Store, ids []delegation.PartyID) state {
	tb.Helper()
	ctx := context.Background()
	st := state{Represented: map[delegation.PartyID][]delegation.PartyRelations{}}
	for _, id := range ids {
		if p, err := s.Person(ctx, id); err == nil {
			st.Persons = append(st.Persons, p)
		} else if !errors.Is(err, delegation.ErrNotFound) {
			tb.Fatalf("Person: %v", err)
		}
		if o, err := s.Organization(ctx, id); err == nil {
			st.Organizations = append(st.Organizations, o)
		} else if !errors.Is(err, delegation.ErrNotFound) {
			tb.Fatalf("Organization: %v", err)
		}
		rels, err := s.Represented(ctx, id)
		if err != nil {
			tb.Fatalf("Represented: %v", err)
		}
		if len(rels) > 0 {
			st.Represented[id] = rels
		}
	}
	changes, err := s.Changes(ctx, 0, 1<<20)
	if err != nil {
		tb.Fatalf("Changes: %v", err)
	}
	st.Changes = changes
	return st
}

func lastChange(tb testing.TB, s *bolt.Store) uint64 {
	tb.Helper()
	seq, err := s.LastChange(context.Background())
	if err != nil {
		tb.Fatalf("LastChange: %v", err)
	}
	return seq
}

// insert returns lines with line inserted so that it becomes line number at.
func insert(lines []string, at int, line string) []string {
	out := append([]string(nil), lines[:at-1]...)
	out = append(out, line)
	return append(out, lines[at-1:]...)
}

// migratedID is the id import gives a migrated fullmakt with a legacy id.
func migratedID(legacy string) string { return delegation.StableID("fm", "migration", legacy) }
