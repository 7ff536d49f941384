package delegation

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Record is one record of a register feed: a Person, an Organization, a
// ParentalResponsibility, a Guardianship, a Role, or a Fullmakt being migrated from
// an older system.
type Record interface {
	RecordType() string
}

func (Person) RecordType() string                 { return "person" }
func (Organization) RecordType() string           { return "organization" }
func (ParentalResponsibility) RecordType() string { return "parental_responsibility" }
func (Guardianship) RecordType() string           { return "guardianship" }
func (Role) RecordType() string                   { return "role" }
func (Fullmakt) RecordType() string               { return "fullmakt" }

// MigratedFullmakt returns a fullmakt carried over from an older system. Its id is
// derived from sourceID when the old system had one, and otherwise from its content,
// so that importing the same record twice yields the same fullmakt.
func MigratedFullmakt(grantor, proxy PartyID, scope Scope, period Period, maySubdelegate bool, sourceID string) Fullmakt {
	scope = scope.normalized()
	id := StableID("fm", "migration", sourceID)
	if sourceID == "" {
		id = StableID("fm", "migration", string(grantor), string(proxy), strings.Join(scope.Areas, ","),
			strings.Join(scope.Services, ","), strings.Join(scope.Actions, ","), period.From.String(), period.To.String())
	}
	f := Fullmakt{
		ID: id, Grantor: grantor, Proxy: proxy, Scope: scope, Period: period, MaySubdelegate: maySubdelegate,
		Status: StatusActive, Origin: OriginMigration,
	}
	if !period.From.IsZero() {
		f.CreatedAt = period.From.Start().UTC()
	}
	return f
}

// ApplyRecord validates rec against the rules of the registers and what tx already
// holds, and writes it unless the same record is already stored. It reports whether
// anything changed. Register records are keyed by their natural key (see
// RegisterTx): a record with the key of a stored one replaces it, as a register
// correction does, while a second relation between the same two persons whose period
// overlaps a stored one is refused.
func ApplyRecord(tx RegisterTx, rec Record, today Date) (changed bool, err error) {
	switch r := rec.(type) {
	case Person:
		return applyPerson(tx, r, today)
	case Organization:
		return applyOrganization(tx, r)
	case ParentalResponsibility:
		return applyParental(tx, r)
	case Guardianship:
		return applyGuardianship(tx, r)
	case Role:
		return applyRole(tx, r)
	case Fullmakt:
		return applyMigratedFullmakt(tx, r)
	}
	return false, fmt.Errorf("%w: unknown record %T", ErrInvalid, rec)
}

func applyPerson(tx RegisterTx, p Person, today Date) (bool, error) {
	if err := p.Validate(today); err != nil {
		return false, err
	}
	if born, ok := p.ID.BirthDate(); ok && born != p.BirthDate {
		return false, fmt.Errorf("%w: birth_date %s does not match the identity number", ErrInvalid, p.BirthDate)
	}
	old, err := tx.Person(p.ID)
	if err == nil && old == p {
		return false, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, tx.PutPerson(p)
}

func applyOrganization(tx RegisterTx, o Organization) (bool, error) {
	if err := o.Validate(); err != nil {
		return false, err
	}
	old, err := tx.Organization(o.ID)
	if err == nil && old == o {
		return false, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return false, err
	}
	return true, tx.PutOrganization(o)
}

func applyParental(tx RegisterTx, r ParentalResponsibility) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	parent, err := knownPerson(tx, r.Parent, "parent")
	if err != nil {
		return false, err
	}
	child, err := knownPerson(tx, r.Child, "child")
	if err != nil {
		return false, err
	}
	if child.BirthDate.Before(parent.BirthDate) {
		return false, fmt.Errorf("%w: the child (born %s) is older than the parent (born %s)", ErrInvalid, child.BirthDate, parent.BirthDate)
	}
	rels, err := tx.Relations(r.Parent, r.Child)
	if err != nil {
		return false, err
	}
	for _, old := range rels.Parental {
		if old.ValidFrom == r.ValidFrom {
			if old == r {
				return false, nil
			}
			continue // the same registration, corrected: replace it
		}
		if old.Period().Overlaps(r.Period()) {
			return false, fmt.Errorf("%w: overlaps the parental responsibility registered from %s", ErrConflict, orSince(old.ValidFrom))
		}
	}
	return true, tx.PutParental(r)
}

