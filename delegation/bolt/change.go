package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// Changes implements delegation.ChangeStore.
func (s *Store) Changes(ctx context.Context, after uint64, limit int) (out []delegation.Change, err error) {
	if limit <= 0 {
		return nil, nil
	}
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		c := tx.Bucket(bChanges).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			ch, err := decodeChange(v)
			if err != nil {
				return fmt.Errorf("bolt: decode change %d: %w", binary.BigEndian.Uint64(k), err)
			}
			ch.Seq = binary.BigEndian.Uint64(k)
			out = append(out, ch)
		}
		return nil
	})
	return out, err
}

// LastChange implements delegation.ChangeStore.
func (s *Store) LastChange(ctx context.Context) (seq uint64, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error { seq = tx.Bucket(bChanges).Sequence(); return nil })
	return seq, err
}

// appendChange adds one entry to the change sequence, naming each party once.
func appendChange(tx *bbolt.Tx, kind delegation.ChangeKind, ref string, at time.Time, parties ...delegation.PartyID) error {
	b := tx.Bucket(bChanges)
	b.FillPercent = 1 // keys only ever grow: pack pages full
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	var unique []delegation.PartyID
	for _, p := range parties {
		if p != "" && !slices.Contains(unique, p) {
			unique = append(unique, p)
		}
	}
	return b.Put(u64(seq), encodeChange(delegation.Change{Kind: kind, Parties: unique, Ref: ref, At: at}))
}

// Changes are the most numerous records (one per write, a million for a population
// import), so they have a compact binary encoding rather than JSON:
//
//	version=1 | at (varint Unix seconds, uvarint ns) | kind | count (uvarint) | party… | ref
//
// where each string is a uvarint length followed by its bytes. The sequence number
// is the key.
const changeEncodingV1 = 1

func encodeChange(c delegation.Change) []byte {
	b := make([]byte, 0, 32+len(c.Ref)+len(c.Kind)+16*len(c.Parties))
	b = append(b, changeEncodingV1)
	b = binary.AppendVarint(b, c.At.Unix())
	b = binary.AppendUvarint(b, uint64(c.At.Nanosecond()))
	b = appendString(b, string(c.Kind))
	b = binary.AppendUvarint(b, uint64(len(c.Parties)))
	for _, p := range c.Parties {
		b = appendString(b, string(p))
	}
	return appendString(b, c.Ref)
}

func decodeChange(b []byte) (delegation.Change, error) {
	d := decoder{b: b}
	if v := d.byte(); v != changeEncodingV1 {
		return delegation.Change{}, fmt.Errorf("unknown change encoding %d", v)
	}
	sec := d.varint()
	c := delegation.Change{At: time.Unix(sec, int64(d.uvarint()%1e9)).UTC(), Kind: delegation.ChangeKind(d.string())}
	n := d.uvarint()
	if n > uint64(len(b)) {
		return delegation.Change{}, fmt.Errorf("corrupt party count %d", n)
	}
	c.Parties = make([]delegation.PartyID, 0, n)
	for range n {
		c.Parties = append(c.Parties, delegation.PartyID(d.string()))
	}
	c.Ref = d.string()
	return c, d.err
}
