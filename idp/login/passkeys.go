package login

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/idp/accounts"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/idp/webauthn"
)

// passkeyMethodID names the passkey login in sessions and amr logs.
const passkeyMethodID = "passkey"

// passkeyScript is the one script of the passkey pages.
const passkeyScript = "/static/passkey.js"

// maxPasskeyBody bounds the JSON passkey.js posts: a credential without
// attestation is well under 4 KiB.
const maxPasskeyBody = 64 << 10

// passkeyLoginData is the passkey login page's data.
type passkeyLoginData struct {
	Flow   string
	Client string
	Level  string // the level asked for, in words; empty for none
	Choose string // the method chooser's URL
	Cancel bool   // a client's login can be cancelled
}

// passkeyPage serves GET /login/passkey?flow=: log in with a passkey. The button
// is passkey.js's; without JavaScript the page says passkeys need it.
func (s *Service) passkeyPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := s.flow(w, r)
		if !ok {
			return
		}
		lang := web.Negotiate(r)
		data := passkeyLoginData{Flow: f.ID, Choose: flowURL("/login/choose", f), Cancel: f.Login != nil}
		if f.Login != nil {
			data.Client = clientName(f.Login)
		}
		if f.Level > 0 {
			data.Level = s.pages.Catalogue().Text(lang, "level."+f.Level.String())
		}
		sess, _ := s.Current(r)
		v := s.view(r, sess, f, "passkey.html", data)
		v.Scripts = []string{passkeyScript}
		s.render(w, r, v)
	})
}

// passkeyRequest is the JSON passkey.js posts to the passkey endpoints. Options
// requests carry the flow (login, step-up), the form token, and conditional or
// name; verify requests add the ceremony and the browser's response (the
// PublicKeyCredential as JSON).
type passkeyRequest struct {
	Flow        string          `json:"flow"`
	CSRF        string          `json:"csrf"`
	Conditional bool            `json:"conditional"`
	Name        string          `json:"name"`
	Ceremony    string          `json:"ceremony"`
	Response    json.RawMessage `json:"response"`
}

// ceremonyAnswer answers an options request: the ceremony to name in the verify
// request, and the options for navigator.credentials.
type ceremonyAnswer struct {
	Ceremony string          `json:"ceremony"`
	Options  json.RawMessage `json:"options"`
	// Messages are the texts passkey.js shows of itself (while the browser asks,
	// after a cancel, …), in the page's language: keys scriptMessages.
	Messages map[string]string `json:"messages"`
}

// scriptMessages are the keys of ceremonyAnswer.Messages: passkey.js shows
// "passkey.js.<key>".
var scriptMessages = []string{"working", "cancelled", "exists", "failed", "done"}

// ceremony answers an options request.
func (s *Service) ceremony(w http.ResponseWriter, r *http.Request, ceremony string, options []byte) {
	lang := web.Negotiate(r)
	msgs := make(map[string]string, len(scriptMessages))
	for _, k := range scriptMessages {
		msgs[k] = s.pages.Catalogue().Text(lang, "passkey.js."+k)
	}
	answer(w, ceremonyAnswer{Ceremony: ceremony, Options: options, Messages: msgs})
}

// redirectAnswer answers a verify request that succeeded: where to go next.
type redirectAnswer struct {
	Redirect string `json:"redirect"`
}

