package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/idp/grants"
)

var _ grants.Store = (*Store)(nil)

// The OAuth server's records (the grants.Store port) have buckets of their own,
// added by schema version 3:
//
//	grants             kind | key → record
//	idx_grant_request  kind | request id (uvarint length, bytes) | key → empty
//	idx_grant_expiry   expiry | kind | key → empty; kind 0 is a jti, its key the jti
//	jti                jti → expiry
//	signing_keys       id → signing key
//	secrets            name → bytes
//
// Keys, request ids and jtis are opaque strings chosen by the server or by clients
// (signatures, hashes, request URIs, UUIDs), so a composite key is delimited by a
// fixed-width kind and a length prefix, never by a separator byte they might
// contain. An expiry is expiryLen bytes whose byte order is the order in time (see
// appendExpiry), so that collection walks the expiry index from its start and stops
// at now. Records that never expire (a zero ExpiresAt) are not in it.
//
// The request index lets DeleteGrant and DeactivateGrant reach every record of a
// grant with one prefix scan. Every write keeps the record and its two index
// entries together: Put of an existing key first removes the old record's entries.
var (
	bGrants       = []byte("grants")
	iGrantRequest = []byte("idx_grant_request")
	iGrantExpiry  = []byte("idx_grant_expiry")
	bJTI          = []byte("jti")
	bSigningKeys  = []byte("signing_keys")
	bSecrets      = []byte("secrets")
)

// jtiKind marks a jti in the expiry index. It is no grants.Kind.
const jtiKind = 0

// collectBatch is how many expired records and jtis CollectGrants deletes in one
// transaction, so that a large collection holds the writer lock for a few
// milliseconds at a time rather than for the whole run.
const collectBatch = 1000

// Grant implements grants.Store.
func (s *Store) Grant(ctx context.Context, k grants.Kind, key string) (r grants.Record, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bGrants).Get(recordKey(k, key))
		if raw == nil {
			return fmt.Errorf("bolt: grant %s: %w", k, grants.ErrNotFound)
		}
		if r, err = decodeRecord(raw); err != nil {
			return fmt.Errorf("bolt: grant %s: %w", k, err)
		}
		// Data points into the transaction's pages until it is copied.
		r.Data = bytes.Clone(r.Data)
		return nil
	})
	if err != nil {
		return grants.Record{}, err
	}
	r.Kind, r.Key = k, key
	if !r.Active {
		return r, fmt.Errorf("bolt: grant %s: %w", k, grants.ErrInactive)
	}
	return r, nil
}

// ApplyGrants implements grants.Store. The ops of concurrent callers share one
// transaction and one fsync (see commit). An op that fails rolls back the shared
// transaction; bbolt then runs the others again without it and the failing Apply
// alone, so a failed Apply writes nothing and costs the others a retry, not their
// writes.
func (s *Store) ApplyGrants(ctx context.Context, ops ...grants.Op) error {
	for i, op := range ops {
		if err := validGrantOp(op); err != nil {
			return fmt.Errorf("bolt: apply grants: op %d of %d: %w", i+1, len(ops), err)
		}
	}
	if err := ctx.Err(); err != nil || len(ops) == 0 {
		return err
	}
	return s.commit(func(tx *bbolt.Tx) error {
		g := openGrants(tx)
		for _, op := range ops {
			if err := g.apply(op); err != nil {
				return err
			}
		}
		return nil
	})
}

// validGrantOp is op.Validate, and a Put's record of the op's kind: Op carries the
// kind twice for a Put, and a record must not land in a kind it does not claim.
func validGrantOp(op grants.Op) error {
	if err := op.Validate(); err != nil {
		return err
	}
	if op.Verb == grants.VerbPut && op.Record.Kind != op.Kind {
		return fmt.Errorf("put %s: the record is of kind %s", op.Kind, op.Record.Kind)
	}
	return nil
}

// grantBuckets are the buckets of one write transaction that ops change.
type grantBuckets struct {
	records, byRequest, byExpiry *bbolt.Bucket
}

func openGrants(tx *bbolt.Tx) grantBuckets {
	return grantBuckets{tx.Bucket(bGrants), tx.Bucket(iGrantRequest), tx.Bucket(iGrantExpiry)}
}

