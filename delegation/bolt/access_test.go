package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

func TestAccessEncodingRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   delegation.AccessEvent
	}{
		{"allowed by fullmakt", delegation.AccessEvent{
			At: time.Date(2026, 11, 23, 10, 0, 0, 123_456_789, time.UTC), Actor: "03838000079", Party: "26912584126",
			Service: "skatteetaten.skattemelding", Action: "submit", Allowed: true, Relation: delegation.RelFullmakt,
			RelationID: "fm_abcdefghijklmnopqrstuvwxyz", PolicyVersion: "2026.11.1", Client: "nav-portal"}},
		{"denied, sparse", delegation.AccessEvent{At: time.Unix(0, 0).UTC(), Actor: "910000004", Party: "x", Service: "s", Action: "a"}},
		{"before 1970", delegation.AccessEvent{At: time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC), Actor: "a", Party: "b", Service: "s", Action: "a"}},
		{"long strings", delegation.AccessEvent{At: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Actor: "eidas:SE/NO/abc", Party: "b",
			Service: string(make([]byte, 300)), Action: "å", PolicyVersion: string(make([]byte, 70_000)), Client: "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeAccess(encodeAccess(tt.in))
			if err != nil {
				t.Fatalf("decodeAccess(encodeAccess(%v)) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.in, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAccessEncodingIsCompact(t *testing.T) {
	e := delegation.AccessEvent{
		At: time.Now(), Actor: "03838000079", Party: "26912584126", Service: "skatteetaten.skattemelding", Action: "submit",
		Allowed: true, Relation: delegation.RelFullmakt, RelationID: "fm_abcdefghijklmnopqrstuvwxyz", PolicyVersion: "2026.11.1", Client: "nav-portal",
	}
	raw, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if bin := encodeAccess(e); 2*len(bin) > len(raw) {
		t.Errorf("encodeAccess = %d bytes, JSON %d: want less than half", len(bin), len(raw))
	}
}

func TestDecodeAccessRejectsCorrupt(t *testing.T) {
	b := encodeAccess(delegation.AccessEvent{At: time.Now(), Actor: "a", Party: "b", Service: "s", Action: "x", Client: "c"})
	for n := range len(b) {
		if _, err := decodeAccess(b[:n]); err == nil {
			t.Errorf("decodeAccess(first %d of %d bytes) = nil error, want an error", n, len(b))
		}
	}
	// record is version | at | flags | the eight strings, by hand.
	record := func(version byte, sec int64, nsec uint64, flags byte) []byte {
		r := binary.AppendUvarint(binary.AppendVarint([]byte{version}, sec), nsec)
		r = append(r, flags)
		for _, s := range []string{"a", "b", "s", "x", "", "", "", "c"} {
			r = appendString(r, s)
		}
		return r
	}
	if _, err := decodeAccess(record(1, 1, 2, 1)); err != nil {
		t.Fatalf("decodeAccess(a record made by hand) = %v, want it to decode", err)
	}
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"trailing byte", append(b[:len(b):len(b)], 0)},
		{"version 2", record(2, 1, 2, 1)},
		{"version 0", record(0, 1, 2, 1)},
		{"unknown flag", record(1, 1, 2, 3)},
		{"a billion nanoseconds", record(1, 1, 1e9, 1)},
	} {
		if _, err := decodeAccess(tt.b); err == nil {
			t.Errorf("decodeAccess(%s) = nil error, want an error", tt.name)
		}
	}
}

func FuzzDecodeAccess(f *testing.F) {
	f.Add(encodeAccess(delegation.AccessEvent{At: time.Now(), Actor: "a", Party: "b", Service: "s", Action: "x", Allowed: true, Relation: "role"}))
	f.Add([]byte{1, 0, 255, 255, 255, 255, 15, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeAccess(b)
		if err != nil {
			return
		}
		if got, err := decodeAccess(encodeAccess(e)); err != nil || !cmp.Equal(e, got) {
			t.Fatalf("re-decoding %+v gave %+v, %v", e, got, err)
		}
	})
}

// A file of schema version 1 (before the decision log) is migrated on Open to the
// decision log's buckets (the log and its party index, no actor index) and takes
// access events; reopening keeps them.
func TestAccessLogMigratesAndSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		if err := migrations[0](tx); err != nil {
			return err
		}
		return meta.Put(kSchema, u64(1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(schema version 1): %v", err)
	}
	wantAccessBuckets(t, s)
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, delegation.Oslo())
	events := []delegation.AccessEvent{
		{At: at, Actor: "03838000079", Party: "26912584126", Service: "s", Action: "read", Allowed: true, Relation: delegation.RelParent},
		{At: at.Add(time.Second), Actor: "910000004", Party: "26912584126", Service: "s", Action: "submit"},
	}
	if err := s.AppendAccess(ctx, events); err != nil {
		t.Fatalf("AppendAccess after migration: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.AccessTo(ctx, "26912584126", 0, 0)
	if err != nil {
		t.Fatalf("AccessTo after reopen: %v", err)
	}
	if diff := cmp.Diff([]delegation.AccessEvent{events[1], events[0]}, got); diff != "" {
		t.Errorf("AccessTo after reopen (-want +got):\n%s", diff)
	}
	more := []delegation.AccessEvent{{At: at.Add(time.Minute), Actor: "03838000079", Party: "26912584126", Service: "s", Action: "read"}}
	if err := s.AppendAccess(ctx, more); err != nil {
		t.Fatalf("AppendAccess after reopen: %v", err)
	}
	if more[0].Seq <= events[1].Seq {
		t.Errorf("AppendAccess after reopen gave Seq %d, want more than %d", more[0].Seq, events[1].Seq)
	}
	if seq, err := s.LastChange(ctx); err != nil || seq != 0 {
		t.Errorf("LastChange() = %d, %v after appending access events only, want 0", seq, err)
	}
}

// A new file gets the decision log's buckets too.
func TestAccessLogBucketsOfNewFile(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "fullmakt.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantAccessBuckets(t, s)
}

// wantAccessBuckets fails the test unless the decision log's buckets in s are exactly
// access and idx_access_party.
func wantAccessBuckets(t *testing.T, s *Store) {
	t.Helper()
	var got []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			if n := string(name); n == "access" || strings.HasPrefix(n, "idx_access") {
				got = append(got, n)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"access", "idx_access_party"}, got); diff != "" {
		t.Errorf("decision log buckets (-want +got):\n%s", diff)
	}
}
