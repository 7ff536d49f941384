package bolt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/accounts"
)

var _ accounts.Store = (*Store)(nil)

// What the login remembers of a person (the accounts.Store port) has buckets of its
// own, added by schema version 4:
//
//	passkeys            credential id → passkey
//	idx_passkey_person  person (uvarint length, bytes) | credential id → empty
//	user_handles        person → user handle
//	idx_user_handle     user handle → person
//
// Credential ids and user handles are bytes that authenticators and generators
// choose, so the person index delimits the person by a length prefix, never by a
// separator byte an id might contain. A person has at most accounts.MaxPasskeys
// passkeys: Passkeys reads them all and sorts them by Created, rather than keeping
// in an index key a time that an update could change.
//
// People register, rename and use passkeys far less often than the OAuth server
// writes its records, so every write is a db.Update of its own, without the group
// commit of grants.go.
var (
	bPasskeys      = []byte("passkeys")
	iPasskeyPerson = []byte("idx_passkey_person")
	bUserHandles   = []byte("user_handles")
	iUserHandle    = []byte("idx_user_handle")
)

// Limits of what AddPasskey, UpdatePasskey and UserHandle accept.
const (
	// maxCredentialID is the longest credential id WebAuthn allows (Level 3, §5.1:
	// at most 1023 bytes).
	maxCredentialID = 1023
	// maxPasskeyName is the longest name of a passkey, in characters.
	maxPasskeyName = 64
	// maxUserHandle is the longest user handle WebAuthn allows (§5.4.3: 64 bytes).
	maxUserHandle = 64
)

// UserHandle implements accounts.Store. gen is called outside any transaction, and
// only when a first look finds no handle; the handle is then created in a write
// transaction that looks again, so of two first callers (each may call its gen) the
// second gets the first's handle and its own is dropped. gen must return 1 to 64
// bytes that are no other person's handle.
func (s *Store) UserHandle(ctx context.Context, person delegation.PartyID, gen func() ([]byte, error)) ([]byte, error) {
	if person.Kind() != delegation.KindPerson {
		return nil, errors.New("bolt: user handle: the owner is not a person")
	}
	pk := []byte(person)
	var handle []byte
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		handle = bytes.Clone(tx.Bucket(bUserHandles).Get(pk))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: user handle: %w", err)
	}
	if handle != nil {
		return handle, nil
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("bolt: new user handle: %w", err)
	}
	if len(fresh) == 0 || len(fresh) > maxUserHandle {
		return nil, fmt.Errorf("bolt: new user handle: %d bytes, want 1 to %d", len(fresh), maxUserHandle)
	}
	fresh = bytes.Clone(fresh) // the caller's and bbolt's, until the commit
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		handles, persons := tx.Bucket(bUserHandles), tx.Bucket(iUserHandle)
		if v := handles.Get(pk); v != nil {
			handle = bytes.Clone(v)
			return nil
		}
		if persons.Get(fresh) != nil {
			return errors.New("the new handle is another person's")
		}
		if err := handles.Put(pk, fresh); err != nil {
			return err
		}
		handle = fresh
		return persons.Put(fresh, pk)
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: user handle: %w", err)
	}
	return bytes.Clone(handle), nil
}

// PersonOfHandle implements accounts.Store.
func (s *Store) PersonOfHandle(ctx context.Context, handle []byte) (person delegation.PartyID, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(iUserHandle).Get(handle)
		if len(handle) == 0 || v == nil {
			return accounts.ErrNotFound
		}
		person = delegation.PartyID(v) // a copy
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("bolt: person of user handle: %w", err)
	}
	return person, nil
}

