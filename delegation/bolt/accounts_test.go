package bolt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/accounts"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// Synthetic identity numbers of the tests' persons.
const (
	kari = delegation.PartyID("03838000079")
	ola  = delegation.PartyID("26912584126")
)

// testPasskey returns a valid passkey of person with credential id id.
func testPasskey(person delegation.PartyID, id string) accounts.Passkey {
	return accounts.Passkey{
		ID: []byte(id), Person: person, Name: "Telefon", Level: authz.LevelSubstantial,
		Created:    time.Date(2026, 11, 23, 12, 0, 0, 123_456_000, delegation.Oslo()),
		LastUsed:   time.Date(2026, 11, 24, 8, 30, 0, 0, delegation.Oslo()),
		SignCount:  7,
		Credential: []byte(`{"id":"` + id + `"}`),
	}
}

// fixedHandle returns a gen for UserHandle that returns h.
func fixedHandle(h string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(h), nil }
}

// failGen is a gen for UserHandle that fails the test if it is called.
func failGen(t *testing.T) func() ([]byte, error) {
	return func() ([]byte, error) {
		t.Error("UserHandle called gen for a person who has a handle")
		return []byte("wrong"), nil
	}
}

// A file of schema version 3 (before passkeys and user handles) migrates on Open to
// version 4, keeps its grants, and keeps passkeys and handles across a restart.
func TestAccountsMigrateFromSchema3(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := grants.Record{Kind: grants.Refresh, Key: "rt", RequestID: "req", ExpiresAt: time.Now().Add(time.Hour).UTC(), Active: true, Data: []byte("request")}
	if err := db.Update(func(tx *bbolt.Tx) error {
		meta, err := tx.CreateBucket(bMeta)
		if err != nil {
			return err
		}
		for _, m := range migrations[:3] {
			if err := m(tx); err != nil {
				return err
			}
		}
		if err := openGrants(tx).put(rec); err != nil {
			return err
		}
		if err := tx.Bucket(bSecrets).Put([]byte("hmac"), []byte("secret")); err != nil {
			return err
		}
		return meta.Put(kSchema, u64(3))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("Open(schema version 3): %v", err)
	}
	if v := schemaVersion(t, s); v != SchemaVersion() || v < 4 {
		t.Errorf("schema version after Open = %d, want this build's %d (4 or later)", v, SchemaVersion())
	}
	var missing []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bPasskeys, iPasskeyPerson, bUserHandles, iUserHandle} {
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
	if got, err := s.Grant(ctx, grants.Refresh, "rt"); err != nil || !cmp.Equal(rec, got) {
		t.Errorf("Grant after the migration = %+v, %v, want %+v", got, err, rec)
	}
	if got, err := s.Secret(ctx, "hmac", fixedHandle("new")); err != nil || string(got) != "secret" {
		t.Errorf("Secret after the migration = %q, %v, want %q", got, err, "secret")
	}
	p := testPasskey(kari, "cred")
	if err := s.AddPasskey(ctx, p); err != nil {
		t.Fatalf("AddPasskey after the migration: %v", err)
	}
	if _, err := s.UserHandle(ctx, kari, fixedHandle("kari's handle")); err != nil {
		t.Fatalf("UserHandle after the migration: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if got, err := s.Passkey(ctx, p.ID); err != nil || !cmp.Equal(p, got) {
		t.Errorf("Passkey after reopen = %+v, %v, want %+v", got, err, p)
	}
	if got, err := s.Grant(ctx, grants.Refresh, "rt"); err != nil || !cmp.Equal(rec, got) {
		t.Errorf("Grant after reopen = %+v, %v, want %+v", got, err, rec)
	}
	if h, err := s.UserHandle(ctx, kari, failGen(t)); err != nil || string(h) != "kari's handle" {
		t.Errorf("UserHandle after reopen = %q, %v, want %q", h, err, "kari's handle")
	}
}

// Passkeys, their updates and deletions, and user handles survive a restart.
func TestAccountsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fullmakt.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kept, renamed, deleted, olas := testPasskey(kari, "kept"), testPasskey(kari, "renamed"), testPasskey(kari, "deleted"), testPasskey(ola, "ola's")
	renamed.Created = kept.Created.Add(time.Hour)
	kept.LastUsed = time.Time{}
	for _, p := range []accounts.Passkey{kept, renamed, deleted, olas} {
		if err := s.AddPasskey(ctx, p); err != nil {
			t.Fatalf("AddPasskey(%s): %v", p.ID, err)
		}
	}
	if err := s.UpdatePasskey(ctx, kari, renamed.ID, func(p *accounts.Passkey) error {
		p.Name, p.SignCount, p.CloneWarning = "Gammel telefon", 9, true
		return nil
	}); err != nil {
		t.Fatalf("UpdatePasskey: %v", err)
	}
	renamed.Name, renamed.SignCount, renamed.CloneWarning = "Gammel telefon", 9, true
	if err := s.DeletePasskey(ctx, kari, deleted.ID); err != nil {
		t.Fatalf("DeletePasskey: %v", err)
	}
	handle, err := s.UserHandle(ctx, kari, fixedHandle("kari's handle"))
	if err != nil {
		t.Fatalf("UserHandle: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.Passkeys(ctx, kari)
	if err != nil {
		t.Fatalf("Passkeys after reopen: %v", err)
	}
	if d := cmp.Diff([]accounts.Passkey{kept, renamed}, got); d != "" {
		t.Errorf("Passkeys after reopen (-want +got):\n%s", d)
	}
	if _, err := s.Passkey(ctx, deleted.ID); !errors.Is(err, accounts.ErrNotFound) {
		t.Errorf("Passkey(deleted) after reopen: err = %v, want %v", err, accounts.ErrNotFound)
	}
	if got, err := s.Passkey(ctx, olas.ID); err != nil || !cmp.Equal(olas, got) {
		t.Errorf("Passkey(ola's) after reopen = %+v, %v, want %+v", got, err, olas)
	}
	if h, err := s.UserHandle(ctx, kari, failGen(t)); err != nil || !bytes.Equal(h, handle) {
		t.Errorf("UserHandle after reopen = %q, %v, want %q", h, err, handle)
	}
	if who, err := s.PersonOfHandle(ctx, handle); err != nil || who != kari {
		t.Errorf("PersonOfHandle after reopen = %v, %v, want %v", who, err, kari)
	}
}

// AddPasskey refuses, besides what the port forbids, passkeys that this adapter
// deems malformed: each with an error of its own that names neither the person nor
// the credential id, and nothing is stored. UpdatePasskey refuses to leave one.
func TestPasskeysRefuseInvalid(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	longest := testPasskey(kari, "longest")
	longest.Name = strings.Repeat("ø", maxPasskeyName)
	if err := s.AddPasskey(ctx, longest); err != nil {
		t.Fatalf("AddPasskey(a name of %d characters): %v", maxPasskeyName, err)
	}
	for _, tt := range []struct {
		name string
		edit func(*accounts.Passkey)
	}{
		{"no credential id", func(p *accounts.Passkey) { p.ID = nil }},
		{"credential id too long", func(p *accounts.Passkey) { p.ID = bytes.Repeat([]byte("x"), maxCredentialID+1) }},
		{"no person", func(p *accounts.Passkey) { p.Person = "" }},
		{"an organisation", func(p *accounts.Passkey) { p.Person = "910000004" }},
		{"no name", func(p *accounts.Passkey) { p.Name = "" }},
		{"a blank name", func(p *accounts.Passkey) { p.Name = " \t\u00a0 " }},
		{"a name too long", func(p *accounts.Passkey) { p.Name = strings.Repeat("ø", maxPasskeyName+1) }},
		{"a name not UTF-8", func(p *accounts.Passkey) { p.Name = "Telefon \xff" }},
		{"no level", func(p *accounts.Passkey) { p.Level = 0 }},
		{"a level above high", func(p *accounts.Passkey) { p.Level = authz.LevelHigh + 1 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := testPasskey(kari, "zq "+tt.name)
			tt.edit(&p)
			err := s.AddPasskey(ctx, p)
			checkOwnError(t, "AddPasskey", err)
			if len(p.ID) > 0 {
				if _, err := s.Passkey(ctx, p.ID); !errors.Is(err, accounts.ErrNotFound) {
					t.Errorf("Passkey after a refused AddPasskey: err = %v, want %v", err, accounts.ErrNotFound)
				}
			}
			if p.Person == "" || p.Person.Kind() != delegation.KindPerson || !bytes.Equal(p.ID, []byte("zq "+tt.name)) {
				return // not a change UpdatePasskey lets through to the check
			}
			err = s.UpdatePasskey(ctx, kari, longest.ID, func(q *accounts.Passkey) error {
				tt.edit(q)
				return nil
			})
			checkOwnError(t, "UpdatePasskey", err)
		})
	}
	if got, err := s.Passkeys(ctx, kari); err != nil || !cmp.Equal([]accounts.Passkey{longest}, got) {
		t.Errorf("Passkeys after refused writes = %+v, %v, want only %+v", got, err, longest)
	}
}

// checkOwnError fails the test unless err is an error of the adapter's own, not a
// port's sentinel, that names neither the person nor a credential id.
func checkOwnError(t *testing.T, op string, err error) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s = nil, want an error", op)
	case errors.Is(err, accounts.ErrConflict) || errors.Is(err, accounts.ErrNotFound):
		t.Errorf("%s = %v, want an error of its own", op, err)
	case !strings.HasPrefix(err.Error(), "bolt: "):
		t.Errorf("%s = %q, want an error starting with %q", op, err, "bolt: ")
	case strings.Contains(err.Error(), string(kari)) || strings.Contains(err.Error(), "zq"):
		t.Errorf("%s = %q, which names the person or the credential", op, err)
	}
}

// UserHandle refuses what is no person, and a gen that makes no handle, too long a
// one or another person's; the person then has no handle yet.
func TestUserHandleRefusesBadInput(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	if _, err := s.UserHandle(ctx, ola, fixedHandle("ola's handle")); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		person delegation.PartyID
		gen    func() ([]byte, error)
	}{
		{"no person", "", fixedHandle("h")},
		{"an organisation", "910000004", fixedHandle("h")},
		{"no bytes", kari, fixedHandle("")},
		{"65 bytes", kari, fixedHandle(strings.Repeat("h", maxUserHandle+1))},
		{"another person's handle", kari, fixedHandle("ola's handle")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := s.UserHandle(ctx, tt.person, tt.gen)
			if err == nil {
				t.Errorf("UserHandle = %q, want an error", h)
			} else if !strings.HasPrefix(err.Error(), "bolt: ") || strings.Contains(err.Error(), string(kari)) {
				t.Errorf("UserHandle = %q, want an error starting with %q that does not name the person", err, "bolt: ")
			}
		})
	}
	if who, err := s.PersonOfHandle(ctx, []byte("ola's handle")); err != nil || who != ola {
		t.Errorf("PersonOfHandle(ola's) = %v, %v, want %v", who, err, ola)
	}
	longest := strings.Repeat("k", maxUserHandle)
	if h, err := s.UserHandle(ctx, kari, fixedHandle(longest)); err != nil || string(h) != longest {
		t.Errorf("UserHandle after refused ones = %q, %v, want %q", h, err, longest)
	}
}

