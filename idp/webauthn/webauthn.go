// Package webauthn runs the passkey ceremonies of the login over go-webauthn:
// registering a passkey for a person who is logged in, logging in with a
// discoverable passkey (with or without the browser's autofill), and stepping up
// with one of the person's own passkeys.
//
// Every ceremony is two round trips of the browser. Begin returns the options for
// navigator.credentials.create or get and a random ceremony id; the library's
// challenge and expectations (its SessionData) stay on the server, as a one-time
// grants.Ceremony record under the id's hash. Finish takes that record, good once,
// and verifies the browser's answer against it.
//
// User verification is required in every ceremony and checked on every assertion:
// a passkey is something the person has and something they know or are, so the
// amr of a ceremony is "hwk" (a device-bound passkey) or "swk" (a synced one), then
// "user" and "mfa". A passkey keeps the level of assurance of the session it was
// registered in; this package reports it, and the login never lifts a session
// above it.
//
// A signature counter that does not move forward means the credential may have
// been copied: the passkey is flagged, and refused from then on.
//
// It imports the domain, the login's storage ports (idp/accounts, idp/grants) and
// go-webauthn; never net/http handlers or pages, which belong to idp/login.
package webauthn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	gowebauthn "github.com/go-webauthn/webauthn/webauthn"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/accounts"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// Errors of the ceremonies. Finish wraps them with context; match with errors.Is.
var (
	// ErrCeremony: the ceremony id is unknown, was used already, has expired, or
	// belongs to another kind of ceremony or another person.
	ErrCeremony = errors.New("webauthn: unknown, used or expired ceremony")
	// ErrUserVerification: the authenticator did not verify the user (UV=0).
	ErrUserVerification = errors.New("webauthn: the authenticator did not verify the user")
	// ErrCloned: the passkey's signature counter did not move forward, so it may
	// have been copied; the passkey is flagged and refused.
	ErrCloned = errors.New("webauthn: the passkey may have been copied")
	// ErrUnknownCredential: no such passkey, or not the person's (it may have been
	// removed).
	ErrUnknownCredential = errors.New("webauthn: unknown passkey")
	// ErrNoPasskey: the person has no passkey at the level a step-up needs.
	ErrNoPasskey = errors.New("webauthn: no passkey at that level")
	// ErrInvalid: the library refused the browser's response (malformed, a wrong
	// challenge, origin or signature, …). The error also wraps the library's
	// *protocol.Error.
	ErrInvalid = errors.New("webauthn: the response is not valid")
)

// Config is the relying party: plain data with working defaults.
type Config struct {
	// RPID is the relying party id passkeys are bound to: the server's host name
	// or a registrable suffix of it ("localhost", "login.example.no").
	RPID string
	// RPDisplayName is the name authenticators show; default "Fullmakt".
	RPDisplayName string
	// Origins are the origins browsers reach the login at
	// ("http://localhost:8080", "https://login.example.no").
	Origins []string
	// Timeout is how long a person has for one ceremony, enforced on the
	// server; default 2 minutes.
	Timeout time.Duration
}

// withDefaults returns c with the defaults filled in.
func (c Config) withDefaults() Config {
	if c.RPDisplayName == "" {
		c.RPDisplayName = "Fullmakt"
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Minute
	}
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.RPID == "" {
		errs = append(errs, errors.New("webauthn: no relying party id"))
	} else if err := protocol.ValidateRPID(c.RPID); err != nil {
		errs = append(errs, fmt.Errorf("webauthn: the relying party id %q: %w", c.RPID, err))
	}
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("webauthn: no origin"))
	}
	for _, o := range c.Origins {
		// Browsers send the origin exactly so (no trailing slash), and the library
		// compares strings.
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("webauthn: the origin %q is not scheme://host[:port]", o))
			continue
		}
		if host := u.Hostname(); c.RPID != "" && host != c.RPID && !strings.HasSuffix(host, "."+c.RPID) {
			errs = append(errs, fmt.Errorf("webauthn: the origin %q is not on the relying party id %q or under it", o, c.RPID))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("webauthn: a negative timeout %s", c.Timeout))
	}
	return errors.Join(errs...)
}

// Ceremonies runs the passkey ceremonies. It is safe for concurrent use.
type Ceremonies struct {
	cfg      Config
	w        *gowebauthn.WebAuthn
	accounts accounts.Store
	grants   grants.Store
	now      func() time.Time
}

