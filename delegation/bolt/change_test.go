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
