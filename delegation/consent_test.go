package delegation_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestConsent(t *testing.T) {
	provider, recipient := delegation.PartyID("974760673"), delegation.PartyID("889640782")
	validTo := date(2025, 12, 31)
	t.Run("NewConsent", func(t *testing.T) {
		deceased := grantor
		deceased.DeathDate = today
		tests := []struct {
			name      string
			party     delegation.Person
			recipient delegation.PartyID
			provider  delegation.PartyID
			dataSet   string
			purpose   string
			validTo   delegation.Date
			wantErr   error
		}{
			{name: "valid", party: grantor, recipient: recipient, provider: provider, dataSet: "skatt.inntekt", purpose: " Søknad om lån ", validTo: validTo},
			{name: "valid to today", party: grantor, recipient: recipient, provider: provider, dataSet: "skatt", purpose: "lån", validTo: today},
			{name: "a person as recipient", party: grantor, recipient: idProxy, provider: provider, dataSet: "skatt", purpose: "lån", validTo: validTo},
			{name: "deceased", party: deceased, recipient: recipient, provider: provider, dataSet: "skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrForbidden},
			{name: "valid to yesterday", party: grantor, recipient: recipient, provider: provider, dataSet: "skatt", purpose: "lån", validTo: today.AddDays(-1), wantErr: delegation.ErrInvalid},
			{name: "no end date", party: grantor, recipient: recipient, provider: provider, dataSet: "skatt", purpose: "lån", wantErr: delegation.ErrInvalid},
			{name: "no recipient", party: grantor, provider: provider, dataSet: "skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "no provider", party: grantor, recipient: recipient, dataSet: "skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "to oneself", party: grantor, recipient: idGrantor, provider: provider, dataSet: "skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "from oneself", party: grantor, recipient: recipient, provider: idGrantor, dataSet: "skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "an organisation consents", party: delegation.Person{ID: idOrg, Name: "AS", BirthDate: date(1990, 1, 1)}, recipient: recipient, provider: provider,
				dataSet: "skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "no data set", party: grantor, recipient: recipient, provider: provider, purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "upper-case data set", party: grantor, recipient: recipient, provider: provider, dataSet: "Skatt", purpose: "lån", validTo: validTo, wantErr: delegation.ErrInvalid},
			{name: "blank purpose", party: grantor, recipient: recipient, provider: provider, dataSet: "skatt", purpose: "  ", validTo: validTo, wantErr: delegation.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := delegation.NewConsent(tt.party, tt.recipient, tt.provider, tt.dataSet, tt.purpose, tt.validTo, true, now)
				checkErr(t, "NewConsent", err, tt.wantErr)
				if tt.wantErr != nil {
					return
				}
				want := delegation.Consent{
					Party: tt.party.ID, Recipient: tt.recipient, Provider: tt.provider, DataSet: tt.dataSet,
					Purpose: strings.TrimSpace(tt.purpose), ValidTo: tt.validTo, OneTime: true,
					Status: delegation.ConsentActive, CreatedAt: now.UTC(),
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(delegation.Consent{}, "ID")); diff != "" {
					t.Errorf("NewConsent (-want +got):\n%s", diff)
				}
				if !regexp.MustCompile(`^cs_[a-z2-7]{26}$`).MatchString(got.ID) {
					t.Errorf("NewConsent: ID = %q", got.ID)
				}
			})
		}
	})
	t.Run("Validate", func(t *testing.T) {
		valid := delegation.Consent{ID: "cs_1", Party: idGrantor, Recipient: recipient, Provider: provider, DataSet: "skatt.inntekt",
			Purpose: "lån", ValidTo: validTo, Status: delegation.ConsentActive}
		with := func(f func(*delegation.Consent)) delegation.Consent { c := valid; f(&c); return c }
		tests := []struct {
			name    string
			c       delegation.Consent
			wantErr bool
		}{
			{"valid", valid, false},
			{"no id", with(func(c *delegation.Consent) { c.ID = "" }), true},
			{"no party", with(func(c *delegation.Consent) { c.Party = "" }), true},
			{"data set with digits and underscores", with(func(c *delegation.Consent) { c.DataSet = "skatt.inntekt_2024" }), false},
			{"data set with a hyphen", with(func(c *delegation.Consent) { c.DataSet = "skatt.inntekt-2024" }), true},
			{"recipient is the party", with(func(c *delegation.Consent) { c.Recipient = c.Party }), true},
			{"data set starting with a dot", with(func(c *delegation.Consent) { c.DataSet = ".skatt" }), true},
			{"no end date", with(func(c *delegation.Consent) { c.ValidTo = delegation.Date{} }), true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.c.Validate()
				if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, delegation.ErrInvalid)) {
					t.Errorf("%+v.Validate() = %v, want error: %v (ErrInvalid)", tt.c, err, tt.wantErr)
				}
			})
		}
	})
	t.Run("InForceOn", func(t *testing.T) {
		c := delegation.Consent{ID: "cs_1", Party: idGrantor, Recipient: recipient, Provider: provider, DataSet: "skatt", Purpose: "lån",
			ValidTo: validTo, Status: delegation.ConsentActive}
		with := func(s delegation.ConsentStatus) delegation.Consent { d := c; d.Status = s; return d }
		tests := []struct {
			name string
			c    delegation.Consent
			day  delegation.Date
			want bool
		}{
			{"active, today", c, today, true},
			{"active, the last day", c, validTo, true},
			{"active, the day after", c, validTo.AddDays(1), false},
			{"withdrawn", with(delegation.ConsentWithdrawn), today, false},
			{"used", with(delegation.ConsentUsed), today, false},
		}
		for _, tt := range tests {
			if got := tt.c.InForceOn(tt.day); got != tt.want {
				t.Errorf("%s: InForceOn(%v) = %v, want %v", tt.name, tt.day, got, tt.want)
			}
		}
	})
}