// apply applies op. Its errors say "bolt: ", the verb and the kind, then what went
// wrong: the port's error (grants.ErrNotFound, grants.ErrInactive), bbolt's or a
// decoding error.
func (g grantBuckets) apply(op grants.Op) error {
	var verb string
	var err error
	switch op.Verb {
	case grants.VerbPut:
		verb, err = "put", g.put(op.Record)
	case grants.VerbDelete:
		verb = "delete"
		_, err = g.delete(op.Kind, op.Key, nil)
	case grants.VerbUse:
		verb, err = "use", g.use(op.Kind, op.Key)
	case grants.VerbDeleteGrant:
		verb = "delete grant"
		err = g.eachOfGrant(op.Kind, op.RequestID, func(key string) error {
			_, err := g.delete(op.Kind, key, nil)
			return err
		})
	case grants.VerbDeactivateGrant:
		verb = "deactivate grant"
		err = g.eachOfGrant(op.Kind, op.RequestID, func(key string) error {
			return g.deactivate(op.Kind, key)
		})
	default:
		verb, err = fmt.Sprintf("op %d", op.Verb), errors.New("unknown verb") // validGrantOp refuses it
	}
	if err != nil {
		return fmt.Errorf("bolt: %s %s: %w", verb, op.Kind, err)
	}
	return nil
}

// put stores r, active, with its index entries, replacing the record with its key.
func (g grantBuckets) put(r grants.Record) error {
	rk := recordKey(r.Kind, r.Key)
	if old := g.records.Get(rk); old != nil {
		h, err := decodeRecordHeader(old)
		if err != nil {
			return err
		}
		if err := g.unindex(r.Kind, r.Key, h); err != nil {
			return err
		}
	}
	r.Active = true
	// bbolt keeps keys and values until the commit: each Put gets its own.
	if err := g.records.Put(rk, encodeRecord(r)); err != nil {
		return err
	}
	if r.RequestID != "" {
		if err := g.byRequest.Put(requestIndexKey(r.Kind, r.RequestID, r.Key), nil); err != nil {
			return err
		}
	}
	if !r.ExpiresAt.IsZero() {
		return g.byExpiry.Put(expiryIndexKey(r.ExpiresAt, byte(r.Kind), r.Key), nil)
	}
	return nil
}

// delete deletes the record of kind k with key and its index entries, if it is
// there and keep (when not nil) does not refuse it. It reports whether it did.
func (g grantBuckets) delete(k grants.Kind, key string, keep func(recordHeader) bool) (bool, error) {
	rk := recordKey(k, key)
	old := g.records.Get(rk)
	if old == nil {
		return false, nil
	}
	h, err := decodeRecordHeader(old)
	if err != nil {
		return false, err
	}
	if keep != nil && keep(h) {
		return false, nil
	}
	if err := g.unindex(k, key, h); err != nil {
		return false, err
	}
	return true, g.records.Delete(rk)
}

// unindex deletes the index entries of the stored record of kind k with key,
// whose header is h.
func (g grantBuckets) unindex(k grants.Kind, key string, h recordHeader) error {
	if h.requestID != "" {
		if err := g.byRequest.Delete(requestIndexKey(k, h.requestID, key)); err != nil {
			return err
		}
	}
	if !h.expiresAt.IsZero() {
		return g.byExpiry.Delete(expiryIndexKey(h.expiresAt, byte(k), key))
	}
	return nil
}

// use makes the active record of kind k with key inactive: the compare-and-set of
// grants.VerbUse.
func (g grantBuckets) use(k grants.Kind, key string) error {
	rk := recordKey(k, key)
	old := g.records.Get(rk)
	if old == nil {
		return grants.ErrNotFound
	}
	h, err := decodeRecordHeader(old)
	if err != nil {
		return err
	}
	if !h.active {
		return grants.ErrInactive
	}
	return g.records.Put(rk, inactiveRecord(old))
}

// deactivate makes the record of kind k with key inactive, if it is there.
func (g grantBuckets) deactivate(k grants.Kind, key string) error {
	rk := recordKey(k, key)
	old := g.records.Get(rk)
	if old == nil {
		return nil
	}
	h, err := decodeRecordHeader(old)
	if err != nil {
		return err
	}
	if !h.active {
		return nil
	}
	return g.records.Put(rk, inactiveRecord(old))
}

