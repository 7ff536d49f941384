package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// openGrantStore opens a new store in a temporary directory, closed when t ends.
func openGrantStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "fullmakt.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestRecordEncodingRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 123_456_789, time.UTC)
	for _, tt := range []struct {
		name string
		in   grants.Record
	}{
		{"full", grants.Record{RequestID: "9f0c6a0e-2b5c-4f0e-9a43-0c1f3c2d6e7a", ExpiresAt: at, Active: true, Data: []byte(`{"client":"nav"}`)}},
		{"inactive", grants.Record{RequestID: "r", ExpiresAt: at, Data: []byte{0}}},
		{"never expires", grants.Record{RequestID: "r", Active: true, Data: []byte("x")}},
		{"no request id, no data", grants.Record{ExpiresAt: at, Active: true}},
		{"before 1970", grants.Record{ExpiresAt: time.Date(1969, 12, 31, 23, 59, 59, 1, time.UTC), Active: true}},
		{"binary request id and data", grants.Record{RequestID: "\x00\xff", Active: true, Data: bytes.Repeat([]byte{0xff, 0}, 400)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRecord(encodeRecord(tt.in))
			if err != nil {
				t.Fatalf("decodeRecord(encodeRecord(%+v)): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
			if !got.ExpiresAt.IsZero() && got.ExpiresAt.Location() != time.UTC {
				t.Errorf("ExpiresAt comes back in %v, want UTC", got.ExpiresAt.Location())
			}
		})
	}
}

func TestRecordEncodingIsCompact(t *testing.T) {
	// An access token record: a UUID request id, an hour's lifetime, 600 bytes of
	// request. The store adds little to the request it keeps.
	r := grants.Record{RequestID: "9f0c6a0e-2b5c-4f0e-9a43-0c1f3c2d6e7a", ExpiresAt: time.Now().Add(time.Hour), Active: true, Data: make([]byte, 600)}
	if n := len(encodeRecord(r)) - len(r.Data); n > 2+10+5+1+len(r.RequestID) {
		t.Errorf("encodeRecord adds %d bytes to the data, want at most %d", n, 2+10+5+1+len(r.RequestID))
	}
}

func TestDecodeRecordRejectsCorrupt(t *testing.T) {
	b := encodeRecord(grants.Record{RequestID: "req", ExpiresAt: time.Now(), Active: true})
	// The data is the rest of the value, so only cuts into the header are caught.
	for n := range len(b) {
		if _, err := decodeRecord(b[:n]); err == nil {
			t.Errorf("decodeRecord(first %d of %d bytes) = nil error, want an error", n, len(b))
		}
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"version 2", append([]byte{2}, b[1:]...)},
		{"version 0", append([]byte{0}, b[1:]...)},
		{"unknown flag", append([]byte{1, 1 << 2}, b[2:]...)},
		{"a billion nanoseconds", appendString(binary.AppendUvarint(binary.AppendVarint([]byte{1, recordExpires}, 1), 1e9), "")},
		{"request id longer than the value", []byte{1, recordActive, 5, 'a'}},
	} {
		if _, err := decodeRecord(tt.b); err == nil {
			t.Errorf("decodeRecord(%s) = nil error, want an error", tt.name)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(grants.Record{RequestID: "req", ExpiresAt: time.Now(), Active: true, Data: []byte("data")}))
	f.Add(encodeRecord(grants.Record{}))
	f.Add([]byte{1, 3, 255, 255, 255, 255, 15, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if got, err := decodeRecord(encodeRecord(r)); err != nil || !cmp.Equal(r, got) {
			t.Fatalf("re-decoding %+v gave %+v, %v", r, got, err)
		}
	})
}

func TestSigningKeyEncodingRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 23, 12, 0, 0, 5, time.UTC)
	for _, in := range []grants.SigningKey{
		{ID: "k1", Algorithm: "ES256", Private: []byte{0x30, 0x81, 0x87, 0x02, 0x01, 0x00}, CreatedAt: at, SignsFrom: at.Add(24 * time.Hour)},
		{ID: "k2"},
	} {
		b := encodeSigningKey(in)
		got, err := decodeSigningKey(in.ID, b)
		if err != nil {
			t.Fatalf("decodeSigningKey(encodeSigningKey(%s)): %v", in.ID, err)
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("round trip of %s (-want +got):\n%s", in.ID, diff)
		}
		for n := range len(b) {
			if _, err := decodeSigningKey(in.ID, b[:n]); err == nil {
				t.Errorf("decodeSigningKey(first %d of %d bytes of %s) = nil error, want an error", n, len(b), in.ID)
			}
		}
	}
}

