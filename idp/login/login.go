// Package login is where a person proves who they are, at the right level of
// assurance, and says whom they act for. It implements idp.Login for the OAuth
// server, and gives the citizen portal its sessions.
//
// A login is a flow through a few pages, each one task: choose a method (passkey,
// an upstream eID such as ID-porten, or the demo eID), step up when the level or the
// freshness asked for is not reached, choose whom to act for, consent. The flow is
// a record in the store (grants.Flow), bound to the browser that started it; a
// method ends its part by handing a Proof to the flow, which then rotates the
// session and moves on.
//
// Sessions are server-side records (grants.Session) named by a random cookie. A
// session has the level of how the identity was proved; a passkey login reaches the
// passkey's level and never more. Idle and absolute timeouts end it; logging out
// ends it and revokes what OAuth clients were issued in it.
//
// Every page is rendered by idp/web: message catalogues, a strict CSP without
// inline script, cross-origin protection and form tokens.
package login

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
	"net/url"
	"time"

	"github.com/fullmakt/fullmakt/authz"
	"github.com/fullmakt/fullmakt/authz/pdp"
	"github.com/fullmakt/fullmakt/delegation"
	"github.com/fullmakt/fullmakt/idp"
	"github.com/fullmakt/fullmakt/idp/accounts"
	"github.com/fullmakt/fullmakt/idp/grants"
	"github.com/fullmakt/fullmakt/idp/web"
	"github.com/fullmakt/fullmakt/idp/webauthn"
)

// Config is the login's configuration: plain data with working defaults.
type Config struct {
	// PublicURL is the server's origin as browsers reach it (the OAuth issuer).
	// Cookies are Secure and __Host- prefixed unless it is http on localhost.
	PublicURL string
	// IdleTimeout ends a session nobody used for this long; default 30 minutes.
	IdleTimeout time.Duration
	// AbsoluteTimeout ends a session this long after the person logged in,
	// however busy; default 8 hours. A step-up does not extend it.
	AbsoluteTimeout time.Duration
	// FlowLifetime is how long a person may take through the login pages; default
	// 15 minutes (the OAuth server's pending request lives as long).
	FlowLifetime time.Duration
	// AttemptsPerMinute bounds login attempts per person and per address (twice
	// this); default 10.
	AttemptsPerMinute int
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.IdleTimeout, 30*time.Minute)
	def(&c.AbsoluteTimeout, 8*time.Hour)
	def(&c.FlowLifetime, 15*time.Minute)
	if c.AttemptsPerMinute == 0 {
		c.AttemptsPerMinute = 10
	}
	return c
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.PublicURL)
	if c.PublicURL == "" || err != nil || !u.IsAbs() || u.Host == "" {
		errs = append(errs, fmt.Errorf("login: the public URL %q is not an absolute URL", c.PublicURL))
	}
	if c.IdleTimeout < 0 || c.AbsoluteTimeout < c.IdleTimeout {
		errs = append(errs, fmt.Errorf("login: the idle timeout %s must be positive and at most the absolute timeout %s", c.IdleTimeout, c.AbsoluteTimeout))
	}
	if c.AttemptsPerMinute < 0 {
		errs = append(errs, errors.New("login: attempts per minute must be positive"))
	}
	return errors.Join(errs...)
}

// People is what the login reads of the register.
type People interface {
	Person(ctx context.Context, id delegation.PartyID) (delegation.Person, error)
	Organization(ctx context.Context, id delegation.PartyID) (delegation.Organization, error)
}

// Decider is the decision engine as the party picker uses it (authz/pdp.PDP).
type Decider interface {
	Parties(ctx context.Context, req authz.Request) ([]pdp.Party, error)
	Pack() *authz.Pack
}