// eachOfGrant calls fn with the key of every record of kind k in the grant
// requestID. It collects the keys first (a cursor may skip entries when its bucket
// changes under it), and deletes any index entry left without its record, which no
// write leaves behind.
func (g grantBuckets) eachOfGrant(k grants.Kind, requestID string, fn func(key string) error) error {
	p := requestIndexKey(k, requestID, "")
	var keys []string
	c := g.byRequest.Cursor()
	for ik, _ := c.Seek(p); ik != nil && bytes.HasPrefix(ik, p); ik, _ = c.Next() {
		keys = append(keys, string(ik[len(p):]))
	}
	for _, key := range keys {
		if g.records.Get(recordKey(k, key)) == nil {
			if err := g.byRequest.Delete(requestIndexKey(k, requestID, key)); err != nil {
				return err
			}
			continue
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	return nil
}

// UseJTI implements grants.Store. The check and the record are one transaction,
// which goes through the group commit as ApplyGrants' do: a client that
// authenticates with private_key_jwt records a jti on every token request. A replay
// is a result, not a failed transaction: it writes nothing and returns nil to
// bbolt, so a replayed assertion never rolls back the writes of the callers it
// shares a commit with.
func (s *Store) UseJTI(ctx context.Context, jti string, exp, now time.Time) error {
	if jti == "" {
		return errors.New("bolt: use jti: empty jti")
	}
	if exp.IsZero() {
		return errors.New("bolt: use jti: no expiry")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var replayed bool
	err := s.commit(func(tx *bbolt.Tx) error {
		replayed = false // fn may run more than once
		seen, byExpiry := tx.Bucket(bJTI), tx.Bucket(iGrantExpiry)
		if old := seen.Get([]byte(jti)); old != nil {
			if bytes.Compare(old, appendExpiry(nil, now)) > 0 {
				replayed = true
				return nil
			}
			if err := byExpiry.Delete(indexKeyAt(old, jtiKind, jti)); err != nil {
				return err
			}
		}
		if err := seen.Put([]byte(jti), appendExpiry(nil, exp)); err != nil {
			return err
		}
		return byExpiry.Put(expiryIndexKey(exp, jtiKind, jti), nil)
	})
	if err != nil {
		return fmt.Errorf("bolt: use jti: %w", err)
	}
	if replayed {
		return fmt.Errorf("bolt: use jti: %w", grants.ErrReplay)
	}
	return nil
}

// CollectGrants implements grants.Store. It deletes in transactions of up to
// collectBatch records and jtis each, checking ctx between them; when ctx ends it
// returns how many it deleted so far with ctx's error.
func (s *Store) CollectGrants(ctx context.Context, now time.Time) (int, error) {
	end := appendExpiry(nil, now)
	total := 0
	for {
		var deleted, seen int
		err := s.update(ctx, func(tx *bbolt.Tx) error {
			deleted, seen = 0, 0
			g, jtis := openGrants(tx), tx.Bucket(bJTI)
			var expired [][]byte
			c := g.byExpiry.Cursor()
			// An entry sorts before end exactly when its expiry is before now: a
			// longer key with end as its prefix sorts after end.
			for k, _ := c.First(); k != nil && len(expired) < collectBatch && bytes.Compare(k, end) < 0; k, _ = c.Next() {
				expired = append(expired, bytes.Clone(k))
			}
			seen = len(expired)
			for _, k := range expired {
				if len(k) <= expiryLen {
					// Not an entry this file writes; drop it.
					if err := g.byExpiry.Delete(k); err != nil {
						return err
					}
					continue
				}
				at, kind, key := k[:expiryLen], k[expiryLen], string(k[expiryLen+1:])
				if kind == jtiKind {
					// The jti's own expiry, not the index's, says whether it goes:
					// they agree, as UseJTI writes both.
					if v := jtis.Get([]byte(key)); v != nil && bytes.Compare(v, end) < 0 {
						if err := jtis.Delete([]byte(key)); err != nil {
							return err
						}
						deleted++
					}
				} else {
					ok, err := g.delete(grants.Kind(kind), key, func(h recordHeader) bool {
						return h.expiresAt.IsZero() || !bytes.Equal(appendExpiry(nil, h.expiresAt), at)
					})
					if err != nil {
						return fmt.Errorf("%s: %w", grants.Kind(kind), err)
					}
					if ok {
						deleted++
					}
				}
				// Gone with its record, or an entry that has none.
				if err := g.byExpiry.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		total += deleted
		if err != nil {
			return total, fmt.Errorf("bolt: collect grants: %w", err)
		}
		if seen < collectBatch {
			return total, nil
		}
	}
}

// SigningKeys implements grants.Store.
func (s *Store) SigningKeys(ctx context.Context) (keys []grants.SigningKey, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bSigningKeys).ForEach(func(id, v []byte) error {
			k, err := decodeSigningKey(string(id), v)
			if err != nil {
				return err
			}
			keys = append(keys, k)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(keys, func(a, b grants.SigningKey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return keys, nil
}

// PutSigningKey implements grants.Store.
func (s *Store) PutSigningKey(ctx context.Context, k grants.SigningKey) error {
	if k.ID == "" {
		return errors.New("bolt: put signing key: empty id")
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bSigningKeys).Put([]byte(k.ID), encodeSigningKey(k))
	})
}

// DeleteSigningKey implements grants.Store.
func (s *Store) DeleteSigningKey(ctx context.Context, id string) error {
	if id == "" {
		return nil // no key has it
	}
	return s.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bSigningKeys).Delete([]byte(id))
	})
}

// Secret implements grants.Store. newSecret is called outside any transaction, and
// only when a first look finds no secret; the secret is then created in a write
// transaction that looks again, so of two first callers the second gets the
// first's bytes and its own are dropped.
func (s *Store) Secret(ctx context.Context, name string, newSecret func() ([]byte, error)) ([]byte, error) {
	if name == "" {
		return nil, errors.New("bolt: secret: empty name")
	}
	var secret []byte
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		secret = bytes.Clone(tx.Bucket(bSecrets).Get([]byte(name)))
		return nil
	})
	if err != nil || secret != nil {
		return secret, err
	}
	fresh, err := newSecret()
	if err != nil {
		return nil, fmt.Errorf("bolt: new secret %s: %w", name, err)
	}
	if len(fresh) == 0 {
		return nil, fmt.Errorf("bolt: new secret %s: no bytes", name)
	}
	fresh = bytes.Clone(fresh) // bbolt keeps it until the commit
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bSecrets)
		if v := b.Get([]byte(name)); v != nil {
			secret = bytes.Clone(v)
			return nil
		}
		secret = fresh
		return b.Put([]byte(name), fresh)
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: secret %s: %w", name, err)
	}
	return secret, nil
}