func TestExpiryEncodingSortsAsTime(t *testing.T) {
	times := []time.Time{
		{},
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Unix(0, 0),
		time.Unix(0, 1),
		time.Unix(1, 0),
		time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo()),
		time.Date(2026, 11, 23, 12, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
	}
	for i, a := range times {
		for j, b := range times {
			ea, eb := appendExpiry(nil, a), appendExpiry(nil, b)
			if len(ea) != expiryLen {
				t.Fatalf("appendExpiry(%v) is %d bytes, want %d", a, len(ea), expiryLen)
			}
			if got, want := bytes.Compare(ea, eb), a.Compare(b); got != want {
				t.Errorf("expiry #%d (%v) against #%d (%v): bytes compare %d, times %d", i, a, j, b, got, want)
			}
		}
	}
}

// A file of schema version 2 (before the OAuth server's records) migrates on Open
// through version 3 to this build's, keeps what it held, and keeps the new records
// across a restart.
func TestGrantsMigrateFromSchema2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	person := delegation.Person{ID: "03838000079", Name: "Kari Nordmann", BirthDate: delegation.NewDate(1980, 3, 3)}
	if err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		for _, m := range migrations[:2] {
			if err := m(tx); err != nil {
				return err
			}
		}
		if err := tx.Bucket(bPersons).Put([]byte(person.ID), encodePerson(person)); err != nil {
			return err
		}
		return meta.Put(kSchema, u64(2))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(schema version 2): %v", err)
	}
	if v := schemaVersion(t, s); v != SchemaVersion() || v < 3 {
		t.Errorf("schema version after Open = %d, want this build's %d (3 or later)", v, SchemaVersion())
	}
	var missing []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bGrants, iGrantRequest, iGrantExpiry, bJTI, bSigningKeys, bSecrets} {
			if tx.Bucket(name) == nil {
				missing = append(missing, string(name))
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("buckets %v missing after the migration", missing)
	}
	if got, err := s.Person(ctx, person.ID); err != nil || got != person {
		t.Errorf("Person after the migration = %+v, %v, want %+v", got, err, person)
	}
	rec := grants.Record{Kind: grants.Refresh, Key: "rt", RequestID: "req", ExpiresAt: time.Now().Add(time.Hour), Active: true, Data: []byte("request")}
	if err := s.ApplyGrants(ctx, grants.Put(rec)); err != nil {
		t.Fatalf("ApplyGrants after the migration: %v", err)
	}
	secret, err := s.Secret(ctx, "hmac", func() ([]byte, error) { return []byte("first"), nil })
	if err != nil {
		t.Fatalf("Secret: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.Grant(ctx, grants.Refresh, "rt"); err != nil || !cmp.Equal(rec, got) {
		t.Errorf("Grant after reopen = %+v, %v, want %+v", got, err, rec)
	}
	again, err := s.Secret(ctx, "hmac", func() ([]byte, error) { return []byte("second"), nil })
	if err != nil || !bytes.Equal(again, secret) {
		t.Errorf("Secret after reopen = %q, %v, want %q", again, err, secret)
	}
}

func schemaVersion(t *testing.T, s *Store) (v uint64) {
	t.Helper()
	if err := s.db.View(func(tx *bbolt.Tx) error {
		v = binary.BigEndian.Uint64(tx.Bucket(bMeta).Get(kSchema))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGrantsRefuseBadArguments(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	now := time.Now()
	good := grants.Record{Kind: grants.Access, Key: "at", RequestID: "req", Active: true}
	mismatch := grants.Put(good)
	mismatch.Kind = grants.Refresh
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"put of a record of another kind", s.ApplyGrants(ctx, grants.Put(good), mismatch)},
		{"UseJTI without a jti", s.UseJTI(ctx, "", now.Add(time.Minute), now)},
		{"UseJTI without an expiry", s.UseJTI(ctx, "jti", time.Time{}, now)},
		{"PutSigningKey without an id", s.PutSigningKey(ctx, grants.SigningKey{Algorithm: "ES256"})},
		{"Secret without a name", func() error {
			_, err := s.Secret(ctx, "", func() ([]byte, error) { return []byte("x"), nil })
			return err
		}()},
		{"Secret of no bytes", func() error {
			_, err := s.Secret(ctx, "hmac", func() ([]byte, error) { return []byte{}, nil })
			return err
		}()},
	} {
		if tt.err == nil {
			t.Errorf("%s = nil, want an error", tt.name)
		} else if !strings.HasPrefix(tt.err.Error(), "bolt: ") {
			t.Errorf("%s = %q, want an error starting with %q", tt.name, tt.err, "bolt: ")
		}
	}
	if _, err := s.Grant(ctx, grants.Access, "at"); !errors.Is(err, grants.ErrNotFound) {
		t.Errorf("Grant after a refused Apply: err = %v, want %v", err, grants.ErrNotFound)
	}
	// The refused jti was not recorded.
	if err := s.UseJTI(ctx, "jti", now.Add(time.Minute), now); err != nil {
		t.Errorf("UseJTI after a refused UseJTI: %v", err)
	}
}

func TestGrantsHonourCanceledContext(t *testing.T) {
	s := openGrantStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	rec := grants.Record{Kind: grants.Access, Key: "at", RequestID: "req", ExpiresAt: now.Add(-time.Hour), Active: true}
	if err := s.ApplyGrants(context.Background(), grants.Put(rec)); err != nil {
		t.Fatal(err)
	}
	calls := 0
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"ApplyGrants", s.ApplyGrants(ctx, grants.Delete(grants.Access, "at"))},
		{"ApplyGrants()", s.ApplyGrants(ctx)},
		{"Grant", func() error { _, err := s.Grant(ctx, grants.Access, "at"); return err }()},
		{"UseJTI", s.UseJTI(ctx, "jti", now.Add(time.Minute), now)},
		{"CollectGrants", func() error { _, err := s.CollectGrants(ctx, now); return err }()},
		{"SigningKeys", func() error { _, err := s.SigningKeys(ctx); return err }()},
		{"PutSigningKey", s.PutSigningKey(ctx, grants.SigningKey{ID: "k"})},
		{"DeleteSigningKey", s.DeleteSigningKey(ctx, "k")},
		{"Secret", func() error {
			_, err := s.Secret(ctx, "hmac", func() ([]byte, error) { calls++; return []byte("x"), nil })
			return err
		}()},
	} {
		if !errors.Is(tt.err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want %v", tt.name, tt.err, context.Canceled)
		}
	}
	if calls > 0 {
		t.Errorf("Secret with a canceled context called newSecret")
	}
	bg := context.Background()
	if _, err := s.Grant(bg, grants.Access, "at"); err != nil {
		t.Errorf("Grant after canceled calls: %v, want the record still there", err)
	}
	if err := s.UseJTI(bg, "jti", now.Add(time.Minute), now); err != nil {
		t.Errorf("UseJTI after a canceled one: %v", err)
	}
}