// Passkeys implements accounts.Store. Passkeys created at the same instant come in
// the order of their ids.
func (s *Store) Passkeys(ctx context.Context, person delegation.PartyID) (ps []accounts.Passkey, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		records := tx.Bucket(bPasskeys)
		return scan(tx, iPasskeyPerson, personPrefix(person), func(id []byte) error {
			raw := records.Get(id)
			if raw == nil {
				return errors.New("an index entry without its passkey") // no write leaves one
			}
			p, err := decodePasskey(id, raw)
			if err != nil {
				return err
			}
			ps = append(ps, p)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: passkeys: %w", err)
	}
	slices.SortFunc(ps, func(a, b accounts.Passkey) int {
		return cmp.Or(a.Created.Compare(b.Created), bytes.Compare(a.ID, b.ID))
	})
	return ps, nil
}

// Passkey implements accounts.Store.
func (s *Store) Passkey(ctx context.Context, id []byte) (p accounts.Passkey, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		raw := tx.Bucket(bPasskeys).Get(id)
		if len(id) == 0 || raw == nil {
			return accounts.ErrNotFound
		}
		p, err = decodePasskey(id, raw)
		return err
	})
	if err != nil {
		return accounts.Passkey{}, fmt.Errorf("bolt: passkey: %w", err)
	}
	return p, nil
}

// AddPasskey implements accounts.Store. Besides the port's conflicts it refuses, with
// an error that wraps no sentinel, a passkey without a credential id or with one of
// more than 1023 bytes, one whose owner is no person, one without a name (blank) or
// with a name of more than 64 characters or not UTF-8, and one of an unknown level.
func (s *Store) AddPasskey(ctx context.Context, p accounts.Passkey) error {
	if err := validPasskey(p); err != nil {
		return fmt.Errorf("bolt: add passkey: %w", err)
	}
	raw, err := encodePasskey(p)
	if err != nil {
		return fmt.Errorf("bolt: add passkey: %w", err)
	}
	id := bytes.Clone(p.ID)
	err = s.update(ctx, func(tx *bbolt.Tx) error {
		records, byPerson := tx.Bucket(bPasskeys), tx.Bucket(iPasskeyPerson)
		if records.Get(id) != nil {
			return fmt.Errorf("the credential id is registered already: %w", accounts.ErrConflict)
		}
		n := 0
		if err := scan(tx, iPasskeyPerson, personPrefix(p.Person), func([]byte) error { n++; return nil }); err != nil {
			return err
		}
		if n >= accounts.MaxPasskeys {
			return fmt.Errorf("the person has %d passkeys, the most allowed: %w", n, accounts.ErrConflict)
		}
		if err := records.Put(id, raw); err != nil {
			return err
		}
		return byPerson.Put(passkeyIndexKey(p.Person, id), nil)
	})
	if err != nil {
		return fmt.Errorf("bolt: add passkey: %w", err)
	}
	return nil
}

// UpdatePasskey implements accounts.Store. fn runs inside the write transaction,
// which holds the file's writer lock: it must be quick and do no I/O. An fn that
// changes the id or the person, or leaves a passkey AddPasskey would refuse, fails
// the update with an error that wraps no sentinel, and nothing is written.
func (s *Store) UpdatePasskey(ctx context.Context, person delegation.PartyID, id []byte, fn func(*accounts.Passkey) error) error {
	var fnErr error
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		records := tx.Bucket(bPasskeys)
		raw := records.Get(id)
		if len(id) == 0 || raw == nil {
			return accounts.ErrNotFound
		}
		p, err := decodePasskey(id, raw)
		if err != nil {
			return err
		}
		if p.Person != person {
			return accounts.ErrNotFound
		}
		if fnErr = fn(&p); fnErr != nil {
			return fnErr
		}
		if !bytes.Equal(p.ID, id) || p.Person != person {
			return errors.New("the id and the person of a passkey cannot change")
		}
		if err := validPasskey(p); err != nil {
			return err
		}
		if raw, err = encodePasskey(p); err != nil {
			return err
		}
		return records.Put(bytes.Clone(id), raw)
	})
	if fnErr != nil {
		return fnErr // as fn returned it: bbolt returns fn's error as it is
	}
	if err != nil {
		return fmt.Errorf("bolt: update passkey: %w", err)
	}
	return nil
}

// DeletePasskey implements accounts.Store.
func (s *Store) DeletePasskey(ctx context.Context, person delegation.PartyID, id []byte) error {
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		records := tx.Bucket(bPasskeys)
		raw := records.Get(id)
		if len(id) == 0 || raw == nil {
			return accounts.ErrNotFound
		}
		p, err := decodePasskey(id, raw)
		if err != nil {
			return err
		}
		if p.Person != person {
			return accounts.ErrNotFound
		}
		if err := tx.Bucket(iPasskeyPerson).Delete(passkeyIndexKey(person, id)); err != nil {
			return err
		}
		return records.Delete(id)
	})
	if err != nil {
		return fmt.Errorf("bolt: delete passkey: %w", err)
	}
	return nil
}