// commit runs fn in a write transaction. While other commits are in flight it
// joins them in bbolt's group commit (db.Batch): every caller that arrives within
// Options.BatchDelay shares one transaction and one fsync, which is what lets the
// token endpoint write thousands of records a second. A caller alone commits at
// once (db.Update) instead of waiting for company that is not coming.
//
// bbolt may run fn more than once (when another function of the batch fails, it
// runs the rest again), so fn must change nothing outside tx but result variables
// that it resets each time.
func (s *Store) commit(fn func(*bbolt.Tx) error) error {
	defer s.writers.Add(-1)
	if s.writers.Add(1) == 1 {
		return s.db.Update(fn)
	}
	return s.db.Batch(fn)
}

// recordKey is the key of the record of kind k with key: kind | key.
func recordKey(k grants.Kind, key string) []byte {
	return append([]byte{byte(k)}, key...)
}

// requestIndexKey is the request index key of the record of kind k with key in the
// grant requestID: kind | uvarint length of requestID | requestID | key. With an
// empty key it is the prefix of every record of kind k in that grant; the length
// keeps a grant's prefix from matching a longer request id that starts with it.
func requestIndexKey(k grants.Kind, requestID, key string) []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(requestID)+len(key))
	b = append(b, byte(k))
	b = binary.AppendUvarint(b, uint64(len(requestID)))
	return append(append(b, requestID...), key...)
}

// expiryIndexKey is the expiry index key of the record of kind k (or a jti, kind
// jtiKind) with key that expires at t: expiry | kind | key.
func expiryIndexKey(t time.Time, kind byte, key string) []byte {
	b := make([]byte, 0, expiryLen+1+len(key))
	b = append(appendExpiry(b, t), kind)
	return append(b, key...)
}

// indexKeyAt is expiryIndexKey of an expiry already encoded.
func indexKeyAt(exp []byte, kind byte, key string) []byte {
	b := make([]byte, 0, len(exp)+1+len(key))
	b = append(append(b, exp...), kind)
	return append(b, key...)
}

// expiryLen is the length of an encoded expiry.
const expiryLen = 12

// appendExpiry appends t as expiryLen bytes that sort as the instants do: the Unix
// seconds with the sign bit flipped (so that negative ones sort first), then the
// nanoseconds, both big-endian.
func appendExpiry(b []byte, t time.Time) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
}