// problem is an RFC 9457 problem detail; detail is plain language, in the page's
// language, for passkey.js to show.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// problem answers a passkey endpoint's failure as application/problem+json.
func (s *Service) problem(w http.ResponseWriter, r *http.Request, status int, key string, args ...any) {
	detail := s.pages.Catalogue().Text(web.Negotiate(r), key, args...)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// answer writes v as JSON.
func answer(w http.ResponseWriter, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// readPasskeyRequest reads the JSON body of a passkey endpoint: only
// application/json (which no cross-site form can send), at most maxPasskeyBody
// bytes, no unknown members.
func (s *Service) readPasskeyRequest(w http.ResponseWriter, r *http.Request) (passkeyRequest, bool) {
	var req passkeyRequest
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.problem(w, r, http.StatusUnsupportedMediaType, "passkey.error.request")
		return req, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxPasskeyBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.problem(w, r, http.StatusBadRequest, "passkey.error.request")
		return req, false
	}
	if _, err := dec.Token(); err != io.EOF {
		s.problem(w, r, http.StatusBadRequest, "passkey.error.request")
		return req, false
	}
	return req, true
}

// passkeyFlow returns the flow a passkey request names, by the rules of s.flow
// (it exists, has not expired, and belongs to this browser), after checking the
// request's form token; otherwise it answers a problem.
func (s *Service) passkeyFlow(w http.ResponseWriter, r *http.Request, req passkeyRequest) (*Flow, bool) {
	f, ok := s.lookupFlow(r, req.Flow)
	if !ok {
		s.problem(w, r, http.StatusBadRequest, "error.expired")
		return nil, false
	}
	if !s.validFlowToken(r, f, req.CSRF) {
		s.problem(w, r, http.StatusForbidden, "error.forbidden")
		return nil, false
	}
	return f, true
}

// lookupFlow returns the flow id, if it exists, has not expired and belongs to
// this browser: the rules of s.flow, without its page.
func (s *Service) lookupFlow(r *http.Request, id string) (*Flow, bool) {
	if id == "" || len(id) > 64 {
		return nil, false
	}
	rec, err := s.grants.Grant(r.Context(), grants.Flow, hashKey(id))
	var f Flow
	if err == nil {
		err = json.Unmarshal(rec.Data, &f)
	}
	if err != nil || !s.now().Before(rec.ExpiresAt) {
		return nil, false
	}
	c, err := r.Cookie(s.browserCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(hashKey(c.Value)), []byte(f.Browser)) != 1 {
		return nil, false
	}
	f.ID = id
	return &f, true
}

// passkeySession returns the request's session for a passkey endpoint, after
// checking the form token bound to it; otherwise it answers a problem.
func (s *Service) passkeySession(w http.ResponseWriter, r *http.Request, req passkeyRequest) (*Session, bool) {
	sess, ok := s.session(r)
	if !ok {
		s.problem(w, r, http.StatusUnauthorized, "passkey.error.session")
		return nil, false
	}
	if !s.csrf.Valid(sessionBinding(sess), req.CSRF) {
		s.problem(w, r, http.StatusForbidden, "error.forbidden")
		return nil, false
	}
	return sess, true
}

// passkeyLimit takes an attempt from each key's bucket, or answers 429.
func (s *Service) passkeyLimit(w http.ResponseWriter, r *http.Request, keys ...limitKey) bool {
	ok, wait := s.limits.allow(keys...)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.problem(w, r, http.StatusTooManyRequests, "error.rate_limited", max(int(math.Ceil(wait.Minutes())), 1))
	}
	return ok
}

// passkeyFailed answers a ceremony's failure in plain language, and logs it
// (never the response, the ceremony or the person).
func (s *Service) passkeyFailed(w http.ResponseWriter, r *http.Request, op string, err error) {
	ctx := r.Context()
	status, key := http.StatusBadRequest, "passkey.error.invalid"
	switch {
	case errors.Is(err, webauthn.ErrCeremony):
		key = "passkey.error.ceremony"
	case errors.Is(err, webauthn.ErrUserVerification):
		key = "passkey.error.user_verification"
	case errors.Is(err, webauthn.ErrCloned):
		status, key = http.StatusForbidden, "passkey.error.cloned"
		s.log.WarnContext(ctx, "login: a passkey's signature counter did not move forward; the passkey is refused", "op", op)
	case errors.Is(err, webauthn.ErrUnknownCredential):
		key = "passkey.error.unknown"
		if op == "step-up" {
			key = "passkey.error.not_allowed"
		}
	case errors.Is(err, webauthn.ErrNoPasskey):
		status, key = http.StatusConflict, "passkey.error.no_passkey"
	case errors.Is(err, accounts.ErrConflict):
		status, key = http.StatusConflict, "passkeys.error.conflict"
	case errors.Is(err, webauthn.ErrInvalid):
		if op == "register" {
			key = "passkeys.error.invalid"
		}
	default:
		s.log.ErrorContext(ctx, "login: passkey", "op", op, "error", err)
		s.problem(w, r, http.StatusInternalServerError, "error.generic")
		return
	}
	s.log.InfoContext(ctx, "login: passkey refused", "op", op, "error", err)
	s.problem(w, r, status, key)
}

