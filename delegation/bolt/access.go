package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// The decision log lives apart from the records it is about: its own bucket, keyed by
// its own sequence (not the change sequence), and one index bucket keyed party 0 seq.
// An index key sorts a party's events by seq, so the newest are read by walking a
// cursor backwards from the end of the party's range, and a page before a given seq
// starts with one Seek. Actors are not indexed: each index costs a leaf page written
// at a random place per event, on the decision's path, and nothing reads an actor's
// history yet. Appending records no change: one per decision would flood the change
// sequence that caches follow, and nothing is cached from it.

// AppendAccess implements delegation.AccessLog.
func (s *Store) AppendAccess(ctx context.Context, events []delegation.AccessEvent) error {
	for i, e := range events {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("bolt: access event %d of %d: %w", i, len(events), err)
		}
	}
	if len(events) == 0 {
		return nil
	}
	// The sequence numbers reach the caller's slice only once the transaction has
	// committed.
	seqs := make([]uint64, len(events))
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		log, byParty := tx.Bucket(bAccess), tx.Bucket(iAccessParty)
		log.FillPercent = 1 // keys only ever grow: pack pages full
		partyKeys := make([][]byte, len(events))
		for i, e := range events {
			seq, err := log.NextSequence()
			if err != nil {
				return err
			}
			// bbolt keeps keys and values until the commit: each Put gets its own.
			if err := log.Put(u64(seq), encodeAccess(e)); err != nil {
				return err
			}
			partyKeys[i] = accessKey(e.Party, seq)
			seqs[i] = seq
		}
		// Index keys in key order: each Put then lands beside the one before, on
		// pages already in hand, instead of all over the tree.
		slices.SortFunc(partyKeys, bytes.Compare)
		for _, k := range partyKeys {
			if err := byParty.Put(k, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bolt: append access: %w", err)
	}
	for i := range events {
		events[i].Seq = seqs[i]
	}
	return nil
}

// AccessTo implements delegation.AccessLog.
func (s *Store) AccessTo(ctx context.Context, party delegation.PartyID, before uint64, limit int) ([]delegation.AccessEvent, error) {
	return s.accessList(ctx, iAccessParty, party, before, limit)
}

// accessKey is the index key of event seq under p: p 0 seq.
func accessKey(p delegation.PartyID, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(prefix(string(p)), seq)
}

// AccessAfter implements delegation.AccessLog.
func (s *Store) AccessAfter(ctx context.Context, after uint64, limit int) (out []delegation.AccessEvent, err error) {
	if limit <= 0 {
		limit = delegation.DefaultAccessLimit
	}
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		return walkAfter(tx.Bucket(bAccess).Cursor(), after, func(seq uint64, raw []byte) (bool, error) {
			e, err := decodeAccess(raw)
			if err != nil {
				return false, fmt.Errorf("access event %d: %w", seq, err)
			}
			e.Seq = seq
			out = append(out, e)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: access after %d: %w", after, err)
	}
	return out, nil
}

// accessList reads, newest first, up to limit events that index idx holds under p,
// those with a seq below before when before > 0.
func (s *Store) accessList(ctx context.Context, idx []byte, p delegation.PartyID, before uint64, limit int) (out []delegation.AccessEvent, err error) {
	if limit <= 0 {
		limit = delegation.DefaultAccessLimit
	}
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		log := tx.Bucket(bAccess)
		return walkBefore(tx.Bucket(idx).Cursor(), p, before, func(seq uint64) (bool, error) {
			raw := log.Get(u64(seq))
			if raw == nil {
				return false, fmt.Errorf("bolt: access event %d is in %s but not in %s", seq, idx, bAccess)
			}
			e, err := decodeAccess(raw)
			if err != nil {
				return false, fmt.Errorf("bolt: access event %d: %w", seq, err)
			}
			e.Seq = seq
			out = append(out, e)
			return len(out) < limit, nil
		})
	})
	return out, err
}