// Records are written on every token request, so they have a compact binary
// encoding like the decision log's, versioned like the others:
//
//	version=1 | flags (bit 0: active, bit 1: expires) | [expires_at] | request_id | data
//
// where expires_at (present when bit 1 is set) is a varint of Unix seconds and a
// uvarint of nanoseconds, request_id a uvarint length and its bytes, and data the
// rest of the value. Kind and key are in the key. The flags byte is at a fixed
// offset, so that Use clears one bit of a copy instead of decoding and encoding the
// request. Times come back in UTC.
const (
	recordEncodingV1 = 1

	recordActive  = 1 << 0
	recordExpires = 1 << 1
)

func encodeRecord(r grants.Record) []byte {
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+binary.MaxVarintLen32+len(r.RequestID)+len(r.Data))
	var flags byte
	if r.Active {
		flags |= recordActive
	}
	if !r.ExpiresAt.IsZero() {
		flags |= recordExpires
	}
	b = append(b, recordEncodingV1, flags)
	if !r.ExpiresAt.IsZero() {
		b = appendTime(b, r.ExpiresAt)
	}
	b = appendString(b, r.RequestID)
	return append(b, r.Data...)
}

// recordHeader is a record without its data: what the indexes and Use need.
type recordHeader struct {
	active    bool
	expiresAt time.Time
	requestID string
	rest      []byte // the data, in the transaction's pages
}

func decodeRecordHeader(b []byte) (recordHeader, error) {
	d := decoder{b: b}
	if v := d.byte(); v != recordEncodingV1 && d.err == nil {
		return recordHeader{}, fmt.Errorf("bolt: decode grant record: unknown encoding %d", v)
	}
	flags := d.byte()
	if flags&^(recordActive|recordExpires) != 0 {
		d.fail()
	}
	h := recordHeader{active: flags&recordActive != 0}
	if flags&recordExpires != 0 {
		h.expiresAt = d.time()
	}
	h.requestID = d.string()
	h.rest, d.b = d.b, nil
	return h, d.done("grant record")
}

// decodeRecord decodes a stored record but for its kind and key. Its Data points
// into b (nil when empty): copy it before b's transaction ends.
func decodeRecord(b []byte) (grants.Record, error) {
	h, err := decodeRecordHeader(b)
	if err != nil {
		return grants.Record{}, err
	}
	r := grants.Record{RequestID: h.requestID, ExpiresAt: h.expiresAt, Active: h.active}
	if len(h.rest) > 0 {
		r.Data = h.rest
	}
	return r, nil
}

// inactiveRecord returns a copy of the stored record b, made inactive.
func inactiveRecord(b []byte) []byte {
	c := bytes.Clone(b)
	c[1] &^= recordActive
	return c
}

// Signing keys are few and read once at start-up; they have the same kind of
// encoding all the same, one way of doing things in the package:
//
//	version=1 | algorithm | private | created_at | signs_from
//
// where algorithm and private are a uvarint length and their bytes, and a time a
// varint of Unix seconds and a uvarint of nanoseconds. The id is the key.
const signingKeyEncodingV1 = 1

func encodeSigningKey(k grants.SigningKey) []byte {
	b := make([]byte, 0, 1+2*binary.MaxVarintLen16+len(k.Algorithm)+len(k.Private)+4*binary.MaxVarintLen64)
	b = append(b, signingKeyEncodingV1)
	b = appendString(b, k.Algorithm)
	b = appendBytes(b, k.Private)
	return appendTime(appendTime(b, k.CreatedAt), k.SignsFrom)
}

func decodeSigningKey(id string, b []byte) (grants.SigningKey, error) {
	d := decoder{b: b}
	if v := d.byte(); v != signingKeyEncodingV1 && d.err == nil {
		return grants.SigningKey{}, fmt.Errorf("bolt: decode signing key %s: unknown encoding %d", id, v)
	}
	k := grants.SigningKey{ID: id, Algorithm: d.string()}
	if p := d.bytes(); len(p) > 0 {
		k.Private = bytes.Clone(p)
	}
	k.CreatedAt, k.SignsFrom = d.time(), d.time()
	return k, d.done("signing key")
}

// appendBytes appends p as a uvarint length and its bytes.
func appendBytes(b, p []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(p))), p...)
}

// bytes reads bytes written by appendBytes. They point into the decoded value.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

// appendTime appends t as a varint of Unix seconds and a uvarint of nanoseconds.
// The zero time comes back as the zero time.
func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

// time reads a time written by appendTime, in UTC.
func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if nsec >= 1e9 {
		d.fail()
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
