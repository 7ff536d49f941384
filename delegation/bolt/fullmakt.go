package bolt

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// CreateFullmakt implements delegation.FullmaktStore.
func (s *Store) CreateFullmakt(ctx context.Context, f delegation.Fullmakt) error {
	if err := f.Validate(); err != nil {
		return err
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bFullmakter).Get([]byte(f.ID)) != nil {
			return conflict("fullmakt %s exists", f.ID)
		}
		return writeFullmakt(tx, f, f.CreatedAt)
	})
}

// writeFullmakt stores f with its indexes and records its creation.
func writeFullmakt(tx *bbolt.Tx, f delegation.Fullmakt, at time.Time) error {
	if err := put(tx, bFullmakter, []byte(f.ID), f); err != nil {
		return err
	}
	if err := indexFullmakt(tx, f); err != nil {
		return err
	}
	return appendChange(tx, delegation.ChangeFullmaktCreated, f.ID, at, fullmaktParties(f)...)
}

// fullmaktIndexKeys lists the index entries of f: bucket, key.
func fullmaktIndexKeys(f delegation.Fullmakt) [][2][]byte {
	keys := [][2][]byte{
		{bRelations, key(string(f.Proxy), string(f.Grantor), string(delegation.RelFullmakt), f.ID)},
		{iRelReverse, key(string(f.Grantor), string(f.Proxy), string(delegation.RelFullmakt), f.ID)},
		{iGiven, key(string(f.Grantor), f.ID)},
		{iReceived, key(string(f.Proxy), f.ID)},
	}
	if f.DelegatedBy != "" {
		keys = append(keys, [2][]byte{iGiven, key(string(f.DelegatedBy), f.ID)})
	}
	if !f.Period.To.IsZero() {
		keys = append(keys, [2][]byte{iFullmaktEnding, key(f.Period.To.String(), f.ID)})
	}
	return keys
}

func indexFullmakt(tx *bbolt.Tx, f delegation.Fullmakt) error {
	for _, k := range fullmaktIndexKeys(f) {
		if err := tx.Bucket(k[0]).Put(k[1], nil); err != nil {
			return err
		}
	}
	return nil
}

func unindexFullmakt(tx *bbolt.Tx, f delegation.Fullmakt) error {
	for _, k := range fullmaktIndexKeys(f) {
		if err := tx.Bucket(k[0]).Delete(k[1]); err != nil {
			return err
		}
	}
	return nil
}

func fullmaktParties(f delegation.Fullmakt) []delegation.PartyID {
	parties := []delegation.PartyID{f.Grantor, f.Proxy}
	if f.DelegatedBy != "" {
		parties = append(parties, f.DelegatedBy)
	}
	return parties
}

// Fullmakt implements delegation.FullmaktStore.
func (s *Store) Fullmakt(ctx context.Context, id string) (f delegation.Fullmakt, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { f, err = readFullmakt(tx, id); return err })
	return f, err
}

func readFullmakt(tx *bbolt.Tx, id string) (f delegation.Fullmakt, err error) {
	if err := get(tx, bFullmakter, []byte(id), &f); err != nil {
		return f, fmt.Errorf("bolt: fullmakt %s: %w", id, err)
	}
	return f, nil
}

// EndFullmakt implements delegation.FullmaktStore.
func (s *Store) EndFullmakt(ctx context.Context, e delegation.EndFullmakt) (f delegation.Fullmakt, err error) {
	kind := map[delegation.FullmaktStatus]delegation.ChangeKind{
		delegation.StatusRevoked:   delegation.ChangeFullmaktRevoked,
		delegation.StatusRenounced: delegation.ChangeFullmaktRenounced,
	}[e.Status]
	if kind == "" {
		return f, fmt.Errorf("bolt: end fullmakt: status %q: %w", e.Status, delegation.ErrInvalid)
	}
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		if f, err = readFullmakt(tx, e.ID); err != nil {
			return err
		}
		if f.Status != delegation.StatusActive {
			return conflict("fullmakt %s is already %s", e.ID, f.Status)
		}
		f.Status, f.EndedAt, f.EndedBy = e.Status, e.At.UTC(), e.By
		if err := put(tx, bFullmakter, []byte(f.ID), f); err != nil {
			return err
		}
		return appendChange(tx, kind, f.ID, e.At, append(fullmaktParties(f), e.By)...)
	})
	return f, err
}

// FullmakterGivenBy implements delegation.FullmaktStore.
func (s *Store) FullmakterGivenBy(ctx context.Context, p delegation.PartyID) ([]delegation.Fullmakt, error) {
	return list(ctx, s, iGiven, p, readFullmakt, fullmaktOrder)
}

// FullmakterReceivedBy implements delegation.FullmaktStore.
func (s *Store) FullmakterReceivedBy(ctx context.Context, p delegation.PartyID) ([]delegation.Fullmakt, error) {
	return list(ctx, s, iReceived, p, readFullmakt, fullmaktOrder)
}

// FullmakterEnding implements delegation.FullmaktStore. The index is keyed by the
// day as YYYY-MM-DD, whose byte order is the order of the days, so the answer is one
// range of it, already in the order promised.
func (s *Store) FullmakterEnding(ctx context.Context, from, to delegation.Date) (out []delegation.Fullmakt, err error) {
	if from.IsZero() || to.IsZero() {
		return nil, fmt.Errorf("bolt: fullmakter ending from %q to %q: %w", from, to, delegation.ErrInvalid)
	}
	last := to.String()
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(iFullmaktEnding).Cursor()
		for k, _ := c.Seek([]byte(from.String())); k != nil; k, _ = c.Next() {
			day, id, ok := bytes.Cut(k, []byte{0})
			if !ok {
				return fmt.Errorf("%s holds a key without an id: the database is damaged", iFullmaktEnding)
			}
			if string(day) > last {
				return nil
			}
			f, err := readFullmakt(tx, string(id))
			if errors.Is(err, delegation.ErrNotFound) {
				return fmt.Errorf("%s names a missing fullmakt %q: the database is damaged", iFullmaktEnding, id)
			}
			if err != nil {
				return err
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: fullmakter ending from %s to %s: %w", from, to, err)
	}
	return out, nil
}

func fullmaktOrder(f delegation.Fullmakt) (time.Time, string) { return f.CreatedAt, f.ID }

// list reads the records whose ids index idx holds under p, newest first (by the
// time order returns, then by id for a stable order).
func list[T any](ctx context.Context, s *Store, idx []byte, p delegation.PartyID,
	read func(*bbolt.Tx, string) (T, error), order func(T) (time.Time, string)) (out []T, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		return scan(tx, idx, prefix(string(p)), func(id []byte) error {
			v, err := read(tx, string(id))
			out = append(out, v)
			return err
		})
	})
	slices.SortFunc(out, func(a, b T) int {
		ta, ida := order(a)
		tb, idb := order(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return cmp.Compare(ida, idb)
	})
	return out, err
}
