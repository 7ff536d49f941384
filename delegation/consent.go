package delegation

import (
	"fmt"
	"strings"
	"time"
)

// ConsentStatus is the state of a consent.
type ConsentStatus string

const (
	ConsentActive    ConsentStatus = "active"
	ConsentWithdrawn ConsentStatus = "withdrawn"
	ConsentUsed      ConsentStatus = "used" // a one-time consent after its one use
)

// Consent records that Party allowed Recipient to obtain DataSet about them from
// Provider, for Purpose, until ValidTo (inclusive).
type Consent struct {
	ID        string        `json:"id"`
	Party     PartyID       `json:"party"`
	Recipient PartyID       `json:"recipient"`
	Provider  PartyID       `json:"provider"`
	DataSet   string        `json:"data_set"`
	Purpose   string        `json:"purpose"`
	ValidTo   Date          `json:"valid_to"`
	OneTime   bool          `json:"one_time,omitempty"`
	Status    ConsentStatus `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
	EndedAt   time.Time     `json:"ended_at,omitzero"`
}

// InForceOn reports whether the consent can still be used on today.
func (c Consent) InForceOn(today Date) bool {
	return c.Status == ConsentActive && !today.After(c.ValidTo)
}

// Validate checks a consent on its own.
func (c Consent) Validate() error {
	switch {
	case c.ID == "":
		return fmt.Errorf("%w: consent has no id", ErrInvalid)
	case c.Party.Kind() != KindPerson:
		return fmt.Errorf("%w: the consenting party must be a person", ErrInvalid)
	case c.Recipient == "" || c.Provider == "":
		return fmt.Errorf("%w: consent names no recipient or provider", ErrInvalid)
	case c.Recipient == c.Party || c.Provider == c.Party:
		return fmt.Errorf("%w: a person is not the recipient or provider of their own consent", ErrInvalid)
	case !isToken(strings.ReplaceAll(c.DataSet, ".", "_")):
		return fmt.Errorf("%w: data set %q is not a lowercase name", ErrInvalid, c.DataSet)
	case strings.TrimSpace(c.Purpose) == "":
		return fmt.Errorf("%w: consent has no purpose", ErrInvalid)
	case c.ValidTo.IsZero():
		return fmt.Errorf("%w: a consent always has an end date", ErrInvalid)
	}
	return nil
}

// NewConsent checks and returns a consent given now.
func NewConsent(party Person, recipient, provider PartyID, dataSet, purpose string, validTo Date, oneTime bool, now time.Time) (Consent, error) {
	today := Today(now)
	if party.DeceasedOn(today) {
		return Consent{}, fmt.Errorf("%w: a deceased person gives no consent", ErrForbidden)
	}
	if validTo.IsZero() {
		return Consent{}, fmt.Errorf("%w: a consent always has an end date", ErrInvalid)
	}
	if validTo.Before(today) {
		return Consent{}, fmt.Errorf("%w: valid_to %s has already passed", ErrInvalid, validTo)
	}
	c := Consent{
		ID: NewID("cs"), Party: party.ID, Recipient: recipient, Provider: provider, DataSet: dataSet,
		Purpose: strings.TrimSpace(purpose), ValidTo: validTo, OneTime: oneTime, Status: ConsentActive, CreatedAt: now.UTC(),
	}
	if err := c.Validate(); err != nil {
		return Consent{}, err
	}
	return c, nil
}
