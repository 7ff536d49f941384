package webauthn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/accounts"
)

// BeginLogin starts a login with a discoverable passkey: the browser offers the
// person's passkeys for this site, and the server learns who they are from the
// one chosen. conditional asks for the browser's autofill (mediation
// "conditional") instead of a dialog. User verification is required.
//
// options is the JSON for navigator.credentials.get ({"publicKey": {…},
// "mediation": …}); ceremony is the id FinishLogin takes.
func (c *Ceremonies) BeginLogin(ctx context.Context, conditional bool) (options []byte, ceremony string, err error) {
	mediation := protocol.MediationDefault
	if conditional {
		mediation = protocol.MediationConditional
	}
	assertion, session, err := c.w.BeginDiscoverableMediatedLogin(mediation,
		gowebauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", libraryError("begin a login", err)
	}
	if options, err = marshalOptions(assertion); err != nil {
		return nil, "", err
	}
	id, err := c.saveCeremony(ctx, ceremonyData{Purpose: purposeLogin, Session: *session})
	if err != nil {
		return nil, "", err
	}
	return options, id, nil
}

// FinishLogin verifies the browser's answer (the JSON of the PublicKeyCredential)
// to the login ceremony, finds whose passkey it is by its user handle, records the
// use (signature counter, backup state, last use) and returns who logged in.
//
// It fails with ErrCeremony, ErrUserVerification (UV=0 in this assertion),
// ErrUnknownCredential (no such passkey: removed, or never registered here),
// ErrCloned (the counter did not move forward, now or before: the passkey is
// flagged), or ErrInvalid wrapping the library's refusal.
func (c *Ceremonies) FinishLogin(ctx context.Context, ceremony string, response []byte) (Result, error) {
	d, err := c.takeCeremony(ctx, ceremony, purposeLogin)
	if err != nil {
		return Result{}, err
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return Result{}, err
	}
	var (
		person delegation.PartyID
		found  bool
		// lookup is the handler's own failure, kept apart from the library's
		// verdict on the response.
		lookup error
	)
	handler := func(rawID, userHandle []byte) (gowebauthn.User, error) {
		p, err := c.accounts.PersonOfHandle(ctx, userHandle)
		if errors.Is(err, accounts.ErrNotFound) {
			lookup = ErrUnknownCredential
			return nil, lookup
		}
		if err != nil {
			lookup = fmt.Errorf("webauthn: whose user handle: %w", err)
			return nil, lookup
		}
		u, passkeys, err := c.loadUser(ctx, p, userHandle, nil)
		if err != nil {
			lookup = err
			return nil, lookup
		}
		if !slices.ContainsFunc(passkeys, func(k accounts.Passkey) bool { return bytes.Equal(k.ID, rawID) }) {
			lookup = ErrUnknownCredential
			return nil, lookup
		}
		person, found = p, true
		return u, nil
	}
	_, cred, err := c.w.ValidatePasskeyLogin(handler, d.Session, parsed)
	if lookup != nil {
		return Result{}, lookup
	}
	if err != nil {
		return Result{}, invalid("finish a login", err)
	}
	if !found {
		return Result{}, ErrUnknownCredential
	}
	return c.recordUse(ctx, person, cred)
}

// BeginStepUp starts a step-up of person, who is logged in: only their passkeys at
// minLevel or above, and not flagged as copied, are allowed, and user
// verification is required. ErrNoPasskey if they have none.
//
// options is the JSON for navigator.credentials.get; ceremony is the id
// FinishStepUp takes.
func (c *Ceremonies) BeginStepUp(ctx context.Context, person delegation.PartyID, minLevel authz.Level) (options []byte, ceremony string, err error) {
	passkeys, err := c.accounts.Passkeys(ctx, person)
	if err != nil {
		return nil, "", fmt.Errorf("webauthn: read passkeys: %w", err)
	}
	allowed := func(p accounts.Passkey) bool { return p.Level >= minLevel && !p.CloneWarning }
	if !slices.ContainsFunc(passkeys, allowed) {
		return nil, "", ErrNoPasskey
	}
	handle, err := c.accounts.UserHandle(ctx, person, newHandle)
	if err != nil {
		return nil, "", fmt.Errorf("webauthn: the user handle: %w", err)
	}
	u, _, err := c.loadUser(ctx, person, handle, allowed)
	if err != nil {
		return nil, "", err
	}
	assertion, session, err := c.w.BeginLogin(u, gowebauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", libraryError("begin a step-up", err)
	}
	if options, err = marshalOptions(assertion); err != nil {
		return nil, "", err
	}
	id, err := c.saveCeremony(ctx, ceremonyData{Purpose: purposeStepUp, Person: person, Level: minLevel, Session: *session})
	if err != nil {
		return nil, "", err
	}
	return options, id, nil
}

