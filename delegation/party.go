package delegation

import (
	"fmt"
	"strings"
)

// AgeOfMajority is the age at which a person becomes an adult (Norway, 18).
const AgeOfMajority = 18

// Person is a person as the population register knows them.
type Person struct {
	ID        PartyID `json:"id"`
	Name      string  `json:"name"`
	BirthDate Date    `json:"birth_date"`
	DeathDate Date    `json:"death_date,omitzero"`
	// ConfidentialAddress marks a person with a protected address: by default nobody
	// represents them through register relations or fullmakt, and services are never
	// told why.
	ConfidentialAddress bool `json:"confidential_address,omitempty"`
}

// AgeOn returns the person's age in whole years on today's Oslo calendar date.
func (p Person) AgeOn(today Date) int { return AgeOn(p.BirthDate, today) }

// MinorOn reports whether the person is under the age of majority on today.
func (p Person) MinorOn(today Date) bool { return p.AgeOn(today) < AgeOfMajority }

// DeceasedOn reports whether the person has died on or before today.
func (p Person) DeceasedOn(today Date) bool {
	return !p.DeathDate.IsZero() && !today.Before(p.DeathDate)
}

// Validate checks the record on its own: the identifier is a person's, the name is
// present, the dates are in order and not in the future.
func (p Person) Validate(today Date) error {
	switch {
	case p.ID == "":
		return fmt.Errorf("%w: person has no id", ErrInvalid)
	case p.ID.Kind() != KindPerson:
		return fmt.Errorf("%w: person id is an organisation number", ErrInvalid)
	case strings.TrimSpace(p.Name) == "":
		return fmt.Errorf("%w: person has no name", ErrInvalid)
	case p.BirthDate.IsZero():
		return fmt.Errorf("%w: person has no birth_date", ErrInvalid)
	case p.BirthDate.After(today):
		return fmt.Errorf("%w: birth_date %s is in the future", ErrInvalid, p.BirthDate)
	case !p.DeathDate.IsZero() && p.DeathDate.Before(p.BirthDate):
		return fmt.Errorf("%w: death_date %s is before birth_date %s", ErrInvalid, p.DeathDate, p.BirthDate)
	case !p.DeathDate.IsZero() && p.DeathDate.After(today):
		return fmt.Errorf("%w: death_date %s is in the future", ErrInvalid, p.DeathDate)
	}
	return nil
}

// Organization is an organisation as the business register knows it.
type Organization struct {
	ID   PartyID `json:"id"`
	Name string  `json:"name"`
}

// Validate checks the record on its own.
func (o Organization) Validate() error {
	switch {
	case o.ID.Kind() != KindOrganization:
		return fmt.Errorf("%w: organization id is not an organisation number", ErrInvalid)
	case strings.TrimSpace(o.Name) == "":
		return fmt.Errorf("%w: organization has no name", ErrInvalid)
	}
	return nil
}
