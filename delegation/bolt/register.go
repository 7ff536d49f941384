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

func readPerson(tx *bbolt.Tx, id delegation.PartyID) (p delegation.Person, err error) {
	if err := get(tx, bPersons, []byte(id), &p); err != nil {
		return p, fmt.Errorf("bolt: person: %w", err)
	}
	return p, nil
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
	if err := put(r.tx, bPersons, []byte(p.ID), p); err != nil {
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
	pk := key(string(p.Parent), string(p.Child), p.ValidFrom.String())
	if err := putRelation(r.tx, bParental, pk, p, p.Parent, p.Child, delegation.RelParent); err != nil {
		return err
	}
	return appendChange(r.tx, delegation.ChangeParental, refOf(pk), r.at, p.Parent, p.Child)
}

func (r registerTx) PutGuardianship(g delegation.Guardianship) error {
	pk := key(string(g.Guardian), string(g.Ward), g.Period.From.String())
	if err := putRelation(r.tx, bGuardianships, pk, g, g.Guardian, g.Ward, delegation.RelGuardian); err != nil {
		return err
	}
	return appendChange(r.tx, delegation.ChangeGuardianship, refOf(pk), r.at, g.Guardian, g.Ward)
}

func (r registerTx) PutRole(role delegation.Role) error {
	pk := key(string(role.Person), string(role.Organization), role.Role)
	if err := putRelation(r.tx, bRoles, pk, role, role.Person, role.Organization, delegation.RelRole); err != nil {
		return err
	}
	return appendChange(r.tx, delegation.ChangeRole, refOf(pk), r.at, role.Person, role.Organization)
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

// putRelation stores a relation record under its primary key and indexes it in both
// directions.
func putRelation(tx *bbolt.Tx, b, pk []byte, v any, actor, party delegation.PartyID, kind delegation.RelationKind) error {
	if err := put(tx, b, pk, v); err != nil {
		return err
	}
	return indexRelation(tx, actor, party, kind, pk)
}

func indexRelation(tx *bbolt.Tx, actor, party delegation.PartyID, kind delegation.RelationKind, pk []byte) error {
	fwd := append(key(string(actor), string(party), string(kind)), 0)
	rev := append(key(string(party), string(actor), string(kind)), 0)
	if err := tx.Bucket(iRel).Put(append(fwd, pk...), nil); err != nil {
		return err
	}
	return tx.Bucket(iRelReverse).Put(append(rev, pk...), nil)
}

// refOf turns a primary key into the Ref of a change: the parts joined by "/".
func refOf(pk []byte) string { return string(bytes.ReplaceAll(pk, []byte{0}, []byte{'/'})) }

// Relations implements delegation.RelationStore.
func (s *Store) Relations(ctx context.Context, actor, party delegation.PartyID) (rels delegation.Relations, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { rels, err = readRelations(tx, actor, party); return err })
	return rels, err
}

func readRelations(tx *bbolt.Tx, actor, party delegation.PartyID) (delegation.Relations, error) {
	var rels delegation.Relations
	err := scan(tx, iRel, prefix(string(actor), string(party)), func(rest []byte) error {
		kind, pk, _ := bytes.Cut(rest, []byte{0})
		return addRelation(tx, &rels, delegation.RelationKind(kind), pk)
	})
	return rels, err
}

// addRelation loads the record an index entry points at into rels.
func addRelation(tx *bbolt.Tx, rels *delegation.Relations, kind delegation.RelationKind, pk []byte) error {
	var err error
	switch kind {
	case delegation.RelParent:
		var v delegation.ParentalResponsibility
		if err = get(tx, bParental, pk, &v); err == nil {
			rels.Parental = append(rels.Parental, v)
		}
	case delegation.RelGuardian:
		var v delegation.Guardianship
		if err = get(tx, bGuardianships, pk, &v); err == nil {
			rels.Guardianships = append(rels.Guardianships, v)
		}
	case delegation.RelRole:
		var v delegation.Role
		if err = get(tx, bRoles, pk, &v); err == nil {
			rels.Roles = append(rels.Roles, v)
		}
	case delegation.RelFullmakt:
		var v delegation.Fullmakt
		if err = get(tx, bFullmakter, pk, &v); err == nil {
			rels.Fullmakter = append(rels.Fullmakter, v)
		}
	case delegation.RelConsent:
		var v delegation.Consent
		if err = get(tx, bConsents, pk, &v); err == nil {
			rels.Consents = append(rels.Consents, v)
		}
	default:
		return fmt.Errorf("bolt: index names unknown relation kind %q", kind)
	}
	if err != nil {
		return fmt.Errorf("bolt: index entry %s %q: %w", kind, refOf(pk), err)
	}
	return nil
}

// Represented implements delegation.RelationStore.
func (s *Store) Represented(ctx context.Context, actor delegation.PartyID) (out []delegation.PartyRelations, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { out, err = groupRelations(tx, iRel, actor); return err })
	return out, err
}

// Representatives implements delegation.RelationStore.
func (s *Store) Representatives(ctx context.Context, party delegation.PartyID) (out []delegation.PartyRelations, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { out, err = groupRelations(tx, iRelReverse, party); return err })
	return out, err
}

// groupRelations scans index idx under id and groups the records by the other party,
// in key order.
func groupRelations(tx *bbolt.Tx, idx []byte, id delegation.PartyID) ([]delegation.PartyRelations, error) {
	var out []delegation.PartyRelations
	err := scan(tx, idx, prefix(string(id)), func(rest []byte) error {
		other, rest, _ := bytes.Cut(rest, []byte{0})
		kind, pk, _ := bytes.Cut(rest, []byte{0})
		if len(out) == 0 || string(out[len(out)-1].Party) != string(other) {
			out = append(out, delegation.PartyRelations{Party: delegation.PartyID(other)})
		}
		return addRelation(tx, &out[len(out)-1].Relations, delegation.RelationKind(kind), pk)
	})
	return out, err
}