// walkBefore walks the keys p 0 seq (seq 8 bytes, big-endian) of an index from the
// newest down, those with a seq below before when before > 0, calling fn with each
// seq until it returns false or an error. A key sorts a party's entries by seq, so
// the walk starts with one Seek to the end of the range asked for.
func walkBefore(c *bbolt.Cursor, p delegation.PartyID, before uint64, fn func(seq uint64) (bool, error)) error {
	pre := prefix(string(p))
	// end is the first key past the range asked for: p 0 before, or p 1, which
	// sorts after every p 0 seq.
	end := append(key(string(p)), 1)
	if before > 0 {
		end = accessKey(p, before)
	}
	k, _ := c.Seek(end)
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	for ; k != nil && bytes.HasPrefix(k, pre); k, _ = c.Prev() {
		rest := k[len(pre):]
		if len(rest) != 8 {
			// Not an entry of p. Identifiers have no NUL (Validate refuses control
			// characters), so this is never written; skip it all the same.
			continue
		}
		more, err := fn(binary.BigEndian.Uint64(rest))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// walkAfter walks a bucket keyed by seq (8 bytes, big-endian) in order from seq
// after+1, calling fn with each seq and value until it returns false or an error.
func walkAfter(c *bbolt.Cursor, after uint64, fn func(seq uint64, v []byte) (bool, error)) error {
	if after == math.MaxUint64 {
		return nil // nothing can follow
	}
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("key %q is not a sequence number", k)
		}
		more, err := fn(binary.BigEndian.Uint64(k), v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// Access events are written on every decision made for someone else, so they are
// likely the most numerous records of all, and they are written on the decision's
// path. They have a compact binary encoding, as changes do, rather than
// JSON: less than half the size (no field names in every value, no quoting) and no
// reflection on the write path. Versioned like the others:
//
//	version=1 | at (varint Unix seconds, uvarint ns) | flags (bit 0: allowed) |
//	actor | party | service | action | relation | relation_id | policy_version | client
//
// where each string is a uvarint length followed by its bytes. The sequence number
// is the key. Times come back in UTC.
const accessEncodingV1 = 1

func encodeAccess(e delegation.AccessEvent) []byte {
	strs := [...]string{string(e.Actor), string(e.Party), e.Service, e.Action, string(e.Relation), e.RelationID, e.PolicyVersion, e.Client}
	n := 1 + 2*binary.MaxVarintLen64 + 1
	for _, s := range strs {
		n += binary.MaxVarintLen16 + len(s)
	}
	b := make([]byte, 0, n)
	b = append(b, accessEncodingV1)
	b = binary.AppendVarint(b, e.At.Unix())
	b = binary.AppendUvarint(b, uint64(e.At.Nanosecond()))
	var flags byte
	if e.Allowed {
		flags |= 1
	}
	b = append(b, flags)
	for _, s := range strs {
		b = appendString(b, s)
	}
	return b
}

func decodeAccess(b []byte) (delegation.AccessEvent, error) {
	d := decoder{b: b}
	if v := d.byte(); v != accessEncodingV1 && d.err == nil {
		return delegation.AccessEvent{}, fmt.Errorf("bolt: decode access event: unknown encoding %d", v)
	}
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail()
	}
	flags := d.byte()
	if flags&^1 != 0 {
		d.fail()
	}
	e := delegation.AccessEvent{
		At:            time.Unix(sec, int64(nsec%1e9)).UTC(),
		Allowed:       flags&1 != 0,
		Actor:         delegation.PartyID(d.string()),
		Party:         delegation.PartyID(d.string()),
		Service:       d.string(),
		Action:        d.string(),
		Relation:      delegation.RelationKind(d.string()),
		RelationID:    d.string(),
		PolicyVersion: d.string(),
		Client:        d.string(),
	}
	return e, d.done("access event")
}