// A passkey is stored as JSON with a version, 1; any other version or bytes that are
// not such JSON fail to decode.
func TestPasskeyEncoding(t *testing.T) {
	p := testPasskey(kari, "zq-id")
	p.CloneWarning, p.BackupEligible, p.BackupState = true, true, true
	p.Credential = []byte{0, 0xff, '"', '\\'}
	raw, err := encodePasskey(p)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil || fields["v"] != 1.0 {
		t.Errorf("stored passkey %s: want JSON with \"v\": 1 (%v)", raw, err)
	}
	if _, ok := fields["id"]; ok || bytes.Contains(raw, p.ID) {
		t.Errorf("stored passkey %s repeats the credential id, which is the key", raw)
	}
	got, err := decodePasskey(p.ID, raw)
	if err != nil || !cmp.Equal(p, got) {
		t.Errorf("decodePasskey(encodePasskey(%+v)) = %+v, %v", p, got, err)
	}
	if got.Created.Location() != time.UTC {
		t.Errorf("decoded Created in %v, want UTC", got.Created.Location())
	}
	for _, bad := range []string{
		strings.Replace(string(raw), `"v":1`, `"v":2`, 1),
		strings.Replace(string(raw), `"v":1,`, ``, 1),
		`{"v":1,"name":`,
		"\x01binary",
		"",
	} {
		if got, err := decodePasskey(p.ID, []byte(bad)); err == nil {
			t.Errorf("decodePasskey(%q) = %+v, want an error", bad, got)
		}
	}
}

