package delegation

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// NotificationKind says what a notification tells its person.
type NotificationKind string

// The kinds of notification. Each names whom it is for.
const (
	// NoteFullmaktGiven: to the person who made a fullmakt (the grantor, or the
	// proxy who passed it on), when it is stored.
	NoteFullmaktGiven NotificationKind = "fullmakt.given"
	// NoteFullmaktReceived: to the proxy of a new fullmakt.
	NoteFullmaktReceived NotificationKind = "fullmakt.received"
	// NoteFullmaktRevoked: to the grantor and the proxy (and whoever passed it
	// on) when a fullmakt is revoked.
	NoteFullmaktRevoked NotificationKind = "fullmakt.revoked"
	// NoteFullmaktRenounced: to the grantor and the proxy when the proxy gives a
	// fullmakt up.
	NoteFullmaktRenounced NotificationKind = "fullmakt.renounced"
	// NoteFullmaktExpiring: to the grantor and the proxy, ExpiringNotice before
	// an active fullmakt's last day.
	NoteFullmaktExpiring NotificationKind = "fullmakt.expiring"
	// NoteFullmaktFirstUsed: to the grantor, the first time a decision allowed
	// the proxy to act through the fullmakt.
	NoteFullmaktFirstUsed NotificationKind = "fullmakt.first_used"
	// NoteRequestReceived: to the person asked for a fullmakt.
	NoteRequestReceived NotificationKind = "request.received"
	// NoteRequestAnswered: to the person who asked, when the request is approved
	// or declined (Detail says which).
	NoteRequestAnswered NotificationKind = "request.answered"
	// NoteConsentUsed: to the person who gave a consent, when a decision allowed
	// its recipient to use it: at most once a day (Oslo) per consent.
	NoteConsentUsed NotificationKind = "consent.used"
)

// ExpiringNotice is how long before its end a fullmakt's parties are told it
// expires.
const ExpiringNotice = 14 // days

// Notification is one entry of a person's notifications and of the outbox a
// webhook is fed from. It is derived from the change sequence, the decision log
// and the calendar (package delegation/notify), and stored once: Key makes the
// derivation idempotent.
type Notification struct {
	// Seq is assigned by the store: increasing, the outbox's order.
	Seq uint64 `json:"seq"`
	// Person is whom it is for.
	Person PartyID          `json:"person"`
	Kind   NotificationKind `json:"kind"`
	// Ref is the fullmakt, request or consent it is about.
	Ref string `json:"ref"`
	// Other is the other person or party of the event: the proxy, the grantor,
	// the requester, the consent's recipient, or who acted.
	Other PartyID `json:"other,omitempty"`
	// Detail adds what the kind needs: "approved" or "declined" for an answer,
	// the service for a first use or a consent's use.
	Detail string `json:"detail,omitempty"`
	// At is when the event happened.
	At time.Time `json:"at"`
	// Key identifies the event for this person: a notification whose key is
	// already stored is not stored again.
	Key string `json:"key"`
}

// Validate checks a notification before it is stored.
func (n Notification) Validate() error {
	switch {
	case n.Person.Kind() != KindPerson:
		return fmt.Errorf("%w: a notification is for a person", ErrInvalid)
	case n.Kind == "" || n.Ref == "" || n.Key == "":
		return fmt.Errorf("%w: a notification needs a kind, a ref and a key", ErrInvalid)
	case n.At.IsZero():
		return fmt.Errorf("%w: notification has no time", ErrInvalid)
	}
	return nil
}

// LogValue implements slog.LogValuer: no identity numbers.
func (n Notification) LogValue() slog.Value {
	return slog.GroupValue(slog.Uint64("seq", n.Seq), slog.String("kind", string(n.Kind)))
}

// NotificationStore keeps notifications and the cursors of what reads them in
// order: the deriver's place in the change sequence and the decision log, and a
// webhook's place in the outbox. Methods are safe for concurrent use.
type NotificationStore interface {
	// AddNotifications stores ns, except those whose (Person, Key) is already
	// stored, assigning each a Seq, and sets the cursor named cursor to to: all in
	// one transaction, so a crash never stores a notification twice nor skips
	// one. An empty cursor name sets no cursor. It returns the notifications it
	// stored, with their Seq.
	AddNotifications(ctx context.Context, cursor string, to uint64, ns []Notification) ([]Notification, error)
	// Cursor returns the position of the named cursor; 0 when never set.
	Cursor(ctx context.Context, name string) (uint64, error)
	// SetCursor sets the named cursor.
	SetCursor(ctx context.Context, name string, to uint64) error
	// NotificationsFor returns up to limit of person's notifications with a Seq
	// below before (0: from the newest), newest first.
	NotificationsFor(ctx context.Context, person PartyID, before uint64, limit int) ([]Notification, error)
	// NotificationsAfter returns up to limit notifications of everyone with a Seq
	// above after, in order: the outbox.
	NotificationsAfter(ctx context.Context, after uint64, limit int) ([]Notification, error)
	// MarkRead records that person has seen their notifications up to and
	// including Seq upTo. It never moves backwards.
	MarkRead(ctx context.Context, person PartyID, upTo uint64) error
	// ReadUpTo returns the Seq up to which person has seen their notifications.
	ReadUpTo(ctx context.Context, person PartyID) (uint64, error)
}
