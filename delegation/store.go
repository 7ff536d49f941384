package delegation

import (
	"context"
	"log/slog"
	"time"
)

// ChangeKind names what a change did.
type ChangeKind string

const (
	ChangePerson            ChangeKind = "person"
	ChangeOrganization      ChangeKind = "organization"
	ChangeParental          ChangeKind = "parental_responsibility"
	ChangeGuardianship      ChangeKind = "guardianship"
	ChangeRole              ChangeKind = "role"
	ChangeFullmaktCreated   ChangeKind = "fullmakt.created"
	ChangeFullmaktChanged   ChangeKind = "fullmakt.changed" // a migrated fullmakt corrected by re-import
	ChangeFullmaktRevoked   ChangeKind = "fullmakt.revoked"
	ChangeFullmaktRenounced ChangeKind = "fullmakt.renounced"
	ChangeRequestCreated    ChangeKind = "request.created"
	ChangeRequestApproved   ChangeKind = "request.approved"
	ChangeRequestDeclined   ChangeKind = "request.declined"
	ChangeConsentCreated    ChangeKind = "consent.created"
	ChangeConsentWithdrawn  ChangeKind = "consent.withdrawn"
	ChangeConsentUsed       ChangeKind = "consent.used"
)

// Change is one entry of the change sequence: every write appends one in the same
// transaction, so the sequence is exactly the history of committed writes (except
// the decision log's appends, which change no record a cache holds). Caches
// drop what they hold for the named parties; the portal shows a person their own.
type Change struct {
	Seq     uint64     `json:"seq"`
	Kind    ChangeKind `json:"kind"`
	Parties []PartyID  `json:"parties"`
	// Ref identifies the record changed (a fullmakt, request or consent id, or the
	// natural key of a register record).
	Ref string    `json:"ref"`
	At  time.Time `json:"at"`
}

// LogValue implements slog.LogValuer: a change's parties and ref hold identity
// numbers, so only its sequence number and kind are logged.
func (c Change) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("seq", c.Seq), slog.String("kind", string(c.Kind)))
}

// Store is the storage port: everything the domain keeps. It is deliberately wide,
// composed of one interface per aggregate, because every backend must implement all
// of it and pass conformance/storetest. Methods are safe for concurrent use. Records
// come back whatever their period or status; deciding what applies today is the
// caller's, with its own clock.
type Store interface {
	PartyStore
	RelationStore
	FullmaktStore
	RequestStore
	ConsentStore
	ChangeStore
	// AccessLog keeps the decision log: who acted, or tried to act, for whom.
	AccessLog
	NotificationStore
	// UpdateRegister runs fn in one write transaction: everything fn wrote commits
	// together when it returns nil, and nothing does when it returns an error.
	UpdateRegister(ctx context.Context, fn func(RegisterTx) error) error
	Close() error
}

// PartyStore reads persons and organisations.
type PartyStore interface {
	// Person returns the person; ErrNotFound if unknown.
	Person(ctx context.Context, id PartyID) (Person, error)
	// Organization returns the organisation; ErrNotFound if unknown.
	Organization(ctx context.Context, id PartyID) (Organization, error)
}

// RelationStore answers the relation queries of the decision engine and the portal,
// each through an index (O(log n) plus the size of the answer).
type RelationStore interface {
	// Relations returns every record by which actor may act for party: parental
	// responsibility (actor is the parent), guardianship (actor is the guardian),
	// role (party is the organisation), fullmakt (actor is the proxy, including
	// sub-delegated ones) and consent (actor is the recipient).
	Relations(ctx context.Context, actor, party PartyID) (Relations, error)
	// Represented returns, for each party actor has a relation to, those relations,
	// ordered by party.
	Represented(ctx context.Context, actor PartyID) ([]PartyRelations, error)
	// Representatives is the reverse: for each actor with a relation to party, the
	// relations (parents of a child, proxies of a grantor, …), ordered by actor.
	Representatives(ctx context.Context, party PartyID) ([]PartyRelations, error)
}

