package delegation

import "errors"

// The few sentinel errors of the domain. Adapters wrap them with context
// (fmt.Errorf("bolt: get fullmakt %s: %w", id, delegation.ErrNotFound)); callers match
// them with errors.Is.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the record is not in a state that allows the change (a fullmakt
	// already revoked, a request already answered, a consent already withdrawn).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the input breaks a rule of the domain (a bad identifier, a period
	// that ends before it starts, a scope wider than the delegator's own).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the actor may not make this change (revoking someone else's
	// fullmakt, answering a request addressed to another person).
	ErrForbidden = errors.New("forbidden")
)
