// Package grants is the storage port of the OAuth 2.0 / OpenID Connect server: the
// records behind every code and token it issues, the replay records of client
// assertions, its signing keys and its own secrets. The server (package idp) turns
// fosite's requests into these records; a backend keeps them (bbolt today, in
// delegation/bolt), and conformance/storetest holds every backend to this contract.
//
// A grant is one authorization: the codes, access tokens and refresh tokens issued
// from it share its request id, so a whole grant can be revoked at once (RFC 6749
// §10.5, §10.4 refresh token reuse; RFC 7009 §2.1).
//
// The store never looks inside Record.Data: it is the server's serialized request.
// Keys are signatures or hashes, never raw tokens or codes.
//
// Standard library only.
package grants

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors of the port. Backends wrap them with context; callers match with errors.Is.
var (
	// ErrNotFound: no such record, or it has been deleted.
	ErrNotFound = errors.New("not found")
	// ErrInactive: the record exists but has been used, rotated or revoked. Record
	// returns it together with the record, so the caller can revoke the grant.
	ErrInactive = errors.New("inactive")
	// ErrReplay: a client assertion's jti was seen before and has not expired.
	ErrReplay = errors.New("replayed")
)

// Kind says what a record is. Each kind is its own key space.
type Kind uint8

// The kinds of record.
const (
	// Code: an authorization code, keyed by its signature. Used once (Use).
	Code Kind = iota + 1
	// PKCE: the code challenge of an authorization code, keyed by the code's signature.
	PKCE
	// OIDC: the OpenID Connect request of an authorization code, keyed by a hash of
	// the code (fosite hands the raw code).
	OIDC
	// Access: an access token, keyed by its signature. Revoking deletes it.
	Access
	// Refresh: a refresh token, keyed by its signature. Rotating or revoking makes it
	// inactive, so a reuse is recognized (and revokes the grant).
	Refresh
	// PAR: a pushed authorization request, keyed by its request_uri. Used once.
	PAR
	// Login: a pending authorization request waiting for the person to log in, keyed
	// by the login id the browser carries. Used once.
	Login
	// Session: a person's login session, keyed by a hash of the session cookie; its
	// RequestID is a key of the person, so all their sessions can be ended at once.
	Session
	// Flow: a login under way (an authorization request's or the portal's), keyed
	// by a hash of the flow id. Replaced as the person goes from page to page.
	Flow
	// Ceremony: what a browser round trip must come back to, good once: a WebAuthn
	// challenge, an upstream login's state and nonce. Keyed by a hash of its id.
	Ceremony
	// Draft: what a person is writing in the portal (a fullmakt, a request) or
	// waiting to confirm after a step-up. Keyed by a hash of its id.
	Draft
)

var kindNames = [...]string{"", "code", "pkce", "oidc", "access", "refresh", "par", "login", "session", "flow", "ceremony", "draft"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return k >= Code && k <= Draft }

// Record is one stored code, token or request.
type Record struct {
	Kind Kind
	// Key is the record's key within its kind: a signature, a hash or a request URI.
	Key string
	// RequestID is the grant the record belongs to; empty for PAR and Login records.
	RequestID string
	// ExpiresAt is when the record may be collected. A record past it is still
	// returned by Record (fosite checks expiry itself and says so precisely).
	ExpiresAt time.Time
	// Active is false once the record was used (Use), or deactivated with its grant.
	// Put always stores an active record.
	Active bool
	// Data is the serialized request, opaque to the store.
	Data []byte
}

// Op is one change in an atomic Apply. Build ops with the functions below.
type Op struct {
	Verb      Verb
	Record    Record // for Put
	Kind      Kind
	Key       string // for Delete and Use
	RequestID string // for DeleteGrant and DeactivateGrant
}

// Verb says what an Op does.
type Verb uint8

// The verbs of an Op.
const (
	// VerbPut creates or replaces an active record.
	VerbPut Verb = iota + 1
	// VerbDelete deletes a record; a missing record is not an error.
	VerbDelete
	// VerbUse makes an active record inactive: a compare-and-set inside the
	// transaction. It fails the whole Apply with ErrNotFound if the record is
	// missing, or ErrInactive if it was already used.
	VerbUse
	// VerbDeleteGrant deletes every record of a kind in a grant.
	VerbDeleteGrant
	// VerbDeactivateGrant makes every record of a kind in a grant inactive.
	VerbDeactivateGrant
)