// passkeyLoginOptions serves POST /login/passkey/options: a login ceremony, with
// the browser's dialog or its autofill (conditional).
func (s *Service) passkeyLoginOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := s.readPasskeyRequest(w, r)
		if !ok {
			return
		}
		if _, ok := s.passkeyFlow(w, r, req); !ok {
			return
		}
		if !s.passkeyLimit(w, r, addressKey(r)) {
			return
		}
		options, ceremony, err := s.passkeys.BeginLogin(r.Context(), req.Conditional)
		if err != nil {
			s.passkeyFailed(w, r, "login", err)
			return
		}
		s.ceremony(w, r, ceremony, options)
	})
}

// passkeyLoginVerify serves POST /login/passkey/verify: the person is who the
// passkey names, at the passkey's level.
func (s *Service) passkeyLoginVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := s.readPasskeyRequest(w, r)
		if !ok {
			return
		}
		f, ok := s.passkeyFlow(w, r, req)
		if !ok {
			return
		}
		if !s.passkeyLimit(w, r, addressKey(r)) {
			return
		}
		res, err := s.passkeys.FinishLogin(r.Context(), req.Ceremony, req.Response)
		if err != nil {
			s.passkeyFailed(w, r, "login", err)
			return
		}
		if !s.passkeyLimit(w, r, s.personLimit(res.Person)) {
			return
		}
		s.passkeyAuthenticated(w, r, f, res)
	})
}

// passkeyAuthenticated ends a passkey ceremony that proved res: a new session at
// the passkey's level, and the flow's next page.
func (s *Service) passkeyAuthenticated(w http.ResponseWriter, r *http.Request, f *Flow, res webauthn.Result) {
	next, err := s.Authenticated(w, r, f, Proof{
		Person: res.Person, Level: res.Level, AMR: res.AMR, Method: passkeyMethodID, Passkey: res.Passkey.ID,
	})
	if err != nil {
		s.log.ErrorContext(r.Context(), "login: passkey login", "error", err)
		s.problem(w, r, http.StatusInternalServerError, "error.generic")
		return
	}
	answer(w, redirectAnswer{Redirect: next})
}

// stepUpLevel is the least level of a passkey that satisfies the step-up of f
// for sess: the flow's level, and in a flow that asks for a fresh
// authentication, not below the session's (confirming must not lower it).
func stepUpLevel(f *Flow, sess *Session) authz.Level {
	level := max(f.Level, authz.LevelLow)
	if f.Fresh {
		level = max(level, sess.Level)
	}
	return level
}

// stepUpSession returns the session and flow of a step-up request, or answers a
// problem.
func (s *Service) stepUpSession(w http.ResponseWriter, r *http.Request, req passkeyRequest) (*Flow, *Session, bool) {
	f, ok := s.passkeyFlow(w, r, req)
	if !ok {
		return nil, nil, false
	}
	sess, ok := s.session(r)
	if !ok {
		s.problem(w, r, http.StatusUnauthorized, "passkey.error.session")
		return nil, nil, false
	}
	if !s.passkeyLimit(w, r, addressKey(r), s.personLimit(sess.Person)) {
		return nil, nil, false
	}
	return f, sess, true
}

// stepUpOptions serves POST /login/step-up/options: a ceremony with the
// session's person's passkeys of the level the flow needs.
func (s *Service) stepUpOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := s.readPasskeyRequest(w, r)
		if !ok {
			return
		}
		f, sess, ok := s.stepUpSession(w, r, req)
		if !ok {
			return
		}
		options, ceremony, err := s.passkeys.BeginStepUp(r.Context(), sess.Person, stepUpLevel(f, sess))
		if err != nil {
			s.passkeyFailed(w, r, "step-up", err)
			return
		}
		s.ceremony(w, r, ceremony, options)
	})
}