// New returns the ceremonies of the relying party cfg, keeping passkeys in
// accounts and ceremony data in store. now is the clock (time.Now when nil).
func New(cfg Config, accounts accounts.Store, store grants.Store, now func() time.Time) (*Ceremonies, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if accounts == nil || store == nil {
		return nil, errors.New("webauthn: New needs an accounts store and a grants store")
	}
	if now == nil {
		now = time.Now
	}
	timeout := gowebauthn.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	rk := true
	w, err := gowebauthn.New(&gowebauthn.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     append([]string(nil), cfg.Origins...),
		// Attestation says which make of authenticator made a passkey; nothing here
		// depends on it, and asking for it would only prompt the person.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &rk,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   protocol.VerificationRequired,
		},
		Timeouts: gowebauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &Ceremonies{cfg: cfg, w: w, accounts: accounts, grants: store, now: now}, nil
}

// Result is who a login or a step-up proved to be, and with what.
type Result struct {
	// Person is the passkey's owner.
	Person delegation.PartyID
	// Passkey is the passkey as stored after this use.
	Passkey accounts.Passkey
	// Level is the passkey's level of assurance: the most the login may reach.
	Level authz.Level
	// AMR are the authentication methods (RFC 8176): "hwk" for a device-bound
	// passkey or "swk" for a synced one, then "user" and "mfa".
	AMR []string
}

// AMR returns the amr values of a passkey ceremony with user verification: "hwk"
// for a device-bound passkey (BE=0) or "swk" for a synced one (BE=1), then "user"
// and "mfa".
func AMR(backupEligible bool) []string {
	key := "hwk"
	if backupEligible {
		key = "swk"
	}
	return []string{key, "user", "mfa"}
}

// The kinds of ceremony, kept in the ceremony record.
const (
	purposeRegister = "register"
	purposeLogin    = "login"
	purposeStepUp   = "step-up"
)

// ceremonyData is what a ceremony record holds between Begin and Finish.
type ceremonyData struct {
	Purpose string             `json:"purpose"`
	Person  delegation.PartyID `json:"person,omitempty"`
	// Level is the least level a step-up accepts.
	Level   authz.Level            `json:"level,omitempty"`
	Session gowebauthn.SessionData `json:"session"`
}

// ceremonyKey is the store key of a ceremony id: the id itself never reaches the
// store.
func ceremonyKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// saveCeremony stores d under a new random id, until its session expires (the
// library sets Expires from the wall clock; it is set again here from the
// injected one), and returns the id.
func (c *Ceremonies) saveCeremony(ctx context.Context, d ceremonyData) (string, error) {
	d.Session.Expires = c.now().Add(c.cfg.Timeout)
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := base64.RawURLEncoding.EncodeToString(raw)
	data, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("webauthn: encode a ceremony: %w", err)
	}
	err = c.grants.ApplyGrants(ctx, grants.Put(grants.Record{
		Kind: grants.Ceremony, Key: ceremonyKey(id), ExpiresAt: d.Session.Expires, Data: data,
	}))
	if err != nil {
		return "", fmt.Errorf("webauthn: store a ceremony: %w", err)
	}
	return id, nil
}

// takeCeremony returns the data of ceremony id and uses it up: a second take
// fails, whatever the first one's outcome. It fails with ErrCeremony unless the
// ceremony exists, is unused, has not expired and is of the purpose asked for.
func (c *Ceremonies) takeCeremony(ctx context.Context, id, purpose string) (ceremonyData, error) {
	if id == "" || len(id) > 128 {
		return ceremonyData{}, ErrCeremony
	}
	key := ceremonyKey(id)
	rec, err := c.grants.Grant(ctx, grants.Ceremony, key)
	if errors.Is(err, grants.ErrNotFound) || errors.Is(err, grants.ErrInactive) {
		return ceremonyData{}, ErrCeremony
	}
	if err != nil {
		return ceremonyData{}, fmt.Errorf("webauthn: read a ceremony: %w", err)
	}
	// The compare-and-set of the store: of two concurrent takes, one wins.
	if err := c.grants.ApplyGrants(ctx, grants.Use(grants.Ceremony, key)); err != nil {
		if errors.Is(err, grants.ErrNotFound) || errors.Is(err, grants.ErrInactive) {
			return ceremonyData{}, ErrCeremony
		}
		return ceremonyData{}, fmt.Errorf("webauthn: use a ceremony: %w", err)
	}
	var d ceremonyData // fresh: nothing of an earlier ceremony can leak in
	if err := json.Unmarshal(rec.Data, &d); err != nil {
		return ceremonyData{}, fmt.Errorf("webauthn: decode a ceremony: %w", err)
	}
	if d.Purpose != purpose {
		return ceremonyData{}, fmt.Errorf("%w: a %s ceremony, not a %s one", ErrCeremony, d.Purpose, purpose)
	}
	if !c.now().Before(d.Session.Expires) || !c.now().Before(rec.ExpiresAt) {
		return ceremonyData{}, fmt.Errorf("%w: it expired", ErrCeremony)
	}
	// The expiry was checked just now on the injected clock; the library would
	// check it again on the wall clock.
	d.Session.Expires = time.Time{}
	return d, nil
}

