package webauthn

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/accounts"
)

// BeginRegistration starts registering a passkey for person, who is logged in;
// displayName is the name their authenticator shows the passkey under (their
// name). It asks for a discoverable credential with user verification, excludes
// the authenticators that hold one of the person's passkeys already, and asks for
// the credProps extension; no attestation.
//
// options is the JSON for navigator.credentials.create ({"publicKey": {…}});
// ceremony is the id FinishRegistration takes.
func (c *Ceremonies) BeginRegistration(ctx context.Context, person delegation.PartyID, displayName string) (options []byte, ceremony string, err error) {
	handle, err := c.accounts.UserHandle(ctx, person, newHandle)
	if err != nil {
		return nil, "", fmt.Errorf("webauthn: the user handle: %w", err)
	}
	u, _, err := c.loadUser(ctx, person, handle, nil)
	if err != nil {
		return nil, "", err
	}
	if n := cleanName(displayName); n != "" {
		u.name = n
	}
	creation, session, err := c.w.BeginRegistration(u,
		gowebauthn.WithExclusions(gowebauthn.Credentials(u.credentials).CredentialDescriptors()),
		gowebauthn.WithExtensions(gowebauthn.WithExtensionCredProps()),
	)
	if err != nil {
		return nil, "", libraryError("begin a registration", err)
	}
	if options, err = marshalOptions(creation); err != nil {
		return nil, "", err
	}
	id, err := c.saveCeremony(ctx, ceremonyData{Purpose: purposeRegister, Person: person, Session: *session})
	if err != nil {
		return nil, "", err
	}
	return options, id, nil
}

// FinishRegistration verifies the browser's answer (the JSON of the
// PublicKeyCredential) to the registration ceremony, which must have been begun
// for person, and stores the new passkey at level with the name given (trimmed,
// at most MaxNameLength characters; "Passkey n" when empty).
//
// It fails with ErrCeremony (unknown, used, expired, or another person's),
// ErrUserVerification (UV=0), accounts.ErrConflict (registered already, or the
// person has accounts.MaxPasskeys), or ErrInvalid wrapping the library's refusal.
func (c *Ceremonies) FinishRegistration(ctx context.Context, ceremony string, person delegation.PartyID, level authz.Level, name string, response []byte) (accounts.Passkey, error) {
	d, err := c.takeCeremony(ctx, ceremony, purposeRegister)
	if err != nil {
		return accounts.Passkey{}, err
	}
	if d.Person != person {
		return accounts.Passkey{}, fmt.Errorf("%w: begun for another person", ErrCeremony)
	}
	if level < authz.LevelLow || level > authz.LevelHigh {
		return accounts.Passkey{}, fmt.Errorf("webauthn: unknown level of assurance %d", int(level))
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return accounts.Passkey{}, invalid("parse a registration", err)
	}
	if !parsed.Response.AttestationObject.AuthData.Flags.HasUserVerified() {
		return accounts.Passkey{}, fmt.Errorf("%w: registration", ErrUserVerification)
	}
	u, existing, err := c.loadUser(ctx, person, d.Session.UserID, nil)
	if err != nil {
		return accounts.Passkey{}, err
	}
	cred, err := c.w.CreateCredential(u, d.Session, parsed)
	if err != nil {
		return accounts.Passkey{}, invalid("finish a registration", err)
	}
	if !cred.Flags.UserVerified {
		return accounts.Passkey{}, fmt.Errorf("%w: registration", ErrUserVerification)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return accounts.Passkey{}, fmt.Errorf("webauthn: encode a credential: %w", err)
	}
	if name = cleanName(name); name == "" {
		name = "Passkey " + strconv.Itoa(len(existing)+1)
	}
	now := c.now()
	p := accounts.Passkey{
		ID: cred.ID, Person: person, Name: name, Level: level, Created: now,
		SignCount: cred.Authenticator.SignCount, BackupEligible: cred.Flags.BackupEligible,
		BackupState: cred.Flags.BackupState, Credential: data,
	}
	if err := c.accounts.AddPasskey(ctx, p); err != nil {
		return accounts.Passkey{}, fmt.Errorf("webauthn: store a passkey: %w", err)
	}
	return p, nil
}
