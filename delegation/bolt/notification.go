package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/fullmakt/fullmakt/delegation"
)

// Notifications (the delegation.NotificationStore port) have buckets of their own,
// added by schema version 5:
//
//	notifications           seq (8 bytes, big-endian) → Notification (JSON), its own sequence
//	idx_notification_person person 0 seq → empty
//	idx_notification_key    person 0 key → seq
//	cursors                 name → position (8 bytes, big-endian)
//	notification_read       person → seq read up to (8 bytes, big-endian)
//
// The notifications bucket is the outbox, read in order by NotificationsAfter; the
// person index pages through one person's notifications as the decision log's party
// index does (walkBefore). The key index makes the derivation idempotent: a
// notification whose person and key are there is not stored again. A person id has
// no NUL, so the first NUL of a key index entry ends it, and a key may hold any byte.
var (
	bNotifications = []byte("notifications")
	iNotePerson    = []byte("idx_notification_person")
	iNoteKey       = []byte("idx_notification_key")
	bCursors       = []byte("cursors")
	bReadMarks     = []byte("notification_read")
)

// defaultNotificationLimit is the page size of the notification lists when limit <= 0.
const defaultNotificationLimit = 100

// AddNotifications implements delegation.NotificationStore. Every notification is
// validated before the transaction starts: one invalid one fails the call with
// delegation.ErrInvalid and nothing is stored, nor the cursor moved.
func (s *Store) AddNotifications(ctx context.Context, cursor string, to uint64, ns []delegation.Notification) ([]delegation.Notification, error) {
	for i, n := range ns {
		if err := n.Validate(); err != nil {
			return nil, fmt.Errorf("bolt: notification %d of %d: %w", i, len(ns), err)
		}
	}
	if cursor == "" && len(ns) == 0 {
		return nil, nil
	}
	var stored []delegation.Notification
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		log, byPerson, byKey := tx.Bucket(bNotifications), tx.Bucket(iNotePerson), tx.Bucket(iNoteKey)
		log.FillPercent = 1 // keys only ever grow: pack pages full
		for _, n := range ns {
			// The key index sees this transaction's own writes, so a key twice in ns
			// is stored once, as it is when already stored.
			k := key(string(n.Person), n.Key)
			if byKey.Get(k) != nil {
				continue
			}
			seq, err := log.NextSequence()
			if err != nil {
				return err
			}
			n.Seq, n.At = seq, n.At.UTC()
			if err := put(tx, bNotifications, u64(seq), n); err != nil {
				return err
			}
			if err := byPerson.Put(accessKey(n.Person, seq), nil); err != nil {
				return err
			}
			if err := byKey.Put(k, u64(seq)); err != nil {
				return err
			}
			stored = append(stored, n)
		}
		if cursor == "" {
			return nil
		}
		return tx.Bucket(bCursors).Put([]byte(cursor), u64(to))
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: add notifications: %w", err)
	}
	return stored, nil
}

// Cursor implements delegation.NotificationStore.
func (s *Store) Cursor(ctx context.Context, name string) (pos uint64, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		pos, err = readU64(tx.Bucket(bCursors).Get([]byte(name)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bolt: cursor %q: %w", name, err)
	}
	return pos, nil
}

// SetCursor implements delegation.NotificationStore. A cursor needs a name:
// SetCursor("") fails with delegation.ErrInvalid.
func (s *Store) SetCursor(ctx context.Context, name string, to uint64) error {
	if name == "" {
		return fmt.Errorf("bolt: set cursor: no name: %w", delegation.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bCursors).Put([]byte(name), u64(to))
	})
	if err != nil {
		return fmt.Errorf("bolt: set cursor %q: %w", name, err)
	}
	return nil
}

// NotificationsFor implements delegation.NotificationStore.
func (s *Store) NotificationsFor(ctx context.Context, person delegation.PartyID, before uint64, limit int) (out []delegation.Notification, err error) {
	if limit <= 0 {
		limit = defaultNotificationLimit
	}
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		log := tx.Bucket(bNotifications)
		return walkBefore(tx.Bucket(iNotePerson).Cursor(), person, before, func(seq uint64) (bool, error) {
			raw := log.Get(u64(seq))
			if raw == nil {
				return false, fmt.Errorf("notification %d is in %s but not in %s", seq, iNotePerson, bNotifications)
			}
			n, err := decodeNotification(seq, raw)
			if err != nil {
				return false, err
			}
			out = append(out, n)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: notifications for a person: %w", err)
	}
	return out, nil
}

// NotificationsAfter implements delegation.NotificationStore.
func (s *Store) NotificationsAfter(ctx context.Context, after uint64, limit int) (out []delegation.Notification, err error) {
	if limit <= 0 {
		limit = defaultNotificationLimit
	}
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		return walkAfter(tx.Bucket(bNotifications).Cursor(), after, func(seq uint64, raw []byte) (bool, error) {
			n, err := decodeNotification(seq, raw)
			if err != nil {
				return false, err
			}
			out = append(out, n)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("bolt: notifications after %d: %w", after, err)
	}
	return out, nil
}

// MarkRead implements delegation.NotificationStore. It needs a person:
// MarkRead("") fails with delegation.ErrInvalid.
func (s *Store) MarkRead(ctx context.Context, person delegation.PartyID, upTo uint64) error {
	if person == "" {
		return fmt.Errorf("bolt: mark read: no person: %w", delegation.ErrInvalid)
	}
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		marks := tx.Bucket(bReadMarks)
		read, err := readU64(marks.Get([]byte(person)))
		if err != nil || upTo <= read {
			return err
		}
		return marks.Put([]byte(person), u64(upTo))
	})
	if err != nil {
		return fmt.Errorf("bolt: mark read: %w", err)
	}
	return nil
}

// ReadUpTo implements delegation.NotificationStore.
func (s *Store) ReadUpTo(ctx context.Context, person delegation.PartyID) (read uint64, err error) {
	err = s.view(ctx, func(tx *bbolt.Tx) error {
		read, err = readU64(tx.Bucket(bReadMarks).Get([]byte(person)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("bolt: read up to: %w", err)
	}
	return read, nil
}

// readU64 decodes a stored position; 0 when absent.
func readU64(v []byte) (uint64, error) {
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("a position of %d bytes, want 8", len(v))
}

// decodeNotification decodes the notification stored under seq. The key, not the
// value, is its Seq.
func decodeNotification(seq uint64, raw []byte) (n delegation.Notification, err error) {
	if err := json.Unmarshal(raw, &n); err != nil {
		return n, fmt.Errorf("decode notification %d: %w", seq, err)
	}
	n.Seq = seq
	return n, nil
}
