package bolt

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// migrated returns a migrated fullmakt kari gives ola, from sourceID, ending on to
// (none when zero), with the given status.
func migrated(sourceID string, to delegation.Date, status delegation.FullmaktStatus) delegation.Fullmakt {
	f := delegation.MigratedFullmakt(kari, ola, delegation.Scope{Areas: []string{"health"}},
		delegation.Period{From: delegation.NewDate(2025, 1, 1), To: to}, false, sourceID)
	f.Status = status
	return f
}

// A file of schema version 4 (before notifications) migrates on Open to this
// build's version, with the notification buckets and an index of the fullmakter it
// holds by their last day; notifications, cursors and read marks then survive a
// restart, and the notification sequence goes on where it stopped.
func TestNotificationsMigrateFromSchema4(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	march31, april15 := delegation.NewDate(2026, 3, 31), delegation.NewDate(2026, 4, 15)
	active := migrated("altinn-1", march31, delegation.StatusActive)
	revoked := migrated("altinn-2", march31, delegation.StatusRevoked)
	later := migrated("altinn-3", april15, delegation.StatusActive)
	open := migrated("altinn-4", delegation.Date{}, delegation.StatusActive)
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		for _, m := range migrations[:4] {
			if err := m(tx); err != nil {
				return err
			}
		}
		for _, f := range []delegation.Fullmakt{active, revoked, later, open} {
			if err := put(tx, bFullmakter, []byte(f.ID), f); err != nil {
				return err
			}
		}
		return meta.Put(kSchema, u64(4))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(schema version 4): %v", err)
	}
	if v := schemaVersion(t, s); v != SchemaVersion() || v < 5 {
		t.Errorf("schema version after Open = %d, want this build's %d (5 or later)", v, SchemaVersion())
	}
	var missing []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bNotifications, iNotePerson, iNoteKey, bCursors, bReadMarks, iFullmaktEnding} {
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
	wantIndex := []string{
		"2026-03-31\x00" + active.ID, "2026-03-31\x00" + revoked.ID, "2026-04-15\x00" + later.ID,
	}
	if d := cmp.Diff(wantIndex, endingIndex(t, s), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("end-date index after the migration (-want +got):\n%s", d)
	}
	want := []delegation.Fullmakt{active, revoked}
	if active.ID > revoked.ID {
		want = []delegation.Fullmakt{revoked, active}
	}
	for _, tt := range []struct {
		from, to delegation.Date
		want     []delegation.Fullmakt
	}{
		{march31, april15, append(want, later)},
		{march31, march31, want},
		{march31.AddDays(1), april15, []delegation.Fullmakt{later}},
		{april15.AddDays(1), delegation.NewDate(9999, 12, 31), nil},
	} {
		got, err := s.FullmakterEnding(ctx, tt.from, tt.to)
		if err != nil {
			t.Errorf("FullmakterEnding(%v, %v): %v", tt.from, tt.to, err)
		} else if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("FullmakterEnding(%v, %v) after the migration (-want +got):\n%s", tt.from, tt.to, d)
		}
	}

	at := time.Date(2026, 3, 17, 9, 0, 0, 0, time.UTC)
	first, err := s.AddNotifications(ctx, "changes", 7, []delegation.Notification{
		{Person: kari, Kind: delegation.NoteFullmaktExpiring, Ref: active.ID, Other: ola, At: at, Key: "expiring/" + active.ID},
	})
	if err != nil || len(first) != 1 {
		t.Fatalf("AddNotifications after the migration = %+v, %v, want one stored", first, err)
	}
	if err := s.MarkRead(ctx, kari, first[0].Seq); err != nil {
		t.Fatalf("MarkRead: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.NotificationsFor(ctx, kari, 0, 0); err != nil || !cmp.Equal(first, got) {
		t.Errorf("NotificationsFor after reopen = %+v, %v, want %+v", got, err, first)
	}
	if pos, err := s.Cursor(ctx, "changes"); err != nil || pos != 7 {
		t.Errorf("Cursor(changes) after reopen = %d, %v, want 7", pos, err)
	}
	if read, err := s.ReadUpTo(ctx, kari); err != nil || read != first[0].Seq {
		t.Errorf("ReadUpTo after reopen = %d, %v, want %d", read, err, first[0].Seq)
	}
	again, err := s.AddNotifications(ctx, "", 0, []delegation.Notification{
		{Person: kari, Kind: delegation.NoteFullmaktExpiring, Ref: active.ID, At: at, Key: "expiring/" + active.ID},
		{Person: ola, Kind: delegation.NoteFullmaktExpiring, Ref: active.ID, At: at, Key: "expiring/" + active.ID},
	})
	if err != nil || len(again) != 1 || again[0].Person != ola || again[0].Seq <= first[0].Seq {
		t.Errorf("AddNotifications after reopen = %+v, %v, want only ola's, with a Seq above %d", again, err, first[0].Seq)
	}
}