// The person index holds exactly the entries the passkeys imply, and the handle
// index is the inverse of the handles, whatever sequence of writes ran.
func TestAccountIndexesStayConsistent(t *testing.T) {
	s := openGrantStore(t)
	ctx := context.Background()
	persons := []delegation.PartyID{kari, ola, "eidas:SE/NO/abc", "eidas:SE/NO/abcd"}
	for i := range 200 {
		person := persons[(i/4)%len(persons)]
		id := []byte{byte(i % 7), byte(i % 5)}
		switch i % 4 {
		case 0, 1:
			p := testPasskey(person, "")
			p.ID = id
			if err := s.AddPasskey(ctx, p); err != nil && !errors.Is(err, accounts.ErrConflict) {
				t.Fatalf("AddPasskey #%d: %v", i, err)
			}
		case 2:
			err := s.UpdatePasskey(ctx, person, id, func(p *accounts.Passkey) error { p.SignCount++; return nil })
			if err != nil && !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("UpdatePasskey #%d: %v", i, err)
			}
		case 3:
			if err := s.DeletePasskey(ctx, person, id); err != nil && !errors.Is(err, accounts.ErrNotFound) {
				t.Fatalf("DeletePasskey #%d: %v", i, err)
			}
		}
		if i%9 == 0 {
			if _, err := s.UserHandle(ctx, person, fixedHandle(fmt.Sprintf("handle %d", i))); err != nil {
				t.Fatalf("UserHandle #%d: %v", i, err)
			}
		}
	}
	var wantIdx, gotIdx, handles, inverse []string
	if err := s.db.View(func(tx *bbolt.Tx) error {
		if err := tx.Bucket(bPasskeys).ForEach(func(id, raw []byte) error {
			p, err := decodePasskey(id, raw)
			wantIdx = append(wantIdx, string(passkeyIndexKey(p.Person, id)))
			return err
		}); err != nil {
			return err
		}
		if err := tx.Bucket(iPasskeyPerson).ForEach(func(k, _ []byte) error {
			gotIdx = append(gotIdx, string(k))
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bUserHandles).ForEach(func(person, h []byte) error {
			handles = append(handles, string(h)+" → "+string(person))
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(iUserHandle).ForEach(func(h, person []byte) error {
			inverse = append(inverse, string(h)+" → "+string(person))
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(wantIdx) == 0 || len(handles) != len(persons) {
		t.Fatalf("%d passkeys and %d handles left, want some passkeys and %d handles", len(wantIdx), len(handles), len(persons))
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if d := cmp.Diff(wantIdx, gotIdx, sorted); d != "" {
		t.Errorf("person index (-implied +stored):\n%s", d)
	}
	if d := cmp.Diff(handles, inverse, sorted); d != "" {
		t.Errorf("handle index (-implied +stored):\n%s", d)
	}
	for _, person := range persons {
		ps, err := s.Passkeys(ctx, person)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.Person != person {
				t.Errorf("Passkeys(%v) lists a passkey of %v", person, p.Person)
			}
		}
		if !slices.IsSortedFunc(ps, func(a, b accounts.Passkey) int { return bytes.Compare(a.ID, b.ID) }) {
			t.Errorf("Passkeys(%v) of one instant are not in the order of their ids", person)
		}
	}
}

func TestAccountsHonourCanceledContext(t *testing.T) {
	s := openGrantStore(t)
	bg := context.Background()
	p := testPasskey(kari, "cred")
	if err := s.AddPasskey(bg, p); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(bg)
	cancel()
	calls := 0
	for _, tt := range []struct {
		name string
		err  error
	}{
		{"UserHandle", func() error {
			_, err := s.UserHandle(ctx, kari, func() ([]byte, error) { calls++; return []byte("h"), nil })
			return err
		}()},
		{"PersonOfHandle", func() error { _, err := s.PersonOfHandle(ctx, []byte("h")); return err }()},
		{"Passkeys", func() error { _, err := s.Passkeys(ctx, kari); return err }()},
		{"Passkey", func() error { _, err := s.Passkey(ctx, p.ID); return err }()},
		{"AddPasskey", s.AddPasskey(ctx, testPasskey(kari, "other"))},
		{"UpdatePasskey", s.UpdatePasskey(ctx, kari, p.ID, func(q *accounts.Passkey) error { calls++; q.Name = "x"; return nil })},
		{"DeletePasskey", s.DeletePasskey(ctx, kari, p.ID)},
	} {
		if !errors.Is(tt.err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want %v", tt.name, tt.err, context.Canceled)
		}
	}
	if calls > 0 {
		t.Errorf("calls with a canceled context called gen or fn %d times", calls)
	}
	if got, err := s.Passkeys(bg, kari); err != nil || !cmp.Equal([]accounts.Passkey{p}, got) {
		t.Errorf("Passkeys after canceled calls = %+v, %v, want only %+v", got, err, p)
	}
}
