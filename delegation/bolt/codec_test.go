package bolt

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fullmakt/fullmakt/delegation"
)

func TestChangeEncodingRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   delegation.Change
	}{
		{"person", delegation.Change{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{"03838000079"}, Ref: "03838000079", At: time.Date(2026, 11, 23, 10, 0, 0, 123, time.UTC)}},
		{"zero time", delegation.Change{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{"x"}, At: time.Time{}}},
		{"no parties, no ref", delegation.Change{Kind: delegation.ChangeConsentUsed, Parties: []delegation.PartyID{}, At: time.Unix(0, 0).UTC()}},
		{"three parties, long ref", delegation.Change{Kind: delegation.ChangeFullmaktRevoked, Parties: []delegation.PartyID{"a", "b", "910000004"}, Ref: string(make([]byte, 300)), At: time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeChange(encodeChange(tt.in))
			if err != nil {
				t.Fatalf("decodeChange(encodeChange(%v)) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeChangeRejectsTruncated(t *testing.T) {
	b := encodeChange(delegation.Change{Kind: delegation.ChangePerson, Parties: []delegation.PartyID{"03838000079"}, Ref: "x", At: time.Now()})
	for n := range len(b) {
		if _, err := decodeChange(b[:n]); err == nil {
			t.Errorf("decodeChange(first %d of %d bytes) = nil error, want an error", n, len(b))
		}
	}
}

func FuzzDecodeChange(f *testing.F) {
	f.Add(encodeChange(delegation.Change{Kind: delegation.ChangeRole, Parties: []delegation.PartyID{"x", "y"}, Ref: "x/y/ceo", At: time.Now()}))
	f.Add([]byte{1, 0, 0, 255, 255, 255, 255, 15})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeChange(b)
		if err != nil {
			return
		}
		if _, err := decodeChange(encodeChange(c)); err != nil {
			t.Fatalf("re-decoding an accepted change failed: %v", err)
		}
	})
}

func TestRecordCodecsRoundTrip(t *testing.T) {
	const a, b = delegation.PartyID("03838000079"), delegation.PartyID("26912584126")
	date := func(y int, m time.Month, d int) delegation.Date { return delegation.NewDate(y, m, d) }
	persons := []delegation.Person{
		{ID: a, Name: "Kari Nordmann", BirthDate: date(1980, 3, 3)},
		{ID: a, Name: "Åse Ødegård-Ærø", BirthDate: date(1901, 12, 31), DeathDate: date(1999, 1, 1), ConfidentialAddress: true},
	}
	for _, p := range persons {
		got, err := decodePerson(p.ID, encodePerson(p))
		if err != nil || got != p {
			t.Errorf("decodePerson(encodePerson(%+v)) = %+v, %v", p, got, err)
		}
	}
	parental := []delegation.ParentalResponsibility{
		{Parent: a, Child: b, Kind: delegation.CustodyJoint},
		{Parent: a, Child: b, Kind: delegation.CustodySole, ValidFrom: date(2020, 1, 1), CeasedAt: date(2024, 2, 29)},
	}
	for _, r := range parental {
		got, err := decodeParental(r.Parent, r.Child, encodeParental(r))
		if err != nil || got != r {
			t.Errorf("decodeParental(encodeParental(%+v)) = %+v, %v", r, got, err)
		}
	}
	for _, g := range []delegation.Guardianship{
		{Guardian: a, Ward: b, Scope: []string{"economic"}},
		{Guardian: a, Ward: b, Scope: []string{"economic", "personal"}, Period: delegation.Period{From: date(2020, 1, 1), To: date(2030, 1, 1)}},
	} {
		got, err := decodeGuardianship(g.Guardian, g.Ward, encodeGuardianship(g))
		if diff := cmp.Diff(g, got); err != nil || diff != "" {
			t.Errorf("decodeGuardianship(encodeGuardianship(%+v)): %v (-want +got):\n%s", g, err, diff)
		}
	}
	role := delegation.Role{Person: a, Organization: "910000004", Role: "ceo"}
	if got, err := decodeRole(role.Person, role.Organization, role.Role, encodeRole(role)); err != nil || got != role {
		t.Errorf("decodeRole(encodeRole(%+v)) = %+v, %v", role, got, err)
	}
}

func FuzzDecodePerson(f *testing.F) {
	f.Add(encodePerson(delegation.Person{Name: "Kari", BirthDate: delegation.NewDate(1980, 1, 2)}))
	f.Add([]byte{1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePerson("x", b)
		if err != nil {
			return
		}
		if q, err := decodePerson("x", encodePerson(p)); err != nil || q != p {
			t.Fatalf("re-decoding %+v gave %+v, %v", p, q, err)
		}
	})
}

func FuzzDecodeGuardianship(f *testing.F) {
	f.Add(encodeGuardianship(delegation.Guardianship{Scope: []string{"economic", "personal"}}))
	f.Add([]byte{1, 255, 255, 255, 255, 15})
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := decodeGuardianship("x", "y", b)
		if err != nil {
			return
		}
		if _, err := decodeGuardianship("x", "y", encodeGuardianship(g)); err != nil {
			t.Fatalf("re-decoding %+v: %v", g, err)
		}
	})
}
