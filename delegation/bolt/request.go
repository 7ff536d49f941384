package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// CreateRequest implements delegation.RequestStore.
func (s *Store) CreateRequest(ctx context.Context, r delegation.Request) error {
	if r.ID == "" || r.Status != delegation.RequestPending {
		return fmt.Errorf("bolt: create request: a new request has an id and is pending: %w", delegation.ErrInvalid)
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bRequests).Get([]byte(r.ID)) != nil {
			return conflict("request %s exists", r.ID)
		}
		if err := put(tx, bRequests, []byte(r.ID), r); err != nil {
			return err
		}
		if err := tx.Bucket(iRequestTo).Put(key(string(r.Grantor), r.ID), nil); err != nil {
			return err
		}
		if err := tx.Bucket(iRequestFrom).Put(key(string(r.Requester), r.ID), nil); err != nil {
			return err
		}
		return appendChange(tx, delegation.ChangeRequestCreated, r.ID, r.CreatedAt, r.Requester, r.Grantor)
	})
}

// Request implements delegation.RequestStore.
func (s *Store) Request(ctx context.Context, id string) (r delegation.Request, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { r, err = readRequest(tx, id); return err })
	return r, err
}

func readRequest(tx *bbolt.Tx, id string) (r delegation.Request, err error) {
	if err := get(tx, bRequests, []byte(id), &r); err != nil {
		return r, fmt.Errorf("bolt: request %s: %w", id, err)
	}
	return r, nil
}

// AnswerRequest implements delegation.RequestStore.
func (s *Store) AnswerRequest(ctx context.Context, a delegation.Answer) (r delegation.Request, err error) {
	if a.Approve {
		if err := a.Fullmakt.Validate(); err != nil {
			return r, err
		}
	}
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		if r, err = readRequest(tx, a.RequestID); err != nil {
			return err
		}
		if r.Status != delegation.RequestPending {
			return conflict("request %s is already %s", r.ID, r.Status)
		}
		r.AnsweredAt = a.At.UTC()
		kind := delegation.ChangeRequestDeclined
		if a.Approve {
			if tx.Bucket(bFullmakter).Get([]byte(a.Fullmakt.ID)) != nil {
				return conflict("fullmakt %s exists", a.Fullmakt.ID)
			}
			if err := writeFullmakt(tx, a.Fullmakt, a.At); err != nil {
				return err
			}
			r.Status, r.FullmaktID, kind = delegation.RequestApproved, a.Fullmakt.ID, delegation.ChangeRequestApproved
		} else {
			r.Status, r.DeclineReason = delegation.RequestDeclined, a.Reason
		}
		if err := put(tx, bRequests, []byte(r.ID), r); err != nil {
			return err
		}
		return appendChange(tx, kind, r.ID, a.At, r.Requester, r.Grantor)
	})
	return r, err
}

// RequestsTo implements delegation.RequestStore.
func (s *Store) RequestsTo(ctx context.Context, grantor delegation.PartyID) ([]delegation.Request, error) {
	return list(ctx, s, iRequestTo, grantor, readRequest, requestOrder)
}

// RequestsFrom implements delegation.RequestStore.
func (s *Store) RequestsFrom(ctx context.Context, requester delegation.PartyID) ([]delegation.Request, error) {
	return list(ctx, s, iRequestFrom, requester, readRequest, requestOrder)
}

func requestOrder(r delegation.Request) (time.Time, string) { return r.CreatedAt, r.ID }