// Deps are the login's collaborators.
type Deps struct {
	Grants   grants.Store
	Accounts accounts.Store
	People   People
	Decider  Decider
	// Passkeys runs the WebAuthn ceremonies; nil turns passkeys off.
	Passkeys *webauthn.Ceremonies
	// Methods are the ways to log in besides passkeys, in the order the page
	// lists them (upstream eIDs, the demo eID).
	Methods []Method
	// Clients names the OAuth clients and their redirect URIs (for the pages'
	// CSP form-action).
	Clients *idp.ClientRegistry
	// Pages renders; its catalogue must hold this package's messages
	// (Messages()).
	Pages *web.Pages
	// Key signs form tokens and names things; 32 random bytes kept by the server.
	Key []byte
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Method is one way for a person to prove who they are. The method shows its own
// page or sends the browser elsewhere, and ends by calling Service.Authenticated
// (or Service.Failed) with the flow.
type Method interface {
	// ID names the method in URLs and sessions: "demo", or an upstream's id.
	ID() string
	// Label is the method's name on the login page, in lang.
	Label(lang web.Lang) string
	// MaxLevel is the highest level the method can prove.
	MaxLevel() authz.Level
	// Begin starts the method for the flow f.
	Begin(w http.ResponseWriter, r *http.Request, f *Flow)
}

// Router is implemented by a method with routes of its own (a callback, a form).
type Router interface {
	Routes(mux *http.ServeMux)
}

// Service is the login. It is safe for concurrent use.
type Service struct {
	cfg      Config
	grants   grants.Store
	accounts accounts.Store
	people   People
	decider  Decider
	passkeys *webauthn.Ceremonies
	methods  []Method
	clients  *idp.ClientRegistry
	pages    *web.Pages
	csrf     *web.CSRF
	key      []byte
	log      *slog.Logger
	now      func() time.Time
	limits   *limiter
	// loc is where times are shown: Europe/Oslo, or UTC without the time zone
	// database.
	loc *time.Location
	// server is the OAuth server, set once it is built (it needs the login first).
	server *idp.Server
	// cookies
	sessionCookie, browserCookie string
	secure                       bool
}

// New builds the login.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Grants == nil || d.Accounts == nil || d.People == nil || d.Decider == nil || d.Pages == nil || d.Clients == nil {
		return nil, errors.New("login: New needs Grants, Accounts, People, Decider, Clients and Pages")
	}
	if len(d.Key) < 32 {
		return nil, errors.New("login: the key must have at least 32 bytes")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{passkeyMethodID: true}
	for _, m := range d.Methods {
		if seen[m.ID()] {
			return nil, fmt.Errorf("login: two methods with the id %q", m.ID())
		}
		seen[m.ID()] = true
	}
	u, _ := url.Parse(cfg.PublicURL)
	s := &Service{
		cfg: cfg, grants: d.Grants, accounts: d.Accounts, people: d.People, decider: d.Decider,
		passkeys: d.Passkeys, methods: d.Methods, clients: d.Clients, pages: d.Pages,
		csrf: web.NewCSRF(d.Key), key: d.Key, log: d.Log, now: d.Now,
		limits: newLimiter(cfg.AttemptsPerMinute, d.Now), loc: time.UTC,
	}
	if loc, err := time.LoadLocation("Europe/Oslo"); err == nil {
		s.loc = loc
	}
	for _, m := range d.Methods {
		if b, ok := m.(interface{ bind(*Service) }); ok {
			b.bind(s)
		}
	}
	s.secure = !(u.Scheme == "http" && localHost(u.Hostname()))
	s.sessionCookie, s.browserCookie = "fullmakt-session", "fullmakt-browser"
	if s.secure {
		s.sessionCookie, s.browserCookie = "__Host-"+s.sessionCookie, "__Host-"+s.browserCookie
	}
	return s, nil
}

// SetServer gives the login the OAuth server it finishes logins with. Call it once,
// before serving.
func (s *Service) SetServer(server *idp.Server) { s.server = server }

//go:embed templates messages
var files embed.FS

// Templates returns the login's page templates, for web.NewPages(cat, Templates(), "*.html").
func Templates() fs.FS {
	sub, err := fs.Sub(files, "templates")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return sub
}

// Messages returns the login's message catalogues, for web.LoadCatalogue.
func Messages() fs.FS {
	sub, err := fs.Sub(files, "messages")
	if err != nil {
		panic(err)
	}
	return sub
}

// hashKey returns the store key of a secret value (a cookie, a flow id): the value
// itself never reaches the store.
func hashKey(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// randomValue returns 32 random bytes, base64url.
func randomValue() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// personKey names a person in the store without their identity number: an HMAC
// under the login's key.
func (s *Service) personKey(p delegation.PartyID) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("person\x00"))
	m.Write([]byte(p))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func localHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}
