package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/fullmakt/fullmakt/sdk"
)

// Sessions are kept in memory, named by a random cookie value: an office with
// one process needs nothing more, and a restart logs everybody out, which is the
// safe direction.

const (
	sessionIdle     = 30 * time.Minute
	sessionAbsolute = 8 * time.Hour
	maxSessions     = 10_000
)

// session is one browser's state. Handlers work on a copy (sessions.load) and
// write it back with sessions.save; fields are replaced, never changed in place.
type session struct {
	id      string
	csrf    string
	created time.Time
	seen    time.Time

	// Login is the person logged in; nil before.
	Login *personLogin
	// Pending is a login under way, until the callback.
	Pending *sdk.PendingLogin
	// Choices are the parties the picker showed, in order: the form posts an
	// index, never an identity number.
	Choices []choice
	// Party is whom the application is for, once chosen and checked.
	Party *choice
	// Draft is an application waiting for a login (a step-up) to be submitted.
	Draft *draft
	// Flash is what the next page shows once: form errors, a refusal, a problem.
	Flash *flash
}

// personLogin is a finished login.
type personLogin struct {
	Subject     string
	Name        string
	Actor       sdk.Actor
	AccessToken string
	IDToken     string
	Expiry      time.Time
}

// choice is a party the actor may act for.
type choice struct {
	Party    sdk.Party
	Name     string
	Relation string
	// StepUp names the level a step-up will reach before submitting, when needed.
	StepUp string
}

// draft is an application not yet submitted, kept across a step-up.
type draft struct {
	For         choice
	Application Application
	// Subject is the actor who wrote it: a login as anyone else drops it.
	Subject string
	// StepUps counts the logins it has waited for, so that a login that never
	// reaches what the API asks cannot loop.
	StepUps int
}

// flash is shown once by the next page.
type flash struct {
	Errors  []fieldError
	Values  map[string]string
	Refusal *refusal
	Problem *problem
}

// fieldError is a form error: the field's id and the message.
type fieldError struct {
	Field string
	Text  string
}

// refusal is why Fullmakt said no, in plain words.
type refusal struct {
	Name    string
	Reasons []string
}

// problem is a page that says something went wrong and what it means.
type problem struct {
	// Status is the HTTP status of the page.
	Status int
	Title  string
	Text   []string
}

// sessions is the in-memory session store.
type sessions struct {
	cookie string
	secure bool
	now    func() time.Time

	mu        sync.Mutex
	byID      map[string]*session // by the SHA-256 of the cookie value
	lastSweep time.Time
}

func newSessions(secure bool) *sessions {
	name := "example-agency-session"
	if secure {
		// __Host-: Secure, Path=/, no Domain, enforced by browsers.
		name = "__Host-example-agency-session"
	}
	return &sessions{cookie: name, secure: secure, now: time.Now, byID: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return string(sum[:])
}

// load returns a copy of the request's session, or nil.
func (s *sessions) load(r *http.Request) *session {
	c, err := r.Cookie(s.cookie)
	if err != nil || c.Value == "" {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[hashID(c.Value)]
	if !ok || sess.id != c.Value {
		return nil
	}
	if now.Sub(sess.seen) > sessionIdle || now.Sub(sess.created) > sessionAbsolute {
		delete(s.byID, hashID(c.Value))
		return nil
	}
	sess.seen = now
	cp := *sess
	return &cp
}

// ensure returns the request's session, or starts one and sets its cookie.
func (s *sessions) ensure(w http.ResponseWriter, r *http.Request) *session {
	if sess := s.load(r); sess != nil {
		return sess
	}
	return s.start(w)
}

// start makes a new, empty session and sets its cookie.
func (s *sessions) start(w http.ResponseWriter) *session {
	now := s.now()
	sess := &session{id: randomToken(), csrf: randomToken(), created: now, seen: now}
	s.mu.Lock()
	s.sweep(now)
	cp := *sess
	s.byID[hashID(sess.id)] = &cp
	s.mu.Unlock()
	s.setCookie(w, sess.id, 0)
	return sess
}

// save writes sess back, unless it was destroyed meanwhile.
func (s *sessions) save(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[hashID(sess.id)]; ok {
		cp := *sess
		s.byID[hashID(sess.id)] = &cp
	}
}

// renew gives sess a new id and form token, keeping its data: on every login,
// so that an id planted before it is worth nothing after.
func (s *sessions) renew(w http.ResponseWriter, sess *session) *session {
	now := s.now()
	fresh := *sess
	fresh.id, fresh.csrf, fresh.seen = randomToken(), randomToken(), now
	if sess.Login == nil {
		fresh.created = now
	}
	s.mu.Lock()
	delete(s.byID, hashID(sess.id))
	cp := fresh
	s.byID[hashID(fresh.id)] = &cp
	s.mu.Unlock()
	s.setCookie(w, fresh.id, 0)
	return &fresh
}

// destroy ends sess and clears its cookie.
func (s *sessions) destroy(w http.ResponseWriter, sess *session) {
	s.mu.Lock()
	delete(s.byID, hashID(sess.id))
	s.mu.Unlock()
	s.setCookie(w, "", -1)
}

// sweep drops expired sessions (at most once a minute) and, over the limit,
// the oldest. s.mu is held.
func (s *sessions) sweep(now time.Time) {
	if now.Sub(s.lastSweep) < time.Minute && len(s.byID) < maxSessions {
		return
	}
	s.lastSweep = now
	var oldestKey string
	var oldest time.Time
	for k, v := range s.byID {
		if now.Sub(v.seen) > sessionIdle || now.Sub(v.created) > sessionAbsolute {
			delete(s.byID, k)
			continue
		}
		if oldestKey == "" || v.seen.Before(oldest) {
			oldestKey, oldest = k, v.seen
		}
	}
	if len(s.byID) >= maxSessions {
		delete(s.byID, oldestKey)
	}
}

func (s *sessions) setCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

// validCSRF reports whether the form's token is the session's.
func validCSRF(sess *session, r *http.Request) bool {
	got := r.PostFormValue("csrf")
	return sess != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}