func applyGuardianship(tx RegisterTx, g Guardianship) (bool, error) {
	g.Scope = slices.Compact(slices.Sorted(slices.Values(g.Scope)))
	if err := g.Validate(); err != nil {
		return false, err
	}
	if _, err := knownPerson(tx, g.Guardian, "guardian"); err != nil {
		return false, err
	}
	if _, err := knownPerson(tx, g.Ward, "ward"); err != nil {
		return false, err
	}
	rels, err := tx.Relations(g.Guardian, g.Ward)
	if err != nil {
		return false, err
	}
	for _, old := range rels.Guardianships {
		if old.Period.From == g.Period.From {
			if old.Period == g.Period && slices.Equal(old.Scope, g.Scope) {
				return false, nil
			}
			continue
		}
		if old.Period.Overlaps(g.Period) {
			return false, fmt.Errorf("%w: overlaps the guardianship registered from %s", ErrConflict, orSince(old.Period.From))
		}
	}
	return true, tx.PutGuardianship(g)
}

func applyRole(tx RegisterTx, r Role) (bool, error) {
	if err := r.Validate(); err != nil {
		return false, err
	}
	if _, err := knownPerson(tx, r.Person, "person"); err != nil {
		return false, err
	}
	if _, err := tx.Organization(r.Organization); errors.Is(err, ErrNotFound) {
		return false, fmt.Errorf("%w: unknown organization %s (import it before its roles)", ErrNotFound, r.Organization)
	} else if err != nil {
		return false, err
	}
	rels, err := tx.Relations(r.Person, r.Organization)
	if err != nil {
		return false, err
	}
	if slices.Contains(rels.Roles, r) {
		return false, nil
	}
	return true, tx.PutRole(r)
}

func applyMigratedFullmakt(tx RegisterTx, f Fullmakt) (bool, error) {
	if err := f.Validate(); err != nil {
		return false, err
	}
	if f.Origin != OriginMigration || f.Status != StatusActive {
		return false, fmt.Errorf("%w: only active migrated fullmakter are imported", ErrInvalid)
	}
	if _, err := knownPerson(tx, f.Grantor, "grantor"); err != nil {
		return false, err
	}
	if _, err := knownPerson(tx, f.Proxy, "proxy"); err != nil {
		return false, err
	}
	old, err := tx.Fullmakt(f.ID)
	switch {
	case err == nil && old.Origin != OriginMigration:
		return false, fmt.Errorf("%w: fullmakt %s was not migrated and is not changed by import", ErrConflict, f.ID)
	case err == nil && old.Status != StatusActive:
		return false, fmt.Errorf("%w: fullmakt %s was %s here and is not changed by import", ErrConflict, f.ID, old.Status)
	case err == nil && sameGrant(old, f):
		return false, nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return false, err
	}
	rels, err := tx.Relations(f.Proxy, f.Grantor)
	if err != nil {
		return false, err
	}
	for _, other := range rels.Fullmakter {
		if other.ID != f.ID && other.Status == StatusActive && sameScope(other.Scope, f.Scope) && other.Period.Overlaps(f.Period) {
			return false, fmt.Errorf("%w: duplicates fullmakt %s for the same scope and an overlapping period", ErrConflict, other.ID)
		}
	}
	return true, tx.PutFullmakt(f)
}

func knownPerson(tx RegisterTx, id PartyID, role string) (Person, error) {
	p, err := tx.Person(id)
	if errors.Is(err, ErrNotFound) {
		return Person{}, fmt.Errorf("%w: unknown %s (import persons before their relations)", ErrNotFound, role)
	}
	return p, err
}

func sameScope(a, b Scope) bool {
	return slices.Equal(a.Areas, b.Areas) && slices.Equal(a.Services, b.Services) && slices.Equal(a.Actions, b.Actions)
}

func sameGrant(a, b Fullmakt) bool {
	return a.Grantor == b.Grantor && a.Proxy == b.Proxy && sameScope(a.Scope, b.Scope) &&
		a.Period == b.Period && a.MaySubdelegate == b.MaySubdelegate && a.Status == b.Status
}

func orSince(d Date) string {
	if d.IsZero() {
		return "the start"
	}
	return d.String()
}
