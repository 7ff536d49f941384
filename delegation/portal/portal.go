// Package portal is the citizen's part of Fullmakt, in the browser: what I have
// given and received, my children and wards, giving a fullmakt (a short wizard
// confirmed with a passkey at level high), revoking and renouncing, asking for a
// fullmakt and answering requests, consents, who has acted on my behalf, and my
// notifications.
//
// Pages are server-rendered with idp/web (message catalogues, a strict CSP
// without inline script, the shared layout); every form carries the session's
// form token and ends in a redirect (post-redirect-get). The portal never
// authenticates anyone itself: the login (idp/login, through the Sessions
// interface that cmd implements) gives it the visitor and raises their level of
// assurance when a fullmakt is confirmed.
//
// It imports the domain (delegation), authz for the service catalogue and the
// levels of assurance, idp/web and the idp/grants port (for drafts); never the
// OAuth server (idp, fosite), the login or a storage backend.
package portal

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
)

// Visitor is the logged-in person as the portal sees them.
type Visitor struct {
	Person delegation.PartyID
	Name   string
	// Level is the level of assurance of the last authentication, and AuthTime
	// when it was.
	Level    authz.Level
	AuthTime time.Time
	// Test marks a session of the demo eID: every page says so.
	Test bool
	// FormToken is the session's form token: every form carries it, and the
	// login's own forms (the header's log-out button) take it too.
	FormToken string
}

// Sessions is the login as the portal uses it (cmd adapts idp/login.Service).
type Sessions interface {
	// Visitor returns the request's session, counting the request as use; false
	// when nobody is logged in.
	Visitor(r *http.Request) (Visitor, bool)
	// StepUp sends the browser to authenticate again at level or above, then to
	// returnTo (a local path).
	StepUp(w http.ResponseWriter, r *http.Request, level authz.Level, returnTo string)
}

// Store is what the portal reads and writes of the domain.
type Store interface {
	delegation.PartyStore
	delegation.RelationStore
	delegation.FullmaktStore
	delegation.RequestStore
	delegation.ConsentStore
	delegation.AccessLog
	delegation.NotificationStore
}

// Packs gives the policy pack in use (authz/pdp.PDP): the portal takes the
// service catalogue from it on every request, so a reloaded pack shows at once.
type Packs interface {
	Pack() *authz.Pack
}

// Config is the portal's configuration: plain data with working defaults.
type Config struct {
	// Retention is how long ended fullmakter, answered requests and ended consents
	// stay visible, marked as ended; default 15 months (456 days).
	Retention time.Duration
	// DraftLifetime is how long a fullmakt or request being written is kept;
	// default 1 hour.
	DraftLifetime time.Duration
	// IDRules parse the identity numbers people type (synthetic test numbers
	// only in a demo or test).
	IDRules delegation.IDRules
}

func (c Config) withDefaults() Config {
	if c.Retention == 0 {
		c.Retention = 456 * 24 * time.Hour
	}
	if c.DraftLifetime == 0 {
		c.DraftLifetime = time.Hour
	}
	return c
}

// Deps are the portal's collaborators.
type Deps struct {
	Store    Store
	Drafts   grants.Store
	Sessions Sessions
	Packs    Packs
	// Pages renders; its catalogue must hold web.Messages() and Messages(), and
	// its templates be Templates().
	Pages *web.Pages
	// Key names the people one sees in URLs without their identity numbers; 32
	// random bytes kept by the server.
	Key []byte
	// Front is the page for visitors who are not logged in (the front page).
	Front http.Handler
	// Changed is called after every write, to have the notifications derived at
	// once (delegation/notify's Deriver.Nudge); may be nil.
	Changed func()
	Log     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Service is the portal. It is safe for concurrent use.
type Service struct {
	cfg      Config
	store    Store
	drafts   grants.Store
	sessions Sessions
	packs    Packs
	pages    *web.Pages
	key      []byte
	front    http.Handler
	changed  func()
	log      *slog.Logger
	now      func() time.Time
	loc      *time.Location
}

// New builds the portal.
func New(cfg Config, d Deps) (*Service, error) {
	var errs []error
	if d.Store == nil || d.Drafts == nil || d.Sessions == nil || d.Packs == nil || d.Pages == nil || d.Front == nil {
		errs = append(errs, errors.New("portal: the store, drafts, sessions, packs, pages and front page are required"))
	}
	if len(d.Key) < 32 {
		errs = append(errs, errors.New("portal: the key must be at least 32 bytes"))
	}
	if cfg.Retention < 0 || cfg.DraftLifetime < 0 {
		errs = append(errs, errors.New("portal: retention and draft lifetime must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s := &Service{
		cfg: cfg.withDefaults(), store: d.Store, drafts: d.Drafts, sessions: d.Sessions, packs: d.Packs,
		pages: d.Pages, key: slices.Clone(d.Key), front: d.Front, changed: d.Changed, log: d.Log, now: d.Now,
		loc: delegation.Oslo(),
	}
	if s.changed == nil {
		s.changed = func() {}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

//go:embed messages templates/*.html
var files embed.FS

// Messages returns the portal's message catalogues, for web.LoadCatalogue
// (together with web.Messages()).
func Messages() fs.FS { return sub("messages") }

// Templates returns the portal's page templates, for web.NewPages(cat,
// Templates(), "*.html").
func Templates() fs.FS { return sub("templates") }

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return f
}

// ref names a person the visitor sees (a child, a ward) in a URL without their
// identity number: an HMAC under the portal's key of both, so a ref is
// meaningless to anyone else and in any other session's hands.
func (s *Service) ref(viewer, p delegation.PartyID) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("portal ref\x00"))
	m.Write([]byte(viewer))
	m.Write([]byte{0})
	m.Write([]byte(p))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:12])
}

// randomID returns 32 random bytes, base64url: the id of a draft.
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashKey is the store key of a secret id: the id itself never reaches the store.
func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ctxErr is the error for a request the browser gave up on: not worth a log line.
func ctxErr(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// errf wraps err with the portal's prefix.
func errf(format string, args ...any) error { return fmt.Errorf("portal: "+format, args...) }