// stepUpVerify serves POST /login/step-up/verify: the person confirmed with one of
// their passkeys; the session is renewed at the passkey's level.
func (s *Service) stepUpVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := s.readPasskeyRequest(w, r)
		if !ok {
			return
		}
		f, sess, ok := s.stepUpSession(w, r, req)
		if !ok {
			return
		}
		res, err := s.passkeys.FinishStepUp(r.Context(), req.Ceremony, sess.Person, req.Response)
		if err != nil {
			s.passkeyFailed(w, r, "step-up", err)
			return
		}
		// The ceremony is the person's, but not bound to this flow: check its
		// level against this one.
		if res.Person != sess.Person || res.Level < stepUpLevel(f, sess) {
			s.passkeyFailed(w, r, "step-up", webauthn.ErrUnknownCredential)
			return
		}
		s.passkeyAuthenticated(w, r, f, res)
	})
}

// passkeysData is the passkeys page's data.
type passkeysData struct {
	Keys []passkeyRow
	// Level is the session's level, in words: a passkey added now gets it.
	Level string
	// Full is true when the person has accounts.MaxPasskeys; Max is that.
	Full bool
	Max  int
	// NameMax is the longest name of a passkey, in characters.
	NameMax int
	// Done is the notice after a change ("passkeys.done.added", …); empty for none.
	Done string
	// Remove is the passkey to confirm the removal of; Rename the one to rename.
	Remove, Rename *passkeyRow
	// NewName is the name typed in the rename form, shown again after an error.
	NewName string
	// Stale is true when the person last proved who they are too long ago to add
	// a passkey (addPasskeyWithin).
	Stale bool
}

// addPasskeyWithin is how recent the session's authentication must be to add a
// passkey: a passkey outlives the session and carries its level, so whoever
// holds a session someone left open must not be able to make one.
const addPasskeyWithin = 10 * time.Minute

// staleForPasskey reports whether sess authenticated too long ago to add a passkey.
func (s *Service) staleForPasskey(sess *Session) bool {
	return s.now().Sub(sess.AuthTime) > addPasskeyWithin
}

// passkeyConfirm serves GET /account/passkeys/confirm: prove who you are again
// (at the session's level), then come back to add a passkey.
func (s *Service) passkeyConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(r)
		if !ok {
			http.Redirect(w, r, "/login?return="+url.QueryEscape("/account/passkeys"), http.StatusSeeOther)
			return
		}
		s.StepUp(w, r, sess.Level, "/account/passkeys")
	})
}

// passkeyRow is one passkey as the page lists it.
type passkeyRow struct {
	ID       string // the credential id, base64url
	Name     string
	Level    string
	Created  string
	LastUsed string // empty for never
	Synced   bool
	Flagged  bool
	Current  bool // the session was started or confirmed with it
}

// passkeysDone are the notices the page shows after a change.
var passkeysDone = map[string]string{
	"added": "passkeys.done.added", "renamed": "passkeys.done.renamed", "removed": "passkeys.done.removed",
}

// passkeysPage serves GET /account/passkeys: the person's passkeys, and a way to
// add one; ?rename=<id> shows the form to rename one, ?remove=<id> asks to
// confirm a removal.
func (s *Service) passkeysPage() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ok := s.session(r)
		if !ok {
			http.Redirect(w, r, "/login?return="+url.QueryEscape("/account/passkeys"), http.StatusSeeOther)
			return
		}
		q := r.URL.Query()
		data, err := s.passkeysData(r, sess)
		if err != nil {
			s.log.ErrorContext(r.Context(), "login: list passkeys", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		data.Done = passkeysDone[q.Get("done")]
		if id := q.Get("remove"); id != "" {
			if data.Remove = data.find(id); data.Remove == nil {
				s.errorPage(w, r, http.StatusNotFound, "passkeys.error.not_found")
				return
			}
		} else if id := q.Get("rename"); id != "" {
			if data.Rename = data.find(id); data.Rename == nil {
				s.errorPage(w, r, http.StatusNotFound, "passkeys.error.not_found")
				return
			}
			data.NewName = data.Rename.Name
		}
		s.renderPasskeys(w, r, sess, data, nil)
	})
}

