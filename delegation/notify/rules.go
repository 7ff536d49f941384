package notify

import (
	"time"

	"github.com/fullmakt/fullmakt/delegation"
)

// The rules: which event tells whom what. Each function is pure; the Deriver
// reads the records and stores what these return. A notification's key names
// the event, so deriving it again (after a restart, or by a second sweep)
// stores nothing new.

// fullmaktNotes derives the notifications of a fullmakt's creation, revocation
// or renunciation. A new fullmakt is told to the person who made it (the
// grantor, or the proxy who passed it on) and to its proxy, except a migrated
// one: an import is not an event for the person. An ended one is told to the
// grantor, the proxy and whoever passed it on.
func fullmaktNotes(c delegation.Change, f delegation.Fullmakt) []delegation.Notification {
	switch c.Kind {
	case delegation.ChangeFullmaktCreated:
		if f.Origin == delegation.OriginMigration {
			return nil
		}
		maker := f.CreatedBy
		if maker == "" {
			maker = f.Grantor
		}
		return []delegation.Notification{
			note(maker, delegation.NoteFullmaktGiven, f.ID, f.Proxy, "", c.At),
			note(f.Proxy, delegation.NoteFullmaktReceived, f.ID, f.Grantor, "", c.At),
		}
	case delegation.ChangeFullmaktRevoked, delegation.ChangeFullmaktRenounced:
		kind := delegation.NoteFullmaktRevoked
		if c.Kind == delegation.ChangeFullmaktRenounced {
			kind = delegation.NoteFullmaktRenounced
		}
		ns := []delegation.Notification{
			note(f.Grantor, kind, f.ID, f.Proxy, "", c.At),
			note(f.Proxy, kind, f.ID, f.Grantor, "", c.At),
		}
		if f.DelegatedBy != "" {
			ns = append(ns, note(f.DelegatedBy, kind, f.ID, f.Proxy, "", c.At))
		}
		return ns
	}
	return nil
}

// requestNotes derives the notifications of a request: a new one is told to the
// person asked, an answer to the person who asked (Detail "approved" or
// "declined"). An approval's fullmakt has its own change, and so its own
// notifications.
func requestNotes(c delegation.Change, r delegation.Request) []delegation.Notification {
	switch c.Kind {
	case delegation.ChangeRequestCreated:
		return []delegation.Notification{note(r.Grantor, delegation.NoteRequestReceived, r.ID, r.Requester, "", c.At)}
	case delegation.ChangeRequestApproved:
		return []delegation.Notification{note(r.Requester, delegation.NoteRequestAnswered, r.ID, r.Grantor, "approved", c.At)}
	case delegation.ChangeRequestDeclined:
		return []delegation.Notification{note(r.Requester, delegation.NoteRequestAnswered, r.ID, r.Grantor, "declined", c.At)}
	}
	return nil
}

// accessNotes derives the notifications of an allowed decision: the first use of
// a fullmakt, told to its grantor once, and the use of a consent, told to the
// person who gave it at most once an Oslo day. Denied decisions, and those
// through other relations, tell nobody.
func accessNotes(e delegation.AccessEvent) []delegation.Notification {
	if !e.Allowed || e.RelationID == "" {
		return nil
	}
	switch e.Relation {
	case delegation.RelFullmakt:
		return []delegation.Notification{note(e.Party, delegation.NoteFullmaktFirstUsed, e.RelationID, e.Actor, e.Service, e.At)}
	case delegation.RelConsent:
		n := note(e.Party, delegation.NoteConsentUsed, e.RelationID, e.Actor, e.Service, e.At)
		n.Key += "/" + delegation.Today(e.At).String()
		return []delegation.Notification{n}
	}
	return nil
}

// expiringNotes derives the notice, to the grantor and the proxy, that f ends
// soon; Detail is its last day. The key holds that day, so a fullmakt whose
// period is later changed is told about again.
func expiringNotes(f delegation.Fullmakt, now time.Time) []delegation.Notification {
	last := f.Period.To.String()
	ns := []delegation.Notification{
		note(f.Grantor, delegation.NoteFullmaktExpiring, f.ID, f.Proxy, last, now),
		note(f.Proxy, delegation.NoteFullmaktExpiring, f.ID, f.Grantor, last, now),
	}
	for i := range ns {
		ns[i].Key += "/" + last
	}
	return ns
}

// note returns a notification with the key "<kind>/<ref>".
func note(person delegation.PartyID, kind delegation.NotificationKind, ref string, other delegation.PartyID, detail string, at time.Time) delegation.Notification {
	return delegation.Notification{
		Person: person, Kind: kind, Ref: ref, Other: other, Detail: detail, At: at.UTC(),
		Key: string(kind) + "/" + ref,
	}
}
