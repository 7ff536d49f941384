package login

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
)

// Session is a person's login session: who proved their identity, how, at which
// level and when. Its cookie holds a random value; the store holds its hash.
type Session struct {
	// key is the store key: the hash of the cookie value.
	key string
	// Person is who logged in, and Name their name from the register.
	Person delegation.PartyID `json:"person"`
	Name   string             `json:"name"`
	// Level is the level of assurance of the last authentication.
	Level authz.Level `json:"level"`
	// AMR are the methods of the last authentication (RFC 8176).
	AMR []string `json:"amr,omitempty"`
	// Method is the login method's id ("passkey", "demo", an upstream's id).
	Method string `json:"method"`
	// Passkey is the credential id of the passkey used, if one was.
	Passkey []byte `json:"passkey,omitempty"`
	// Test is true for the demo eID: nobody's identity was checked.
	Test bool `json:"test,omitempty"`
	// AuthTime is when the person last authenticated (login or step-up).
	AuthTime time.Time `json:"auth_time"`
	// Created is when the person first logged in to this session: the absolute
	// timeout runs from here, across step-ups.
	Created time.Time `json:"created"`
	// LastSeen is when the session was last used (to a minute): the idle timeout
	// runs from here.
	LastSeen time.Time `json:"last_seen"`
	// Grants are the OAuth grants issued in the session, revoked when it ends.
	Grants []string `json:"grants,omitempty"`
}

// maxSessionGrants bounds the grants a session remembers (the oldest are dropped:
// their tokens have long expired).
const maxSessionGrants = 64

// touchEvery is how often a busy session's LastSeen is written.
const touchEvery = time.Minute

// Proof is what a login method established about the person.
type Proof struct {
	Person delegation.PartyID
	Level  authz.Level
	AMR    []string
	// Method is the method's id.
	Method string
	// Passkey is the credential id, for a passkey.
	Passkey []byte
	// AuthTime is when the person authenticated; zero means now.
	AuthTime time.Time
	// Test marks the demo eID.
	Test bool
}

// expiresAt is when the session ends unless used again.
func (s *Service) expiresAt(sess *Session) time.Time {
	idle := sess.LastSeen.Add(s.cfg.IdleTimeout)
	if abs := sess.Created.Add(s.cfg.AbsoluteTimeout); abs.Before(idle) {
		return abs
	}
	return idle
}

// Current returns the session of the request's cookie, if there is one that has
// not timed out. It does not count as use (see session).
func (s *Service) Current(r *http.Request) (*Session, bool) {
	c, err := r.Cookie(s.sessionCookie)
	if err != nil || c.Value == "" {
		return nil, false
	}
	key := hashKey(c.Value)
	rec, err := s.grants.Grant(r.Context(), grants.Session, key)
	if err != nil {
		if !errors.Is(err, grants.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "login: read a session", "error", err)
		}
		return nil, false
	}
	var sess Session
	if err := json.Unmarshal(rec.Data, &sess); err != nil {
		s.log.ErrorContext(r.Context(), "login: decode a session", "error", err)
		return nil, false
	}
	sess.key = key
	if !s.now().Before(s.expiresAt(&sess)) {
		return nil, false
	}
	return &sess, true
}

// session returns the request's session and counts the request as use: the idle
// timeout starts again (written at most once a minute).
func (s *Service) session(r *http.Request) (*Session, bool) {
	sess, ok := s.Current(r)
	if !ok {
		return nil, false
	}
	if now := s.now(); now.Sub(sess.LastSeen) >= touchEvery {
		sess.LastSeen = now
		err := s.updateSession(r.Context(), sess)
		if errors.Is(err, grants.ErrNotFound) {
			return nil, false // it ended meanwhile
		}
		if err != nil {
			s.log.ErrorContext(r.Context(), "login: touch a session", "error", err)
		}
	}
	return sess, true
}

// saveSession writes sess under its key, after the ops before.
func (s *Service) saveSession(ctx context.Context, sess *Session, before ...grants.Op) error {
	data, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	rec := grants.Record{
		Kind: grants.Session, Key: sess.key, RequestID: s.personKey(sess.Person),
		ExpiresAt: s.expiresAt(sess), Data: data,
	}
	return s.grants.ApplyGrants(ctx, append(before, grants.Put(rec))...)
}

// updateSession rewrites sess only if it is still stored: a request that read the
// session before a logout or a rotation must not bring it back. It fails with
// grants.ErrNotFound when the session has ended.
func (s *Service) updateSession(ctx context.Context, sess *Session) error {
	return s.saveSession(ctx, sess, grants.Use(grants.Session, sess.key))
}

