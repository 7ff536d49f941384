package delegation

import (
	"fmt"
	"slices"
)

// RelationKind names why an actor may act for a party.
type RelationKind string

const (
	RelSelf     RelationKind = "self"
	RelParent   RelationKind = "parent"
	RelGuardian RelationKind = "guardian"
	RelFullmakt RelationKind = "fullmakt"
	RelRole     RelationKind = "role"
	RelConsent  RelationKind = "consent"
)

// CustodyKind is how parental responsibility is held.
type CustodyKind string

const (
	CustodyJoint CustodyKind = "joint"
	CustodySole  CustodyKind = "sole"
)

// ParentalResponsibility is parental responsibility (foreldreansvar) as registered in
// the population register. It gives no right by itself once the child is an adult:
// that rule, like every "may act" rule, is the policy's.
type ParentalResponsibility struct {
	Parent PartyID     `json:"parent"`
	Child  PartyID     `json:"child"`
	Kind   CustodyKind `json:"kind"`
	// ValidFrom is the first day it applies; zero means since the child's birth.
	ValidFrom Date `json:"valid_from,omitzero"`
	// CeasedAt is the day it stopped applying (a court decision, a change of
	// custody); zero while it applies.
	CeasedAt Date `json:"ceased_at,omitzero"`
}

// ActiveOn reports whether the register says the responsibility applies on today.
func (r ParentalResponsibility) ActiveOn(today Date) bool {
	return (r.ValidFrom.IsZero() || !today.Before(r.ValidFrom)) &&
		(r.CeasedAt.IsZero() || today.Before(r.CeasedAt))
}

// Period returns the days the responsibility applies, both ends inclusive.
func (r ParentalResponsibility) Period() Period {
	p := Period{From: r.ValidFrom}
	if !r.CeasedAt.IsZero() {
		p.To = r.CeasedAt.AddDays(-1)
	}
	return p
}

// Validate checks the record on its own.
func (r ParentalResponsibility) Validate() error {
	switch {
	case r.Parent.Kind() != KindPerson || r.Child.Kind() != KindPerson:
		return fmt.Errorf("%w: parent and child must be persons", ErrInvalid)
	case r.Parent == r.Child:
		return fmt.Errorf("%w: a person cannot be their own parent", ErrInvalid)
	case r.Kind != CustodyJoint && r.Kind != CustodySole:
		return fmt.Errorf("%w: kind %q is not joint or sole", ErrInvalid, r.Kind)
	case !r.ValidFrom.IsZero() && !r.CeasedAt.IsZero() && !r.ValidFrom.Before(r.CeasedAt):
		return fmt.Errorf("%w: ceased_at %s is not after valid_from %s", ErrInvalid, r.CeasedAt, r.ValidFrom)
	}
	return nil
}

// Guardianship is a guardianship (vergemål) from the guardianship register: the
// guardian acts for the ward only within Scope and Period.
type Guardianship struct {
	Guardian PartyID `json:"guardian"`
	Ward     PartyID `json:"ward"`
	// Scope lists the matters covered, such as "economic" and "personal".
	Scope  []string `json:"scope"`
	Period Period   `json:"period,omitzero"`
}

// ActiveOn reports whether the guardianship applies on today.
func (g Guardianship) ActiveOn(today Date) bool { return g.Period.Contains(today) }

// Validate checks the record on its own.
func (g Guardianship) Validate() error {
	switch {
	case g.Guardian.Kind() != KindPerson || g.Ward.Kind() != KindPerson:
		return fmt.Errorf("%w: guardian and ward must be persons", ErrInvalid)
	case g.Guardian == g.Ward:
		return fmt.Errorf("%w: a person cannot be their own guardian", ErrInvalid)
	case len(g.Scope) == 0:
		return fmt.Errorf("%w: guardianship has an empty scope", ErrInvalid)
	}
	for _, s := range g.Scope {
		if !isToken(s) {
			return fmt.Errorf("%w: guardianship scope %q is not a lowercase word", ErrInvalid, s)
		}
	}
	return g.Period.Validate()
}

// Role is a person's role in an organisation, from the business register (e.g. "ceo",
// "chair", "board_member", "signatory").
type Role struct {
	Person       PartyID `json:"person"`
	Organization PartyID `json:"organization"`
	Role         string  `json:"role"`
}

// Validate checks the record on its own.
func (r Role) Validate() error {
	switch {
	case r.Person.Kind() != KindPerson:
		return fmt.Errorf("%w: role holder must be a person", ErrInvalid)
	case r.Organization.Kind() != KindOrganization:
		return fmt.Errorf("%w: role organization must be an organisation number", ErrInvalid)
	case !isToken(r.Role):
		return fmt.Errorf("%w: role %q is not a lowercase word", ErrInvalid, r.Role)
	}
	return nil
}

// Relations are the records that may let one actor act for one party. Stores return
// them whatever their period or status: which of them apply today is decided by the
// caller, with its own clock.
type Relations struct {
	Parental      []ParentalResponsibility `json:"parental,omitempty"`
	Guardianships []Guardianship           `json:"guardianships,omitempty"`
	Roles         []Role                   `json:"roles,omitempty"`
	Fullmakter    []Fullmakt               `json:"fullmakter,omitempty"`
	Consents      []Consent                `json:"consents,omitempty"`
}

// Empty reports whether there is no relation at all.
func (r Relations) Empty() bool {
	return len(r.Parental)+len(r.Guardianships)+len(r.Roles)+len(r.Fullmakter)+len(r.Consents) == 0
}

// Kinds lists the kinds of relation present, in a fixed order.
func (r Relations) Kinds() []RelationKind {
	var kinds []RelationKind
	for _, k := range []struct {
		n    int
		kind RelationKind
	}{
		{len(r.Parental), RelParent}, {len(r.Guardianships), RelGuardian}, {len(r.Roles), RelRole},
		{len(r.Fullmakter), RelFullmakt}, {len(r.Consents), RelConsent},
	} {
		if k.n > 0 {
			kinds = append(kinds, k.kind)
		}
	}
	return kinds
}

// PartyRelations are the relations one actor has to one party.
type PartyRelations struct {
	Party     PartyID   `json:"party"`
	Relations Relations `json:"relations"`
}

// isToken reports whether s is a lowercase word of letters, digits and underscores,
// starting with a letter: the shape of scope, role and area names.
func isToken(s string) bool {
	if s == "" || len(s) > 64 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return !slices.ContainsFunc([]byte(s), func(c byte) bool {
		return !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_')
	})
}
