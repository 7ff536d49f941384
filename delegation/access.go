package delegation

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
)

// AccessEvent records one decision where an actor asked to act for another party.
// The decision log is what a citizen reads to see who acted on their behalf; it holds
// allowed and denied decisions alike.
type AccessEvent struct {
	Seq           uint64       `json:"seq"` // assigned by the store, increasing
	At            time.Time    `json:"at"`
	Actor         PartyID      `json:"actor"`
	Party         PartyID      `json:"party"`
	Service       string       `json:"service"`
	Action        string       `json:"action"`
	Allowed       bool         `json:"allowed"`
	Relation      RelationKind `json:"relation,omitempty"`    // the relation used; empty on deny
	RelationID    string       `json:"relation_id,omitempty"` // fullmakt or consent id
	PolicyVersion string       `json:"policy_version"`
	// Client is the calling client: an API key's id or an OAuth client id, never a
	// secret (it is logged).
	Client string `json:"client"`
}

// Validate checks an event before it is stored: it names an actor and a different
// party, a service and an action, and when it happened. Identifiers with control
// characters are refused, since backends key their indexes on them.
func (e AccessEvent) Validate() error {
	switch {
	case e.Actor == "" || e.Party == "":
		return fmt.Errorf("%w: access event names no actor or party", ErrInvalid)
	case e.Actor == e.Party:
		return fmt.Errorf("%w: an access event is for acting on another's behalf, not one's own", ErrInvalid)
	case hasControl(string(e.Actor)) || hasControl(string(e.Party)):
		return fmt.Errorf("%w: access event identifier with a control character", ErrInvalid)
	case e.Service == "" || e.Action == "":
		return fmt.Errorf("%w: access event names no service or action", ErrInvalid)
	case e.At.IsZero():
		return fmt.Errorf("%w: access event has no time", ErrInvalid)
	}
	return nil
}

func hasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// LogValue implements slog.LogValuer: actor and party are redacted as PartyIDs are;
// the rest names no person.
func (e AccessEvent) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("seq", e.Seq), slog.Any("actor", e.Actor), slog.Any("party", e.Party),
		slog.String("service", e.Service), slog.String("action", e.Action), slog.Bool("allowed", e.Allowed),
		slog.String("relation", string(e.Relation)), slog.String("relation_id", e.RelationID),
		slog.String("policy_version", e.PolicyVersion), slog.String("client", e.Client))
}

// AccessLog keeps the decision log. It is append-only: nothing is changed or deleted
// through it. An actor's own history ("what I did for others") is not indexed; it can
// get its own index when the portal needs it.
type AccessLog interface {
	// AppendAccess stores the events in one transaction, in order, assigning each
	// its Seq (set on the slice elements). An invalid event fails the whole call with
	// ErrInvalid and stores nothing; on any error the slice is left as it was. An
	// empty slice stores nothing and succeeds. It records no Change: one per decision
	// would flood the change sequence that caches follow.
	AppendAccess(ctx context.Context, events []AccessEvent) error
	// AccessTo returns the events whose Party is party, newest first (by Seq),
	// only those with Seq < before when before > 0, at most limit (limit <= 0 means 100).
	// Passing the Seq of a page's last event as before gives the next page.
	AccessTo(ctx context.Context, party PartyID, before uint64, limit int) ([]AccessEvent, error)
	// AccessAfter returns the events of every party with Seq > after, oldest
	// first, at most limit (limit <= 0 means 100): how the notifications follow
	// the log.
	AccessAfter(ctx context.Context, after uint64, limit int) ([]AccessEvent, error)
}

// DefaultAccessLimit is the page size of AccessTo when limit <= 0.
const DefaultAccessLimit = 100
