package delegation

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// RequestStatus is the state of a request for a fullmakt.
type RequestStatus string

const (
	RequestPending  RequestStatus = "pending"
	RequestApproved RequestStatus = "approved"
	RequestDeclined RequestStatus = "declined"
)

// MaxMessageLen bounds the free-text message on a request and a decline reason.
const MaxMessageLen = 1000

// Request is a person (Requester) asking another (Grantor) for a fullmakt.
type Request struct {
	ID        string        `json:"id"`
	Requester PartyID       `json:"requester"`
	Grantor   PartyID       `json:"grantor"`
	Scope     Scope         `json:"scope"`
	Period    Period        `json:"period,omitzero"`
	Message   string        `json:"message,omitempty"`
	Status    RequestStatus `json:"status"`
	CreatedAt time.Time     `json:"created_at"`
	// Set when answered.
	AnsweredAt    time.Time `json:"answered_at,omitzero"`
	DeclineReason string    `json:"decline_reason,omitempty"`
	FullmaktID    string    `json:"fullmakt_id,omitempty"`
}

// NewRequest checks and returns a request from requester to grantor.
func NewRequest(requester, grantor Person, scope Scope, period Period, message string, now time.Time) (Request, error) {
	today := Today(now)
	switch {
	case requester.ID == grantor.ID:
		return Request{}, fmt.Errorf("%w: a person cannot ask themself for a fullmakt", ErrInvalid)
	case utf8.RuneCountInString(message) > MaxMessageLen:
		return Request{}, fmt.Errorf("%w: the message is longer than %d characters", ErrInvalid, MaxMessageLen)
	case period.Ended(today):
		return Request{}, fmt.Errorf("%w: the period has already ended", ErrInvalid)
	}
	scope = scope.normalized()
	if err := mayGive(grantor, scope, today); err != nil {
		return Request{}, err
	}
	if err := scope.Validate(); err != nil {
		return Request{}, err
	}
	if err := period.Validate(); err != nil {
		return Request{}, err
	}
	return Request{
		ID: NewID("rq"), Requester: requester.ID, Grantor: grantor.ID, Scope: scope, Period: period,
		Message: strings.TrimSpace(message), Status: RequestPending, CreatedAt: now.UTC(),
	}, nil
}

// Answer is a grantor's answer to a request, ready for Store.AnswerRequest. When
// approving, Fullmakt is the fullmakt to create in the same transaction.
type Answer struct {
	RequestID string
	By        PartyID
	Approve   bool
	Reason    string
	Fullmakt  Fullmakt
	At        time.Time
}

// Approve checks that by may approve r and returns the answer with the fullmakt the
// approval creates (confirmed at acr).
func Approve(r Request, by, proxy Person, acr string, now time.Time) (Answer, error) {
	if err := mayAnswer(r, by.ID); err != nil {
		return Answer{}, err
	}
	f, err := Give(NewFullmakt{Grantor: by, Proxy: proxy, Scope: r.Scope, Period: r.Period, ConfirmedACR: acr, Origin: OriginRequest}, now)
	if err != nil {
		return Answer{}, err
	}
	if proxy.ID != r.Requester {
		return Answer{}, fmt.Errorf("%w: the proxy is not the requester", ErrInvalid)
	}
	return Answer{RequestID: r.ID, By: by.ID, Approve: true, Fullmakt: f, At: now.UTC()}, nil
}

// Decline checks that by may decline r and returns the answer.
func Decline(r Request, by PartyID, reason string, now time.Time) (Answer, error) {
	if err := mayAnswer(r, by); err != nil {
		return Answer{}, err
	}
	if utf8.RuneCountInString(reason) > MaxMessageLen {
		return Answer{}, fmt.Errorf("%w: the reason is longer than %d characters", ErrInvalid, MaxMessageLen)
	}
	return Answer{RequestID: r.ID, By: by, Reason: strings.TrimSpace(reason), At: now.UTC()}, nil
}

func mayAnswer(r Request, by PartyID) error {
	switch {
	case r.Grantor != by:
		return fmt.Errorf("%w: only the person asked may answer a request", ErrForbidden)
	case r.Status != RequestPending:
		return fmt.Errorf("%w: the request is already %s", ErrConflict, r.Status)
	}
	return nil
}
