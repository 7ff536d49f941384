// Package bolt is the bbolt adapter of the delegation.Store port: one embedded file,
// one bucket per record kind, explicit index buckets for every query, and a change
// sequence appended in the same transaction as the write it records (the decision
// log, written on every decision made for someone else, records none). The same
// file keeps the OAuth server's records, the grants.Store port of idp/grants
// (grants.go), and what the login remembers of a person, the accounts.Store port of
// idp/accounts (accounts.go).
//
// It imports the domain (delegation, and authz for a passkey's level of
// assurance), the ports idp/grants and idp/accounts and go.etcd.io/bbolt; nothing
// in the domain imports it. Only cmd wires it in.
package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/fullmakt/fullmakt/delegation"
)

var _ delegation.Store = (*Store)(nil)

// ErrLocked is returned by Open when another process holds the database file.
var ErrLocked = errors.New("bolt: the database is in use by another process")

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock (default 1s). bbolt lets one
	// process at a time open a file; without a timeout a second one would hang.
	Timeout time.Duration
	// Now stamps the change entries of register writes (default time.Now). Other
	// writes carry their own time.
	Now func() time.Time
	// BatchDelay is how long a write of the OAuth server's records (ApplyGrants,
	// UseJTI) waits for concurrent ones to share its commit and fsync (default
	// 2ms; bbolt's own, 10ms, would add up to 10ms to every token request made
	// while another is in flight). About one fsync of the disk is right: shorter,
	// and batches queue behind each other's commits; longer, and requests wait for
	// nothing. A write with none other in flight commits at once.
	BatchDelay time.Duration
}

// Store is a delegation.Store in one bbolt file. It is safe for concurrent use: reads
// run in parallel, writes are serialised by bbolt and each commit is fsynced before
// the method returns, so a committed write survives kill -9 and power loss.
type Store struct {
	db  *bbolt.DB
	now func() time.Time
	// writers counts the callers of commit in flight (grants.go), which choose
	// between committing alone and joining a group commit.
	writers atomic.Int64
}

// Open opens (creating if needed) the store at path and migrates it to the current
// schema version.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BatchDelay <= 0 {
		opts.BatchDelay = 2 * time.Millisecond
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("bolt: create data directory: %w", err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: opts.Timeout,
		// The freelist is rebuilt by a scan on open instead of being written on every
		// commit: faster commits, same durability.
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := db.Update(migrate); err != nil {
		db.Close()
		return nil, err
	}
	db.MaxBatchDelay = opts.BatchDelay
	return &Store{db: db, now: opts.Now}, nil
}

// Close closes the file. Further calls fail.
func (s *Store) Close() error { return s.db.Close() }

// Path returns the database file's path.
func (s *Store) Path() string { return s.db.Path() }