// validPasskey reports what is wrong with p, which AddPasskey or UpdatePasskey is
// to store. Its errors name neither the person nor the credential id.
func validPasskey(p accounts.Passkey) error {
	switch {
	case len(p.ID) == 0:
		return errors.New("no credential id")
	case len(p.ID) > maxCredentialID:
		return fmt.Errorf("a credential id of %d bytes, more than %d", len(p.ID), maxCredentialID)
	case p.Person.Kind() != delegation.KindPerson:
		return errors.New("the owner is not a person")
	case strings.TrimSpace(p.Name) == "":
		return errors.New("no name")
	case !utf8.ValidString(p.Name): // JSON would turn the bad bytes into U+FFFD
		return errors.New("the name is not UTF-8 text")
	case utf8.RuneCountInString(p.Name) > maxPasskeyName:
		return fmt.Errorf("a name of more than %d characters", maxPasskeyName)
	case p.Level < authz.LevelLow || p.Level > authz.LevelHigh:
		return fmt.Errorf("unknown level of assurance %d", int(p.Level))
	}
	return nil
}

// personPrefix is the prefix of the person index keys of person's passkeys: the
// uvarint length of person and its bytes.
func personPrefix(person delegation.PartyID) []byte {
	b := make([]byte, 0, binary.MaxVarintLen64+len(person))
	b = binary.AppendUvarint(b, uint64(len(person)))
	return append(b, person...)
}

// passkeyIndexKey is the person index key of person's passkey id.
func passkeyIndexKey(person delegation.PartyID, id []byte) []byte {
	return append(personPrefix(person), id...)
}

// Passkeys are JSON, versioned like the other records: the field v is the
// encoding's version, 1. The credential id is the key and not repeated; times are
// kept in UTC; the library's credential record is base64 in the JSON, as bytes.
const passkeyEncodingV1 = 1

type passkeyRecord struct {
	Version        int                `json:"v"`
	Person         delegation.PartyID `json:"person"`
	Name           string             `json:"name"`
	Level          authz.Level        `json:"level"`
	Created        time.Time          `json:"created"`
	LastUsed       time.Time          `json:"last_used,omitzero"`
	SignCount      uint32             `json:"sign_count,omitempty"`
	CloneWarning   bool               `json:"clone_warning,omitempty"`
	BackupEligible bool               `json:"backup_eligible,omitempty"`
	BackupState    bool               `json:"backup_state,omitempty"`
	Credential     []byte             `json:"credential"`
}

func encodePasskey(p accounts.Passkey) ([]byte, error) {
	raw, err := json.Marshal(passkeyRecord{
		Version: passkeyEncodingV1, Person: p.Person, Name: p.Name, Level: p.Level,
		Created: p.Created.UTC(), LastUsed: p.LastUsed.UTC(), SignCount: p.SignCount,
		CloneWarning: p.CloneWarning, BackupEligible: p.BackupEligible, BackupState: p.BackupState,
		Credential: p.Credential,
	})
	if err != nil {
		return nil, fmt.Errorf("encode passkey: %w", err)
	}
	return raw, nil
}

// decodePasskey decodes the stored passkey raw with credential id. The passkey it
// returns shares no memory with id or raw.
func decodePasskey(id, raw []byte) (accounts.Passkey, error) {
	var r passkeyRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return accounts.Passkey{}, fmt.Errorf("decode passkey: %w", err)
	}
	if r.Version != passkeyEncodingV1 {
		return accounts.Passkey{}, fmt.Errorf("decode passkey: unknown encoding %d", r.Version)
	}
	return accounts.Passkey{
		ID: bytes.Clone(id), Person: r.Person, Name: r.Name, Level: r.Level,
		Created: r.Created, LastUsed: r.LastUsed, SignCount: r.SignCount,
		CloneWarning: r.CloneWarning, BackupEligible: r.BackupEligible, BackupState: r.BackupState,
		Credential: r.Credential,
	}, nil
}