// The indexes hold exactly the entries the records imply, whatever sequence of
// ops, concurrent or not, and collections ran.
func TestGrantIndexesStayConsistent(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	kinds := []grants.Kind{grants.Code, grants.Access, grants.Refresh, grants.PAR}
	// op returns a random op over a few kinds, keys, request ids and expiries, so
	// that ops collide.
	op := func(r *rand.Rand) grants.Op {
		k := kinds[r.IntN(len(kinds))]
		key := fmt.Sprintf("key-%d", r.IntN(20))
		requestID := fmt.Sprintf("req-%d", r.IntN(5))
		switch r.IntN(6) {
		case 0, 1:
			rec := grants.Record{Kind: k, Key: key, Data: []byte(key)}
			if r.IntN(4) > 0 {
				rec.RequestID = requestID
			}
			if r.IntN(4) > 0 {
				rec.ExpiresAt = now.Add(time.Duration(r.IntN(120)-60) * time.Minute)
			}
			return grants.Put(rec)
		case 2:
			return grants.Delete(k, key)
		case 3:
			return grants.Use(k, key)
		case 4:
			return grants.DeleteGrant(k, requestID)
		default:
			return grants.DeactivateGrant(k, requestID)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 1))
			for i := range 150 {
				ops := make([]grants.Op, 1+r.IntN(4))
				for j := range ops {
					ops[j] = op(r)
				}
				err := s.ApplyGrants(ctx, ops...)
				if err != nil && !errors.Is(err, grants.ErrNotFound) && !errors.Is(err, grants.ErrInactive) {
					t.Errorf("goroutine %d, apply %d: %v", g, i, err)
					return
				}
				if r.IntN(10) == 0 {
					if err := s.UseJTI(ctx, fmt.Sprintf("jti-%d", r.IntN(10)), now.Add(time.Duration(r.IntN(120)-60)*time.Minute), now.Add(time.Duration(r.IntN(240)-120)*time.Minute)); err != nil && !errors.Is(err, grants.ErrReplay) {
						t.Errorf("goroutine %d: UseJTI: %v", g, err)
					}
				}
			}
		})
	}
	wg.Wait()
	checkGrantIndexes(t, s)
	if _, err := s.CollectGrants(ctx, now); err != nil {
		t.Fatalf("CollectGrants: %v", err)
	}
	checkGrantIndexes(t, s)
	if err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bGrants).ForEach(func(k, v []byte) error {
			if h, err := decodeRecordHeader(v); err != nil || !h.expiresAt.IsZero() && h.expiresAt.Before(now) {
				t.Errorf("record %q (expires %v, %v) left after collection", k, h.expiresAt, err)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
}

// checkGrantIndexes fails the test unless the request and expiry indexes of s hold
// exactly the entries its records and jtis imply.
func checkGrantIndexes(t *testing.T, s *Store) {
	t.Helper()
	var wantRequest, wantExpiry, gotRequest, gotExpiry []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bGrants).ForEach(func(k, v []byte) error {
			h, err := decodeRecordHeader(v)
			if err != nil {
				return err
			}
			kind, key := grants.Kind(k[0]), string(k[1:])
			if h.requestID != "" {
				wantRequest = append(wantRequest, string(requestIndexKey(kind, h.requestID, key)))
			}
			if !h.expiresAt.IsZero() {
				wantExpiry = append(wantExpiry, string(expiryIndexKey(h.expiresAt, byte(kind), key)))
			}
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bJTI).ForEach(func(k, v []byte) error {
			wantExpiry = append(wantExpiry, string(indexKeyAt(v, jtiKind, string(k))))
			return nil
		}); err != nil {
			return err
		}
		for _, idx := range []struct {
			b   []byte
			got *[]string
		}{{iGrantRequest, &gotRequest}, {iGrantExpiry, &gotExpiry}} {
			if err := tx.Bucket(idx.b).ForEach(func(k, _ []byte) error {
				*idx.got = append(*idx.got, string(k))
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(wantRequest)
	slices.Sort(wantExpiry)
	if diff := cmp.Diff(wantRequest, gotRequest); diff != "" {
		t.Errorf("request index (-implied by the records +stored):\n%s", diff)
	}
	if diff := cmp.Diff(wantExpiry, gotExpiry); diff != "" {
		t.Errorf("expiry index (-implied by the records and jtis +stored):\n%s", diff)
	}
}

// A collection larger than one transaction's share deletes everything in several
// transactions, and says how many.
func TestCollectGrantsInBatches(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	const n = 2*collectBatch + 7
	ops := make([]grants.Op, 0, n)
	for i := range n {
		ops = append(ops, grants.Put(grants.Record{Kind: grants.Access, Key: fmt.Sprint(i), RequestID: "req", ExpiresAt: now.Add(-time.Duration(i+1) * time.Second)}))
	}
	if err := s.ApplyGrants(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := s.UseJTI(ctx, fmt.Sprint("jti-", i), now.Add(-time.Second), now.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.CollectGrants(ctx, now); err != nil || got != n+10 {
		t.Errorf("CollectGrants = %d, %v, want %d, nil", got, err, n+10)
	}
	checkGrantIndexes(t, s)
	var left int
	if err := s.db.View(func(tx *bbolt.Tx) error {
		left = tx.Bucket(bGrants).Stats().KeyN + tx.Bucket(bJTI).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d records and jtis left after collecting everything", left)
	}
}

// Keys and request ids are bytes to this backend: NUL and 0xff, which a separator
// scheme would trip on, are kept apart like any others.
func TestGrantKeysMayHoldAnyByte(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	keys := []string{"a", "a\x00", "a\x00b", "a\x00\x00", "a\xff", "a\xffb", "\x00"}
	requestIDs := []string{"r", "r\x00", "r\x001", "r\xff"}
	var records []grants.Record
	for i, key := range keys {
		records = append(records, grants.Record{Kind: grants.Access, Key: key, RequestID: requestIDs[i%len(requestIDs)], Active: true, Data: []byte(key)})
		if err := s.ApplyGrants(ctx, grants.Put(records[i])); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	for _, requestID := range requestIDs {
		if err := s.ApplyGrants(ctx, grants.DeleteGrant(grants.Access, requestID)); err != nil {
			t.Fatalf("DeleteGrant(%q): %v", requestID, err)
		}
		var remaining []grants.Record
		for _, r := range records {
			got, err := s.Grant(ctx, r.Kind, r.Key)
			switch {
			case r.RequestID == requestID && !errors.Is(err, grants.ErrNotFound):
				t.Errorf("after DeleteGrant(%q): Grant(%q) = %v, want %v", requestID, r.Key, err, grants.ErrNotFound)
			case r.RequestID != requestID && (err != nil || !cmp.Equal(r, got)):
				t.Errorf("after DeleteGrant(%q): Grant(%q) = %+v, %v, want %+v", requestID, r.Key, got, err, r)
			}
			if r.RequestID != requestID {
				remaining = append(remaining, r)
			}
		}
		records = remaining
	}
	checkGrantIndexes(t, s)
}
