package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// Person implements delegation.PartyStore.
func (s *Store) Person(ctx context.Context, id delegation.PartyID) (p delegation.Person, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { p, err = readPerson(tx, id); return err })
	return p, err
}

// Organization implements delegation.PartyStore.
func (s *Store) Organization(ctx context.Context, id delegation.PartyID) (o delegation.Organization, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { o, err = readOrganization(tx, id); return err })
	return o, err
}

// errPersonNotFound is made once: an import asks for a million persons that are not
// there yet, and the message names no identity number anyway.
var errPersonNotFound = fmt.Errorf("bolt: person: %w", delegation.ErrNotFound)

func readPerson(tx *bbolt.Tx, id delegation.PartyID) (delegation.Person, error) {
	raw := tx.Bucket(bPersons).Get([]byte(id))
	if raw == nil {
		return delegation.Person{}, errPersonNotFound
	}
	return decodePerson(id, raw)
}

func readOrganization(tx *bbolt.Tx, id delegation.PartyID) (o delegation.Organization, err error) {
	if err := get(tx, bOrgs, []byte(id), &o); err != nil {
		return o, fmt.Errorf("bolt: organization %s: %w", id, err)
	}
	return o, nil
}

// UpdateRegister implements delegation.Store.
func (s *Store) UpdateRegister(ctx context.Context, fn func(delegation.RegisterTx) error) error {
	return s.update(ctx, func(tx *bbolt.Tx) error { return fn(registerTx{tx: tx, at: s.now()}) })
}

// registerTx is the delegation.RegisterTx of one bbolt write transaction.
type registerTx struct {
	tx *bbolt.Tx
	at time.Time
}

func (r registerTx) Person(id delegation.PartyID) (delegation.Person, error) {
	return readPerson(r.tx, id)
}

func (r registerTx) Organization(id delegation.PartyID) (delegation.Organization, error) {
	return readOrganization(r.tx, id)
}

func (r registerTx) Relations(actor, party delegation.PartyID) (delegation.Relations, error) {
	return readRelations(r.tx, actor, party)
}

func (r registerTx) Fullmakt(id string) (delegation.Fullmakt, error) { return readFullmakt(r.tx, id) }

func (r registerTx) PutPerson(p delegation.Person) error {
	if err := r.tx.Bucket(bPersons).Put([]byte(p.ID), encodePerson(p)); err != nil {
		return err
	}
	return appendChange(r.tx, delegation.ChangePerson, string(p.ID), r.at, p.ID)
}

func (r registerTx) PutOrganization(o delegation.Organization) error {
	if err := put(r.tx, bOrgs, []byte(o.ID), o); err != nil {
		return err
	}
	return appendChange(r.tx, delegation.ChangeOrganization, string(o.ID), r.at, o.ID)
}

func (r registerTx) PutParental(p delegation.ParentalResponsibility) error {
	return r.putRelation(p.Parent, p.Child, delegation.RelParent, p.ValidFrom.String(), encodeParental(p), delegation.ChangeParental)
}

func (r registerTx) PutGuardianship(g delegation.Guardianship) error {
	return r.putRelation(g.Guardian, g.Ward, delegation.RelGuardian, g.Period.From.String(), encodeGuardianship(g), delegation.ChangeGuardianship)
}

func (r registerTx) PutRole(role delegation.Role) error {
	return r.putRelation(role.Person, role.Organization, delegation.RelRole, role.Role, encodeRole(role), delegation.ChangeRole)
}

// putRelation stores a register relation in the relations bucket, indexes it the
// other way round, and records the change.
func (r registerTx) putRelation(actor, party delegation.PartyID, kind delegation.RelationKind, suffix string, raw []byte, change delegation.ChangeKind) error {
	if err := indexRelation(r.tx, actor, party, kind, suffix, raw); err != nil {
		return err
	}
	return appendChange(r.tx, change, string(kind)+"/"+string(actor)+"/"+string(party)+"/"+suffix, r.at, actor, party)
}

// PutFullmakt stores a migrated fullmakt; one that replaces a stored one first loses
// the old one's index entries, since a correction may name another proxy.
func (r registerTx) PutFullmakt(f delegation.Fullmakt) error {
	old, err := readFullmakt(r.tx, f.ID)
	if errors.Is(err, delegation.ErrNotFound) {
		return writeFullmakt(r.tx, f, r.at)
	}
	if err != nil {
		return err
	}
	if err := unindexFullmakt(r.tx, old); err != nil {
		return err
	}
	if err := indexFullmakt(r.tx, f); err != nil {
		return err
	}
	if err := put(r.tx, bFullmakter, []byte(f.ID), f); err != nil {
		return err
	}
	return appendChange(r.tx, delegation.ChangeFullmaktChanged, f.ID, r.at, append(fullmaktParties(old), fullmaktParties(f)...)...)
}