// startSession makes a new session for what p proved, under a new cookie value
// (the old session, if any, is deleted in the same write: a session id is never
// reused across a login or a step-up). A step-up of the same person keeps the
// session's start (the absolute timeout) and its grants.
func (s *Service) startSession(w http.ResponseWriter, r *http.Request, old *Session, p Proof) (*Session, error) {
	ctx := r.Context()
	person, err := s.people.Person(ctx, p.Person)
	if err != nil {
		return nil, fmt.Errorf("login: the person who logged in: %w", err)
	}
	now := s.now()
	if p.AuthTime.IsZero() || p.AuthTime.After(now) {
		p.AuthTime = now
	}
	value, err := randomValue()
	if err != nil {
		return nil, err
	}
	sess := &Session{
		key: hashKey(value), Person: p.Person, Name: person.Name, Level: p.Level, AMR: slices.Clone(p.AMR),
		Method: p.Method, Passkey: p.Passkey, Test: p.Test, AuthTime: p.AuthTime, Created: now, LastSeen: now,
	}
	var ops []grants.Op
	if old != nil {
		ops = append(ops, grants.Delete(grants.Session, old.key))
		if old.Person == p.Person {
			sess.Created = old.Created
			sess.Grants = old.Grants
		} else if err := s.revoke(ctx, old); err != nil {
			return nil, err
		}
	}
	if err := s.saveSession(ctx, sess, ops...); err != nil {
		return nil, err
	}
	http.SetCookie(w, s.cookie(s.sessionCookie, value, 0))
	return sess, nil
}

// addGrant remembers an OAuth grant issued in sess; grants.ErrNotFound if the
// session has ended.
func (s *Service) addGrant(ctx context.Context, sess *Session, grant string) error {
	sess.Grants = append(sess.Grants, grant)
	if n := len(sess.Grants); n > maxSessionGrants {
		sess.Grants = slices.Clone(sess.Grants[n-maxSessionGrants:])
	}
	return s.updateSession(ctx, sess)
}

// endSession deletes the session, revokes what OAuth clients got in it, and clears
// the cookie.
func (s *Service) endSession(w http.ResponseWriter, r *http.Request, sess *Session) error {
	ctx := r.Context()
	http.SetCookie(w, s.cookie(s.sessionCookie, "", -1))
	if err := s.grants.ApplyGrants(ctx, grants.Delete(grants.Session, sess.key)); err != nil {
		return err
	}
	return s.revoke(ctx, sess)
}

// endAllSessions ends every session of the person (their grants are revoked for
// this one only: the others' are not known here).
func (s *Service) endAllSessions(w http.ResponseWriter, r *http.Request, sess *Session) error {
	if err := s.endSession(w, r, sess); err != nil {
		return err
	}
	return s.grants.ApplyGrants(r.Context(), grants.DeleteGrant(grants.Session, s.personKey(sess.Person)))
}

// revoke revokes the OAuth grants issued in sess.
func (s *Service) revoke(ctx context.Context, sess *Session) error {
	if s.server == nil || len(sess.Grants) == 0 {
		return nil
	}
	return s.server.RevokeGrants(ctx, sess.Grants)
}

// Logout ends the request's session, if any: idp's RP-initiated logout calls it.
func (s *Service) Logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.Current(r)
	if !ok {
		return
	}
	if err := s.endSession(w, r, sess); err != nil {
		s.log.ErrorContext(r.Context(), "login: end a session", "error", err)
	}
}

// cookie returns a cookie of the login: host-only, HttpOnly, SameSite=Lax, and
// Secure unless the server runs on http://localhost. maxAge 0 makes a browser
// session cookie; negative deletes it.
func (s *Service) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	}
}

// Visit returns the request's session for a page of the portal and counts the
// request as use, so the idle timeout starts again; false without a session.
func (s *Service) Visit(r *http.Request) (*Session, bool) { return s.session(r) }

// FormToken returns the form token of the session: the portal puts it in its
// forms (the header's log-out button takes it too) and checks it with
// ValidFormToken.
func (s *Service) FormToken(sess *Session) string { return s.csrf.Token(sessionBinding(sess)) }

// ValidFormToken reports whether token is the session's form token.
func (s *Service) ValidFormToken(sess *Session, token string) bool {
	return s.csrf.Valid(sessionBinding(sess), token)
}
