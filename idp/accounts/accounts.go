// Package accounts is the storage port of what the login remembers of a person
// beyond one session: their passkeys, and the random user handle that names them
// to their authenticators. A backend keeps them (bbolt today, in delegation/bolt),
// and conformance/storetest holds every backend to this contract.
//
// Sessions, login flows and one-time ceremony data are short-lived records of the
// OAuth server's port (idp/grants); this port holds what lasts.
//
// It imports only the domain (delegation, authz); never go-webauthn: a passkey's
// library record is opaque bytes here.
package accounts

import (
	"context"
	"errors"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
)

// Errors of the port. Backends wrap them with context; callers match with errors.Is.
var (
	// ErrNotFound: no such passkey or user handle (or the passkey is another
	// person's).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a passkey with this credential id is already registered.
	ErrConflict = errors.New("conflict")
)

// MaxPasskeys is how many passkeys one person may register; AddPasskey refuses
// more with ErrConflict. Enough for every device a person has, and a bound on
// what one account can make the server store.
const MaxPasskeys = 20

// Passkey is one registered WebAuthn credential.
type Passkey struct {
	// ID is the credential id the authenticator chose (at most 1023 bytes).
	ID []byte
	// Person is whose passkey it is.
	Person delegation.PartyID
	// Name is what the person called it ("Phone", "Work laptop").
	Name string
	// Level is the level of assurance of the session it was registered in: a login
	// with it reaches this level and never more.
	Level authz.Level
	// Created is when it was registered; LastUsed when it last logged in (zero if
	// never).
	Created, LastUsed time.Time
	// SignCount is the authenticator's signature counter at the last use.
	SignCount uint32
	// CloneWarning is set once a use showed a counter that did not move forward:
	// the credential may have been copied.
	CloneWarning bool
	// BackupEligible is true for a synced passkey (the BE flag); BackupState is
	// whether it is backed up now (BS).
	BackupEligible, BackupState bool
	// Credential is the WebAuthn library's whole credential record (its JSON),
	// opaque to the store.
	Credential []byte
}

// Store keeps passkeys and user handles. Every method is safe for concurrent use.
type Store interface {
	// UserHandle returns the person's WebAuthn user handle, creating it with gen the
	// first time: random bytes that never change and say nothing about the person.
	UserHandle(ctx context.Context, person delegation.PartyID, gen func() ([]byte, error)) ([]byte, error)
	// PersonOfHandle returns whose user handle this is; ErrNotFound if nobody's.
	PersonOfHandle(ctx context.Context, handle []byte) (delegation.PartyID, error)
	// Passkeys returns the person's passkeys, oldest first; none is no error.
	Passkeys(ctx context.Context, person delegation.PartyID) ([]Passkey, error)
	// Passkey returns the passkey with credential id; ErrNotFound if there is none.
	Passkey(ctx context.Context, id []byte) (Passkey, error)
	// AddPasskey stores a new passkey. ErrConflict if its id is registered already
	// (to anyone), or the person has MaxPasskeys.
	AddPasskey(ctx context.Context, p Passkey) error
	// UpdatePasskey changes the person's passkey id in one transaction: fn gets the
	// stored record and edits it; the id and person cannot change. ErrNotFound if
	// the person has no such passkey; fn's error aborts and is returned.
	UpdatePasskey(ctx context.Context, person delegation.PartyID, id []byte, fn func(*Passkey) error) error
	// DeletePasskey deletes the person's passkey id. ErrNotFound if the person has
	// no such passkey.
	DeletePasskey(ctx context.Context, person delegation.PartyID, id []byte) error
}