// FullmaktStore keeps fullmakter.
type FullmaktStore interface {
	// CreateFullmakt stores a new fullmakt; ErrConflict if the id exists.
	CreateFullmakt(ctx context.Context, f Fullmakt) error
	// Fullmakt returns one; ErrNotFound if unknown.
	Fullmakt(ctx context.Context, id string) (Fullmakt, error)
	// EndFullmakt revokes or renounces an active fullmakt, atomically: of concurrent
	// calls exactly one succeeds and records one change; the others get ErrConflict,
	// as does a fullmakt that is not active. ErrNotFound if unknown.
	EndFullmakt(ctx context.Context, e EndFullmakt) (Fullmakt, error)
	// FullmakterGivenBy returns those where p is the grantor or passed it on,
	// newest first by CreatedAt (as do all the list methods below).
	FullmakterGivenBy(ctx context.Context, p PartyID) ([]Fullmakt, error)
	// FullmakterReceivedBy returns those where p is the proxy.
	FullmakterReceivedBy(ctx context.Context, p PartyID) ([]Fullmakt, error)
	// FullmakterEnding returns those whose period's last day is from from to to,
	// both included, whatever their status, ordered by that day and then id.
	FullmakterEnding(ctx context.Context, from, to Date) ([]Fullmakt, error)
}

// RequestStore keeps requests for fullmakter.
type RequestStore interface {
	// CreateRequest stores a new request; ErrConflict if the id exists.
	CreateRequest(ctx context.Context, r Request) error
	// Request returns one; ErrNotFound if unknown.
	Request(ctx context.Context, id string) (Request, error)
	// AnswerRequest approves (creating a.Fullmakt in the same transaction) or declines
	// a pending request, atomically: of concurrent answers exactly one succeeds; the
	// others, and any answer to a request no longer pending, get ErrConflict;
	// ErrNotFound if unknown.
	AnswerRequest(ctx context.Context, a Answer) (Request, error)
	// RequestsTo returns the requests addressed to grantor.
	RequestsTo(ctx context.Context, grantor PartyID) ([]Request, error)
	// RequestsFrom returns the requests made by requester.
	RequestsFrom(ctx context.Context, requester PartyID) ([]Request, error)
}

// ConsentStore keeps consents.
type ConsentStore interface {
	// CreateConsent stores a new consent; ErrConflict if the id exists.
	CreateConsent(ctx context.Context, c Consent) error
	// Consent returns one; ErrNotFound if unknown.
	Consent(ctx context.Context, id string) (Consent, error)
	// WithdrawConsent ends an active consent; ErrConflict if it is not active,
	// ErrNotFound if unknown.
	WithdrawConsent(ctx context.Context, id string, at time.Time) (Consent, error)
	// UseConsent marks a one-time consent used, atomically: of concurrent calls exactly
	// one succeeds, the others get ErrConflict. A consent that is not one-time is
	// returned unchanged, and no change is recorded. A consent that is not active
	// gives ErrConflict, an unknown one ErrNotFound.
	UseConsent(ctx context.Context, id string, at time.Time) (Consent, error)
	// ConsentsByParty returns the consents party has given.
	ConsentsByParty(ctx context.Context, party PartyID) ([]Consent, error)
	// ConsentsByRecipient returns the consents given to recipient.
	ConsentsByRecipient(ctx context.Context, recipient PartyID) ([]Consent, error)
}

// ChangeStore reads the change sequence.
type ChangeStore interface {
	// Changes returns up to limit changes with a sequence number greater than after,
	// in order.
	Changes(ctx context.Context, after uint64, limit int) ([]Change, error)
	// LastChange returns the highest sequence number written (0 when none).
	LastChange(ctx context.Context) (uint64, error)
}

// RegisterTx is the view of one write transaction that register import uses: reads
// see what the transaction has written so far. Each Put replaces the record with the
// same natural key and appends one change; callers (ApplyRecord) skip the Put when
// nothing changed, which is what makes import idempotent.
type RegisterTx interface {
	Person(id PartyID) (Person, error)
	Organization(id PartyID) (Organization, error)
	Relations(actor, party PartyID) (Relations, error)
	Fullmakt(id string) (Fullmakt, error)

	PutPerson(p Person) error
	PutOrganization(o Organization) error
	// PutParental keys on (parent, child, valid_from).
	PutParental(r ParentalResponsibility) error
	// PutGuardianship keys on (guardian, ward, period.from).
	PutGuardianship(g Guardianship) error
	// PutRole keys on (person, organization, role).
	PutRole(r Role) error
	// PutFullmakt keys on the id.
	PutFullmakt(f Fullmakt) error
}