// indexRelation writes the relation entry (value: the record, or nil when the
// record lives in its own bucket under suffix) and its reverse index entry.
func indexRelation(tx *bbolt.Tx, actor, party delegation.PartyID, kind delegation.RelationKind, suffix string, value []byte) error {
	if err := tx.Bucket(bRelations).Put(key(string(actor), string(party), string(kind), suffix), value); err != nil {
		return err
	}
	return tx.Bucket(iRelReverse).Put(key(string(party), string(actor), string(kind), suffix), nil)
}

// Relations implements delegation.RelationStore.
func (s *Store) Relations(ctx context.Context, actor, party delegation.PartyID) (rels delegation.Relations, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { rels, err = readRelations(tx, actor, party); return err })
	return rels, err
}

func readRelations(tx *bbolt.Tx, actor, party delegation.PartyID) (delegation.Relations, error) {
	var rels delegation.Relations
	c := tx.Bucket(bRelations).Cursor()
	p := prefix(string(actor), string(party))
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		kind, suffix, _ := bytes.Cut(k[len(p):], []byte{0})
		if err := addRelation(tx, &rels, actor, party, delegation.RelationKind(kind), suffix, v); err != nil {
			return rels, err
		}
	}
	return rels, nil
}

// addRelation decodes one relation entry into rels: a register relation from raw,
// a fullmakt or consent from its own bucket.
func addRelation(tx *bbolt.Tx, rels *delegation.Relations, actor, party delegation.PartyID, kind delegation.RelationKind, suffix, raw []byte) error {
	var err error
	switch kind {
	case delegation.RelParent:
		var r delegation.ParentalResponsibility
		if r, err = decodeParental(actor, party, raw); err == nil {
			rels.Parental = append(rels.Parental, r)
		}
	case delegation.RelGuardian:
		var g delegation.Guardianship
		if g, err = decodeGuardianship(actor, party, raw); err == nil {
			rels.Guardianships = append(rels.Guardianships, g)
		}
	case delegation.RelRole:
		var r delegation.Role
		if r, err = decodeRole(actor, party, string(suffix), raw); err == nil {
			rels.Roles = append(rels.Roles, r)
		}
	case delegation.RelFullmakt:
		var f delegation.Fullmakt
		if f, err = readFullmakt(tx, string(suffix)); err == nil {
			rels.Fullmakter = append(rels.Fullmakter, f)
		}
	case delegation.RelConsent:
		var c delegation.Consent
		if c, err = readConsent(tx, string(suffix)); err == nil {
			rels.Consents = append(rels.Consents, c)
		}
	default:
		err = fmt.Errorf("unknown relation kind %q", kind)
	}
	if errors.Is(err, delegation.ErrNotFound) {
		// An index entry without its record is damage, not a missing record: it must
		// not pass for a caller's mistake.
		return fmt.Errorf("bolt: relation index names a missing %s %q: the database is damaged", kind, suffix)
	}
	if err != nil {
		return fmt.Errorf("bolt: relation %s: %w", kind, err)
	}
	return nil
}

// groupRelations returns the relations of id, grouped by the other party in key
// order: forward from the relations bucket, or reversed through its index.
func groupRelations(tx *bbolt.Tx, id delegation.PartyID, reverse bool) ([]delegation.PartyRelations, error) {
	var out []delegation.PartyRelations
	rels := tx.Bucket(bRelations)
	b := rels
	if reverse {
		b = tx.Bucket(iRelReverse)
	}
	p := prefix(string(id))
	c := b.Cursor()
	for k, v := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		other, rest, _ := bytes.Cut(k[len(p):], []byte{0})
		kind, suffix, _ := bytes.Cut(rest, []byte{0})
		actor, party := id, delegation.PartyID(other)
		if reverse {
			actor, party = party, actor
			v = rels.Get(key(string(actor), string(party), string(kind), string(suffix)))
		}
		if len(out) == 0 || string(out[len(out)-1].Party) != string(other) {
			out = append(out, delegation.PartyRelations{Party: delegation.PartyID(other)})
		}
		if err := addRelation(tx, &out[len(out)-1].Relations, actor, party, delegation.RelationKind(kind), suffix, v); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Represented implements delegation.RelationStore.
func (s *Store) Represented(ctx context.Context, actor delegation.PartyID) (out []delegation.PartyRelations, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { out, err = groupRelations(tx, actor, false); return err })
	return out, err
}

// Representatives implements delegation.RelationStore.
func (s *Store) Representatives(ctx context.Context, party delegation.PartyID) (out []delegation.PartyRelations, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { out, err = groupRelations(tx, party, true); return err })
	return out, err
}