var verbNames = [...]string{"", "put", "delete", "use", "delete-grant", "deactivate-grant"}

func (v Verb) String() string {
	if v != 0 && int(v) < len(verbNames) {
		return verbNames[v]
	}
	return fmt.Sprintf("verb(%d)", uint8(v))
}

// Put creates or replaces r, active.
func Put(r Record) Op { return Op{Verb: VerbPut, Record: r, Kind: r.Kind, Key: r.Key} }

// Delete deletes the record of kind k with key; missing is fine.
func Delete(k Kind, key string) Op { return Op{Verb: VerbDelete, Kind: k, Key: key} }

// Use makes the active record of kind k with key inactive, or fails the Apply.
func Use(k Kind, key string) Op { return Op{Verb: VerbUse, Kind: k, Key: key} }

// DeleteGrant deletes every record of kind k issued in the grant requestID.
func DeleteGrant(k Kind, requestID string) Op {
	return Op{Verb: VerbDeleteGrant, Kind: k, RequestID: requestID}
}

// DeactivateGrant makes every record of kind k issued in the grant requestID inactive.
func DeactivateGrant(k Kind, requestID string) Op {
	return Op{Verb: VerbDeactivateGrant, Kind: k, RequestID: requestID}
}

// Validate reports what is wrong with op, or nil.
func (op Op) Validate() error {
	if !op.Kind.Valid() {
		return fmt.Errorf("grants: %s: unknown kind %d", op.Verb, op.Kind)
	}
	switch op.Verb {
	case VerbPut:
		if op.Record.Key == "" {
			return fmt.Errorf("grants: put %s: empty key", op.Kind)
		}
		if op.Record.Kind != op.Kind || op.Record.Key != op.Key {
			return fmt.Errorf("grants: put %s: the op and its record name different records", op.Kind)
		}
	case VerbDelete, VerbUse:
		if op.Key == "" {
			return fmt.Errorf("grants: %s %s: empty key", op.Verb, op.Kind)
		}
	case VerbDeleteGrant, VerbDeactivateGrant:
		if op.RequestID == "" {
			return fmt.Errorf("grants: %s %s: empty request id", op.Verb, op.Kind)
		}
	default:
		return fmt.Errorf("grants: unknown verb %d", uint8(op.Verb))
	}
	return nil
}

// SigningKey is one of the server's signing keys.
type SigningKey struct {
	ID        string    // the JWK kid
	Algorithm string    // the JWS alg, e.g. ES256
	Private   []byte    // PKCS #8, DER
	CreatedAt time.Time // published in the JWKS from here on
	// SignsFrom is when the key starts signing. It is later than CreatedAt so that
	// relying parties that cache the JWKS know the key before they see it used.
	SignsFrom time.Time
}

// Store keeps the OAuth server's records. Every method is safe for concurrent use.
type Store interface {
	// Grant returns the record of kind k with key. A record that is no longer active
	// is returned together with ErrInactive. ErrNotFound if there is none.
	Grant(ctx context.Context, k Kind, key string) (Record, error)
	// ApplyGrants applies ops in one transaction: all or none. It fails with
	// ErrNotFound or ErrInactive from a Use op, and rejects invalid ops before
	// writing anything. Concurrent callers may share a commit.
	ApplyGrants(ctx context.Context, ops ...Op) error
	// UseJTI records a client assertion's jti until exp (RFC 7523 §3 item 7). If it
	// was recorded before and has not expired at now, it fails with ErrReplay: the
	// check and the record are one atomic step.
	UseJTI(ctx context.Context, jti string, exp, now time.Time) error
	// SigningKeys returns every stored signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	// PutSigningKey stores k, replacing a key with the same ID.
	PutSigningKey(ctx context.Context, k SigningKey) error
	// DeleteSigningKey deletes the key with id; missing is fine.
	DeleteSigningKey(ctx context.Context, id string) error
	// Secret returns the server secret called name, creating it with newSecret the
	// first time. Every caller, across restarts, gets the same bytes.
	Secret(ctx context.Context, name string, newSecret func() ([]byte, error)) ([]byte, error)
	// CollectGrants deletes records that expired before now, and jti records past
	// their expiry, and returns how many it deleted.
	CollectGrants(ctx context.Context, now time.Time) (int, error)
}
