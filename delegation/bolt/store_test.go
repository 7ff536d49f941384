package bolt_test

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/delegation/bolt"
)

func TestOpenFailsFastWhenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	first, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	second, err := bolt.Open(path, bolt.Options{Timeout: 50 * time.Millisecond})
	if err == nil {
		second.Close()
		t.Fatal("a second Open of a held file succeeded, want ErrLocked")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("second Open = %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Errorf("second Open waited %v despite a 50ms lock timeout", waited)
	}
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	birth := delegation.NewDate(1980, 3, 3)
	var id delegation.PartyID
	for ind := 0; id == ""; ind++ {
		id, _ = delegation.NorwegianPersonID(birth, ind, false, true)
	}
	p := delegation.Person{ID: id, Name: "Kari Nordmann", BirthDate: birth}
	if err := s.UpdateRegister(ctx, func(tx delegation.RegisterTx) error { return tx.PutPerson(p) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	got, err := s.Person(ctx, id)
	if err != nil || got != p {
		t.Errorf("Person after reopen = %+v, %v, want %+v", got, err, p)
	}
	if seq, err := s.LastChange(ctx); err != nil || seq != 1 {
		t.Errorf("LastChange after reopen = %d, %v, want 1", seq, err)
	}
	s.Close()

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	var version uint64
	if err := db.View(func(tx *bbolt.Tx) error {
		version = binary.BigEndian.Uint64(tx.Bucket([]byte("meta")).Get([]byte("schema_version")))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if version != bolt.SchemaVersion() {
		t.Errorf("stored schema version = %d, want %d", version, bolt.SchemaVersion())
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), binary.BigEndian.AppendUint64(nil, bolt.SchemaVersion()+1))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = bolt.Open(path, bolt.Options{})
	if err == nil {
		s.Close()
		t.Fatal("Open of a file from a newer build succeeded, want an error")
	}
	if !strings.Contains(err.Error(), "newer than this build") {
		t.Errorf("Open = %v, want it to say the schema is newer than this build", err)
	}
}
