package bolt

import (
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// CreateConsent implements delegation.ConsentStore.
func (s *Store) CreateConsent(ctx context.Context, c delegation.Consent) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		id := []byte(c.ID)
		if tx.Bucket(bConsents).Get(id) != nil {
			return conflict("consent %s exists", c.ID)
		}
		if err := put(tx, bConsents, id, c); err != nil {
			return err
		}
		if err := indexRelation(tx, c.Recipient, c.Party, delegation.RelConsent, c.ID, nil); err != nil {
			return err
		}
		if err := tx.Bucket(iConsentParty).Put(key(string(c.Party), c.ID), nil); err != nil {
			return err
		}
		if err := tx.Bucket(iConsentRecip).Put(key(string(c.Recipient), c.ID), nil); err != nil {
			return err
		}
		return appendChange(tx, delegation.ChangeConsentCreated, c.ID, c.CreatedAt, consentParties(c)...)
	})
}

func consentParties(c delegation.Consent) []delegation.PartyID {
	return []delegation.PartyID{c.Party, c.Recipient, c.Provider}
}

// Consent implements delegation.ConsentStore.
func (s *Store) Consent(ctx context.Context, id string) (c delegation.Consent, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { c, err = readConsent(tx, id); return err })
	return c, err
}

func readConsent(tx *bbolt.Tx, id string) (c delegation.Consent, err error) {
	if err := get(tx, bConsents, []byte(id), &c); err != nil {
		return c, fmt.Errorf("bolt: consent %s: %w", id, err)
	}
	return c, nil
}

// WithdrawConsent implements delegation.ConsentStore.
func (s *Store) WithdrawConsent(ctx context.Context, id string, at time.Time) (delegation.Consent, error) {
	return s.endConsent(ctx, id, at, delegation.ConsentWithdrawn, delegation.ChangeConsentWithdrawn)
}

// UseConsent implements delegation.ConsentStore.
func (s *Store) UseConsent(ctx context.Context, id string, at time.Time) (delegation.Consent, error) {
	return s.endConsent(ctx, id, at, delegation.ConsentUsed, delegation.ChangeConsentUsed)
}

// endConsent moves an active consent to status, atomically. Using a consent that is
// not one-time changes nothing.
func (s *Store) endConsent(ctx context.Context, id string, at time.Time, status delegation.ConsentStatus, kind delegation.ChangeKind) (c delegation.Consent, err error) {
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		if c, err = readConsent(tx, id); err != nil {
			return err
		}
		if c.Status != delegation.ConsentActive {
			return conflict("consent %s is %s", id, c.Status)
		}
		if status == delegation.ConsentUsed && !c.OneTime {
			return nil
		}
		c.Status, c.EndedAt = status, at.UTC()
		if err := put(tx, bConsents, []byte(id), c); err != nil {
			return err
		}
		return appendChange(tx, kind, id, at, consentParties(c)...)
	})
	return c, err
}

// ConsentsByParty implements delegation.ConsentStore.
func (s *Store) ConsentsByParty(ctx context.Context, party delegation.PartyID) ([]delegation.Consent, error) {
	return list(ctx, s, iConsentParty, party, readConsent, consentOrder)
}

// ConsentsByRecipient implements delegation.ConsentStore.
func (s *Store) ConsentsByRecipient(ctx context.Context, recipient delegation.PartyID) ([]delegation.Consent, error) {
	return list(ctx, s, iConsentRecip, recipient, readConsent, consentOrder)
}

func consentOrder(c delegation.Consent) (time.Time, string) { return c.CreatedAt, c.ID }