// user is a person as the library sees them.
type user struct {
	handle      []byte
	name        string
	credentials []gowebauthn.Credential
}

func (u *user) WebAuthnID() []byte                           { return u.handle }
func (u *user) WebAuthnName() string                         { return u.name }
func (u *user) WebAuthnDisplayName() string                  { return u.name }
func (u *user) WebAuthnCredentials() []gowebauthn.Credential { return u.credentials }

// newHandle makes a user handle: 32 random bytes, which say nothing about the
// person.
func newHandle() ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

// loadUser returns person as the library sees them, with the passkeys keep
// accepts (all when keep is nil), and the passkeys themselves.
func (c *Ceremonies) loadUser(ctx context.Context, person delegation.PartyID, handle []byte, keep func(accounts.Passkey) bool) (*user, []accounts.Passkey, error) {
	all, err := c.accounts.Passkeys(ctx, person)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: read passkeys: %w", err)
	}
	u := &user{handle: handle, name: c.cfg.RPDisplayName}
	var kept []accounts.Passkey
	for _, p := range all {
		if keep != nil && !keep(p) {
			continue
		}
		cred, err := decodeCredential(p.Credential)
		if err != nil {
			return nil, nil, err
		}
		u.credentials = append(u.credentials, cred)
		kept = append(kept, p)
	}
	return u, kept, nil
}

// decodeCredential decodes the library's credential record.
func decodeCredential(data []byte) (gowebauthn.Credential, error) {
	var cred gowebauthn.Credential
	if err := json.Unmarshal(data, &cred); err != nil {
		return gowebauthn.Credential{}, fmt.Errorf("webauthn: decode a stored credential: %w", err)
	}
	// JSON keeps the flags as booleans; the raw byte behind ProtocolValue is made
	// again from them.
	var f protocol.AuthenticatorFlags
	for _, b := range []struct {
		set  bool
		flag protocol.AuthenticatorFlags
	}{
		{cred.Flags.UserPresent, protocol.FlagUserPresent},
		{cred.Flags.UserVerified, protocol.FlagUserVerified},
		{cred.Flags.BackupEligible, protocol.FlagBackupEligible},
		{cred.Flags.BackupState, protocol.FlagBackupState},
	} {
		if b.set {
			f |= b.flag
		}
	}
	cred.Flags = gowebauthn.NewCredentialFlags(f)
	return cred, nil
}

// libraryError wraps an error of the library for the log: its type and details,
// never the browser's response or the debugging information (which can quote it).
func libraryError(op string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("webauthn: %s: %s: %w", op, pe.Type, err)
	}
	return fmt.Errorf("webauthn: %s: %w", op, err)
}

// invalid wraps the library's refusal of a response: ErrInvalid, and the
// library's error as libraryError does. Errors of ours that the library passed
// through (ErrUnknownCredential from a lookup) stay recognisable.
func invalid(op string, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("webauthn: %s: %w: %s: %w", op, ErrInvalid, pe.Type, err)
	}
	return fmt.Errorf("webauthn: %s: %w: %w", op, ErrInvalid, err)
}

// marshalOptions returns the JSON the browser passes to navigator.credentials.
func marshalOptions(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("webauthn: encode options: %w", err)
	}
	return b, nil
}

// cleanName trims a passkey's name and cuts it to the store's 64 characters.
func cleanName(name string) string {
	name = strings.TrimSpace(strings.ToValidUTF8(name, ""))
	if r := []rune(name); len(r) > MaxNameLength {
		name = strings.TrimSpace(string(r[:MaxNameLength]))
	}
	return name
}

// MaxNameLength is the longest name of a passkey, in characters.
const MaxNameLength = 64