// FinishStepUp verifies the browser's answer to the step-up ceremony begun for
// person, records the use and returns the result; its Level is the passkey's,
// which is at least the step-up's minLevel.
//
// It fails like FinishLogin, and with ErrUnknownCredential also for a passkey that
// is not one the step-up allowed (another person's, or the person's own below
// minLevel).
func (c *Ceremonies) FinishStepUp(ctx context.Context, ceremony string, person delegation.PartyID, response []byte) (Result, error) {
	d, err := c.takeCeremony(ctx, ceremony, purposeStepUp)
	if err != nil {
		return Result{}, err
	}
	if d.Person != person {
		return Result{}, fmt.Errorf("%w: begun for another person", ErrCeremony)
	}
	parsed, err := parseAssertion(response)
	if err != nil {
		return Result{}, err
	}
	u, passkeys, err := c.loadUser(ctx, person, d.Session.UserID, nil)
	if err != nil {
		return Result{}, err
	}
	i := slices.IndexFunc(passkeys, func(k accounts.Passkey) bool { return bytes.Equal(k.ID, parsed.RawID) })
	if i < 0 || !slices.ContainsFunc(d.Session.AllowedCredentialIDs, func(id []byte) bool { return bytes.Equal(id, parsed.RawID) }) {
		return Result{}, fmt.Errorf("%w: not one of the passkeys the step-up allowed", ErrUnknownCredential)
	}
	if passkeys[i].Level < d.Level {
		return Result{}, fmt.Errorf("%w: the passkey is below the step-up's level", ErrUnknownCredential)
	}
	// The library wants every allowed passkey to be the person's still; one removed
	// since the step-up began is simply no longer allowed.
	d.Session.AllowedCredentialIDs = slices.DeleteFunc(d.Session.AllowedCredentialIDs, func(id []byte) bool {
		return !slices.ContainsFunc(passkeys, func(k accounts.Passkey) bool { return bytes.Equal(k.ID, id) })
	})
	cred, err := c.w.ValidateLogin(u, d.Session, parsed)
	if err != nil {
		return Result{}, invalid("finish a step-up", err)
	}
	r, err := c.recordUse(ctx, person, cred)
	if err != nil {
		return Result{}, err
	}
	if r.Level < d.Level { // the stored level never changes; this is a second look
		return Result{}, fmt.Errorf("%w: the passkey is below the step-up's level", ErrUnknownCredential)
	}
	return r, nil
}

// parseAssertion parses the browser's answer to a get ceremony and refuses one
// without user verification before anything else looks at it.
func parseAssertion(response []byte) (*protocol.ParsedCredentialAssertionData, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, invalid("parse an assertion", err)
	}
	if !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		return nil, fmt.Errorf("%w: assertion", ErrUserVerification)
	}
	return parsed, nil
}

// recordUse writes what a verified assertion with cred changed of the person's
// passkey: the signature counter, the backup state, the last use, the library's
// record. A counter that did not move forward flags the passkey (and changes
// nothing else); a flagged passkey is refused with ErrCloned.
func (c *Ceremonies) recordUse(ctx context.Context, person delegation.PartyID, cred *gowebauthn.Credential) (Result, error) {
	cloned := false
	var after accounts.Passkey
	err := c.accounts.UpdatePasskey(ctx, person, cred.ID, func(p *accounts.Passkey) error {
		if cred.Authenticator.CloneWarning || p.CloneWarning {
			// Refused: only the flag is written; the rest stays as the last good
			// use left it.
			cloned = true
			p.CloneWarning = true
			return nil
		}
		p.LastUsed = c.now()
		p.SignCount = cred.Authenticator.SignCount
		p.BackupState = cred.Flags.BackupState
		data, err := json.Marshal(cred)
		if err != nil {
			return fmt.Errorf("webauthn: encode a credential: %w", err)
		}
		p.Credential = data
		after = *p
		return nil
	})
	if errors.Is(err, accounts.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: removed during the login", ErrUnknownCredential)
	}
	if err != nil {
		return Result{}, fmt.Errorf("webauthn: record a passkey's use: %w", err)
	}
	if cloned {
		return Result{}, ErrCloned
	}
	return Result{Person: person, Passkey: after, Level: after.Level, AMR: AMR(after.BackupEligible)}, nil
}