// renderPasskeys renders the passkeys page.
func (s *Service) renderPasskeys(w http.ResponseWriter, r *http.Request, sess *Session, data passkeysData, errs []web.FieldError) {
	v := s.view(r, sess, nil, "passkeys.html", data)
	v.Errors = errs
	if len(errs) > 0 {
		v.Status = http.StatusUnprocessableEntity
	}
	if data.Remove == nil && data.Rename == nil && !data.Full && !data.Stale {
		v.Scripts = []string{passkeyScript}
	}
	s.render(w, r, v)
}

// passkeysData lists the session's person's passkeys for the page.
func (s *Service) passkeysData(r *http.Request, sess *Session) (passkeysData, error) {
	keys, err := s.accounts.Passkeys(r.Context(), sess.Person)
	if err != nil {
		return passkeysData{}, err
	}
	lang := web.Negotiate(r)
	cat := s.pages.Catalogue()
	data := passkeysData{
		Level: cat.Text(lang, "level."+sess.Level.String()),
		Full:  len(keys) >= accounts.MaxPasskeys, Max: accounts.MaxPasskeys, NameMax: webauthn.MaxNameLength,
		Stale: s.staleForPasskey(sess),
	}
	for _, k := range keys {
		row := passkeyRow{
			ID: base64.RawURLEncoding.EncodeToString(k.ID), Name: k.Name,
			Level: cat.Text(lang, "level."+k.Level.String()), Created: s.clock(k.Created),
			Synced: k.BackupEligible, Flagged: k.CloneWarning,
			Current: sess.Method == passkeyMethodID && bytes.Equal(k.ID, sess.Passkey),
		}
		if !k.LastUsed.IsZero() {
			row.LastUsed = s.clock(k.LastUsed)
		}
		data.Keys = append(data.Keys, row)
	}
	return data, nil
}

// find returns the listed passkey with the id, or nil.
func (d *passkeysData) find(id string) *passkeyRow {
	for i := range d.Keys {
		if d.Keys[i].ID == id {
			return &d.Keys[i]
		}
	}
	return nil
}

// passkeyRegisterOptions serves POST /account/passkeys/options: a registration
// ceremony for the session's person.
func (s *Service) passkeyRegisterOptions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := s.readPasskeyRequest(w, r)
		if !ok {
			return
		}
		sess, ok := s.passkeySession(w, r, req)
		if !ok {
			return
		}
		if !s.passkeyLimit(w, r, addressKey(r), s.personLimit(sess.Person)) {
			return
		}
		if s.staleForPasskey(sess) {
			s.problem(w, r, http.StatusForbidden, "passkeys.stale")
			return
		}
		if e := checkPasskeyName(req.Name, true); e != nil {
			s.problem(w, r, http.StatusUnprocessableEntity, e.Key, e.Args...)
			return
		}
		keys, err := s.accounts.Passkeys(r.Context(), sess.Person)
		if err != nil {
			s.passkeyFailed(w, r, "register", err)
			return
		}
		if len(keys) >= accounts.MaxPasskeys {
			s.problem(w, r, http.StatusConflict, "passkeys.full", accounts.MaxPasskeys)
			return
		}
		options, ceremony, err := s.passkeys.BeginRegistration(r.Context(), sess.Person, sess.Name)
		if err != nil {
			s.passkeyFailed(w, r, "register", err)
			return
		}
		s.ceremony(w, r, ceremony, options)
	})
}

// passkeyRegisterVerify serves POST /account/passkeys/verify: the new passkey is
// stored, at the session's level, and the page lists it.
func (s *Service) passkeyRegisterVerify() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, ok := s.readPasskeyRequest(w, r)
		if !ok {
			return
		}
		sess, ok := s.passkeySession(w, r, req)
		if !ok {
			return
		}
		if !s.passkeyLimit(w, r, addressKey(r), s.personLimit(sess.Person)) {
			return
		}
		if e := checkPasskeyName(req.Name, true); e != nil {
			s.problem(w, r, http.StatusUnprocessableEntity, e.Key, e.Args...)
			return
		}
		ctx := r.Context()
		name := strings.TrimSpace(req.Name)
		if name == "" {
			keys, err := s.accounts.Passkeys(ctx, sess.Person)
			if err != nil {
				s.passkeyFailed(w, r, "register", err)
				return
			}
			name = s.pages.Catalogue().Text(web.Negotiate(r), "passkeys.default_name", len(keys)+1)
		}
		if _, err := s.passkeys.FinishRegistration(ctx, req.Ceremony, sess.Person, sess.Level, name, req.Response); err != nil {
			s.passkeyFailed(w, r, "register", err)
			return
		}
		s.log.InfoContext(ctx, "login: passkey added", "level", sess.Level.String())
		answer(w, redirectAnswer{Redirect: "/account/passkeys?done=added"})
	})
}