// endingIndex returns the keys of the end-date index.
func endingIndex(t *testing.T, s *Store) (keys []string) {
	t.Helper()
	if err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(iFullmaktEnding).ForEach(func(k, _ []byte) error {
			keys = append(keys, string(k))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// The end-date index holds exactly the entries the stored fullmakter imply, whatever
// sequence of creations, endings and re-imports (which may move the end date, or
// take it away) ran.
func TestFullmaktEndingIndexStaysConsistent(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	day := delegation.NewDate(2026, 1, 1)
	var ids []string
	for i := range 120 {
		to := day.AddDays(i % 11)
		if i%5 == 0 {
			to = delegation.Date{}
		}
		switch {
		case i%4 == 0 || len(ids) == 0:
			f := migrated(fmt.Sprintf("created-%d", i), to, delegation.StatusActive)
			if err := s.CreateFullmakt(ctx, f); err != nil {
				t.Fatalf("CreateFullmakt #%d: %v", i, err)
			}
			ids = append(ids, f.ID)
		case i%4 == 3:
			_, err := s.EndFullmakt(ctx, delegation.EndFullmakt{ID: ids[i%len(ids)], Status: delegation.StatusRevoked, By: kari, At: time.Now()})
			if err != nil && !errors.Is(err, delegation.ErrConflict) {
				t.Fatalf("EndFullmakt #%d: %v", i, err)
			}
		default:
			// A re-import, of a stored fullmakt or a new one, with another period.
			f := migrated(fmt.Sprintf("created-%d", (i/2)*2), to, delegation.StatusActive)
			if err := s.UpdateRegister(ctx, func(tx delegation.RegisterTx) error { return tx.PutFullmakt(f) }); err != nil {
				t.Fatalf("PutFullmakt #%d: %v", i, err)
			}
		}
	}
	var implied []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bFullmakter).ForEach(func(id, _ []byte) error {
			f, err := readFullmakt(tx, string(id))
			if err == nil && !f.Period.To.IsZero() {
				implied = append(implied, f.Period.To.String()+"\x00"+f.ID)
			}
			return err
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(implied) < 10 {
		t.Fatalf("%d fullmakter with an end date left, want more for the test to mean something", len(implied))
	}
	if d := cmp.Diff(implied, endingIndex(t, s), cmpopts.SortSlices(func(a, b string) bool { return a < b })); d != "" {
		t.Errorf("end-date index (-implied +stored):\n%s", d)
	}
}

func TestNotificationsRefuseBadArguments(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"SetCursor(no name)", s.SetCursor(ctx, "", 1)},
		{"MarkRead(no person)", s.MarkRead(ctx, "", 1)},
		{"FullmakterEnding(no from)", func() error {
			_, err := s.FullmakterEnding(ctx, delegation.Date{}, delegation.NewDate(2026, 1, 1))
			return err
		}()},
		{"FullmakterEnding(no to)", func() error {
			_, err := s.FullmakterEnding(ctx, delegation.NewDate(2026, 1, 1), delegation.Date{})
			return err
		}()},
	} {
		if !errors.Is(tt.err, delegation.ErrInvalid) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, delegation.ErrInvalid)
		}
	}
	if pos, err := s.Cursor(ctx, ""); err != nil || pos != 0 {
		t.Errorf("Cursor(no name) = %d, %v, want 0, nil", pos, err)
	}
}

func TestNotificationsHonourCanceledContext(t *testing.T) {
	s := openGrantStore(t)
	bg := context.Background()
	n := delegation.Notification{Person: kari, Kind: delegation.NoteFullmaktGiven, Ref: "fm_1", At: time.Now(), Key: "k"}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	day := delegation.NewDate(2026, 1, 1)
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"AddNotifications", func() error {
			_, err := s.AddNotifications(ctx, "changes", 1, []delegation.Notification{n})
			return err
		}()},
		{"Cursor", func() error { _, err := s.Cursor(ctx, "changes"); return err }()},
		{"SetCursor", s.SetCursor(ctx, "changes", 1)},
		{"NotificationsFor", func() error { _, err := s.NotificationsFor(ctx, kari, 0, 0); return err }()},
		{"NotificationsAfter", func() error { _, err := s.NotificationsAfter(ctx, 0, 0); return err }()},
		{"MarkRead", s.MarkRead(ctx, kari, 1)},
		{"ReadUpTo", func() error { _, err := s.ReadUpTo(ctx, kari); return err }()},
		{"AccessAfter", func() error { _, err := s.AccessAfter(ctx, 0, 0); return err }()},
		{"FullmakterEnding", func() error { _, err := s.FullmakterEnding(ctx, day, day); return err }()},
	} {
		if !errors.Is(tt.err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want %v", tt.name, tt.err, context.Canceled)
		}
	}
	if got, err := s.NotificationsAfter(bg, 0, 0); err != nil || len(got) > 0 {
		t.Errorf("NotificationsAfter after canceled calls = %+v, %v, want none", got, err)
	}
	if pos, err := s.Cursor(bg, "changes"); err != nil || pos != 0 {
		t.Errorf("Cursor(changes) after canceled calls = %d, %v, want 0", pos, err)
	}
}

// A notification's key may hold any byte: keys that extend one another, or hold a
// NUL, are different keys, and the same key of two persons is two notifications.
func TestNotificationKeysMayHoldAnyByte(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 17, 9, 0, 0, 0, time.UTC)
	var ns []delegation.Notification
	for _, k := range []string{"a", "a\x00", "a\x00b", "\x00", "ab", "a\x01"} {
		for _, p := range []delegation.PartyID{kari, ola} {
			ns = append(ns, delegation.Notification{Person: p, Kind: delegation.NoteFullmaktGiven, Ref: "fm_1", At: at, Key: k})
		}
	}
	stored, err := s.AddNotifications(ctx, "", 0, ns)
	if err != nil || len(stored) != len(ns) {
		t.Fatalf("AddNotifications(%d distinct) stored %d, %v, want all", len(ns), len(stored), err)
	}
	again, err := s.AddNotifications(ctx, "", 0, ns)
	if err != nil || len(again) > 0 {
		t.Errorf("AddNotifications(the same again) = %+v, %v, want none stored", again, err)
	}
}
