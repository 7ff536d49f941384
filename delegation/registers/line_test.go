package registers_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/registers"
)

// TestParseLine checks that every field of every record type reaches the domain
// record.
func TestParseLine(t *testing.T) {
	c := newCast(t)
	date := func(s string) delegation.Date {
		d, err := delegation.ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	healthRead, err := delegation.ParseScope([]string{"health", "lanekassen.studiestotte"}, []string{"read"})
	if err != nil {
		t.Fatal(err)
	}
	tax, err := delegation.ParseScope([]string{"tax"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		line string
		want delegation.Record
	}{
		{"person", `{"type":"person","id":"{A}","name":"Kari Nordmann","birth_date":"1980-03-14"}`,
			delegation.Person{ID: c.A, Name: "Kari Nordmann", BirthDate: date("1980-03-14")}},
		{"person with every field", `{"type":"person","id":"no:{D}","name":"Eli Hansen","birth_date":"1950-05-05","death_date":"2025-01-02","confidential_address":true}`,
			delegation.Person{ID: c.D, Name: "Eli Hansen", BirthDate: date("1950-05-05"), DeathDate: date("2025-01-02"), ConfidentialAddress: true}},
		{"empty and null optional fields", `{"type":"person","id":" {A} ","name":"Kari","birth_date":"1980-03-14","death_date":"","confidential_address":null}`,
			delegation.Person{ID: c.A, Name: "Kari", BirthDate: date("1980-03-14")}},
		{"organization", `{"type":"organization","id":"{O}","name":"Nordmann AS"}`,
			delegation.Organization{ID: c.O, Name: "Nordmann AS"}},
		{"parental responsibility", `{"type":"parental_responsibility","parent":"{A}","child":"{B}","kind":"sole","valid_from":"2016-01-01","ceased_at":"2020-01-01"}`,
			delegation.ParentalResponsibility{Parent: c.A, Child: c.B, Kind: delegation.CustodySole, ValidFrom: date("2016-01-01"), CeasedAt: date("2020-01-01")}},
		{"guardianship", `{"type":"guardianship","guardian":"{C}","ward":"{D}","scope":["personal","economic"],"valid_from":"2020-01-01","valid_to":"2030-12-31"}`,
			delegation.Guardianship{Guardian: c.C, Ward: c.D, Scope: []string{"personal", "economic"}, Period: delegation.Period{From: date("2020-01-01"), To: date("2030-12-31")}}},
		{"role", `{"type":"role","person":"{A}","organization":"{O}","role":"ceo"}`,
			delegation.Role{Person: c.A, Organization: c.O, Role: "ceo"}},
		{"fullmakt with a legacy id", `{"type":"fullmakt","id":"legacy-1","grantor":"{D}","proxy":"{A}","scope":["lanekassen.studiestotte","health"],"actions":["read"],"valid_from":"2024-01-01","valid_to":"2026-12-31","may_subdelegate":true}`,
			delegation.MigratedFullmakt(c.D, c.A, healthRead, delegation.Period{From: date("2024-01-01"), To: date("2026-12-31")}, true, "legacy-1")},
		{"fullmakt without", `{"type":"fullmakt","grantor":"{D}","proxy":"{A}","scope":["tax"]}`,
			delegation.MigratedFullmakt(c.D, c.A, tax, delegation.Period{}, false, "")},
		{"fields in any order, spaces between", ` { "name" : "Nordmann AS" , "id" : "{O}" , "type" : "organization" } `,
			delegation.Organization{ID: c.O, Name: "Nordmann AS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := registers.ParseLine([]byte(c.expand(tt.line)), delegation.IDRules{})
			if err != nil {
				t.Fatalf("ParseLine() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLine() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseLineIDRules: synthetic test numbers are refused unless the rules allow
// them.
func TestParseLineIDRules(t *testing.T) {
	var synthetic delegation.PartyID
	for ind := 0; synthetic == ""; ind++ {
		synthetic, _ = delegation.NorwegianPersonID(delegation.NewDate(1990, 7, 7), ind, false, true)
	}
	line := []byte(`{"type":"person","id":"` + string(synthetic) + `","name":"Test","birth_date":"1990-07-07"}`)
	tests := []struct {
		name    string
		rules   delegation.IDRules
		wantErr string
	}{
		{"production rules", delegation.IDRules{}, "person: id: invalid identifier: synthetic test numbers are not accepted here"},
		{"test rules", delegation.IDRules{AllowSynthetic: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := registers.ParseLine(line, tt.rules)
			if got := errString(err); got != tt.wantErr {
				t.Errorf("ParseLine() error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestImportHidesNumbers: whatever field a person's identity number lands in, the
// message of the bad line does not show it, whether the line itself or the domain's
// rules refuse it (organisation numbers are public and may be shown).
func TestImportHidesNumbers(t *testing.T) {
	c := newCast(t)
	tests := []struct {
		name    string
		line    string
		wantErr string
	}{
		{"as an identifier scheme", `{"type":"role","person":"{A}:x","organization":"{O}","role":"ceo"}`,
			`role: person: invalid identifier: unknown identifier scheme (want no, se, dk, fi or eidas)`},
		{"as the record type", `{"type":"{A}"}`, `unknown record type "[number hidden]"`},
		{"as a field name", `{"type":"person","{A}":1}`, `unknown field "[number hidden]"`},
		{"as a date", `{"type":"person","id":"{A}","name":"Kari","birth_date":"{A}"}`,
			`person: birth_date: "[number hidden]" is not a date of the form YYYY-MM-DD`},
		{"as a custody kind", `{"type":"parental_responsibility","parent":"{A}","child":"{B}","kind":"{B}"}`,
			`parental_responsibility: invalid: kind "[number hidden]" is not joint or sole`},
		{"in a service", `{"type":"fullmakt","grantor":"{A}","proxy":"{C}","scope":["x.{B}"]}`,
			`fullmakt: invalid: service "x.[number hidden]" is not of the form owner.service`},
		{"Swedish, written with a dash", `{"type":"role","person":"{A}","organization":"{O}","role":"19900101-1234"}`,
			`role: invalid: role "[number hidden]-1234" is not a lowercase word`},
		{"Finnish", `{"type":"role","person":"{A}","organization":"{O}","role":"010190-123A"}`,
			`role: invalid: role "[number hidden]-123A" is not a lowercase word`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bad, err := importFeed(t, openStore(t), c.feed(append(baseLines, tt.line), "\n"), registers.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := "test.jsonl:11: " + tt.wantErr
			if len(bad) != 1 || bad[0] != want {
				t.Fatalf("bad lines = %q, want [%q]", bad, want)
			}
			for _, number := range []string{string(c.A), string(c.B), "19900101", "010190"} {
				if strings.Contains(bad[0], number) {
					t.Errorf("%q shows the number %s", bad[0], number)
				}
			}
		})
	}
}

// FuzzParseLine: no input panics; anything that is not one JSON object is an error;
// an accepted line gives a record of the type it names, with valid identifiers; and
// no error message shows a run of digits that could be a person's identity number.
func FuzzParseLine(f *testing.F) {
	c := newCast(f)
	for _, line := range baseLines {
		f.Add([]byte(c.expand(line)))
	}
	for _, line := range []string{
		`{"type":"person","id":`, `["person"]`, `null`, `{}`, `{"type":"persn"}`, `{"type":"organization","id":"{O}","name":"X"} {}`,
		`{"type":"fullmakt","grantor":"{A}","proxy":"{C}","scope":["Health"],"actions":[1]}`,
		`{"type":"guardianship","guardian":"{C}","ward":"{B}","scope":"economic"}`,
		`{"type":"person","id":"fi:010190-123A","name":"x","birth_date":"1990-01-01","Type":"role"}`,
		`{"tYpe":"guardianship","guArdiAn":"{C}","wArd":"{D}","sCope":["000000000"]}`,
		"{\"type\":\"person\",\"id\":\"eidas:SE/NO/\xff\",\"name\":\"\\u0000\",\"birth_date\":\"0000-00-00\"}",
	} {
		f.Add([]byte(c.expand(line)))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := registers.ParseLine(line, delegation.IDRules{AllowSynthetic: true})
		if err != nil {
			if rec != nil {
				t.Errorf("ParseLine(%q) = %v and error %v; want no record with an error", line, rec, err)
			}
			msg := err.Error()
			if msg == "" || len(msg) > 400 {
				t.Errorf("ParseLine(%q) error has %d bytes", line, len(msg))
			}
			if run := longestDigitRun(msg); run >= 6 && run != 9 {
				t.Errorf("ParseLine(%q) error %q shows a run of %d digits", line, msg, run)
			}
			return
		}
		var obj struct {
			Type string `json:"type"` // matched like ParseLine does: "TYPE" is "type"
		}
		if err := json.Unmarshal(line, &obj); err != nil {
			t.Fatalf("ParseLine(%q) accepted a line that is not a JSON object: %v", line, err)
		}
		if rec.RecordType() != obj.Type {
			t.Errorf("ParseLine(%q) = a %s record, want %q", line, rec.RecordType(), obj.Type)
		}
		for _, id := range partyIDs(rec) {
			if _, err := (delegation.IDRules{AllowSynthetic: true}).Parse(string(id)); err != nil {
				t.Errorf("ParseLine(%q) returned the identifier %q, which does not parse: %v", line, id, err)
			}
		}
	})
}

func partyIDs(rec delegation.Record) []delegation.PartyID {
	switch r := rec.(type) {
	case delegation.Person:
		return []delegation.PartyID{r.ID}
	case delegation.Organization:
		return []delegation.PartyID{r.ID}
	case delegation.ParentalResponsibility:
		return []delegation.PartyID{r.Parent, r.Child}
	case delegation.Guardianship:
		return []delegation.PartyID{r.Guardian, r.Ward}
	case delegation.Role:
		return []delegation.PartyID{r.Person, r.Organization}
	case delegation.Fullmakt:
		return []delegation.PartyID{r.Grantor, r.Proxy}
	}
	panic("unknown record type")
}

func longestDigitRun(s string) int {
	longest, run := 0, 0
	for i := range len(s) {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return longest
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