// checkPasskeyName says what is wrong with a passkey's name (the error of the
// field "name"), or nil if nothing is; empty is fine when optional (a default is
// given).
func checkPasskeyName(name string, optional bool) *web.FieldError {
	name = strings.TrimSpace(name)
	switch {
	case name == "" && !optional:
		return &web.FieldError{Field: "name", Key: "passkeys.error.name_empty"}
	case !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return &web.FieldError{Field: "name", Key: "passkeys.error.name_invalid"}
	case utf8.RuneCountInString(name) > webauthn.MaxNameLength:
		return &web.FieldError{Field: "name", Key: "passkeys.error.name_long", Args: []any{webauthn.MaxNameLength}}
	}
	return nil
}

// passkeyForm reads a posted form of the passkeys page: its session, form token
// and passkey id. Otherwise it shows a page and returns false.
func (s *Service) passkeyForm(w http.ResponseWriter, r *http.Request) (*Session, []byte, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.form")
		return nil, nil, false
	}
	sess, ok := s.session(r)
	if !ok {
		http.Redirect(w, r, "/login?return="+url.QueryEscape("/account/passkeys"), http.StatusSeeOther)
		return nil, nil, false
	}
	if !s.csrf.Valid(sessionBinding(sess), r.PostForm.Get("csrf")) {
		s.errorPage(w, r, http.StatusForbidden, "error.forbidden")
		return nil, nil, false
	}
	raw := r.PostForm.Get("id")
	id, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(id) == 0 || len(raw) > 2048 {
		s.errorPage(w, r, http.StatusBadRequest, "error.form")
		return nil, nil, false
	}
	return sess, id, true
}

// passkeyRename serves POST /account/passkeys/rename (id, name).
func (s *Service) passkeyRename() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, id, ok := s.passkeyForm(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		name := strings.TrimSpace(r.PostForm.Get("name"))
		if e := checkPasskeyName(name, false); e != nil {
			data, err := s.passkeysData(r, sess)
			if err != nil {
				s.log.ErrorContext(ctx, "login: list passkeys", "error", err)
				s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
				return
			}
			if data.Rename = data.find(base64.RawURLEncoding.EncodeToString(id)); data.Rename == nil {
				s.errorPage(w, r, http.StatusNotFound, "passkeys.error.not_found")
				return
			}
			data.NewName = r.PostForm.Get("name")
			s.renderPasskeys(w, r, sess, data, []web.FieldError{*e})
			return
		}
		err := s.accounts.UpdatePasskey(ctx, sess.Person, id, func(p *accounts.Passkey) error {
			p.Name = name
			return nil
		})
		if errors.Is(err, accounts.ErrNotFound) {
			s.errorPage(w, r, http.StatusNotFound, "passkeys.error.not_found")
			return
		}
		if err != nil {
			s.log.ErrorContext(ctx, "login: rename a passkey", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		http.Redirect(w, r, "/account/passkeys?done=renamed", http.StatusSeeOther)
	})
}

// passkeyRemove serves POST /account/passkeys/remove (id): the confirmed
// removal. The session goes on, even if it began with that passkey.
func (s *Service) passkeyRemove() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, id, ok := s.passkeyForm(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		err := s.accounts.DeletePasskey(ctx, sess.Person, id)
		if errors.Is(err, accounts.ErrNotFound) {
			s.errorPage(w, r, http.StatusNotFound, "passkeys.error.not_found")
			return
		}
		if err != nil {
			s.log.ErrorContext(ctx, "login: remove a passkey", "error", err)
			s.errorPage(w, r, http.StatusInternalServerError, "error.generic")
			return
		}
		s.log.InfoContext(ctx, "login: passkey removed")
		http.Redirect(w, r, "/account/passkeys?done=removed", http.StatusSeeOther)
	})
}