// view runs fn in a read transaction, after checking ctx.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// update runs fn in a write transaction, after checking ctx.
func (s *Store) update(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// Bucket names. The schema (which buckets exist, how values are encoded) has a
// version in the meta bucket; migrate brings an older file up to date.
var (
	bMeta       = []byte("meta")
	bPersons    = []byte("persons")       // id → Person
	bOrgs       = []byte("organizations") // id → Organization
	bFullmakter = []byte("fullmakter")    // id → Fullmakt
	bRequests   = []byte("requests")      // id → Request
	bConsents   = []byte("consents")      // id → Consent
	bChanges    = []byte("changes")       // seq (8 bytes, big-endian) → Change
	bAccess     = []byte("access")        // seq (8 bytes, big-endian) → AccessEvent, its own sequence

	// Relations, keyed actor 0 party 0 kind 0 suffix. Register relations (parent,
	// guardian, role) are stored here whole, the suffix completing their natural key
	// (valid_from, period.from, role name); a fullmakt or consent entry has an empty
	// value and its id as suffix. One prefix scan answers Relations(actor, party).
	bRelations = []byte("relations")

	// Index buckets: keys only, values empty.
	iRelReverse   = []byte("idx_relation_reverse") // party 0 actor 0 kind 0 suffix
	iGiven        = []byte("idx_fullmakt_given")   // grantor or delegator 0 id
	iReceived     = []byte("idx_fullmakt_received")
	iRequestTo    = []byte("idx_request_to")
	iRequestFrom  = []byte("idx_request_from")
	iConsentParty = []byte("idx_consent_party")
	iConsentRecip = []byte("idx_consent_recipient")
	iAccessParty  = []byte("idx_access_party") // party 0 seq (8 bytes, big-endian)
	// iFullmaktEnding holds fullmakter with an end date: period.to (YYYY-MM-DD) 0 id,
	// in the order of the day, for the calendar sweep of the notifications.
	iFullmaktEnding = []byte("idx_fullmakt_ending")

	kSchema = []byte("schema_version")
)

// migrations[i] takes a file from schema version i to i+1. Append only; never edit a
// migration that has shipped.
var migrations = []func(*bbolt.Tx) error{
	// 0 → 1: the initial layout.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{
			bPersons, bOrgs, bRelations, bFullmakter, bRequests, bConsents, bChanges, iRelReverse, iGiven, iReceived, iRequestTo, iRequestFrom, iConsentParty, iConsentRecip,
		} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 1 → 2: the decision log.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bAccess, iAccessParty} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 2 → 3: the OAuth server's records, keys and secrets (grants.go).
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bGrants, iGrantRequest, iGrantExpiry, bJTI, bSigningKeys, bSecrets} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 3 → 4: passkeys and WebAuthn user handles (accounts.go).
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bPasskeys, iPasskeyPerson, bUserHandles, iUserHandle} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	},
	// 4 → 5: notifications and their cursors (notification.go), and the index of
	// fullmakter by their last day, built here for those already stored.
	func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bNotifications, iNotePerson, iNoteKey, bCursors, bReadMarks, iFullmaktEnding} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		ending := tx.Bucket(iFullmaktEnding)
		return tx.Bucket(bFullmakter).ForEach(func(id, raw []byte) error {
			// Only the period is read: the migration must not depend on the rest of
			// the record's shape, which later versions may change.
			var f struct {
				Period delegation.Period `json:"period"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				return fmt.Errorf("fullmakt %s: %w", id, err)
			}
			if f.Period.To.IsZero() {
				return nil
			}
			return ending.Put(key(f.Period.To.String(), string(id)), nil)
		})
	},
}

// SchemaVersion is the version this build writes.
func SchemaVersion() uint64 { return uint64(len(migrations)) }

func migrate(tx *bbolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bMeta)
	if err != nil {
		return fmt.Errorf("bolt: migrate: %w", err)
	}
	var version uint64
	if v := meta.Get(kSchema); v != nil {
		version = binary.BigEndian.Uint64(v)
	}
	if version > SchemaVersion() {
		return fmt.Errorf("bolt: the database has schema version %d, newer than this build's %d", version, SchemaVersion())
	}
	for ; version < SchemaVersion(); version++ {
		if err := migrations[version](tx); err != nil {
			return fmt.Errorf("bolt: migrate to schema version %d: %w", version+1, err)
		}
	}
	return meta.Put(kSchema, u64(version))
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// key joins parts with a NUL byte, which no identifier contains.
func key(parts ...string) []byte {
	n := len(parts)
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// prefix is key(parts...) followed by the separator, for scans.
func prefix(parts ...string) []byte { return append(key(parts...), 0) }

// get decodes the value at k in bucket b into v; ErrNotFound when absent.
func get(tx *bbolt.Tx, b, k []byte, v any) error {
	raw := tx.Bucket(b).Get(k)
	if raw == nil {
		return delegation.ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("bolt: decode %s: %w", b, err)
	}
	return nil
}

func put(tx *bbolt.Tx, b, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("bolt: encode %s: %w", b, err)
	}
	return tx.Bucket(b).Put(k, raw)
}

// scan calls fn with the remainder of every key in b that starts with p.
func scan(tx *bbolt.Tx, b, p []byte, fn func(rest []byte) error) error {
	c := tx.Bucket(b).Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		if err := fn(k[len(p):]); err != nil {
			return err
		}
	}
	return nil
}

func conflict(format string, args ...any) error {
	return fmt.Errorf("bolt: "+format+": %w", append(args, delegation.ErrConflict)...)
}
